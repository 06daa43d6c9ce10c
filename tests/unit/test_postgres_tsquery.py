"""The tsquery text built for PostgreSQL holds the parsed terms' words only, each quoted."""

from __future__ import annotations

from imagerepo.db.search.postgres import term_query, tsquery
from imagerepo.models import Term, TextQuery
from imagerepo.services.search import parse_query


def test_operators_come_from_the_parser_only() -> None:
    parsed = parse_query('red car* OR "hot dog" -beach')
    assert parsed is not None
    assert tsquery(parsed) == "(('red')) & (('car':*) | ('hot' <-> 'dog')) & !(('beach'))"


def test_user_text_is_never_syntax() -> None:
    assert term_query(Term("it's:* & !x | (y)")) == "('it' <-> 's' <-> 'x' <-> 'y')"
    assert term_query(Term("Ünïcödé")) == "('unicode')"
    assert term_query(Term("&|!()")) is None
    assert tsquery(TextQuery(groups=((Term("<->"),),))) is None  # nothing searchable: no rows
