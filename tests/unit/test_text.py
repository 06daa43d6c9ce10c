"""The one text rule (services/text.py), character by character."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

import pytest

from imagerepo.services.text import BIDI_CONTROLS, BIDI_MARKS, clean_line, clean_multiline

C0_BUT_WHITE_SPACE = [chr(c) for c in range(0x20) if chr(c) not in "\t\n\v\f\r"]
C1_BUT_NEL = [chr(c) for c in range(0x7F, 0xA0) if c != 0x85]
LINE_BREAKS = ["\r\n", "\r", "\n", "\v", "\f", "\x85", "\u2028", "\u2029"]
KEPT = [
    "\U0001f469\u200d\U0001f469\u200d\U0001f467",  # 👩‍👩‍👧: emoji joined by ZWJ
    "\U0001f3f3\ufe0f\u200d\U0001f308",  # 🏳️‍🌈: variation selector and ZWJ
    "\U0001f3f4\U000e0067\U000e0062\U000e0077\U000e006c\U000e0073\U000e007f",  # flag of Wales
    "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # می‌خواهم (Persian, ZWNJ)
    "\u0915\u094d\u200c\u0937",  # क्‌ष (Devanagari, ZWNJ)
    "\u0915\u094d\u200d\u0937",  # क्‍ष (Devanagari, ZWJ)
    "\u05e9\u05dc\u05d5\u05dd",  # שלום
    "soft\u00adhyphen",
    "\ue000 private use",
]


@pytest.mark.parametrize("clean", [clean_line, clean_multiline])
@pytest.mark.parametrize("control", C0_BUT_WHITE_SPACE + C1_BUT_NEL + list(BIDI_CONTROLS))
def test_controls_and_bidi_controls_are_removed(control: str, clean: Callable[[str], str]) -> None:
    assert clean(f"a{control}b") == "ab"


@pytest.mark.parametrize("text", KEPT)
def test_joiners_tags_and_scripts_survive_both(text: str) -> None:
    assert clean_line(text) == text
    assert clean_multiline(text) == text


@pytest.mark.parametrize("mark", list(BIDI_MARKS))
def test_marks_stay_in_prose_and_leave_one_line_text(mark: str) -> None:
    assert clean_multiline(f"\u05d0{mark}.") == f"\u05d0{mark}."
    assert clean_line(f"\u05d0{mark}.") == "\u05d0."


@pytest.mark.parametrize("brk", LINE_BREAKS)
def test_line_breaks(brk: str) -> None:
    assert clean_multiline(f"one{brk}two") == "one\ntwo"
    assert clean_line(f"one{brk}two") == "one two"


def test_tabs_stay_in_prose_only_and_lines_are_trimmed() -> None:
    assert clean_multiline("  a\tb \n") == "  a\tb \n"
    assert clean_line(" \t a\tb \n") == "a b"


def test_lone_surrogates_are_removed() -> None:
    for surrogate in ("\ud800", "\udbff", "\udc00", "\udfff"):
        assert clean_line(f"a{surrogate}b") == "ab"
        assert clean_multiline(f"a{surrogate}b") == "ab"
    # In a Python str even a "pair" is two lone surrogates (what json.loads makes of bad input).
    assert clean_line("x\ud83d\ude00") == "x"


def test_nfc() -> None:
    assert clean_line("Cafe\u0301") == "Caf\u00e9"
    assert clean_multiline("A\u030a") == "\u00c5"
    # Removing a control can bring a base and its accent together: composed afterwards.
    assert clean_line("e\x00\u0301") == "\u00e9"


def test_spoofed_extension_and_terminal_escapes() -> None:
    assert clean_line("photo\u202egpj.exe") == "photogpj.exe"
    assert clean_line("\x1b[2J\x1b]0;owned\x07name") == "[2J]0;ownedname"


ALL_SORTS = (
    "".join([*C0_BUT_WHITE_SPACE, *C1_BUT_NEL, *BIDI_CONTROLS, *BIDI_MARKS, *LINE_BREAKS, *KEPT])
    + "\t\ud800 e\u0301 x"
)


@pytest.mark.parametrize("clean", [clean_line, clean_multiline])
def test_idempotent_and_storable(clean: Callable[[str], str]) -> None:
    once = clean(ALL_SORTS)
    assert clean(once) == once
    once.encode("utf-8")  # no surrogates left
    assert unicodedata.is_normalized("NFC", once)
    assert not set(once) & set(BIDI_CONTROLS)
    allowed = {"\t", "\n"} if clean is clean_multiline else set()
    assert {ch for ch in once if unicodedata.category(ch) == "Cc"} <= allowed
