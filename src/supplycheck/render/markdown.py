"""The parents' summary as Markdown (for `--save summary.md`). Lays out a `Summary`; decides
nothing. Urgency is written as a text tag, never only as formatting."""

from __future__ import annotations

from datetime import date

from ..i18n import format_date, tr
from ..present.summary import Finding, Summary
from .labels import CATEGORY_HEADINGS, HEADINGS, tag


def _md(text: str) -> str:
    """Escape what Markdown would take as formatting in running text."""
    out = text.replace("\\", "\\\\")
    for ch in "*_`[]<>|":
        out = out.replace(ch, "\\" + ch)
    return " ".join(out.split())


def _evidence(f: Finding) -> list[str]:
    if not f.evidence:
        return []
    lines = [f"  *{HEADINGS['because']}:*"]
    lines += [f"  - {_md(e.label)} → **{_md(e.answer)}**" for e in f.evidence]
    return lines


def to_markdown(summary: Summary, *, made: date | None = None) -> str:
    """The document; `made` (default today) is written at the end, for whoever reads it later."""
    out: list[str] = [f"# {HEADINGS['title']}", ""]
    out += [f"## {tag(summary.urgency)}", "", f"**{_md(summary.urgency_text)}**", ""]
    if summary.contacts:
        out += [f"### {HEADINGS['contact']}", ""]
        out += [f"- **{tag(c.urgency)}**: {_md(c.who)}" for c in summary.contacts]
        out.append("")
    if summary.check_now:
        out += [f"## {HEADINGS['check_now']}", ""]
        out += [f"- **{tag(urgency)}**: {_md(label)}" for label, urgency in summary.check_now]
        out.append("")
    if summary.red_flags:
        out += [f"## {HEADINGS['red_flags']}", ""]
        for f in summary.red_flags:
            out.append(f"- **{tag(f.urgency)}**: {_md(f.text)}" if f.urgency else f"- {_md(f.text)}")
            out += _evidence(f)
        out.append("")
    out += [f"## {HEADINGS['supply']}", "", _md(summary.supply_text), ""]
    if summary.factors:
        out += [f"## {HEADINGS['factors']}", ""]
        for category in ("primary", "secondary"):
            found = [f for f in summary.factors if f.category == category]
            if not found:
                continue
            out += [f"### {CATEGORY_HEADINGS[category]}", ""]
            for f in found:
                out.append(f"- {_md(f.text)}")
                out += _evidence(f)
            out.append("")
    if summary.perceived:
        out += [f"## {HEADINGS['perceived']}", ""]
        for f in summary.perceived:
            worry, _, why = f.text.partition(": ")
            out.append(f"- **{_md(worry)}**: {_md(why)}" if why else f"- {_md(worry)}")
        out.append("")
    if summary.next_steps:
        out += [f"## {HEADINGS['steps']}", ""]
        out += [f"{i}. {_md(step)}" for i, step in enumerate(summary.next_steps, 1)]
        out.append("")
    if summary.safety_net:
        out += [f"## {HEADINGS['safety_net']}", ""]
        out += [f"- {_md(item)}" for item in summary.safety_net]
        out.append("")
    if summary.open_questions:
        out += [f"## {HEADINGS['open']}", ""]
        out += [f"- {_md(q)}" for q in summary.open_questions]
        out.append("")
    if summary.sources:
        out += [f"## {HEADINGS['sources']}", ""]
        out += [f"- **{_md(t)}**: {_md(c)}" for t, c in summary.sources]
        out.append("")
    out += [f"## {HEADINGS['about']}", "", f"> {_md(summary.disclaimer)}", "", f"*{tr('Made on {date}').format(date=format_date(made or date.today()))}*", ""]
    return "\n".join(out)
