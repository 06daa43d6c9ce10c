"""The access rule's scope (`imagerepo.policy.scope_of`) as a SQL predicate on `images`."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, or_
from sqlalchemy.orm import InstrumentedAttribute

from imagerepo.db.tables import ImageRow
from imagerepo.models import Scope, Visibility

_Column = ColumnElement[str] | InstrumentedAttribute[str]


def visible_in(scope: Scope, *, checked_per_row: bool = False) -> ColumnElement[bool]:
    """Rows the scope admits: public ones if it says so, and every row of its owners.

    `checked_per_row` states it so that no index can answer it (`column || ''`), for queries
    that another, more selective index must drive (perceptual-hash bands): otherwise SQLite
    may walk every public row by the visibility index (2 s at 100 000 rows)."""
    visibility: _Column = ImageRow.visibility
    owner: _Column = ImageRow.owner_id
    if checked_per_row:
        visibility, owner = ImageRow.visibility.concat(""), ImageRow.owner_id.concat("")
    clauses: list[ColumnElement[bool]] = []
    if scope.public:
        clauses.append(visibility == Visibility.PUBLIC.value)
    if len(scope.owner_ids) == 1:
        clauses.append(owner == next(iter(scope.owner_ids)))
    elif scope.owner_ids:
        clauses.append(owner.in_(sorted(scope.owner_ids)))
    if not clauses:
        return false()
    return clauses[0] if len(clauses) == 1 else or_(*clauses)


def visible_branches(
    scope: Scope,
    *,
    owner_id: str | None = None,
    visibility: Visibility | None = None,
    own_only: bool = False,
    columns: tuple[_Column, _Column] | None = None,
) -> list[ColumnElement[bool]]:
    """The scope as disjoint equality predicates, one per index walk: "public rows" and, per
    owner of the scope, "this owner's private rows" (plus their public ones when those are not
    already in the public branch). A listing walks each branch in order through an index on
    (visibility, key) or (owner_id, visibility, key) and merges them, so it never sorts every
    visible row.

    `owner_id` and `visibility` narrow the branches (filters can only narrow what the scope
    admits); `own_only` drops everyone else's rows, for filters on fields only an owner may
    see (location): nobody learns which of another's images carry one. `columns` (owner id,
    visibility) put the same branches on another table than `images`.
    """
    owner_column, visibility_column = columns or (ImageRow.owner_id, ImageRow.visibility)
    public = Visibility.PUBLIC.value
    private = Visibility.PRIVATE.value
    want_public = visibility in (None, Visibility.PUBLIC)
    want_private = visibility in (None, Visibility.PRIVATE)
    branches: list[ColumnElement[bool]] = []
    public_branch = scope.public and want_public and not own_only
    if public_branch:
        if owner_id is None:
            branches.append(visibility_column == public)
        else:
            branches.append(and_(owner_column == owner_id, visibility_column == public))
    for owner in sorted(scope.owner_ids):
        if owner_id is not None and owner != owner_id:
            continue
        if want_private:
            branches.append(and_(owner_column == owner, visibility_column == private))
        if want_public and not public_branch:
            branches.append(and_(owner_column == owner, visibility_column == public))
    return branches
