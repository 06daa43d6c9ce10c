"""The README documents every server setting, and the quick start is the two commands."""

from __future__ import annotations

from pathlib import Path

from imagerepo.config import Settings

README = (Path(__file__).parents[2] / "README.md").read_text()


def test_every_setting_is_in_the_readme() -> None:
    missing = [
        f"IMAGEREPO_{name.upper()}"
        for name in Settings.model_fields
        if f"`IMAGEREPO_{name.upper()}`" not in README
    ]
    assert missing == []


def test_quick_start_is_make_run_and_make_test() -> None:
    quick_start = README.split("## Quick start", 1)[1].split("##", 1)[0]
    assert "make run" in quick_start and "make test" in quick_start
