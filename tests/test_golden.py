"""Golden cases: evidence that the rule base is clinically right.

Each file in examples/golden/ is one intake with the outcome a careful lactation consultant
would expect, written from the clinical facts before the case was run (see the case's `why`).

    title: "..."                  # one line
    why: "..."                    # clinical reasoning and source
    xfail: "..."                  # optional: the rule base is believed wrong here (strict xfail)
    intake: {...}                 # contract field names and values only
    expect:
      urgency: same_day                      # exact
      supply_picture: possible_low_supply    # exact
      red_flags: [a, b]                      # exact list, in order (most urgent first)
      red_flags_include: [a]                 # each present
      red_flags_first: a                     # leads the list
      factors: [a, b]                        # exact set of factor ids
      factors_include: [a]                   # each present
      factor_categories: {a: secondary}      # id -> category
      perceived: [a]                         # exact set of perceived-sign codes
      perceived_include: [a]
      referrals_include: [{to: baby_doctor, urgency: same_day}]   # urgency optional
      next_steps_include: [a]
      next_steps_first: a
      open_questions_include: [baby_fever]   # unanswered fields that could raise the urgency
      safety_net_include: [call_now_breathing]   # safety-net items present (contract 1.1)
      must_not: [a]     # absent everywhere: supply picture, red flags, factors, perceived signs,
                        # next steps, referral targets

Every code named in a case is checked against rules/codes.yaml, so a typo cannot make a
`must_not` pass vacuously. A separate test asserts that the cases cover the catalogue.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from supplycheck import evaluate

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "examples" / "golden"
CODES = yaml.safe_load((ROOT / "rules" / "codes.yaml").read_text(encoding="utf-8"))

NAME = re.compile(r"^\d{3}_[a-z0-9_]+\.yaml$")
TOP_KEYS = {"title", "why", "intake", "expect", "xfail"}
CATEGORIES = {"primary", "secondary"}

# expectation key -> the catalogue its codes come from (None: special handling)
LIST_KEYS = {
    "red_flags": "red_flags", "red_flags_include": "red_flags",
    "factors": "factors", "factors_include": "factors",
    "perceived": "perceived_signs", "perceived_include": "perceived_signs",
    "next_steps_include": "next_steps",
}
SCALAR_KEYS = {
    "urgency": "urgencies", "supply_picture": "supply_pictures",
    "red_flags_first": "red_flags", "next_steps_first": "next_steps",
}
OTHER_KEYS = {"factor_categories", "referrals_include", "open_questions_include", "must_not",
              "safety_net_include"}
EXPECT_KEYS = set(LIST_KEYS) | set(SCALAR_KEYS) | OTHER_KEYS
MUST_NOT_CATALOGUES = ("supply_pictures", "red_flags", "factors", "perceived_signs",
                       "next_steps", "referral_targets")


def case_files() -> list[Path]:
    return sorted(GOLDEN.glob("*.yaml"))


def load_case(path: Path) -> dict[str, Any]:
    case = yaml.safe_load(path.read_text(encoding="utf-8"))
    check_shape(path.name, case)
    return case


def check_shape(name: str, case: Any) -> None:
    """A malformed case is an error in the case, reported before anything is evaluated."""
    assert NAME.match(name), f"{name}: name cases like 031_weight_loss_12pct_day4.yaml"
    assert isinstance(case, dict), f"{name}: a case is a mapping"
    assert {"title", "why", "intake", "expect"} <= set(case), f"{name}: needs title, why, intake, expect"
    assert set(case) <= TOP_KEYS, f"{name}: unknown keys {sorted(set(case) - TOP_KEYS)}"
    for key in ("title", "why"):
        assert isinstance(case[key], str) and case[key].strip(), f"{name}: {key} must be text"
    if "xfail" in case:
        assert isinstance(case["xfail"], str) and case["xfail"].strip(), f"{name}: xfail is a reason"
    intake, expect = case["intake"], case["expect"]
    assert isinstance(intake, dict), f"{name}: intake is a mapping"
    for field, value in intake.items():
        # YAML 1.1 reads bare yes/no/on/off as booleans; the contract wants the words.
        assert not isinstance(value, bool), f"{name}: {field}: quote yes/no (\"yes\"), not {value!r}"
    assert isinstance(expect, dict) and expect, f"{name}: expect is a non-empty mapping"
    assert set(expect) <= EXPECT_KEYS, f"{name}: unknown expect keys {sorted(set(expect) - EXPECT_KEYS)}"

    def known(code: Any, catalogue: str, where: str) -> None:
        assert code in CODES[catalogue], f"{name}: {where}: {code!r} is not in codes.yaml {catalogue}"

    for key, catalogue in LIST_KEYS.items():
        if key in expect:
            assert isinstance(expect[key], list), f"{name}: {key} is a list"
            for code in expect[key]:
                known(code, catalogue, key)
    for key, catalogue in SCALAR_KEYS.items():
        if key in expect:
            known(expect[key], catalogue, key)
    for code, category in expect.get("factor_categories", {}).items():
        known(code, "factors", "factor_categories")
        assert category in CATEGORIES, f"{name}: factor_categories: {category!r}"
    for ref in expect.get("referrals_include", []):
        assert isinstance(ref, dict) and set(ref) <= {"to", "urgency"} and "to" in ref, \
            f"{name}: referrals_include items are {{to, urgency?}}"
        known(ref["to"], "referral_targets", "referrals_include")
        if "urgency" in ref:
            known(ref["urgency"], "urgencies", "referrals_include")
    for code in expect.get("safety_net_include", []):
        known(code, "safety_net", "safety_net_include")
    for code in expect.get("must_not", []):
        assert any(code in CODES[c] for c in MUST_NOT_CATALOGUES), \
            f"{name}: must_not: {code!r} is not a code in codes.yaml"


def params() -> list:
    out = []
    for path in case_files():
        case = load_case(path)
        marks = [pytest.mark.xfail(strict=True, reason=case["xfail"])] if "xfail" in case else []
        out.append(pytest.param(path, id=path.stem, marks=marks))
    return out


def summary(result) -> str:
    return (f"urgency={result.urgency.value} supply={result.supply_picture.value}\n"
            f"  red_flags={result.red_flags}\n"
            f"  factors={[(f.id, f.category.value) for f in result.factors]}\n"
            f"  perceived={result.perceived_signs}\n"
            f"  referrals={[(r.to.value, r.urgency.value) for r in result.referrals]}\n"
            f"  next_steps={[s.code for s in result.next_steps]}")


def check(result, expect: dict[str, Any]) -> list[str]:
    """Every way the result differs from the expectation (empty when it matches)."""
    problems: list[str] = []
    flags = list(result.red_flags)
    factors = {f.id: f.category.value for f in result.factors}
    perceived = list(result.perceived_signs)
    steps = [s.code for s in result.next_steps]
    referrals = {r.to.value: r.urgency.value for r in result.referrals}
    opened = [q.field for q in result.open_questions]

    def missing(key: str, actual: list[str]) -> None:
        lost = [c for c in expect.get(key, []) if c not in actual]
        if lost:
            problems.append(f"{key}: missing {lost}")

    if "urgency" in expect and result.urgency.value != expect["urgency"]:
        problems.append(f"urgency: expected {expect['urgency']}, got {result.urgency.value}")
    if "supply_picture" in expect and result.supply_picture.value != expect["supply_picture"]:
        problems.append(f"supply_picture: expected {expect['supply_picture']}, got {result.supply_picture.value}")
    if "red_flags" in expect and flags != expect["red_flags"]:
        problems.append(f"red_flags: expected {expect['red_flags']}, got {flags}")
    missing("red_flags_include", flags)
    if "red_flags_first" in expect and flags[:1] != [expect["red_flags_first"]]:
        problems.append(f"red_flags_first: expected {expect['red_flags_first']}, got {flags[:1]}")
    if "factors" in expect and set(factors) != set(expect["factors"]):
        problems.append(f"factors: expected {sorted(expect['factors'])}, got {sorted(factors)}")
    missing("factors_include", list(factors))
    for code, category in expect.get("factor_categories", {}).items():
        if factors.get(code) != category:
            problems.append(f"factor_categories: {code} expected {category}, got {factors.get(code)}")
    if "perceived" in expect and set(perceived) != set(expect["perceived"]):
        problems.append(f"perceived: expected {sorted(expect['perceived'])}, got {sorted(perceived)}")
    missing("perceived_include", perceived)
    for ref in expect.get("referrals_include", []):
        got = referrals.get(ref["to"])
        if got is None or ("urgency" in ref and got != ref["urgency"]):
            problems.append(f"referrals_include: expected {ref}, got {ref['to']}: {got}")
    missing("next_steps_include", steps)
    if "next_steps_first" in expect and steps[:1] != [expect["next_steps_first"]]:
        problems.append(f"next_steps_first: expected {expect['next_steps_first']}, got {steps[:1]}")
    missing("open_questions_include", opened)
    missing("safety_net_include", [s.code for s in result.safety_net])
    everywhere = {result.supply_picture.value, *flags, *factors, *perceived, *steps, *referrals}
    present = [c for c in expect.get("must_not", []) if c in everywhere]
    if present:
        problems.append(f"must_not: present {present}")
    return problems


@pytest.mark.parametrize("path", params())
def test_golden_case(rulebase, path: Path):
    case = load_case(path)
    result = evaluate(rulebase, case["intake"])
    assert result.status == "scored", f"{path.name}: intake rejected: {result.errors}"
    assert not result.warnings, f"{path.name}: intake uses non-contract fields: {result.warnings}"
    problems = check(result, case["expect"])
    assert not problems, (f"{path.name}: {case['title']}\n  " + "\n  ".join(problems)
                          + "\nactual: " + summary(result))


REASSURANCE = {"reassuring", "normal_behaviour_reassurance"}


@pytest.mark.parametrize("path", params())
def test_no_reassurance_beside_an_urgent_referral_and_always_a_safety_net(rulebase, path: Path):
    """Issue 16: no result says "usually normal" or `reassuring` beside a same-day or emergency
    referral; every scored result carries a safety net."""
    result = evaluate(rulebase, load_case(path)["intake"])
    assert result.safety_net, f"{path.name}: no safety net"
    if result.urgency.rank <= 1:  # emergency or same day
        said = {result.supply_picture.value, *result.perceived_signs, *(s.code for s in result.next_steps)}
        assert not said & REASSURANCE and not result.perceived_signs, \
            f"{path.name}: {result.urgency.value} beside {sorted(said & REASSURANCE) or result.perceived_signs}"


# ---------------------------------------------------------------- coverage of the catalogue

def positive_codes() -> dict[str, set[str]]:
    """Codes each passing (non-xfail) case expects to be present, by catalogue."""
    seen: dict[str, set[str]] = {c: set() for c in
                                 ("red_flags", "factors", "perceived_signs", "supply_pictures",
                                  "urgencies", "referral_targets")}
    for path in case_files():
        case = load_case(path)
        if "xfail" in case:
            continue
        expect = case["expect"]
        for key in ("red_flags", "red_flags_include"):
            seen["red_flags"].update(expect.get(key, []))
        if "red_flags_first" in expect:
            seen["red_flags"].add(expect["red_flags_first"])
        for key in ("factors", "factors_include"):
            seen["factors"].update(expect.get(key, []))
        seen["factors"].update(expect.get("factor_categories", {}))
        for key in ("perceived", "perceived_include"):
            seen["perceived_signs"].update(expect.get(key, []))
        if "supply_picture" in expect:
            seen["supply_pictures"].add(expect["supply_picture"])
        if "urgency" in expect:
            seen["urgencies"].add(expect["urgency"])
        seen["referral_targets"].update(r["to"] for r in expect.get("referrals_include", []))
    return seen


@pytest.mark.parametrize("catalogue", ["red_flags", "factors", "perceived_signs", "supply_pictures",
                                       "urgencies", "referral_targets"])
def test_golden_cases_cover_the_catalogue(catalogue):
    uncovered = sorted(set(CODES[catalogue]) - positive_codes()[catalogue])
    assert not uncovered, f"no passing golden case expects these {catalogue}: {uncovered}"


def test_enough_golden_cases_with_unique_numbers():
    files = case_files()
    assert len(files) >= 45, f"only {len(files)} golden cases"
    numbers = [p.name[:3] for p in files]
    assert len(numbers) == len(set(numbers)), "two golden cases share a number"
