"""Why a result says what it says, for a consultant: each red flag, factor, referral and the
supply picture with the rules behind it, the answers and derived values those rules used, and
their sources; then the unanswered questions that could make it more urgent.

A view-model built from the result's explanations; it decides nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ..core.result import Explanation, Result
from ..rulebase.loader import RuleBase
from .summary import answer_text, field_label

Kind = Literal["red_flag", "factor", "perceived", "referral", "supply"]


@dataclass(frozen=True)
class Evidence:
    field: str
    label: str
    answer: str
    derived_from: tuple[str, ...] = ()  # labels of the answers a derived value comes from

    @property
    def derived(self) -> bool:
        return bool(self.derived_from)


@dataclass(frozen=True)
class Because:
    """One rule behind a finding."""

    rule: str
    text: str  # the rule's clinical wording
    location: str  # file:line of the rule
    evidence: tuple[Evidence, ...]
    sources: tuple[tuple[str, str], ...]  # (tag, citation)


@dataclass(frozen=True)
class Explained:
    kind: Kind
    code: str
    title: str
    detail: str  # the urgency code (red flags, referrals) or the category (factors)
    because: tuple[Because, ...]
    reasons: tuple[str, ...] = ()  # referrals: the findings that lead to it


@dataclass(frozen=True)
class OpenItem:
    field: str
    label: str
    section: str
    could_raise_to: str  # the urgency code
    could_raise_to_text: str
    rules: tuple[str, ...]


@dataclass(frozen=True)
class Reasoning:
    urgency: str
    urgency_text: str
    items: tuple[Explained, ...]
    open_questions: tuple[OpenItem, ...]
    rulebase: str
    sources: tuple[tuple[str, str], ...] = ()  # every source cited, (tag, citation)

    def of(self, kind: Kind) -> tuple[Explained, ...]:
        return tuple(i for i in self.items if i.kind == kind)


def _wording(table: dict[Any, Any], code: Any) -> str:
    entry = table.get(code)
    return entry.clinical if entry is not None else str(getattr(code, "value", code))


def evidence_of(rulebase: RuleBase, ex: Explanation) -> tuple[Evidence, ...]:
    out = []
    for f, value in ex.evidence.items():
        behind = () if f in rulebase.questions else tuple(
            field_label(rulebase, a, "clinical") for a in rulebase.answers_behind(f) if a != f)
        out.append(Evidence(f, field_label(rulebase, f, "clinical"),
                            answer_text(rulebase, f, value, "clinical"), behind))
    return tuple(out)


def because(rulebase: RuleBase, ex: Explanation) -> Because:
    rule = rulebase.rules_by_id.get(ex.rule)
    location = f"{rule.file}:{rule.line}" if rule and rule.line else (rule.file if rule else "")
    sources = tuple((tag, rulebase.meta.sources.get(tag, tag)) for tag in ex.source)
    return Because(ex.rule, ex.clinical, location, evidence_of(rulebase, ex), sources)


def explain(rulebase: RuleBase, result: Result) -> Reasoning:
    """The reasoning behind `result` (from `evaluate(..., explain=True)`)."""
    codes = rulebase.codes

    def behind(prefix: str) -> tuple[Because, ...]:
        return tuple(because(rulebase, ex) for ex in result.explanations
                     if any(c == prefix or c.startswith(prefix + ":") for c in ex.concludes))

    items: list[Explained] = []
    for code in result.red_flags:
        urgency = min((r.urgency for r in result.referrals if code in r.reasons),
                      key=lambda u: u.rank, default=None)
        items.append(Explained("red_flag", code, _wording(codes.red_flags, code),
                               urgency.value if urgency else "", behind(f"red_flag:{code}")))
    for f in result.factors:
        items.append(Explained("factor", f.id, _wording(codes.factors, f.id), f.category.value,
                               behind(f"factor:{f.id}")))
    for code in result.perceived_signs:
        items.append(Explained("perceived", code, _wording(codes.perceived_signs, code), "",
                               behind(f"perceived:{code}")))
    for r in result.referrals:
        # the rules that set this referral's urgency (others referred too, less urgently)
        items.append(Explained("referral", r.to.value, _wording(codes.referral_targets, r.to),
                               r.urgency.value, behind(f"refer:{r.to.value}:{r.urgency.value}"),
                               tuple(r.reasons)))
    if result.supply_picture is not None:
        items.append(Explained("supply", result.supply_picture.value,
                               _wording(codes.supply_pictures, result.supply_picture), "",
                               behind(f"supply:{result.supply_picture.value}")))
    section_of = rulebase.section_of
    open_items = tuple(
        OpenItem(o.field, field_label(rulebase, o.field, "clinical"),
                 section_of[o.field].title.clinical if o.field in section_of else "",
                 o.could_raise_to.value, _wording(codes.urgencies, o.could_raise_to), tuple(o.rules))
        for o in result.open_questions)
    urgency = result.urgency
    return Reasoning(
        urgency=urgency.value if urgency else "",
        urgency_text=_wording(codes.urgencies, urgency) if urgency else "",
        items=tuple(items),
        open_questions=open_items,
        rulebase=f"{result.rulebase.name} {result.rulebase.version} ({result.rulebase.hash[:12]})",
        sources=tuple(dict.fromkeys(s for i in items for b in i.because for s in b.sources)),
    )
