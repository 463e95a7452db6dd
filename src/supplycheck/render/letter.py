"""The referral letter of a consultant's intake: one view-model (`build`), three forms.

- `to_html`: one self-contained printable file (inline CSS, no scripts, fonts, images or links
  to anything outside it), laid out for A4 and US Letter (`paper="auto"` lets the print dialog
  choose; "a4" or "letter" fix the page size).
- `to_markdown`: the same content as Markdown.
- `to_json`: the intake contract's result, plus the answers and the notes.

Order, for the reader in a hurry: who it is for, the date, the reference code and rule base;
then the urgency and the reason; then the findings with the answers behind them, the
consultant's notes, space to sign and the disclaimer; then, as an appendix, every answer given
(with its note) and the sources cited.

Findings and wording come from `summary.build(..., audience="clinical")` and the rule base;
nothing here decides a finding.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from .printable import printable
from ..present import summary as summary_mod
from ..present.completeness import Completeness
from ..core.result import Result
from ..i18n import current as current_language, format_date, tr
from ..rulebase.loader import RuleBase
from ..rulebase.models import ReferralTarget, Urgency

PAPERS = {"auto": "auto", "a4": "A4", "letter": "letter"}


class LetterSource(Protocol):
    """What a letter is made from (see `consult.records.LetterData`)."""

    ref: str
    recipient: ReferralTarget
    result: Result
    answers: dict[str, Any]
    notes: dict[str | None, str]
    created_at: str
    letter_date: date
    completeness: Completeness | None


@dataclass(frozen=True)
class Item:
    """A line with what supports it: a finding and its answers, or an answer and its note."""

    text: str
    detail: str = ""
    evidence: tuple[tuple[str, str], ...] = ()  # (question, answer)
    sources: tuple[str, ...] = ()
    urgency: str = ""


@dataclass(frozen=True)
class AnswerRow:
    section: str
    question: str
    field: str
    answer: str
    note: str


@dataclass(frozen=True)
class LetterView:
    ref: str
    letter_date: str
    intake_date: str
    recipient: str  # code
    recipient_text: str
    rulebase: str
    urgency: str  # code
    urgency_text: str
    reasons: tuple[str, ...]  # why this urgency, most urgent referral's reasons in words
    for_recipient: Item | None  # the referral to this letter's recipient, if the result has one
    red_flags: tuple[Item, ...]
    supply: Item
    factors_primary: tuple[Item, ...]
    factors_secondary: tuple[Item, ...]
    perceived: tuple[Item, ...]
    referrals: tuple[Item, ...]
    next_steps: tuple[str, ...]
    safety_net: tuple[str, ...]  # when to get help at once (contract 1.1)
    open_questions: tuple[str, ...]
    intake_note: str
    question_notes: tuple[Item, ...]  # text = question, detail = answer, evidence = ((note, ""),)
    answers: tuple[AnswerRow, ...]
    sources: tuple[tuple[str, str], ...]
    disclaimer: str
    # A finished-early intake says so at the top ('' when every question that applies was asked)
    incomplete: str = ""
    # kind (red_flag, primary, secondary, perceived) -> what an empty section says: "None
    # found." only when nothing unknown could show one; else which questions were not asked
    empty: dict[str, str] = field(default_factory=dict)


def _short(text: str) -> str:
    """A clinical wording up to its first colon, semicolon or parenthesis (for headlines)."""
    for mark in (":", ";", " ("):
        if mark in text:
            text = text.split(mark, 1)[0]
    return text.strip().rstrip(".")


def _finding(f: summary_mod.Finding, detail: str = "") -> Item:
    return Item(f.text, detail, tuple((e.label, e.answer) for e in f.evidence), f.sources,
                f.urgency.value if f.urgency else "")


def _date(iso: str) -> str:
    try:
        return format_date(datetime.fromisoformat(iso).astimezone())
    except ValueError:
        return iso


def build(rulebase: RuleBase, data: LetterSource) -> LetterView:
    """The letter's content, in the order it is shown."""
    result = data.result
    s = summary_mod.build(rulebase, result, audience="clinical")
    codes = rulebase.codes

    def reason_text(code: str) -> str:
        for table in (codes.red_flags, codes.factors, codes.perceived_signs):
            if code in table:
                return _short(table[code].clinical)
        if code in {p.value for p in codes.supply_pictures}:
            return _short(codes.supply_pictures[code].clinical)  # type: ignore[index]
        return code.replace("_", " ")

    lead = result.referrals[0] if result.referrals else None
    mine = next((r for r in result.referrals if r.to == data.recipient), None)
    for_recipient = None
    if mine is not None:
        for_recipient = Item(codes.urgencies[mine.urgency].clinical, mine.urgency.value,
                             tuple((reason_text(c), "") for c in mine.reasons), (), mine.urgency.value)

    supply_evidence: dict[str, str] = {}
    supply_sources: list[str] = []
    for ex in result.explanations:
        if f"supply:{s.supply_picture}" in ex.concludes:
            for f, v in ex.evidence.items():
                supply_evidence.setdefault(summary_mod.field_label(rulebase, f, "clinical"),
                                           summary_mod.answer_text(rulebase, f, v, "clinical"))
            supply_sources.extend(t for t in ex.source if t not in supply_sources)

    answered = [q for q in rulebase.questions.values() if q.id in data.answers]
    rows = tuple(AnswerRow(rulebase.section_of[q.id].title.clinical, q.clinical, q.id,
                           summary_mod.answer_text(rulebase, q.id, data.answers[q.id], "clinical"),
                           data.notes.get(q.id, ""))
                 for q in answered)
    question_notes = tuple(
        Item(rulebase.questions[f].clinical if f in rulebase.questions else f,
             summary_mod.answer_text(rulebase, f, data.answers[f], "clinical")
             if f in data.answers and f in rulebase.questions else tr("not answered"),
             ((note, ""),))
        for f, note in sorted(data.notes.items(), key=lambda kv: _order(rulebase, kv[0]))
        if f is not None)
    urgency = result.urgency or Urgency.none
    done = data.completeness
    empty = {kind: _empty_text(rulebase, done, kind) for kind in ("red_flag", "primary", "secondary", "perceived")}
    return LetterView(
        ref=data.ref,
        letter_date=format_date(data.letter_date),
        intake_date=_date(data.created_at),
        recipient=data.recipient.value,
        recipient_text=codes.referral_targets[data.recipient].clinical,
        rulebase=f"{result.rulebase.name} {result.rulebase.version} ({result.rulebase.hash[:12]})",
        urgency=urgency.value,
        urgency_text=codes.urgencies[urgency].clinical,
        reasons=tuple(reason_text(c) for c in lead.reasons) if lead else (),
        for_recipient=for_recipient,
        red_flags=tuple(_finding(f) for f in s.red_flags),
        supply=Item(s.supply_text, s.supply_picture, tuple(supply_evidence.items()), tuple(supply_sources)),
        factors_primary=tuple(_finding(f) for f in s.factors if f.category == "primary"),
        factors_secondary=tuple(_finding(f) for f in s.factors if f.category == "secondary"),
        perceived=tuple(_finding(f) for f in s.perceived),
        referrals=tuple(Item(c.who, c.when, (), (), c.urgency.value) for c in s.contacts),
        next_steps=s.next_steps,
        safety_net=s.safety_net,
        # The urgent unknowns first (the parents' summary shows them under its headline).
        open_questions=tuple(label for label, _ in s.check_now) + s.open_questions,
        intake_note=data.notes.get(None, ""),
        question_notes=question_notes,
        answers=rows,
        sources=s.sources,
        disclaimer=s.disclaimer,
        incomplete="" if done is None or done.complete else done.sentence(),
        empty=empty,
    )


