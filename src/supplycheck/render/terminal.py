"""The parents' summary and the red-flag interrupt, for the terminal (rich).

Readable at 80 columns; every urgency carries a text tag ("URGENT — TODAY") so colour is never
the only carrier; NO_COLOR is honoured by rich itself. These functions take a `Summary` (built
by `summary.build`) and only lay it out: nothing here decides a finding.
"""

from __future__ import annotations

from typing import Iterable

from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.rule import Rule
from rich.text import Text

from ..i18n import tr
from ..rulebase.models import Urgency
from ..present.summary import Finding, Summary
from .labels import CATEGORY_HEADINGS, HEADINGS, URGENCY_STYLES, tag

WIDTH = 80
OPEN_QUESTIONS_SHOWN = 6


def _style(urgency: Urgency | None) -> str:
    return URGENCY_STYLES[urgency] if urgency else ""


def _heading(text: str) -> RenderableType:
    return Rule(Text(text, style="bold"), align="left", characters="─")


def _hanging(marker: str, body: Text, indent: int = 3) -> RenderableType:
    """A list item whose wrapped lines line up under its text."""
    from rich.table import Table

    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=indent - 1, no_wrap=True)
    grid.add_column(ratio=1)
    grid.add_row(Text(marker), body)
    return grid


def _tagged(urgency: Urgency | None, text: str) -> Text:
    out = Text()
    if urgency is not None:
        out.append(f"[{tag(urgency)}]", style=_style(urgency))
        out.append(" ")
    out.append(text)
    return out


def _evidence(finding: Finding) -> list[RenderableType]:
    if not finding.evidence:
        return []
    lines = [Text(f"{HEADINGS['because']}:", style="italic")]
    for e in finding.evidence:
        lines.append(_hanging("–", Text.assemble(f"{e.label} → ", (e.answer, "bold"))))
    return [Padding(Group(*lines), (0, 0, 0, 3))]


def headline(summary: Summary) -> RenderableType:
    """Urgency first, then who to contact."""
    body: list[RenderableType] = [Text(summary.urgency_text)]
    if summary.contacts:
        body.append(Text(""))
        body.append(Text(HEADINGS["contact"], style="bold"))
        for c in summary.contacts:
            body.append(_hanging("•", Text.assemble((f"[{tag(c.urgency)}] ", _style(c.urgency)), c.who)))
    return Panel(Group(*body), title=Text(f" {tag(summary.urgency)} ", style=_style(summary.urgency)),
                 title_align="left", border_style=_style(summary.urgency) or "none", padding=(0, 1))


def summary_renderable(summary: Summary) -> RenderableType:
    """The whole summary, in the order a worried parent needs it."""
    parts: list[RenderableType] = [Text(HEADINGS["title"], style="bold underline"), Text(""),
                                   headline(summary)]
    if summary.check_now:
        parts += [Text(""), _heading(HEADINGS["check_now"])]
        parts += [_hanging("?", _tagged(urgency, label)) for label, urgency in summary.check_now]
    if summary.red_flags:
        parts += [Text(""), _heading(HEADINGS["red_flags"])]
        for f in summary.red_flags:
            parts.append(_hanging("!", _tagged(f.urgency, f.text)))
            parts += _evidence(f)
    parts += [Text(""), _heading(HEADINGS["supply"]), Text(summary.supply_text)]
    if summary.factors:
        parts += [Text(""), _heading(HEADINGS["factors"])]
        for category in ("primary", "secondary"):
            found = [f for f in summary.factors if f.category == category]
            if not found:
                continue
            parts.append(Text(CATEGORY_HEADINGS[category], style="bold"))
            for f in found:
                parts.append(_hanging("•", Text(f.text)))
                parts += _evidence(f)
    if summary.perceived:
        parts += [Text(""), _heading(HEADINGS["perceived"])]
        for f in summary.perceived:
            worry, _, why = f.text.partition(": ")
            parts.append(_hanging("•", Text.assemble((worry, "bold"), (": " + why) if why else "")))
    if summary.next_steps:
        parts += [Text(""), _heading(HEADINGS["steps"])]
        for i, step in enumerate(summary.next_steps, 1):
            parts.append(_hanging(f"{i}.", Text(step), indent=4))
    if summary.safety_net:
        parts += [Text(""), _heading(HEADINGS["safety_net"])]
        parts += [_hanging("!", Text(item)) for item in summary.safety_net]
    if summary.open_questions:
        parts += [Text(""), _heading(HEADINGS["open"])]
        parts += [_hanging("?", Text(q)) for q in summary.open_questions[:OPEN_QUESTIONS_SHOWN]]
        if len(summary.open_questions) > OPEN_QUESTIONS_SHOWN:
            more = len(summary.open_questions) - OPEN_QUESTIONS_SHOWN
            parts.append(Text("   " + tr("… and {n} more (save the summary to see them all)").format(n=more), style="dim"))
    if summary.sources:
        parts += [Text(""), _heading(HEADINGS["sources"])]
        parts += [_hanging("-", Text.assemble((f"{t}: ", "dim"), citation)) for t, citation in summary.sources]
    # no version line for parents: it stays in the consultant's letter and in the JSON
    parts += [Text(""), Panel(Text(summary.disclaimer), title=HEADINGS["about"], title_align="left",
                              border_style="dim", padding=(0, 1))]
    return Group(*parts)


def red_flag_panel(summary: Summary, codes: Iterable[str]) -> RenderableType:
    """The interrupt shown as soon as answers show a red flag: what to do and how soon (the
    overall urgency, from the rule base), who to contact, and why (the new red flags)."""
    wanted = set(codes)
    flags = [f for f in summary.red_flags if f.code in wanted]
    urgency = min((f.urgency for f in flags if f.urgency), key=lambda u: u.rank, default=summary.urgency)
    urgency = min(urgency, summary.urgency, key=lambda u: u.rank)
    body: list[RenderableType] = [Text(summary.urgency_text, style="bold")]
    contacts = [c for c in summary.contacts if c.urgency == summary.urgency]
    for c in contacts:
        body.append(_hanging("→", Text(c.who)))
    body.append(Text(""))
    for f in flags:
        body.append(_hanging("!", Text(f.text)))
    return Panel(Group(*body), title=Text(f" ⚠  {tag(urgency)} ", style=_style(urgency)),
                 title_align="left", border_style=_style(urgency) or "none", padding=(0, 1),
                 width=WIDTH)


def to_text(renderable: RenderableType, *, width: int = WIDTH, color: bool = False) -> str:
    """Render to plain text (or ANSI with `color`), for tests and non-terminal output."""
    console = Console(width=width, record=True, force_terminal=color, color_system="standard" if color else None,
                      file=_Null(), highlight=False, no_color=not color)
    console.print(renderable)
    return "\n".join(line.rstrip() for line in console.export_text(styles=color).splitlines()) + "\n"


class _Null:
    def write(self, _: str) -> int:
        return 0

    def flush(self) -> None:
        pass
