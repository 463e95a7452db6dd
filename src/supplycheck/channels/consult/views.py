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
from ...present.text import local_minute, printable, short, utc_time, words
from ...core.result import Result
from ...rulebase.loader import RuleBase
from ...rulebase.models import Urgency
from ...storage.store import ABSENT, AuditEntry
from ...present.summary import answer_text, field_label
from ...present.completeness import Completeness, Kind
from ...present.explain import Reasoning
from ...render.table import Column, rich_table
from .records import Current, Listed, Rescored

URGENCY_STYLE = {
    "emergency": "bold white on red",
    "same_day": "bold red",
    "within_2_days": "bold yellow",
    "routine": "cyan",
    "none": "green",
}


def urgency_label(urgency: Urgency | str | None) -> Text:
    if not urgency:
        return Text(tr("not scored"), style="dim")
    value = getattr(urgency, "value", urgency)
    return Text(words(value).upper(), style=URGENCY_STYLE.get(value, ""))


def _clinical(table: dict[Any, Any], code: Any) -> str:
    entry = table.get(code)
    return entry.clinical if entry is not None else words(code)


# --------------------------------------------------------------------------- the live panel


KIND_LABELS: dict[str, str] = {"red_flag": "red flag", "primary": "primary factor",
                               "secondary": "secondary factor", "perceived": "perceived sign"}


def nothing_found(kind: Kind, completeness: Completeness | None) -> Text:
    """What an empty row says: found nothing in what was asked, or could not know (questions
    that could show one were not asked or answered "not sure")."""
    if completeness is None:
        return Text("none so far", style="dim")
    unknown = completeness.unknown(kind)
    if not unknown:
        return Text("none found", style="dim")
    n = len(unknown)
    return Text(f"none found, but not known: {n} question{'s' * (n != 1)} not asked or not sure "
                f"could show a {KIND_LABELS[kind]}", style="yellow")


