"""The CLI's failure contract where no server is needed: one line and exit 1; usage, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from imagerepo import credentials
from imagerepo.cli import app
from imagerepo.cli.images import safe_filename
from imagerepo.client.schemas import ImageJSON

DOWN = "http://127.0.0.1:1"  # nothing listens on port 1: connection refused at once


@pytest.fixture
def cli() -> CliRunner:
    return CliRunner()


@pytest.mark.parametrize(
    "args",
    [
        ["images", "--url", DOWN],
        ["whoami", "--url", DOWN],
        ["show", "some-id", "--url", DOWN],
        ["rm", "some-id", "--url", DOWN],
        ["edit", "some-id", "--private", "--url", DOWN],
    ],
)
def test_an_unreachable_server_is_one_line_and_exit_1(cli: CliRunner, args: list[str]) -> None:
    result = cli.invoke(app, args)
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: cannot reach the server at {DOWN}: connection refused"
        " — is `imagerepo serve` running?\n"
    )


def test_upload_with_a_stored_password_reports_the_server_down(
    cli: CliRunner, tmp_path: Path
) -> None:
    credentials.save_login(DOWN, "root", "pw")
    image = tmp_path / "a.jpg"
    image.write_bytes(b"x")
    result = cli.invoke(app, ["upload", str(image), "--url", DOWN])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: cannot reach the server at {DOWN}")
    assert "Traceback" not in result.output


def test_a_damaged_login_store_is_one_line(cli: CliRunner, isolated_client_config: Path) -> None:
    isolated_client_config.parent.mkdir(parents=True)
    isolated_client_config.write_text("{")
    result = cli.invoke(app, ["whoami"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: the login store {isolated_client_config}")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    "args",
    [
        ["upload"],
        ["edit", "some-id"],
        ["images", "--limit", "0"],
        ["upload", "--concurrency", "0", "x.jpg"],
        ["no-such-command"],
    ],
)
def test_usage_errors_exit_2(cli: CliRunner, args: list[str]) -> None:
    assert cli.invoke(app, args).exit_code == 2


def test_logout_with_nothing_stored(cli: CliRunner) -> None:
    result = cli.invoke(app, ["logout", "--user", "nobody"])
    assert result.exit_code == 0
    assert "nothing stored for nobody" in result.stdout


def test_logout_keeps_a_password_unless_asked(cli: CliRunner) -> None:
    url = "http://127.0.0.1:8000"
    credentials.save_login(url, "root", "pw", token="t", token_expires_at=1.0)
    assert cli.invoke(app, ["logout", "--url", url]).exit_code == 0
    assert credentials.load_login(url, "root") == credentials.StoredLogin(password="pw")
    assert cli.invoke(app, ["logout", "--url", url, "--forget-password"]).exit_code == 0
    assert credentials.load_login(url, "root") is None


@pytest.mark.parametrize(
    ("filename", "media_type", "expected"),
    [
        ("cat.jpg", "image/jpeg", "cat.jpg"),
        ("../../etc/passwd", "image/png", "passwd"),
        (".bashrc", "image/png", "ID.png"),
        ("", "image/jpeg", "ID.jpg"),
        ("..", "application/x-unknown", "ID"),
    ],
)
def test_download_names_never_leave_the_folder(
    filename: str, media_type: str, expected: str
) -> None:
    image = {"filename": filename, "media_type": media_type}
    assert safe_filename(ImageJSON(**image), "ID") == expected  # type: ignore[typeddict-item]
