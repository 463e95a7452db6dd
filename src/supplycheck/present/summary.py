"""A result as a readable summary, for one audience: what every renderer (terminal, Markdown,
HTML, letter) shows, in the order it shows it. Wording comes from the rule base; nothing here
decides a finding."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ..core.result import Result
from ..i18n import format_number, tr
from ..rulebase.loader import RuleBase
from ..rulebase.models import FieldType, Urgency

Audience = Literal["parent", "clinical"]

# Parents are pointed to primary sources: health services, guideline and professional bodies,
# systematic reviews and the NIH drug database, never an encyclopaedia, blog or seed article.
# (Source tags begin with the body's name; consultants see every source a rule names.)
PARENT_SOURCE_BODIES = ("NHS", "WHO", "ABM", "NICE", "AAP", "Cochrane", "LactMed")


def for_parents(tag: str) -> bool:
    return tag.startswith(PARENT_SOURCE_BODIES)


@dataclass(frozen=True)
class Evidence:
    field: str
    label: str  # the question, in the audience's wording
    answer: str  # the answer, in words


@dataclass(frozen=True)
class Finding:
    code: str
    text: str
    urgency: Urgency | None = None
    category: str | None = None
    evidence: tuple[Evidence, ...] = ()
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Contact:
    who: str
    when: str
    urgency: Urgency
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Summary:
    audience: Audience
    urgency: Urgency
    urgency_text: str
    contacts: tuple[Contact, ...]
    red_flags: tuple[Finding, ...]
    supply_picture: str
    supply_text: str
    factors: tuple[Finding, ...]
    perceived: tuple[Finding, ...]
    next_steps: tuple[str, ...]
    sources: tuple[tuple[str, str], ...]
    disclaimer: str
    rulebase: str
    open_questions: tuple[str, ...] = ()
    reasoning: tuple[Finding, ...] = field(default=())
    # Unanswered (or "not sure") questions whose answer could make this an emergency or a
    # same-day matter: shown right after the headline, never buried at the end.
    check_now: tuple[tuple[str, Urgency], ...] = ()
    # When to call emergency services or get help the same day, for this baby's age (contract 1.1).
    safety_net: tuple[str, ...] = ()


def answer_text(rulebase: RuleBase, field_id: str, value: Any, audience: Audience = "parent") -> str:
    """An answer in words: option labels for codes, numbers with their unit."""
    q = rulebase.questions.get(field_id)
    if q is None:  # a derived value
        unit = next((d.unit for d in rulebase.derived if d.id == field_id), "")
        return f"{format_number(value)} {tr(unit)}".strip() if isinstance(value, (int, float)) else str(value)
    if value is None or value == "unsure":
        return tr("not sure")
    if q.is_numeric:
        return f"{format_number(value, digits=2)} {tr(q.unit)}".strip()
    labels = {o.value: getattr(o, audience) for o in q.options}
    labels.update({"yes": tr("yes"), "no": tr("no")})
    if q.type is FieldType.multi:
        return ", ".join(labels.get(v, v) for v in value) or tr("none of these")
    return labels.get(value, str(value))


def field_label(rulebase: RuleBase, field_id: str, audience: Audience) -> str:
    q = rulebase.questions.get(field_id)
    if q is not None:
        return getattr(q, audience)
    return next((getattr(d.label, audience) for d in rulebase.derived if d.id == field_id), field_id)


def build(rulebase: RuleBase, result: Result, audience: Audience = "parent") -> Summary:
    """The summary of a scored result. `result` should come from `evaluate(..., explain=True)`
    so findings carry the answers behind them."""
    codes = rulebase.codes

    def words(entry: Any) -> str:
        return getattr(entry, audience)

    def evidence_for(prefix: str, code: str) -> tuple[tuple[Evidence, ...], tuple[str, ...]]:
        items: dict[str, Evidence] = {}
        sources: list[str] = []
        for ex in result.explanations:
            if f"{prefix}:{code}" in ex.concludes:
                for f, v in ex.evidence.items():
                    if audience == "parent" and f not in rulebase.questions:
                        continue  # parents see what they said (the weights), not derived values
                    items.setdefault(f, Evidence(f, field_label(rulebase, f, audience),
                                                 answer_text(rulebase, f, v, audience)))
                sources.extend(s for s in ex.source
                               if s not in sources and (audience == "clinical" or for_parents(s)))
        return tuple(items.values()), tuple(sources)

    def urgency_of(prefix: str, code: str) -> Urgency | None:
        """How soon the rules behind this finding ask for someone (not the merged referral,
        which may be sooner because of another finding)."""
        found = [Urgency(c.rsplit(":", 1)[1]) for ex in result.explanations
                 if f"{prefix}:{code}" in ex.concludes for c in ex.concludes if c.startswith("refer:")]
        return min(found, key=lambda u: u.rank) if found else None

    red_flags = tuple(
        Finding(code, words(codes.red_flags[code]), urgency_of("red_flag", code), None,
                *evidence_for("red_flag", code))
        for code in result.red_flags)
    factors = tuple(
        Finding(f.id, words(codes.factors[f.id]), urgency_of("factor", f.id), f.category.value,
                *evidence_for("factor", f.id))
        for f in result.factors)
    perceived = tuple(
        Finding(code, f"{codes.perceived_signs[code].parent}: {codes.perceived_signs[code].explanation}"
                if audience == "parent" else codes.perceived_signs[code].clinical,
                None, None, *evidence_for("perceived", code))
        for code in result.perceived_signs)
    contacts = tuple(
        Contact(words(codes.referral_targets[r.to]), words(codes.urgencies[r.urgency]), r.urgency,
                tuple(r.reasons))
        for r in result.referrals)
    cited = [tag for tag in dict.fromkeys(s for ex in result.explanations for s in ex.source)
             if audience == "clinical" or for_parents(tag)]
    urgent = {o.field for o in result.open_questions
              if o.alone_could_raise_to is not None and o.alone_could_raise_to.rank <= Urgency.same_day.rank}
    supply = result.supply_picture
    reasoning = tuple(
        Finding(ex.rule, ex.says if audience == "parent" else ex.clinical, None, None,
                tuple(Evidence(f, field_label(rulebase, f, audience), answer_text(rulebase, f, v, audience))
                      for f, v in ex.evidence.items()), tuple(ex.source))
        for ex in result.explanations)
    return Summary(
        audience=audience,
        urgency=result.urgency,
        urgency_text=words(codes.urgencies[result.urgency]),
        contacts=contacts,
        red_flags=red_flags,
        supply_picture=supply.value,
        supply_text=words(codes.supply_pictures[supply]),
        factors=factors,
        perceived=perceived,
        next_steps=tuple(s.text if audience == "parent" else codes.next_steps[s.code].clinical
                         for s in result.next_steps),
        sources=tuple((tag, rulebase.meta.sources[tag]) for tag in cited),
        disclaimer=words(rulebase.meta.disclaimer).strip(),
        rulebase=f"{rulebase.name} {rulebase.version} ({rulebase.content_hash[:12]})",
        open_questions=tuple(field_label(rulebase, o.field, audience) for o in result.open_questions
                             if o.field not in urgent),
        check_now=tuple((field_label(rulebase, o.field, audience), o.alone_could_raise_to)
                        for o in result.open_questions if o.field in urgent),
        reasoning=reasoning,
        safety_net=tuple(s.text if audience == "parent" else codes.safety_net[s.code].clinical
                         for s in result.safety_net if s.code in codes.safety_net),
    )
