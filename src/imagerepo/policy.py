"""The one access rule: who may see, change or delete an image, and the scope every query uses.

A `Viewer` is whoever a request acts for: an anonymous visitor or a signed-in user (share links
and API keys will be further kinds). The rule, everywhere:

- a **public** image may be seen by anyone who may read at all (anonymous visitors included,
  unless the deployment turns anonymous read off — decided at the door, in `api/deps.py`);
- a **private** image may be seen only by its owner;
- only the owner may change or delete an image, or see its location and serial numbers;
- admins manage users and settings and have **no** extra rights over other users' images: a
  private image is private from admins too (as in Immich).

Single-image answers come from `may_see` / `may_change`; listings, search, counts and
similar-image queries take `scope_of(viewer)`, a `Scope` that the database layer turns into its
WHERE clause (`db/access.py`), so the same rule decides a row and a page. A viewer who may not see
an image is told it does not exist (404), never that it is forbidden.
"""

from __future__ import annotations

from dataclasses import dataclass

from imagerepo.models import Image, Scope, User


@dataclass(frozen=True, slots=True)
class Viewer:
    """The party a request acts for; `user` is None for an anonymous visitor."""

    user: User | None = None

    @property
    def user_id(self) -> str | None:
        return self.user.id if self.user is not None else None

    @property
    def is_anonymous(self) -> bool:
        return self.user is None

    @classmethod
    def of(cls, user: User) -> Viewer:
        return cls(user=user)


ANONYMOUS = Viewer()


def scope_of(viewer: Viewer) -> Scope:
    """The images `viewer` may see, as a predicate for listings and searches."""
    owned = frozenset({viewer.user.id}) if viewer.user is not None else frozenset()
    return Scope(public=True, owner_ids=owned)


def own_scope(owner_id: str) -> Scope:
    """Only this owner's images (dedupe, bulk-sync checks, account clean-up)."""
    return Scope(public=False, owner_ids=frozenset({owner_id}))


def may_see(viewer: Viewer, image: Image) -> bool:
    return scope_of(viewer).admits(image)


def is_owner(viewer: Viewer, image: Image) -> bool:
    return viewer.user is not None and viewer.user.id == image.owner_id


def may_change(viewer: Viewer, image: Image) -> bool:
    """Description, visibility, tags, delete: the owner alone (admins included in "others")."""
    return is_owner(viewer, image)


def may_see_private_fields(viewer: Viewer, image: Image) -> bool:
    """Location, serial numbers and the original bytes: the owner alone."""
    return is_owner(viewer, image)
