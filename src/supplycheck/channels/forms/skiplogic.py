"""Skip logic for form tools: a question's `ask_when` as the two-valued condition "not definitely
false" that FHIR (FHIRPath and enableWhen), REDCap branching logic and XLSForm `relevant` can state.

The rule base's logic is three-valued and a question is asked unless its `ask_when` is definitely
false, so an unknown answer never hides a question. Form tools see an answer as given or blank, so
the condition is first rewritten (`conditions.nnf` with `weak`) into one that holds exactly when
the original is not definitely false, with "unknown" spelled out: blank, or `unsure`.

The rewritten condition is a tree of `And`/`Or` over six atoms, each rendered by every target:

    OneOf(f, codes)      a one-answer question answered with one of these codes
    Compare(f, op, n)    a number question answered, and the comparison holds
    Selected(f, code)    a many-answer question with this code ticked
    NotSelected(f, code) ... with this code not ticked (blank counts as not ticked)
    Answered(f)          any answer (for a one-answer question: any but `unsure`)
    Blank(f)             no answer at all

A test on a derived value (computed from answers by the rule base) cannot be stated in the tools;
it is taken as possibly true, so such a question can only be shown more often, never hidden.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import SupplycheckError
from ...rulebase import RuleBase
from ...rulebase import conditions as C
from ...rulebase.models import NONE_OF_THESE, UNSURE, FieldType, Question


class ExportError(SupplycheckError):
    """The rule base says something a form tool cannot express, or a library is missing."""


@dataclass(frozen=True)
class OneOf:
    field: str
    codes: tuple[str, ...]


@dataclass(frozen=True)
class Compare:
    field: str
    op: str  # one of < <= > >= = !=
    value: float


@dataclass(frozen=True)
class Selected:
    field: str
    code: str


@dataclass(frozen=True)
class NotSelected:
    field: str
    code: str


@dataclass(frozen=True)
class Answered:
    field: str


@dataclass(frozen=True)
class Blank:
    field: str


@dataclass(frozen=True)
class And:
    parts: tuple[Shown, ...]


@dataclass(frozen=True)
class Or:
    parts: tuple[Shown, ...]


@dataclass(frozen=True)
class Always:
    """True: what a test on a value the form cannot compute becomes (see `_translate`)."""


ALWAYS = Always()

Atom = OneOf | Compare | Selected | NotSelected | Answered | Blank | Always
Shown = Atom | And | Or

_COMPARE = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">=", "eq": "=", "ne": "!="}


def shown_when(rulebase: RuleBase, key: str) -> Shown | None:
    """When the question (or `question:option`) `key` is shown, or None when always."""
    cond = rulebase.ask_when.get(key)
    if cond is None:
        return None
    shown = _simplify(_translate(rulebase, key, C.nnf(cond, rulebase.definitions, weak=True)))
    return None if shown is ALWAYS else shown


def _known_codes(q: Question) -> tuple[str, ...]:
    return tuple(v for v in q.values if v != UNSURE)


def _unknown(q: Question) -> Shown:
    """Not known: blank, or `unsure` where the question has it (it counts as not known)."""
    return Or((Blank(q.id), OneOf(q.id, (UNSURE,)))) if UNSURE in q.values else Blank(q.id)


def _known(q: Question) -> Shown:
    if UNSURE in q.values:
        return OneOf(q.id, _known_codes(q))
    return Answered(q.id)


def _translate(rulebase: RuleBase, key: str, cond: C.Condition) -> Shown:
    if isinstance(cond, C.All):
        return And(tuple(_translate(rulebase, key, p) for p in cond.parts))
    if isinstance(cond, C.Any_):
        return Or(tuple(_translate(rulebase, key, p) for p in cond.parts))
    assert isinstance(cond, C.Leaf), cond
    q = rulebase.questions.get(cond.field)
    if q is None:
        # A derived value (weight loss %, age band...) the form tools cannot compute: taken as
        # possibly true, so the question is shown whenever the rest allows (shown, never hidden).
        return ALWAYS
    op, value = cond.op, cond.value
    if op == "known":
        return _known(q) if value else _unknown(q)
    if q.is_numeric:
        if op in _COMPARE:
            return Compare(q.id, _COMPARE[op], value)
        if op == "in":
            return Or(tuple(Compare(q.id, "=", v) for v in value))
        if op == "nin":
            return And(tuple(Compare(q.id, "!=", v) for v in value))
    elif q.type is FieldType.multi:
        if op == "contains":
            return Selected(q.id, value)
        if op == "contains_any":
            return Or(tuple(Selected(q.id, v) for v in value))
        if op == "lacks":
            return And((Answered(q.id), NotSelected(q.id, value)))
        if op == "lacks_all":
            return And((Answered(q.id), *(NotSelected(q.id, v) for v in value)))
        if op == "empty":
            return Selected(q.id, NONE_OF_THESE)
        if op == "not_empty":
            return Or(tuple(Selected(q.id, v) for v in q.values))
    else:
        known = _known_codes(q)
        wanted = {"eq": (value,), "in": value}.get(op)
        if wanted is None and op in ("ne", "nin"):
            unwanted = (value,) if op == "ne" else value
            wanted = tuple(v for v in known if v not in unwanted)
        if wanted is not None:
            return OneOf(q.id, tuple(v for v in known if v in wanted))
    raise ExportError(f"{key}: cannot export the test {cond.field} {op} {value!r}")


def _simplify(node: Shown) -> Shown:
    """Flatten nested And/Or and merge OneOf atoms on the same field inside an Or."""
    if not isinstance(node, (And, Or)):
        return node
    kind = type(node)
    parts: list[Shown] = []
    for p in map(_simplify, node.parts):
        parts.extend(p.parts if isinstance(p, kind) else (p,))
    if ALWAYS in parts:
        if kind is Or:
            return ALWAYS
        parts = [p for p in parts if p is not ALWAYS] or [ALWAYS]
    if kind is Or:
        merged: list[Shown] = []
        for p in parts:
            twin = next((m for m in merged if isinstance(p, OneOf) and isinstance(m, OneOf) and m.field == p.field), None)
            if twin is None:
                merged.append(p)
            else:
                merged[merged.index(twin)] = OneOf(p.field, tuple(dict.fromkeys(twin.codes + p.codes)))
        parts = merged
    parts = list(dict.fromkeys(parts))
    return parts[0] if len(parts) == 1 else kind(tuple(parts))


# ---------------------------------------------------------------------------- renderers

def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _join(parts: list[str], word: str) -> str:
    return "(" + f" {word} ".join(parts) + ")"


def fhirpath(rulebase: RuleBase, node: Shown) -> str:
    """An SDC enableWhenExpression (FHIRPath on the QuestionnaireResponse, `%resource`)."""
    def answers(field: str) -> str:
        return f"%resource.repeat(item).where(linkId='{field}').answer.value"

    def render(n: Shown) -> str:
        if isinstance(n, (And, Or)):
            return _join([render(p) for p in n.parts], "and" if isinstance(n, And) else "or")
        if isinstance(n, Always):
            return "true"
        a = answers(n.field)
        if isinstance(n, OneOf):
            return f"{a}.where({' or '.join(f'code={c!r}' for c in n.codes)}).exists()"
        if isinstance(n, Compare):
            return f"{a}.where($this {n.op} {_num(n.value)}).exists()"
        if isinstance(n, Selected):
            return f"{a}.where(code='{n.code}').exists()"
        if isinstance(n, NotSelected):
            return f"{a}.where(code='{n.code}').empty()"
        if isinstance(n, Answered):
            return f"{a}.exists()"
        return f"{a}.empty()"

    return render(node)


def redcap(rulebase: RuleBase, node: Shown) -> str:
    """REDCap branching logic. Checkbox fields are tested one code at a time, `[f(code)]`."""
    qs = rulebase.questions

    def render(n: Shown) -> str:
        if isinstance(n, (And, Or)):
            return _join([render(p) for p in n.parts], "and" if isinstance(n, And) else "or")
        if isinstance(n, Always):
            return "'1' = '1'"
        f = n.field
        multi = qs[f].type is FieldType.multi
        if isinstance(n, OneOf):
            tests = [f"[{f}] = '{c}'" for c in n.codes]
            return tests[0] if len(tests) == 1 else _join(tests, "or")
        if isinstance(n, Compare):
            op = "<>" if n.op == "!=" else n.op
            return f"([{f}] <> '' and [{f}] {op} {_num(n.value)})"
        if isinstance(n, Selected):
            return f"[{f}({n.code})] = '1'"
        if isinstance(n, NotSelected):
            return f"[{f}({n.code})] = '0'"
        if multi:
            codes = [*qs[f].values, NONE_OF_THESE]
            if isinstance(n, Answered):
                return _join([f"[{f}({c})] = '1'" for c in codes], "or")
            return _join([f"[{f}({c})] = '0'" for c in codes], "and")
        return f"[{f}] <> ''" if isinstance(n, Answered) else f"[{f}] = ''"

    return render(node)


def xlsform(rulebase: RuleBase, node: Shown) -> str:
    """An XLSForm `relevant` expression (ODK XPath with `${field}` references)."""
    def render(n: Shown) -> str:
        if isinstance(n, (And, Or)):
            return _join([render(p) for p in n.parts], "and" if isinstance(n, And) else "or")
        if isinstance(n, Always):
            return "true()"
        ref = "${" + n.field + "}"
        if isinstance(n, OneOf):
            tests = [f"{ref} = '{c}'" for c in n.codes]
            return tests[0] if len(tests) == 1 else _join(tests, "or")
        if isinstance(n, Compare):
            return f"({ref} != '' and {ref} {n.op} {_num(n.value)})"
        if isinstance(n, Selected):
            return f"selected({ref}, '{n.code}')"
        if isinstance(n, NotSelected):
            return f"not(selected({ref}, '{n.code}'))"
        return f"{ref} != ''" if isinstance(n, Answered) else f"{ref} = ''"

    return render(node)


def enable_when(rulebase: RuleBase, node: Shown, system: str) -> list[dict] | None:
    """Plain FHIR enableWhen items (combined with enableBehavior `any`) when the condition is an
    `or` of atoms enableWhen states exactly; None when it needs an enableWhenExpression.

    `!=` is never used: R4 leaves open whether it holds for an unanswered question."""
    atoms = node.parts if isinstance(node, Or) else (node,)
    out: list[dict] = []
    for a in atoms:
        q = rulebase.questions.get(getattr(a, "field", ""))
        if isinstance(a, OneOf):
            out += [{"question": a.field, "operator": "=", "answerCoding": {"system": system, "code": c}}
                    for c in a.codes]
        elif isinstance(a, Selected):
            out.append({"question": a.field, "operator": "=", "answerCoding": {"system": system, "code": a.code}})
        elif isinstance(a, Compare) and a.op != "!=":
            kind = "answerInteger" if q.type is FieldType.integer and float(a.value).is_integer() else "answerDecimal"
            value = int(a.value) if kind == "answerInteger" else a.value
            out.append({"question": a.field, "operator": a.op, kind: value})
        elif isinstance(a, Blank) or (isinstance(a, Answered) and UNSURE not in q.values):
            out.append({"question": a.field, "operator": "exists", "answerBoolean": isinstance(a, Answered)})
        else:
            return None
    return out
