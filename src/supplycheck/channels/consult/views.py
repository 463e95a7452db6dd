"""How the consultant's terminal shows things (rich renderables): the live findings panel, the
explanation, the list of intakes, answers with notes, the audit trail and a rescore report.
Everything shown comes from the result and the rule base's wording; nothing is decided here."""

from __future__ import annotations

from typing import Any, Iterable

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ...i18n import tr
from ...render.printable import printable
from ...core.result import Result
from ...rulebase.loader import RuleBase
from ...rulebase.models import Urgency
from ...storage.store import ABSENT, AuditEntry, IntakeRecord
from ...present.summary import answer_text, field_label
from ...present.explain import Reasoning
from .records import Current, Rescored, local_time

URGENCY_STYLE = {
    "emergency": "bold white on red",
    "same_day": "bold red",
    "within_2_days": "bold yellow",
    "routine": "cyan",
    "none": "green",
}


def words(code: Any) -> str:
    """A code as words: `same_day` -> `same day`."""
    return tr(str(getattr(code, "value", code)).replace("_", " "))


def urgency_label(urgency: Urgency | str | None) -> Text:
    if not urgency:
        return Text(tr("not scored"), style="dim")
    value = getattr(urgency, "value", urgency)
    return Text(words(value).upper(), style=URGENCY_STYLE.get(value, ""))


def _clinical(table: dict[Any, Any], code: Any) -> str:
    entry = table.get(code)
    return entry.clinical if entry is not None else words(code)


# --------------------------------------------------------------------------- the live panel


def findings_panel(rulebase: RuleBase, result: Result, *, title: str | None = None,
                   subtitle: str | None = None) -> Panel:
    """Red flags, factors, supply picture, referrals and urgency, one line each."""
    codes = rulebase.codes
    title = title or tr("Findings so far")
    grid = Table.grid(padding=(0, 1), expand=True)
    grid.add_column(style="bold", no_wrap=True, width=10)
    grid.add_column(overflow="ellipsis", no_wrap=True, ratio=1)
    if result.status == "error":
        for e in result.errors:
            grid.add_row(tr("Error"), Text(f"{e.field}: {e.message}", style="red"))
        return Panel(grid, title=title, subtitle=subtitle, border_style="red")
    urgency = result.urgency
    grid.add_row(tr("Urgency"), Text.assemble(urgency_label(urgency), "  ",
                                          _clinical(codes.urgencies, urgency)))
    if result.red_flags:
        for i, code in enumerate(result.red_flags):
            grid.add_row(tr("Red flags") if i == 0 else "",
                         Text.assemble(("● ", "red"), _clinical(codes.red_flags, code)))
    else:
        grid.add_row(tr("Red flags"), Text(tr("none so far"), style="dim"))
    for category in ("primary", "secondary"):
        names = [_short(_clinical(codes.factors, f.id)) for f in result.factors
                 if f.category.value == category]
        grid.add_row(tr("Primary") if category == "primary" else tr("Secondary"),
                     Text("; ".join(names)) if names else Text(tr("none so far"), style="dim"))
    if result.perceived_signs:
        grid.add_row(tr("Perceived"), "; ".join(_short(_clinical(codes.perceived_signs, c))
                                            for c in result.perceived_signs))
    supply = result.supply_picture
    grid.add_row(tr("Supply"), Text.assemble((words(supply), "bold"), "  ",
                                         (_clinical(codes.supply_pictures, supply), "dim")))
    refs = [Text.assemble(words(r.to), " ", urgency_label(r.urgency)) for r in result.referrals]
    grid.add_row(tr("Refer"), Text("; ").join(refs) if refs else Text(tr("nobody so far"), style="dim"))
    border = URGENCY_STYLE.get(urgency.value if urgency else "", "").replace("bold ", "") or "white"
    if urgency and urgency.value == "emergency":
        border = "red"
    return Panel(grid, title=title, subtitle=subtitle, border_style=border, title_align="left",
                 subtitle_align="right")


def _short(text: str) -> str:
    """The part of a clinical wording before its first colon or parenthesis."""
    for mark in (":", " ("):
        if mark in text:
            text = text.split(mark, 1)[0]
    return text.strip()


def status_line(rulebase: RuleBase, result: Result) -> Text:
    """One line when an answer changed nothing in the findings."""
    flags = len(result.red_flags)
    return Text.assemble(("  " + tr("findings unchanged") + " · ", "dim"), urgency_label(result.urgency),
                         (f" · {_count(flags, 'red flag')} · {_count(len(result.factors), 'factor')} · "
                          f"{tr('supply:')} {words(result.supply_picture)}", "dim"))


def _count(n: int, noun: str) -> str:
    """"1 red flag", "2 red flags", in the current language."""
    return (tr(f"{{n}} {noun}") if n == 1 else tr(f"{{n}} {noun}s")).format(n=n)


