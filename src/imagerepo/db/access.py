"""The access rule's scope (`imagerepo.policy.scope_of`) as a SQL predicate on `images`."""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, or_

from imagerepo.db.tables import ImageRow
from imagerepo.models import Scope, Visibility


def visible_in(scope: Scope) -> ColumnElement[bool]:
    """Rows the scope admits: public ones if it says so, and every row of its owners."""
    clauses: list[ColumnElement[bool]] = []
    if scope.public:
        clauses.append(ImageRow.visibility == Visibility.PUBLIC.value)
    if len(scope.owner_ids) == 1:
        clauses.append(ImageRow.owner_id == next(iter(scope.owner_ids)))
    elif scope.owner_ids:
        clauses.append(ImageRow.owner_id.in_(sorted(scope.owner_ids)))
    if not clauses:
        return false()
    return clauses[0] if len(clauses) == 1 else or_(*clauses)
