"""The parents' summary as Markdown (for `--save summary.md`). Lays out a `Summary`; decides
nothing. Urgency is written as a text tag, never only as formatting."""

from __future__ import annotations

from datetime import date
from typing import Iterable

from ..i18n import format_date, tr
from ..present.summary import Finding, Summary
from ..present.text import escape_markdown as _md
from .labels import CATEGORY_HEADINGS, HEADINGS, tag


def _evidence(f: Finding) -> list[str]:
    if not f.evidence:
        return []
    lines = [f"  *{HEADINGS['because']}:*"]
    lines += [f"  - {_md(e.label)} → **{_md(e.answer)}**" for e in f.evidence]
    return lines


def to_markdown(summary: Summary, *, made: date | None = None) -> str:
    """The document; `made` (default today) is written at the end, for whoever reads it later."""
    out: list[str] = [f"# {HEADINGS['title']}", ""]

    def section(heading: str, lines: list[str]) -> None:
        """A heading and its lines; nothing when there are none."""
        if lines:
            out.extend([heading, "", *lines, ""])

    def findings(found: Iterable[Finding], tagged: bool = False) -> list[str]:
        lines = []
        for f in found:
            lines.append(f"- **{tag(f.urgency)}**: {_md(f.text)}" if tagged and f.urgency else f"- {_md(f.text)}")
            lines += _evidence(f)
        return lines

    out += [f"## {tag(summary.urgency)}", "", f"**{_md(summary.urgency_text)}**", ""]
    section(f"### {HEADINGS['contact']}", [f"- **{tag(c.urgency)}**: {_md(c.who)}" for c in summary.contacts])
    section(f"## {HEADINGS['check_now']}",
            [f"- **{tag(urgency)}**: {_md(label)}" for label, urgency in summary.check_now])
    section(f"## {HEADINGS['red_flags']}", findings(summary.red_flags, tagged=True))
    out += [f"## {HEADINGS['supply']}", "", _md(summary.supply_text), ""]
    if summary.factors:
        out += [f"## {HEADINGS['factors']}", ""]
        for category in ("primary", "secondary"):
            section(f"### {CATEGORY_HEADINGS[category]}",
                    findings(f for f in summary.factors if f.category == category))
    perceived = [f.text.partition(": ") for f in summary.perceived]
    section(f"## {HEADINGS['perceived']}",
            [f"- **{_md(worry)}**: {_md(why)}" if why else f"- {_md(worry)}" for worry, _, why in perceived])
    section(f"## {HEADINGS['steps']}", [f"{i}. {_md(step)}" for i, step in enumerate(summary.next_steps, 1)])
    section(f"## {HEADINGS['safety_net']}", [f"- {_md(item)}" for item in summary.safety_net])
    section(f"## {HEADINGS['open']}", [f"- {_md(q)}" for q in summary.open_questions])
    section(f"## {HEADINGS['sources']}", [f"- **{_md(t)}**: {_md(c)}" for t, c in summary.sources])
    out += [f"## {HEADINGS['about']}", "", f"> {_md(summary.disclaimer)}", "", f"*{tr('Made on {date}').format(date=format_date(made or date.today()))}*", ""]
    return "\n".join(out)