def findings_panel(rulebase: RuleBase, result: Result, *, title: str = "Findings so far",
                   subtitle: str | None = None, completeness: Completeness | None = None) -> Panel:
    """Red flags, factors, supply picture, referrals and urgency; long clinical wording wraps
    (it is never cut short). With `completeness`, an empty row says whether nothing was found
    or nothing could be known."""
    codes = rulebase.codes
    title = title or tr("Findings so far")
    grid = Table.grid(padding=(0, 1), expand=True)
    grid.add_column(style="bold", no_wrap=True, width=10)
    grid.add_column(overflow="fold", ratio=1)
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
        grid.add_row(tr("Red flags"), nothing_found("red_flag", completeness))
    for category in ("primary", "secondary"):
        names = [short(_clinical(codes.factors, f.id)) for f in result.factors
                 if f.category.value == category]
        grid.add_row(tr("Primary") if category == "primary" else tr("Secondary"),
                     Text("; ".join(names)) if names else nothing_found(category, completeness))  # type: ignore[arg-type]
    if result.perceived_signs:
        grid.add_row(tr("Perceived"), "; ".join(short(_clinical(codes.perceived_signs, c))
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


def unknowns_view(rulebase: RuleBase, completeness: Completeness, result: Result | None = None) -> RenderableType:
    """What is not known and matters: for each kind of finding, the questions not asked (or
    answered "not sure") that could still show one."""
    parts: list[RenderableType] = [Text(completeness.sentence(), style="bold yellow" if not completeness.complete else "")]
    found = {"red_flag": bool(result and result.red_flags),
             "primary": bool(result and any(f.category.value == "primary" for f in result.factors)),
             "secondary": bool(result and any(f.category.value == "secondary" for f in result.factors)),
             "perceived": bool(result and result.perceived_signs)}
    for kind, label in KIND_LABELS.items():
        fields = completeness.unknown(kind)  # type: ignore[arg-type]
        if not fields:
            continue
        more = "more " if found[kind] else ""
        parts.append(_indent(Text.assemble(
            (f"Could show {more}{label}s: ", "bold"),
            "; ".join(f"{field_label(rulebase, f, 'clinical')} [{f}]" for f in fields)), 1))
    return Group(*parts)


def explanation_view(reasoning: Reasoning, *, completeness: Completeness | None = None,
                     rulebase: RuleBase | None = None, show_rulebase: bool = True) -> RenderableType:
    """Each finding with the rules behind it (their answers, derived values and sources), then
    the open questions, what was not asked, and the sources cited."""
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
        most = reasoning.urgency == "emergency"
        parts.append(_indent(Text("none: the urgency is already the highest" if most else tr("none"),
                                  style="dim"), 1))
    for o in reasoning.open_questions:
        parts.append(_indent(Text.assemble(("? ", "yellow"), (o.label, "bold"), (f" [{o.field}]", "dim"),
                                           f"  ({o.section})  " + tr("could raise to") + " ",
                                           urgency_label(o.could_raise_to),
                                           (f"  {tr('rules:')} {', '.join(o.rules)}", "dim")), 1))
    if completeness is not None and rulebase is not None:
        parts.append(Text("\nNot asked or not known", style="bold underline"))
        if completeness.unknowns:
            parts.append(_indent(unknowns_view(rulebase, completeness), 1))
        else:
            parts.append(_indent(Text(completeness.sentence() + " Nothing left unknown could show "
                                      "another finding.", style="dim"), 1))
    if reasoning.sources:
        parts.append(Text("\n" + tr("Sources"), style="bold underline"))
        for tag, citation in reasoning.sources:
            parts.append(_indent(Text.assemble((tag, "bold"), "  ", citation), 1))
    if show_rulebase:
        parts.append(Text(f"\n{tr('Rule base')} {reasoning.rulebase}", style="dim"))
    return Group(*parts)


# --------------------------------------------------------------------------- records


def _urgency_code(value: Any) -> str:
    return str(getattr(value, "value", value) or "")


# The list's columns, most important first; on a narrow terminal the highest `priority` goes first.
LIST_COLUMNS: tuple[Column, ...] = (
    Column("ref", "Reference", keep=True),
    Column("urgency", "Urgency", keep=True,
           show=lambda u: words(u).upper() if u else "not scored",
           style=lambda u: URGENCY_STYLE.get(_urgency_code(u), "dim")),
    Column("status", "Status", priority=1),
    Column("kind", "Kind", priority=3),
    Column("answered", "Answers", priority=4),
    Column("updated_at", "Last change", priority=2, show=local_minute),
    Column("created_at", "Created", priority=5, show=local_minute),
    Column("rulebase", "Rule base", priority=6),
)


def list_rows(listed: Iterable[Listed]) -> list[dict[str, Any]]:
    """One row per saved record, with raw values (codes, ISO times) for CSV and JSON."""
    return [{"ref": item.record.ref,
             "urgency": item.result.urgency.value if item.result.status == "scored" and item.result.urgency else None,
             "status": item.completeness.short(), "kind": item.record.kind,
             "answered": item.record.answered, "updated_at": item.record.updated_at,
             "created_at": item.record.created_at, "rulebase": item.result.rulebase.version}
            for item in listed]


def intake_table(listed: Iterable[Listed], width: int) -> Table:
    return rich_table(LIST_COLUMNS, list_rows(listed), width)


def header(now: Current) -> Text:
    r = now.record
    stored = now.stored
    text = Text.assemble(
        ("Intake ", "bold"), (r.ref, "bold cyan"),
        f"  created {local_minute(r.created_at)} · last change {local_minute(r.updated_at)} · ",
        ("finished" if r.finished else "open", "bold"),
        f"\nScored {local_minute(stored.at)} with rule base {stored.rulebase_name} "
        f"{stored.rulebase_version} ({stored.rulebase_hash[:12]})\n")
    done = now.completeness
    text.append(done.sentence(), style="bold yellow" if done.finished_early else "")
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
    """Every change: when (UTC, with the offset), who, what, and the values before and after."""
    table = Table(show_edge=False, header_style="bold", pad_edge=False)
    table.add_column("Time (UTC)", no_wrap=True)
    for col in ("By", "Change", "Field", "Before", "After"):
        table.add_column(col, overflow="fold")

    def shown(e: AuditEntry, value: Any) -> Text:
        if value is ABSENT:
            return Text("—", style="dim")
        if e.what == "answer" and e.field:
            return Text(answer_text(rulebase, e.field, value, "clinical"))
        return Text(str(value))

    for e in entries:
        table.add_row(utc_time(e.at), e.author or Text("not recorded", style="dim"), e.what,
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
                                     (short(_clinical(table, c.code)), "dim"), style=None)
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
