"""Image and user ids: unguessable, and safe to paste as a command-line argument."""

from __future__ import annotations

import secrets

import pytest

from imagerepo.services import ids


def test_an_id_never_starts_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn = iter(["-rAAAAAAAAAAAAAAAAAAAAA", "-_AAAAAAAAAAAAAAAAAAAAA", "x-AAAAAAAAAAAAAAAAAAAAA"])
    monkeypatch.setattr(secrets, "token_urlsafe", lambda _n: next(drawn))
    assert ids.new_id() == "x-AAAAAAAAAAAAAAAAAAAAA"


def test_ids_carry_128_random_bits() -> None:
    made = {ids.new_id() for _ in range(2000)}
    assert len(made) == 2000
    assert all(len(i) == 22 and not i.startswith("-") for i in made)
