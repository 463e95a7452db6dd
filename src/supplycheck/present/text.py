"""Text helpers every channel and renderer shares: one of each, so the same finding reads the
same everywhere (panel, summary, letter).

- `printable`: what came from a file or a person never drives the terminal;
- `short`: a clinical wording cut to its headline; `words`: a code as words;
- `escape_markdown`, `escape_html`: text made safe inside a document;
- `local_date`, `local_datetime`, `local_minute`, `utc_time`: a stored ISO time as people read it.
"""

from __future__ import annotations

import html
from datetime import datetime, timezone

from ..i18n import format_date, format_datetime, tr

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


def short(text: str) -> str:
    """A clinical wording up to its first colon, semicolon or parenthesis, without a final full
    stop: the headline of a finding (the findings panel, a letter's reasons, a rescore report)."""
    for mark in (":", ";", " ("):
        if mark in text:
            text = text.split(mark, 1)[0]
    return text.strip().rstrip(".")


def words(code: object) -> str:
    """A code (or an enum of codes) as words, in the current language: `same_day` -> `same day`."""
    return tr(str(getattr(code, "value", code)).replace("_", " "))


def escape_markdown(text: str) -> str:
    """Text safe inside Markdown running text: no accidental emphasis, links, tables, headings
    or HTML, no control characters, on one line."""
    out = printable(text).replace("\\", "\\\\")
    for ch in "*_`[]<>|#":
        out = out.replace(ch, "\\" + ch)
    return " ".join(out.split())


def escape_html(text: object) -> str:
    """Text safe inside HTML, in an element or a quoted attribute."""
    return html.escape(str(text), quote=True)


def _moment(iso: str) -> datetime:
    when = datetime.fromisoformat(iso)
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)  # stored times are UTC


def local_date(iso: str) -> str:
    """A stored time as the local date, as the language writes it ("2 December 2026"); text that
    is not a time is shown as it is."""
    try:
        return format_date(_moment(iso).astimezone())
    except ValueError:
        return iso


def local_datetime(iso: str) -> str:
    """A stored time as the local date and time, short ("2 Dec 2026, 14:05")."""
    try:
        return format_datetime(_moment(iso).astimezone())
    except ValueError:
        return iso


def local_minute(iso: str | None) -> str:
    """A stored time as local `YYYY-MM-DD HH:MM`, sortable, for lists ('' when there is none)."""
    if not iso:
        return ""
    try:
        return _moment(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def utc_time(iso: str) -> str:
    """A stored time as UTC with its offset, to the second: `2026-12-02 00:31:05+00:00`."""
    try:
        return _moment(iso).astimezone(timezone.utc).isoformat(sep=" ", timespec="seconds")
    except ValueError:
        return iso
