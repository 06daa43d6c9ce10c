"""`imagerepo user ...` and `whoami` against the real app: what an admin and a user see."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

from imagerepo import credentials
from imagerepo.client.api import ImageRepoClient, StaticToken
from imagerepo.errors import AuthenticationFailed
from tests.client.conftest import BASE_URL, Run, Wire, tree


async def add(run: Run, name: str, *extra: str) -> str:
    """Create `name` as root; returns the generated password (also stored on this machine)."""
    result = await run("user", "add", name, *extra)
    assert result.exit_code == 0, result.output
    return result.stdout.split("password: ", 1)[1].split()[0]


async def token_of(run: Run, name: str) -> str:
    """A token `name` holds now (the one `whoami` just stored)."""
    assert (await run("whoami", "--user", name)).exit_code == 0
    stored = credentials.load_login(BASE_URL, name)
    assert stored is not None and stored.token
    return stored.token


async def works(wire: Wire, token: str) -> bool:
    transport = httpx.ASGITransport(app=wire)
    async with ImageRepoClient(BASE_URL, tokens=StaticToken(token), transport=transport) as c:
        try:
            await c.me()
        except AuthenticationFailed:
            return False
    return True


async def test_list_and_whoami_show_roles(run: Run) -> None:
    await add(run, "alice")
    await add(run, "carol", "--admin")
    listed = await run("user", "list")
    assert listed.exit_code == 0, listed.output
    cells = [[c.strip() for c in line.split("│")] for line in listed.stdout.splitlines()[2:]]
    assert [row[:3] for row in cells] == [
        ["alice", "user", "0"],
        ["carol", "admin", "0"],
        ["root", "admin", "0"],
    ]
    as_json = json.loads((await run("user", "list", "--json")).stdout)
    assert [(u["username"], u["image_count"]) for u in as_json] == [
        ("alice", 0),
        ("carol", 0),
        ("root", 0),
    ]

    assert (await run("whoami")).stdout == f"root (admin) at {BASE_URL}\n"
    assert (await run("whoami", "--user", "alice")).stdout == f"alice (user) at {BASE_URL}\n"
    me = json.loads((await run("whoami", "--json")).stdout)
    assert (me["username"], me["is_admin"]) == ("root", True) and me["id"]
    refused = await run("user", "list", "--user", "alice")
    assert refused.exit_code == 1
    assert refused.stderr == "error: only an admin can list users\n"


async def test_passwd_your_own_needs_the_current_one_and_signs_out_old_tokens(
    run: Run, wire: Wire
) -> None:
    await add(run, "alice")
    old_token = await token_of(run, "alice")

    # The stored password serves as the current one; the store gets the new one.
    result = await run("user", "passwd", "--user", "alice", "--password-stdin", input="n3w-pass\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == "changed the password of alice; tokens issued before no longer work\n"
    stored = credentials.load_login(BASE_URL, "alice")
    assert stored is not None and stored.password == "n3w-pass"
    assert not await works(wire, old_token)
    assert stored.token and await works(wire, stored.token)  # logged in again with the new one

    # No password stored, none in the environment, no terminal: one line saying what to do.
    credentials.forget_login(BASE_URL, "alice")
    credentials.save_login(
        BASE_URL, "alice", token=stored.token, token_expires_at=time.time() + 600
    )
    result = await run("user", "passwd", "--user", "alice", "--password-stdin", input="x" * 9)
    assert result.exit_code == 1
    assert "needs the current one: set IMAGEREPO_PASSWORD" in result.stderr
    # A stored password that is not the current one any more is refused by the server.
    credentials.save_login(BASE_URL, "alice", "not-the-current-one")
    result = await run("user", "passwd", "--user", "alice", "--password-stdin", input="x" * 9)
    assert result.stderr == "error: your current password is wrong\n"


async def test_an_admin_sets_another_password_and_the_stored_login_follows(
    run: Run, wire: Wire
) -> None:
    first = await add(run, "alice")
    old_token = await token_of(run, "alice")
    result = await run("user", "passwd", "alice")
    assert result.exit_code == 0, result.output
    generated = result.stdout.split("password: ", 1)[1].split()[0]
    assert generated != first and "(shown once; saved in " in result.stdout
    assert not await works(wire, old_token)
    assert (await run("whoami", "--user", "alice")).exit_code == 0  # with the stored new one
    assert (await run("whoami")).exit_code == 0  # root's own token untouched

    await add(run, "bob")
    refused = await run("user", "passwd", "bob", "--user", "alice")
    assert refused.stderr == "error: only an admin can change another user's password\n"


async def test_delete_refuses_images_unless_told_and_asks_first(run: Run, tmp_path: Path) -> None:
    await add(run, "alice")
    photos = tree(tmp_path / "photos", ["a.jpg", "b.jpg"])
    assert (await run("upload", "--user", "alice", str(photos))).exit_code == 0

    refused = await run("user", "delete", "alice")
    assert refused.exit_code == 1
    assert refused.stderr == (
        "error: alice owns 2 images, so nothing was deleted: add --delete-images to delete them"
        " with the account (it asks first)\n"
    )
    not_admin = await run("user", "delete", "root", "--delete-images", "--user", "alice")
    assert not_admin.stderr == "error: only an admin can delete users\n"

    for answer in ("n\n", ""):  # no, or no answer at all (not a terminal): nothing happens
        declined = await run("user", "delete", "alice", "--delete-images", input=answer)
        assert declined.exit_code == 1
        assert "Delete user alice and the 2 images they own?" in declined.stderr
        assert declined.stderr.endswith("error: nothing was deleted\n")
    assert (await run("whoami", "--user", "alice")).exit_code == 0

    deleted = await run("user", "delete", "alice", "--delete-images", input="y\n")
    assert deleted.exit_code == 0, deleted.output
    # (CliRunner echoes the typed answer to stdout; a terminal would echo it itself.)
    assert deleted.stdout.splitlines()[-1] == "deleted user alice and 2 images"
    assert credentials.load_login(BASE_URL, "alice") is None
    assert "alice" not in (await run("user", "list")).stdout


async def test_delete_without_images_and_with_yes(run: Run, tmp_path: Path) -> None:
    await add(run, "bob")
    assert (await run("user", "delete", "bob")).stdout == "deleted user bob\n"
    await add(run, "carol")
    photo = tree(tmp_path / "p", ["c.jpg"]) / "c.jpg"
    assert (await run("upload", "--user", "carol", str(photo))).exit_code == 0
    result = await run("user", "delete", "carol", "--delete-images", "--yes")
    assert result.stdout == "deleted user carol and 1 image\n"
    root = await run("user", "delete", "root", "--yes")
    assert root.stderr == "error: root cannot be deleted\n"


async def test_rm_help_promises_no_admin_rights(run: Run) -> None:
    text = " ".join((await run("rm", "--help")).stdout.split())
    assert "only the owner may" in text and "admin" not in text