def _empty_text(rulebase: RuleBase, done: Completeness | None, kind: str) -> str:
    """What a section with no finding says: not found, or not asked."""
    unknown = done.unknown(kind) if done is not None else ()  # type: ignore[arg-type]
    if not unknown:
        return "None found."
    labels = "; ".join(summary_mod.field_label(rulebase, f, "clinical") for f in unknown)
    return (f"None found in the answers given, but not known: {len(unknown)} question"
            f"{'s' * (len(unknown) != 1)} that could show one {'were' if len(unknown) != 1 else 'was'} "
            f"not asked or answered not sure ({labels}).")


def _order(rulebase: RuleBase, field: str | None) -> int:
    ids = list(rulebase.questions)
    return ids.index(field) if field in ids else len(ids)


def _again(n: int, after_others: bool) -> str:
    """"1 answer listed above" (after other answers: "and 1 answer listed above")."""
    text = (tr("{n} answer listed above") if n == 1 else tr("{n} answers listed above")).format(n=n)
    return tr("and {more}").format(more=text) if after_others else text[0].upper() + text[1:]


def _words(code: str) -> str:
    return tr(code.replace("_", " "))


# --------------------------------------------------------------------------- JSON


def to_json(rulebase: RuleBase, data: LetterSource) -> str:
    """The contract's result, plus `answers` (every answer given, by field) and `notes`."""
    del rulebase
    out = data.result.contract_dict()
    out["answers"] = data.answers
    out["notes"] = {"intake": data.notes.get(None, ""),
                    "questions": {k: v for k, v in data.notes.items() if k is not None}}
    return json.dumps(out, indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- Markdown


def _md(text: str) -> str:
    """Text safe inside Markdown (no accidental emphasis, tables or HTML, no control characters)."""
    out = printable(text).replace("\\", "\\\\")
    for ch in "*_`[]<>|#":
        out = out.replace(ch, "\\" + ch)
    return " ".join(out.split())


def to_markdown(v: LetterView) -> str:
    L: list[str] = []
    add = L.append
    add(f"# {tr('Referral letter: lactation consultation')} {_md(v.ref)}")
    add("")
    add(f"**{tr('To:')}** {_md(v.recipient_text)}  ")
    add(f"**{tr('Date:')}** {_md(v.letter_date)}  ")
    add(f"**{tr('Reference code:')}** {_md(v.ref)} ({tr('intake of {date}').format(date=_md(v.intake_date))})  ")
    add(f"**{tr('Rule base:')}** {_md(v.rulebase)}")
    add("")
    if v.incomplete:
        add(f"> **Incomplete intake.** {_md(v.incomplete)}")
        add("")
    add(f"## {tr('Urgency:')} {_md(_words(v.urgency))}")
    add("")
    add(_md(v.urgency_text))
    add("")
    if v.reasons:
        add(f"**{tr('Reason:')}** {_md('; '.join(v.reasons))}")
        add("")
    if v.for_recipient:
        why = tuple(r for r, _ in v.for_recipient.evidence)
        add(f"**{tr('Referral to you:')}** {_md(_words(v.for_recipient.detail))}, {tr('for')} "
            f"{tr('the reasons above') if why == v.reasons else _md('; '.join(why))}.")
    else:
        add(f"**{tr('Referral to you:')}** {tr('none suggested by the rules; for your information.')}")
    add("")

    shown: set[tuple[str, str]] = set()

    def evidence(item: Item) -> None:
        new = [qa for qa in item.evidence if qa not in shown]
        again = len(item.evidence) - len(new)
        shown.update(new)
        parts = [f"{_md(q)}: **{_md(a)}**" for q, a in new]
        if again:
            parts.append(_again(again, bool(parts)))
        if parts:
            add(f"  {tr('Based on:')} {' · '.join(parts)}")

    def findings(title: str, items: tuple[Item, ...], kind: str) -> None:
        add(f"### {title}")
        add("")
        if not items:
            add(_md(v.empty.get(kind, "None found.")))
            add("")
            return
        for it in items:
            tail = f" *[{_md(', '.join(it.sources))}]*" if it.sources else ""
            add(f"- **{_md(it.text)}**{tail}  ")
            evidence(it)
        add("")

    add(f"## {tr('Findings')}")
    add("")
    findings(tr("Red flags"), v.red_flags, "red_flag")
    add(f"### {tr('Supply picture')}")
    add("")
    add(f"**{_md(_words(v.supply.detail))}**: {_md(v.supply.text)}  ")
    evidence(v.supply)
    add("")
    findings(tr("Primary factors (maternal)"), v.factors_primary, "primary")
    findings(tr("Secondary factors (milk removal)"), v.factors_secondary, "secondary")
    if v.perceived:
        findings(tr("Perceived signs"), v.perceived, "perceived")
    add(f"### {tr('Referrals')}")
    add("")
    for r in v.referrals or (Item(tr("None.")),):
        add(f"- **{_md(r.text)}**" + (f": {_md(r.detail)}" if r.detail else ""))
    add("")
    if v.next_steps:
        add(f"### {tr('Suggested next steps')}")
        add("")
        for step in v.next_steps:
            add(f"- {_md(step)}")
        add("")
    if v.safety_net:
        add("### Safety net given to the family")
        add("")
        for item in v.safety_net:
            add(f"- {_md(item)}")
        add("")
    if v.open_questions:
        add(f"### {tr('Not yet known (could change the urgency)')}")
        add("")
        for q in v.open_questions:
            add(f"- {_md(q)}")
        add("")
    add("## " + tr("Consultant's notes"))
    add("")
    if v.intake_note:
        add(_md(v.intake_note))
        add("")
    for n in v.question_notes:
        add(f"- **{_md(n.text)}** ({_md(n.detail)}): {_md(n.evidence[0][0])}")
    if not v.intake_note and not v.question_notes:
        add(tr("None."))
    add("")
    add(f"## {tr('Signature')}")
    add("")
    add(f"{tr('Lactation consultant (name, credentials)')}: ______________________________  ")
    add(f"{tr('Signature')}: ______________________________  {tr('Date')}: ______________")
    add("")
    add(f"*{_md(v.disclaimer)}*")
    add("")
    add("---")
    add("")
    add(f"## {tr('Appendix: answers given')}")
    add("")
    add(f"| {tr('Question')} | {tr('Answer')} | {tr('Note')} |")
    add("|---|---|---|")
    section = None
    for row in v.answers:
        if row.section != section:
            section = row.section
            add(f"| **{_md(section)}** | | |")
        add(f"| {_md(row.question)} | {_md(row.answer)} | {_md(row.note)} |")
    add("")
    if v.sources:
        add(f"## {tr('Sources')}")
        add("")
        for tag, citation in v.sources:
            add(f"- **{_md(tag)}**: {_md(citation)}")
        add("")
    return "\n".join(L)


# --------------------------------------------------------------------------- HTML

URGENCY_COLOURS = {
    "emergency": "#b00020",
    "same_day": "#c62828",
    "within_2_days": "#b26a00",
    "routine": "#1f5f99",
    "none": "#2e7d32",
}

CSS = """
@page { size: %(size)s; margin: 15mm 16mm 16mm 16mm;
  @bottom-left { content: "%(ref)s"; font: 8pt Helvetica, Arial, sans-serif; color: #78909c; }
  @bottom-right { content: "%(page)s " counter(page) " %(of)s " counter(pages);
    font: 8pt Helvetica, Arial, sans-serif; color: #78909c; } }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; background: #eceff1; color: #1a1a1a;
  font: 10.5pt/1.42 "Helvetica Neue", Helvetica, Arial, "Liberation Sans", sans-serif; }
.sheet { max-width: 182mm; margin: 12mm auto; background: #fff; padding: 14mm 15mm 12mm;
  box-shadow: 0 1px 6px rgba(0,0,0,.18); }
.letterhead { display: flex; justify-content: space-between; align-items: flex-end; gap: 8mm;
  border-bottom: 2px solid #263238; padding-bottom: 3mm; margin-bottom: 5mm; }
.letterhead .title { font-size: 17pt; font-weight: 700; letter-spacing: .2px; margin: 0; }
.letterhead .subtitle { color: #546e7a; font-size: 9.5pt; margin: 1mm 0 0; }
table.meta { border-collapse: collapse; font-size: 9.5pt; }
table.meta th { text-align: right; color: #546e7a; font-weight: 600; padding: 0 3mm 0 0; white-space: nowrap; }
table.meta td { padding: 0; white-space: nowrap; }
.addressee { margin: 0 0 4mm; }
.addressee .label { color: #546e7a; font-size: 9pt; text-transform: uppercase; letter-spacing: .6px; }
.addressee .who { font-weight: 700; font-size: 11.5pt; }
.urgency { border: 1px solid var(--u); border-left: 7px solid var(--u); border-radius: 2px;
  padding: 3mm 4mm; margin: 0 0 5mm; background: #fafafa; break-inside: avoid; }
.urgency .level { margin: 0; font-size: 14pt; color: var(--u); text-transform: uppercase; letter-spacing: .4px; }
.urgency .level-text { margin: .5mm 0 2mm; font-weight: 600; }
.urgency p { margin: 1mm 0; }
h2 { font-size: 12pt; margin: 5mm 0 2mm; padding-bottom: 1mm; border-bottom: 1px solid #b0bec5;
  break-after: avoid; }
h3 { font-size: 10.5pt; margin: 3.5mm 0 1.5mm; color: #263238; break-after: avoid; }
ul.findings { margin: 0; padding: 0; list-style: none; }
ul.findings > li { margin: 0 0 2.5mm; padding-left: 4mm; border-left: 2px solid #cfd8dc; break-inside: avoid; }
ul.findings.red > li { border-left-color: #c62828; }
.finding { font-weight: 600; }
.src { color: #607d8b; font-size: 8.5pt; font-weight: 400; }
p.evidence { margin: .6mm 0 0; font-size: 9.3pt; color: #37474f; }
p.evidence .based { color: #78909c; }
p.evidence .ev b { color: #1a1a1a; }
p.evidence .sep { color: #b0bec5; padding: 0 1mm; }
p.evidence .again { color: #78909c; font-style: italic; }
.tag { display: inline-block; font-size: 8pt; font-weight: 700; padding: .2mm 1.5mm; border-radius: 2px;
  color: #fff; background: var(--u, #607d8b); vertical-align: 1px; margin-left: 1.5mm; text-transform: uppercase; }
.none { color: #78909c; font-style: italic; margin: 0; }
.none.unknown { color: #8d5a00; font-style: normal; }
.incomplete { border: 2px solid #b26a00; background: #fff8e1; padding: 2.5mm 4mm; margin: 0 0 4mm;
  break-inside: avoid; }
ul.plain { margin: 0; padding-left: 5mm; }
ul.plain li { margin: 0 0 .8mm; }
.note { white-space: pre-wrap; background: #fffde7; border: 1px solid #fff59d; padding: 2mm 3mm; margin: 0 0 2mm; }
.answers-cols { columns: 2; column-gap: 7mm; font-size: 8.6pt; line-height: 1.3; }
.answers-cols h3 { font-size: 9pt; margin: 0 0 .8mm; padding-top: 1.5mm; break-after: avoid; }
table.answers { width: 100%%; border-collapse: collapse; }
table.answers td { text-align: left; padding: .35mm 1mm .35mm 0; border-bottom: 1px solid #eceff1; vertical-align: top; }
table.answers td.a { font-weight: 600; width: 38%%; }
table.answers tr { break-inside: avoid; }
table.answers .n { display: block; font-weight: 400; font-style: italic; color: #4e342e; }
ol.sources { font-size: 8.5pt; color: #455a64; padding-left: 5mm; margin: 0; }
.signature { display: grid; grid-template-columns: 2fr 1.5fr 1fr; gap: 8mm; margin-top: 14mm; break-inside: avoid; }
.signature div { border-top: 1px solid #263238; padding-top: 1mm; font-size: 9pt; color: #455a64; min-height: 14mm; }
.disclaimer { margin-top: 2mm; padding: 2mm 3mm; background: #f5f7f8; font-size: 8.5pt; color: #455a64; break-inside: avoid; }
.disclaimer p { margin: 0; }
.footer-ref { font-size: 8pt; color: #90a4ae; margin-top: 4mm; }
@media print {
  body { background: #fff; }
  .sheet { box-shadow: none; margin: 0; padding: 0; max-width: none; }
  section.answers-given { break-before: page; }
}
"""


def _css_string(text: str) -> str:
    """Text safe inside a CSS string in a <style> element."""
    return "".join(f"\\{ord(c):x} " if c in '"\\<>&' or ord(c) < 32 else c for c in text)


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _evidence_html(item: Item, shown: set[tuple[str, str]]) -> str:
    """The answers behind a finding, inline; those already listed higher up in the letter are
    counted, not repeated."""
    if not item.evidence:
        return ""
    new = [qa for qa in item.evidence if qa not in shown]
    again = len(item.evidence) - len(new)
    shown.update(new)
    parts = [f'<span class="ev">{_e(q)}: <b>{_e(a)}</b></span>' for q, a in new]
    body = '<span class="sep">·</span>'.join(parts)
    if again:
        more = _again(again, bool(parts))
        body += (f'<span class="sep">·</span><span class="again">{_e(more)}</span>' if parts
                 else f'<span class="again">{_e(more)}</span>')
    return f'<p class="evidence"><span class="based">{_e(tr("Based on:"))} </span>{body}</p>'


def _tag(urgency: str) -> str:
    if not urgency:
        return ""
    return (f'<span class="tag" style="--u:{URGENCY_COLOURS.get(urgency, "#607d8b")}">'
            f'{_e(_words(urgency))}</span>')


def _findings_html(items: tuple[Item, ...], shown: set[tuple[str, str]], css: str = "",
                   empty: str = "None found.") -> str:
    if not items:
        unknown = "" if empty == "None found." else " unknown"
        return f'<p class="none{unknown}">{_e(empty)}</p>'
    out = [f'<ul class="findings {css}">']
    for it in items:
        src = f' <span class="src">[{_e(", ".join(it.sources))}]</span>' if it.sources else ""
        out.append(f'<li><div class="finding">{_e(it.text)}{_tag(it.urgency)}{src}</div>'
                   f'{_evidence_html(it, shown)}</li>')
    out.append("</ul>")
    return "".join(out)


def to_html(v: LetterView, *, paper: str = "auto") -> str:
    """One self-contained HTML file: inline CSS, nothing loaded from elsewhere."""
    if paper not in PAPERS:
        raise ValueError(f"paper must be one of {', '.join(PAPERS)}")
    colour = URGENCY_COLOURS.get(v.urgency, "#607d8b")
    css = CSS % {"size": PAPERS[paper], "ref": _css_string(f"{tr('Referral letter')} · {v.ref} · {v.letter_date}"),
                 "page": _css_string(tr("Page")), "of": _css_string(tr("of"))}
    h: list[str] = []
    add = h.append
    add("<!DOCTYPE html>")
    add(f'<html lang="{current_language()}"><head><meta charset="utf-8">')
    add('<meta name="viewport" content="width=device-width, initial-scale=1">')
    add(f"<title>{_e(tr('Referral letter'))} {_e(v.ref)}</title>")
    add(f"<style>{css}</style></head>")
    add(f'<body><main class="sheet" data-ref="{_e(v.ref)}" data-urgency="{_e(v.urgency)}">')
    add('<header class="letterhead"><div>'
        f'<p class="title">{_e(tr("Referral letter"))}</p>'
        f'<p class="subtitle">{_e(tr("Lactation consultation · breastfeeding and milk supply assessment"))}</p></div>'
        '<table class="meta"><tbody>'
        f'<tr><th>{_e(tr("Date"))}</th><td id="letter-date">{_e(v.letter_date)}</td></tr>'
        f'<tr><th>{_e(tr("Reference"))}</th><td id="reference"><strong>{_e(v.ref)}</strong></td></tr>'
        f'<tr><th>{_e(tr("Intake"))}</th><td>{_e(v.intake_date)}</td></tr>'
        f'<tr><th>{_e(tr("Rule base"))}</th><td id="rulebase">{_e(v.rulebase)}</td></tr>'
        '</tbody></table></header>')
    add(f'<section class="addressee" id="recipient" data-recipient="{_e(v.recipient)}">'
        f'<div class="label">{_e(tr("To"))}</div><div class="who">{_e(v.recipient_text)}</div></section>')

    if v.incomplete:
        add(f'<section class="incomplete" id="incomplete"><strong>Incomplete intake.</strong> '
            f'{_e(v.incomplete)}</section>')
    add(f'<section class="urgency" id="urgency" style="--u:{colour}">')
    add(f'<h1 class="level">{_e(tr("Urgency:"))} {_e(_words(v.urgency))}</h1>')
    add(f'<p class="level-text">{_e(v.urgency_text)}</p>')
    if v.reasons:
        add(f'<p id="reason"><strong>{_e(tr("Reason:"))}</strong> {_e("; ".join(v.reasons))}.</p>')
    if v.for_recipient:
        fr = v.for_recipient
        why = "; ".join(r for r, _ in fr.evidence)
        why = tr("the reasons above") if tuple(r for r, _ in fr.evidence) == v.reasons else why
        add(f'<p id="referral-to-recipient"><strong>{_e(tr("Referral to you:"))}</strong>{_tag(fr.urgency)} '
            f'{_e(tr("for"))} {_e(why)}.</p>')
    else:
        add(f'<p id="referral-to-recipient"><strong>{_e(tr("Referral to you:"))}</strong> '
            f'{_e(tr("none suggested by the rules; for your information."))}</p>')
    add("</section>")

    add(f'<section id="findings"><h2>{_e(tr("Findings"))}</h2>')
    add(f"<h3>{_e(tr('Red flags'))}</h3>")
    shown: set[tuple[str, str]] = set()
    add(_findings_html(v.red_flags, shown, "red", v.empty.get("red_flag", "None found.")))
    add(f"<h3>{_e(tr('Supply picture'))}</h3>")
    src = f' <span class="src">[{_e(", ".join(v.supply.sources))}]</span>' if v.supply.sources else ""
    add(f'<ul class="findings"><li><div class="finding">{_e(_words(v.supply.detail).capitalize())}: '
        f'{_e(v.supply.text)}{src}</div>{_evidence_html(v.supply, shown)}</li></ul>')
    add(f"<h3>{_e(tr('Primary factors (maternal)'))}</h3>")
    add(_findings_html(v.factors_primary, shown, empty=v.empty.get("primary", "None found.")))
    add(f"<h3>{_e(tr('Secondary factors (milk removal)'))}</h3>")
    add(_findings_html(v.factors_secondary, shown, empty=v.empty.get("secondary", "None found.")))
    if v.perceived:
        add(f"<h3>{_e(tr('Perceived signs'))}</h3>")
        add(_findings_html(v.perceived, shown))
    add(f"<h3>{_e(tr('Referrals'))}</h3>")
    if v.referrals:
        add('<ul class="plain">' + "".join(
            f"<li><strong>{_e(r.text)}</strong>{_tag(r.urgency)}<br>{_e(r.detail)}</li>"
            for r in v.referrals) + "</ul>")
    else:
        add(f'<p class="none">{_e(tr("None."))}</p>')
    if v.next_steps:
        add(f"<h3>{_e(tr('Suggested next steps'))}</h3>")
        add('<ul class="plain">' + "".join(f"<li>{_e(s)}</li>" for s in v.next_steps) + "</ul>")
    if v.safety_net:
        add("<h3>Safety net given to the family</h3>")
        add('<ul class="plain">' + "".join(f"<li>{_e(s)}</li>" for s in v.safety_net) + "</ul>")
    if v.open_questions:
        add(f"<h3>{_e(tr('Not yet known (could change the urgency)'))}</h3>")
        add('<ul class="plain">' + "".join(f"<li>{_e(q)}</li>" for q in v.open_questions) + "</ul>")
    add("</section>")

    add('<section id="notes"><h2>' + _e(tr("Consultant's notes")) + "</h2>")
    if v.intake_note:
        add(f'<div class="note" id="intake-note">{_e(v.intake_note)}</div>')
    if v.question_notes:
        add('<ul class="plain">' + "".join(
            f"<li><strong>{_e(n.text)}</strong> ({_e(n.detail)}): {_e(n.evidence[0][0])}</li>"
            for n in v.question_notes) + "</ul>")
    if not v.intake_note and not v.question_notes:
        add(f'<p class="none">{_e(tr("None."))}</p>')
    add("</section>")

    add('<section class="signature" id="signature">'
        f"<div>{_e(tr('Lactation consultant (name, credentials)'))}</div><div>{_e(tr('Signature'))}</div><div>{_e(tr('Date'))}</div></section>")
    add(f'<section class="disclaimer" id="disclaimer"><p>{_e(v.disclaimer)}</p></section>')

    add(f'<section class="answers-given" id="answers"><h2>{_e(tr("Appendix: answers given"))}</h2><div class="answers-cols">')
    section = None
    for row in v.answers:
        if row.section != section:
            if section is not None:
                add("</tbody></table>")
            section = row.section
            add(f'<h3>{_e(section)}</h3><table class="answers"><tbody>')
        note = f'<span class="n">{_e(row.note)}</span>' if row.note else ""
        add(f'<tr data-field="{_e(row.field)}"><td>{_e(row.question)}</td>'
            f'<td class="a">{_e(row.answer)}{note}</td></tr>')
    if section is not None:
        add("</tbody></table>")
    add("</div></section>")

    if v.sources:
        add(f'<section id="sources"><h2>{_e(tr("Sources"))}</h2><ol class="sources">' + "".join(
            f"<li><strong>{_e(tag)}</strong>: {_e(c)}</li>" for tag, c in v.sources) + "</ol></section>")

    add(f'<footer class="footer-ref">{_e(tr("Reference"))} {_e(v.ref)} · {_e(v.rulebase)} · '
        f'{_e(tr("produced with supplycheck"))}</footer>')
    add("</main></body></html>")
    return "\n".join(h) + "\n"
