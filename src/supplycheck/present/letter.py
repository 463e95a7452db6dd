"""The referral letter of a consultant's intake: what it is made from (`LetterData`) and what it
shows (`build` -> `LetterView`). The renderers lay it out, one per format: `render.letter_html`
(a printable page), `render.letter_markdown`, `render.letter_json`.

Order, for the reader in a hurry: who it is for, the date, the reference code and rule base;
then the urgency and the reason; then the findings with the answers behind them, the
consultant's notes, space to sign and the disclaimer; then, as an appendix, every answer given
(with its note) and the sources cited.

Findings and wording come from `summary.build(..., audience="clinical")` and the rule base;
nothing here decides a finding.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from itertools import groupby
from datetime import date
from typing import Any

from . import summary as summary_mod
from .completeness import Completeness
from .text import local_date, short
from ..core.result import Result
from ..i18n import format_date, tr
from ..rulebase.loader import RuleBase
from ..rulebase.models import ReferralTarget, Urgency


@dataclass(frozen=True)
class LetterData:
    """What a letter is made from: one intake, gathered from the store (`consult.records.letter_data`)."""

    ref: str
    recipient: ReferralTarget
    result: Result
    answers: dict[str, Any]  # the answers that apply
    notes: dict[str | None, str]  # by field; None: the note on the whole intake
    created_at: str
    letter_date: date = field(default_factory=date.today)
    completeness: Completeness | None = None


@dataclass(frozen=True)
class Item:
    """A line with what supports it: a finding and its answers, or an answer and its note."""

    text: str
    detail: str = ""
    evidence: tuple[tuple[str, str], ...] = ()  # (question, answer)
    sources: tuple[str, ...] = ()
    urgency: str = ""
    # The evidence as the letter lists it: answers listed higher up are counted in `again`
    # ("1 answer listed above"), not repeated (see `_each_answer_once`).
    listed: tuple[tuple[str, str], ...] = ()
    again: str = ""


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

    @property
    def answers_by_section(self) -> tuple[tuple[str, tuple[AnswerRow, ...]], ...]:
        """The answers given, section by section, in the order asked."""
        return tuple((section, tuple(rows)) for section, rows in groupby(self.answers, lambda r: r.section))


def _finding(f: summary_mod.Finding, detail: str = "") -> Item:
    return Item(f.text, detail, tuple((e.label, e.answer) for e in f.evidence), f.sources,
                f.urgency.value if f.urgency else "")


def build(rulebase: RuleBase, data: LetterData) -> LetterView:
    """The letter's content, in the order it is shown."""
    result = data.result
    s = summary_mod.build(rulebase, result, audience="clinical")
    codes = rulebase.codes

    def reason_text(code: str) -> str:
        for table in (codes.red_flags, codes.factors, codes.perceived_signs):
            if code in table:
                return short(table[code].clinical)
        if code in {p.value for p in codes.supply_pictures}:
            return short(codes.supply_pictures[code].clinical)  # type: ignore[index]
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
    return _each_answer_once(LetterView(
        ref=data.ref,
        letter_date=format_date(data.letter_date),
        intake_date=local_date(data.created_at),
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
    ))


def _each_answer_once(v: LetterView) -> LetterView:
    """The findings with their evidence as listed, in the letter's order: an answer behind
    several findings is listed under the first and counted ("1 answer listed above") after."""
    shown: set[tuple[str, str]] = set()

    def once(item: Item) -> Item:
        new = tuple(qa for qa in item.evidence if qa not in shown)
        shown.update(new)
        n = len(item.evidence) - len(new)
        return replace(item, listed=new, again=_again(n, bool(new)) if n else "")

    return replace(v, red_flags=tuple(map(once, v.red_flags)), supply=once(v.supply),
                   factors_primary=tuple(map(once, v.factors_primary)),
                   factors_secondary=tuple(map(once, v.factors_secondary)),
                   perceived=tuple(map(once, v.perceived)))


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
