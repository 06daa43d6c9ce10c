"""Text hygiene: the one rule for text people send us (descriptions, titles, file names, search
words, and later tags).

Two entry points, one rule:

- `clean_multiline(text)` for prose that may span lines (descriptions): tab kept, every line
  break (CR LF, CR, LF, VT, FF, NEL, U+2028, U+2029) becomes one LF.
- `clean_line(text)` for one-line text (titles, file names, tags, search input): tab and every
  line break become a space, and white space at either end is trimmed.

Both then:

- **strip, never reject.** These characters mostly arrive unseen: pasted from an editor that
  adds bidi embeddings, in a file name from a camera or another OS, through a sync of ten
  thousand files. Refusing the request would fail a whole upload over a character nobody can
  see; removing it loses nothing anyone meant to say. The answer shows what was stored.
- remove the other C0 and C1 controls and DEL (NUL truncates strings in C code such as SQLite's
  LIKE, ESC drives terminals);
- remove the bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): they
  reorder what follows them, which is how "photo<U+202E>gpj.exe" displays as "photoexe.jpg"
  (Trojan Source, CVE-2021-42574);
- remove lone surrogates: no UTF-8 can encode them (JSON's "\\ud800" gives one), so a database
  write of one fails;
- keep U+200D ZERO WIDTH JOINER and U+200C ZERO WIDTH NON-JOINER, and every other format
  character (emoji tag sequences such as a subdivision flag, soft hyphen): emoji sequences,
  Persian, Arabic and Indic scripts need them to be written correctly;
- normalise to NFC, so that "é" typed as one code point and "é" from a macOS file name (e +
  U+0301) are the same text to search, compare and (later) tag. NFC changes code points, never
  what a reader sees; the one known loss is that CJK compatibility ideographs become their
  unified twins.

The bidi marks (U+200E LRM, U+200F RLM, U+061C ALM) are kept in multi-line text and removed
from one-line text. A mark opens no state and cannot reverse a run of letters; it only settles
where neighbouring punctuation and digits go, which is what writers of Hebrew and Arabic prose
use it for. In a one-line name or search word it does nothing a reader could want (a page shows
such a name isolated, `<bdi>` or `dir="auto"`), and would only make two look-alike names differ.

Control characters inside a search word are removed, so "cat<NUL>" searches for "cat"; what to
do when nothing of a query remains is the caller's rule (see `services.search.split_keywords`).
"""

from __future__ import annotations

import re
import unicodedata

#: Bidi embeddings, overrides (U+202A-U+202E) and isolates (U+2066-U+2069).
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
#: Bidi marks: left-to-right, right-to-left, Arabic letter mark.
BIDI_MARKS = "\u200e\u200f\u061c"

_LINE_BREAK = re.compile("\r\n|[\n\r\v\f\x85\u2028\u2029]")
# C0 (but tab and LF, dealt with above), DEL, C1, bidi controls and lone surrogates.
_UNWANTED = f"\x00-\x08\x0e-\x1f\x7f-\x9f{BIDI_CONTROLS}\ud800-\udfff"
_UNWANTED_IN_PROSE = re.compile(f"[{_UNWANTED}]")
_UNWANTED_IN_LINE = re.compile(f"[{_UNWANTED}{BIDI_MARKS}]")


def clean_multiline(text: str) -> str:
    """`text` as prose we keep: line breaks as LF, tabs kept, no controls, NFC."""
    text = _LINE_BREAK.sub("\n", text)
    return unicodedata.normalize("NFC", _UNWANTED_IN_PROSE.sub("", text))


def clean_line(text: str) -> str:
    """`text` as one line: tabs and line breaks become spaces, no controls or marks, trimmed."""
    text = _LINE_BREAK.sub(" ", text).replace("\t", " ")
    return unicodedata.normalize("NFC", _UNWANTED_IN_LINE.sub("", text)).strip()