# --------------------------------------------------------------------------- explanation


def _indent(renderable: RenderableType, level: int) -> Padding:
    return Padding(renderable, (0, 0, 0, 2 * level))


def explanation_view(reasoning: Reasoning) -> RenderableType:
    """Each finding with the rules behind it (their answers, derived values and sources), then
    the open questions and the sources cited."""
    parts: list[RenderableType] = [
        Text.assemble((tr("Urgency:") + " ", "bold"), urgency_label(reasoning.urgency), "  ",
                      reasoning.urgency_text)]
    headings = [("red_flag", tr("Red flags")), ("factor", tr("Factors")), ("perceived", tr("Perceived signs")),
                ("supply", tr("Supply picture")), ("referral", tr("Referrals"))]
    for kind, heading in headings:
        items = reasoning.of(kind)  # type: ignore[arg-type]
        if not items and kind == "perceived":
            continue
        parts.append(Text(f"\n{heading}", style="bold underline"))
        if not items:
            parts.append(_indent(Text(tr("none"), style="dim"), 1))
        for item in items:
            head = Text.assemble(("● ", "red" if kind == "red_flag" else "cyan"))
            if kind == "supply":
                head.append(words(item.code), style="bold")
                head.append(f"  {item.title}")
            else:
                head.append(item.title, style="bold")
            if kind in ("red_flag", "referral") and item.detail:
                head.append("  ")
                head.append_text(urgency_label(item.detail))
            elif item.detail:
                head.append(f"  [{item.detail}]", style="dim")
            parts.append(_indent(head, 1))
            if kind == "referral":
                rules = ", ".join(b.rule for b in item.because)
                parts.append(_indent(Text.assemble((tr("for") + " ", "dim"), ", ".join(item.reasons),
                                                   ("; " + tr("rules:") + " ", "dim"), rules), 3))
                continue
            if not item.because:
                parts.append(_indent(Text(tr("no rule concluded a picture: not enough is known"),
                                          style="dim"), 3))
            for b in item.because:
                parts.append(_indent(Text.assemble((tr("rule") + " ", "dim"), (b.rule, "bold"), "  ",
                                                   (b.text, "italic"), (f"  {b.location}", "dim")), 3))
                for e in b.evidence:
                    line = Text.assemble(("• ", "dim"), e.label, ": ", (e.answer, "bold"))
                    if e.derived:
                        line.append("  " + tr("(derived from {answers})").format(answers=", ".join(e.derived_from)), style="dim")
                    parts.append(_indent(line, 4))
                parts.append(_indent(Text(tr("sources:") + " " + ", ".join(t for t, _ in b.sources),
                                          style="dim"), 4))
    parts.append(Text("\n" + tr("Unanswered questions that could raise the urgency"), style="bold underline"))
    if not reasoning.open_questions:
        parts.append(_indent(Text(tr("none"), style="dim"), 1))
    for o in reasoning.open_questions:
        parts.append(_indent(Text.assemble(("? ", "yellow"), (o.label, "bold"), (f" [{o.field}]", "dim"),
                                           f"  ({o.section})  " + tr("could raise to") + " ",
                                           urgency_label(o.could_raise_to),
                                           (f"  {tr('rules:')} {', '.join(o.rules)}", "dim")), 1))
    if reasoning.sources:
        parts.append(Text("\n" + tr("Sources"), style="bold underline"))
        for tag, citation in reasoning.sources:
            parts.append(_indent(Text.assemble((tag, "bold"), "  ", citation), 1))
    parts.append(Text(f"\n{tr('Rule base')} {reasoning.rulebase}", style="dim"))
    return Group(*parts)


# --------------------------------------------------------------------------- records


def intake_table(records: Iterable[IntakeRecord]) -> Table:
    table = Table(show_edge=False, header_style="bold", pad_edge=False)
    for col in ("Reference", "Kind", "Created", "Last change", "Status", "Answers", "Urgency",
                "Rule base"):
        table.add_column(col, no_wrap=True)
    for r in records:
        table.add_row(r.ref, r.kind, local_time(r.created_at), local_time(r.updated_at),
                      "finished" if r.finished else "open", str(r.answered),
                      urgency_label(r.urgency), r.result_rulebase_version or r.rulebase_version)
    return table


def header(now: Current) -> Text:
    r = now.record
    stored = now.stored
    text = Text.assemble(
        ("Intake ", "bold"), (r.ref, "bold cyan"),
        f"  created {local_time(r.created_at)} · last change {local_time(r.updated_at)} · ",
        ("finished" if r.finished else "open", "bold"),
        f"\nScored {local_time(stored.at)} with rule base {stored.rulebase_name} "
        f"{stored.rulebase_version} ({stored.rulebase_hash[:12]})")
    return text


