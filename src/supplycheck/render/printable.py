"""Text made safe to print: what came from a file or a person never drives the terminal."""

from __future__ import annotations

_CONTROL = frozenset([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F, *range(0x80, 0xA0),
                      *range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2066, 0x206A)])


def printable(text: str) -> str:
    """`text` safe for a terminal: control characters (escape codes, bell, carriage return,
    bidirectional overrides) shown as `\\xNN` / `\\uNNNN` instead of acting. Line breaks and tabs stay."""
    out = []
    for c in str(text):
        code = ord(c)
        if code in _CONTROL:
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(c)
    return "".join(out)


