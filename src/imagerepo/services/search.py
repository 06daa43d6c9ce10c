"""Listing and search rules: the query language, filters, sorts and cursors.

The query language of `q` (full text over title, file name, description, tags, camera, lens):

    red car            both words (AND is the default), stemmed: "cars" finds "car"
    "red car"          the phrase
    cat*               any word starting with "cat"
    cat OR dog         either (OR binds the words on each side of it)
    -dog  -"hot dog"   no image that matches this word or phrase

Case and accents never matter ("uber" finds "ÜBER", "cafe" finds "café"). Every term becomes a
quoted string before it reaches the search engine, so nothing a user types is ever syntax there
(`db/search/sqlite.py`). A query of only exclusions is refused: it would list everything.

`keywords=` keeps its original meaning: each word must occur inside the title or description,
as a substring, now also regardless of case and accents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Protocol

from imagerepo.errors import ValidationFailed
from imagerepo.folding import fold
from imagerepo.models import (
    Filters,
    ImageQuery,
    MonthCount,
    Page,
    Scope,
    Sort,
    Term,
    TextQuery,
)
from imagerepo.services.cursors import decode_position
from imagerepo.services.text import clean_line

MAX_KEYWORDS = 10
MAX_KEYWORD_LENGTH = 100
MAX_TERMS = 16
MAX_TAGS = 50
MAX_TAG_LENGTH = 100
# A quoted phrase, or a run of anything but white space and quotes; either may start with "-".
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_WORDY = re.compile(r"\w")


class ImageSearch(Protocol):
    """Listing and search over the rows a query's scope admits (`db/search/<dialect>.py`)."""

    async def page(self, query: ImageQuery) -> Page: ...

    async def timeline(self, query: ImageQuery) -> list[MonthCount]: ...


def split_keywords(keywords: str | None) -> tuple[str, ...]:
    """The distinct search words, cleaned as one line of text (`services.text`) and folded
    (case and accents), for `keywords=`.

    A query that had words but loses all of them to cleaning (say a lone NUL) is refused, not
    run as "no filter": it would match every visible image. An empty or blank query is no filter.
    """
    words = tuple(dict.fromkeys(fold(w) for w in clean_line(keywords or "").split()))
    if not words and (keywords or "").split():
        raise ValidationFailed("keywords: nothing searchable is left without control characters")
    if len(words) > MAX_KEYWORDS or any(len(w) > MAX_KEYWORD_LENGTH for w in words):
        raise ValidationFailed(
            f"at most {MAX_KEYWORDS} keywords of at most {MAX_KEYWORD_LENGTH} characters each"
        )
    return words


def parse_query(q: str | None) -> TextQuery | None:
    """`q` as groups of terms (see the module docstring); None when it is blank."""
    text = clean_line(q or "")
    if not text:
        if (q or "").strip():
            raise ValidationFailed("q: nothing searchable is left without control characters")
        return None
    groups: list[list[Term]] = []
    excluded: list[Term] = []
    join_next = False
    for match in _TOKEN.finditer(text):
        negated, phrase, bare = match.group(1), match.group(2), match.group(3)
        if bare == "OR":
            join_next = bool(groups)
            continue
        if bare == "AND":
            continue
        if phrase is not None:
            term = Term(" ".join(phrase.split()))
        else:
            assert bare is not None
            negated = "-" if bare.startswith("-") and len(bare) > 1 else ""
            word = bare[1:] if negated else bare
            prefix = word.endswith("*")
            term = Term(word.rstrip("*"), prefix=prefix)
        if not _WORDY.search(term.text):
            join_next = False
            continue  # punctuation alone matches nothing; it must not empty a whole group
        if len(term.text) > MAX_KEYWORD_LENGTH:
            raise ValidationFailed(f"q: a term is at most {MAX_KEYWORD_LENGTH} characters")
        if negated:
            excluded.append(term)
        elif join_next:
            groups[-1].append(term)
        else:
            groups.append([term])
        join_next = False
    if sum(len(g) for g in groups) + len(excluded) > MAX_TERMS:
        raise ValidationFailed(f"q: at most {MAX_TERMS} terms")
    if not groups:
        raise ValidationFailed("q: give at least one word to look for, not only -exclusions")
    return TextQuery(groups=tuple(tuple(g) for g in groups), excluded=tuple(excluded))


def clean_tag(raw: str) -> str:
    """A tag as stored: one line of text (`services.text`), inner white space collapsed."""
    tag = " ".join(clean_line(raw).split())
    if not tag:
        raise ValidationFailed("a tag needs at least one visible character")
    if len(tag) > MAX_TAG_LENGTH:
        raise ValidationFailed(f"a tag is at most {MAX_TAG_LENGTH} characters")
    return tag


def clean_tags(raw: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Distinct tags (case and accents ignored: the first spelling wins), at most MAX_TAGS."""
    kept: dict[str, str] = {}
    for tag in map(clean_tag, raw):
        kept.setdefault(fold(tag), tag)
    if len(kept) > MAX_TAGS:
        raise ValidationFailed(f"at most {MAX_TAGS} tags per image")
    return tuple(kept.values())


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """A listing request as the API received it: types checked, text not yet cleaned (the
    `filters` hold raw text and tags as typed)."""

    q: str | None = None
    keywords: str | None = None
    filters: Filters = field(default_factory=Filters)
    sort: Sort = Sort.UPLOADED_AT
    limit: int = 50
    cursor: str | None = None


def _text_or_none(value: str | None) -> str | None:
    cleaned = clean_line(value) if value is not None else ""
    return cleaned or None


def clean_filters(raw: Filters) -> Filters:
    """Text filters cleaned like all text (`services.text`), blank ones dropped; the owner's
    name lower-cased; tags folded."""
    if raw.month is not None and not 1 <= raw.month <= 12:
        raise ValidationFailed("month is between 1 and 12")
    if raw.year is not None and not 1 <= raw.year <= 9999:
        raise ValidationFailed("year is between 1 and 9999")
    return replace(
        raw,
        owner=raw.owner.strip().lower() if raw.owner else None,
        media_type=_text_or_none(raw.media_type),
        camera_make=_text_or_none(raw.camera_make),
        camera_model=_text_or_none(raw.camera_model),
        lens=_text_or_none(raw.lens),
        tags=tuple(dict.fromkeys(fold(t) for t in clean_tags(raw.tags))),
    )


def build_query(scope: Scope, request: SearchRequest) -> ImageQuery:
    """The request as a query bound to `scope`; `ValidationFailed` for what cannot be run."""
    text = parse_query(request.q)
    if request.sort is Sort.RELEVANCE and text is None:
        raise ValidationFailed("sort=relevance needs a q to rank by")
    return ImageQuery(
        scope=scope,
        filters=clean_filters(request.filters),
        keywords=split_keywords(request.keywords),
        text=text,
        sort=request.sort,
        limit=request.limit,
        after=decode_position(request.cursor, request.sort) if request.cursor else None,
    )
