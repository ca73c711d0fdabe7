"""Chat text is cleaned once at the edge: valid Unicode, nothing invisible or forging."""

from __future__ import annotations

import pytest

from safestream.chat.text import InvalidText, clean_chat_text


def test_a_lone_surrogate_is_refused() -> None:
    with pytest.raises(InvalidText):
        clean_chat_text("hi \ud800 there")


def test_line_breaks_cannot_forge_a_second_chat_line() -> None:
    assert clean_chat_text("hello\r\n[admin]: you are banned") == "hello [admin]: you are banned"


@pytest.mark.parametrize(
    "escape", ["\x1b[31m", "\x1b[2J", "\x1b]0;title\x07", "\x1b]8;;http://x\x1b\\", "\x1bc"]
)
def test_ansi_escape_sequences_are_removed_whole(escape: str) -> None:
    assert clean_chat_text(f"red{escape}text") == "redtext"


@pytest.mark.parametrize("char", ["\u202e", "\u202a", "\u2066", "\u2069", "\u200b", "\ufeff"])
def test_bidi_overrides_and_hiding_zero_width_characters_are_removed(char: str) -> None:
    assert clean_chat_text(f"id{char}iot") == "idiot"


def test_emoji_joiners_are_kept() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert clean_chat_text(f"hi {family}") == f"hi {family}"


def test_other_control_characters_are_removed_and_spaces_collapse() -> None:
    assert clean_chat_text("  a \x00\x07 \t b  ") == "a b"


def test_text_is_nfc_normalised() -> None:
    assert clean_chat_text("cafe\u0301") == "caf\u00e9"
