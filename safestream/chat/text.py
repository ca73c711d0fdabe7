"""Chat text made safe at the edge, once: valid Unicode, no invisible or terminal controls.

A chat line is shown in browsers, terminals and the dashboard, stored, and scored. So
before anything acts on it:

- lone surrogates (JSON `"\\ud800"`) are refused: they are not text and cannot be stored;
- ANSI escape sequences and every other control character are removed; CR, LF and tab
  become a space, so no line can forge a second chat line in a terminal;
- bidirectional overrides and isolates (which reorder what a reader sees) and
  zero-width characters that only hide text (zero-width space, word joiner, BOM, soft
  hyphen, Mongolian vowel separator) are removed. The zero-width joiner and non-joiner
  stay: emoji sequences and several scripts need them;
- runs of spaces collapse to one and the ends are trimmed; the result is NFC-normalised.

Example:
    clean_chat_text("hi\\u202e\\x1b[31m there\\r\\n[admin]: x")  # -> "hi there [admin]: x"
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["InvalidText", "clean_chat_text"]

_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-~])")
_INVISIBLE = dict.fromkeys(
    [
        0x00AD,  # soft hyphen
        0x180E,  # Mongolian vowel separator
        0x200B,  # zero-width space
        0x2060,  # word joiner
        0xFEFF,  # zero-width no-break space (BOM)
        *range(0x202A, 0x202F),  # LRE RLE PDF LRO RLO
        *range(0x2066, 0x206A),  # LRI RLI FSI PDI
    ]
)
_SPACES = re.compile(r"[ \t\r\n\x0b\x0c\x85\u2028\u2029]+")


class InvalidText(ValueError):
    """The text is not valid Unicode (it holds a lone surrogate)."""


def clean_chat_text(text: str) -> str:
    """`text` as it may be shown, stored and scored (see the module docstring).

    Raises:
        InvalidText: `text` contains a lone surrogate.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidText("text is not valid Unicode") from exc
    text = _ANSI.sub("", text).translate(_INVISIBLE)
    text = _SPACES.sub(" ", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cc")
    return unicodedata.normalize("NFC", _SPACES.sub(" ", text).strip())