def answers_view(rulebase: RuleBase, answers: dict[str, Any], notes: dict[str | None, str]) -> RenderableType:
    """Every answer by section, with the notes on each question, and the intake note."""
    table = Table(show_edge=False, header_style="bold", pad_edge=False, expand=True)
    table.add_column("Question [field]", overflow="fold", ratio=5)
    table.add_column("Answer", overflow="fold", ratio=3)
    table.add_column("Note", style="italic", overflow="fold", ratio=3)
    for section in rulebase.sections:
        rows = [q for q in section.questions if q.id in answers or q.id in notes]
        if not rows:
            continue
        table.add_row(Text(section.title.clinical, style="bold underline"), "", "")
        for q in rows:
            value = answers.get(q.id, ABSENT)
            shown = Text("not asked", style="dim") if value is ABSENT else Text(
                answer_text(rulebase, q.id, value, "clinical"))
            table.add_row(Text.assemble(q.clinical, (f" [{q.id}]", "dim")), shown,
                          Text(printable(notes.get(q.id, ""))))
    parts: list[RenderableType] = [table]
    if notes.get(None):
        parts.append(Text.assemble(("\nIntake note: ", "bold"), (printable(notes[None]), "italic")))
    return Group(*parts)


def audit_table(rulebase: RuleBase, entries: Iterable[AuditEntry]) -> Table:
    table = Table(show_edge=False, header_style="bold", pad_edge=False)
    for col in ("Time", "Change", "Field", "Before", "After"):
        table.add_column(col, overflow="fold")

    def shown(e: AuditEntry, value: Any) -> Text:
        if value is ABSENT:
            return Text("—", style="dim")
        if e.what == "answer" and e.field:
            return Text(answer_text(rulebase, e.field, value, "clinical"))
        return Text(str(value))

    for e in entries:
        table.add_row(local_time(e.at) + e.at[16:19], e.what,
                      e.field or ("(intake)" if e.what == "note" else ""), shown(e, e.old),
                      shown(e, e.new))
    return table


# --------------------------------------------------------------------------- rescore


def rescore_view(rulebase: RuleBase, reports: Iterable[Rescored]) -> RenderableType:
    codes = rulebase.codes
    parts: list[RenderableType] = []
    for rep in reports:
        before = f"{rep.before.rulebase_version} ({rep.before.rulebase_hash[:12]})" if rep.before else "none"
        after = f"{rep.after.rulebase.version} ({rep.after.rulebase.hash[:12]})"
        head = Text.assemble((rep.ref, "bold cyan"), f"  rule base {before} → {after}  ")
        if not rep.diff.changed:
            head.append("unchanged", style="green")
            parts.append(head)
            continue
        head.append("changed" + ("" if rep.saved else " (not saved)"), style="bold yellow")
        parts.append(head)
        for c in rep.diff.changes:
            if c.what in ("urgency", "supply_picture", "status"):
                label = {"urgency": "urgency", "supply_picture": "supply picture", "status": "status"}[c.what]
                line = Text.assemble(f"    {label}: ",
                                     urgency_label(c.before) if c.what == "urgency" else words(c.before or "—"),
                                     " → ",
                                     urgency_label(c.after) if c.what == "urgency" else words(c.after or "—"))
            elif c.what == "referral":
                line = Text.assemble(f"    referral to {words(c.code)}: ",
                                     urgency_label(c.before) if c.before else Text("—"), " → ",
                                     urgency_label(c.after) if c.after else Text("—"))
            else:
                table = {"red_flag": codes.red_flags, "factor": codes.factors,
                         "perceived": codes.perceived_signs}[c.what]
                sign, style = ("+", "red") if c.after else ("−", "green")
                line = Text.assemble(f"    {sign} {words(c.what)} ", (c.code or "", "bold"), "  ",
                                     (_short(_clinical(table, c.code)), "dim"), style=None)
                line.stylize(style, 4, 5)
            parts.append(line)
        for ex in rep.diff.rules_now_firing:
            parts.append(Text.assemble("    why: rule ", (ex.rule, "bold"), " now fires: ",
                                       (ex.clinical, "italic"), _evidence(rulebase, ex.evidence)))
        for ex in rep.diff.rules_no_longer_firing:
            parts.append(Text.assemble("    why: rule ", (ex.rule, "bold"), " no longer fires (was: ",
                                       (ex.clinical, "italic"), ")", _evidence(rulebase, ex.evidence)))
    if not parts:
        parts.append(Text("No saved intakes to rescore.", style="dim"))
    return Group(*parts)


def _evidence(rulebase: RuleBase, evidence: dict[str, Any]) -> Text:
    if not evidence:
        return Text("")
    items = "; ".join(f"{field_label(rulebase, f, 'clinical')} = {answer_text(rulebase, f, v, 'clinical')}"
                      if f in rulebase.symbols else f"{f} = {v}" for f, v in evidence.items())
    return Text(f" [{items}]", style="dim")
