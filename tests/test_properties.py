"""Invariants of `evaluate` over generated intakes (the strategies of tests/test_oracle.py).

Only what is actually true of the Kleene semantics is asserted. In particular, forgetting an
answer CAN add findings, by design, in two ways, and the properties below allow exactly those:
- rules that test `known: false` read an unknown answer the safer way (an unknown age counts
  as under 3 months for fever, a wet-nappy count with no age counts as low);
- `unless X` holds when X becomes unknown (a perceived worry is shown once the objective sign
  that blocked it is forgotten);
and forgetting `weight_age_days` changes `weight_age` to the contract's default
(`infant_age_days`), which is a different value, not a missing one.
Every other rule is monotone: if it fires with less information, it fired with more.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from supplycheck import evaluate, load_rulebase
from supplycheck.core.intake import parse_intake
from test_oracle import ORACLE, QUESTIONS, RULES_DIR, intakes, plain_rule, shipped_rulebase, write_rule_base

URGENCIES = ["emergency", "same_day", "within_2_days", "routine", "none"]
RANK = {u: i for i, u in enumerate(URGENCIES)}
CODES = yaml.safe_load((RULES_DIR / "codes.yaml").read_text(encoding="utf-8"))
META = yaml.safe_load((RULES_DIR / "rulebase.yaml").read_text(encoding="utf-8"))
SUBJECT = {code: entry["subject"] for code, entry in CODES["red_flags"].items()}

# Red flags that are about the baby's weight or output (what "reassuring" is judged on).
WEIGHT_OR_OUTPUT_FLAGS = {
    "few_wet_diapers", "no_wet_diaper_8h", "dark_urine_after_day_4", "few_stools",
    "weight_loss_over_10_percent", "weight_loss_over_7_percent", "below_birth_weight_at_3_weeks",
    "not_regained_birth_weight_by_2_weeks", "slow_weight_gain", "meconium_after_day_5",
    "dehydration_signs",
} & set(SUBJECT)

FAST = settings(max_examples=200, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@pytest.fixture(scope="module")
def rb():
    return shipped_rulebase()


def _refer(rule: dict) -> list[dict]:
    refer = rule.get("refer") or []
    return [refer] if isinstance(refer, dict) else refer


def rule_urgency(rule: dict) -> str:
    return min((r["urgency"] for r in _refer(rule)), key=RANK.__getitem__, default="none")


def _uses(cond: Any, key: str, definitions: dict) -> bool:
    """Does a condition (definitions expanded) use a combinator or leaf op `key`?"""
    if isinstance(cond, list):
        return any(_uses(c, key, definitions) for c in cond)
    if not isinstance(cond, dict):
        return False
    if "field" in cond:
        return key in cond
    if "def" in cond:
        return _uses(definitions[cond["def"]], key, definitions)
    if key in cond:
        return True
    return any(_uses(v["of"] if k == "at_least" else v, key, definitions) for k, v in cond.items())


def is_monotone(rule: dict) -> bool:
    """Kleene-monotone in information: no `known:` test and no `unless`."""
    return not (_uses(rule["when"], "known", ORACLE.definitions)
                or _uses(rule["when"], "unless", ORACLE.definitions))


def scored(rb, record: dict):
    result = evaluate(rb, record)
    assert result.status == "scored", result.errors
    return result


def fired_rules(result) -> set[str]:
    return {e.rule for e in result.explanations}


# ---------------------------------------------------------------------- urgency and red flags


@FAST
@given(intakes())
def test_urgency_is_the_most_urgent_referral(record):
    rb = shipped_rulebase()
    result = scored(rb, record)
    want = min((r.urgency.value for r in result.referrals), key=RANK.__getitem__, default="none")
    assert result.urgency.value == want
    # ... and, independently, the most urgent referral of any rule the oracle says fires.
    fired = ORACLE.fired(record)
    assert want == min((rule_urgency(ORACLE.rule(r)) for r in fired), key=RANK.__getitem__, default="none")
    # Each referral target appears once, at the most urgent level any fired rule asks for it.
    targets = [r.to.value for r in result.referrals]
    assert len(targets) == len(set(targets))
    for ref in result.referrals:
        levels = [x["urgency"] for r in fired for x in _refer(ORACLE.rule(r)) if x["to"] == ref.to.value]
        assert ref.urgency.value == min(levels, key=RANK.__getitem__)


@FAST
@given(intakes())
def test_red_flags_most_urgent_first_baby_before_mother(record):
    rb = shipped_rulebase()
    result = scored(rb, record)
    fired = [ORACLE.rule(r) for r in ORACLE.fired(record)]
    urgency: dict[str, int] = {}
    for rule in fired:
        if rule.get("red_flag"):
            rank = RANK[rule_urgency(rule)]
            urgency[rule["red_flag"]] = min(rank, urgency.get(rule["red_flag"], rank))
    assert sorted(result.red_flags) == sorted(urgency), "red flags are exactly those of the fired rules"
    keys = [(urgency[c], SUBJECT[c] == "mother") for c in result.red_flags]
    assert keys == sorted(keys), f"order {result.red_flags} with (urgency, mother?) {keys}"


def test_red_flag_order_examples(rb):
    """Most urgent first; at equal urgency the baby's lead the mother's."""
    same_day = scored(rb, {"mother_fever_or_unwell": "yes", "stool_colour": "pale_chalky"})
    assert same_day.red_flags == ["pale_stools", "maternal_infection_signs"]
    # Heavy bleeding is an emergency for the mother (1.1): her flag then leads a same-day one.
    bleeding = scored(rb, {"heavy_bleeding_now": "yes", "stool_colour": "pale_chalky"})
    assert bleeding.red_flags == ["maternal_heavy_bleeding", "pale_stools"]
    mixed = scored(rb, {"heavy_bleeding_now": "yes", "infant_age_days": 5, "wet_diapers_per_day": 3,
                        "baby_hard_to_wake": "yes"})
    assert mixed.red_flags[0] == "hard_to_wake" and mixed.urgency.value == "emergency"
    assert mixed.red_flags.index("maternal_heavy_bleeding") < mixed.red_flags.index("few_wet_diapers")


# Answers that raise a red flag, and the flag(s) one of which they must raise.
RED_FLAG_ANSWERS = [
    ("baby_hard_to_wake", "yes", {"hard_to_wake"}),
    ("baby_temperature_c", 38.5, {"fever_young_infant", "fever_infant"}),
    ("baby_temperature_c", 35.5, {"low_temperature"}),
    ("baby_breathing_difficulty", "yes", {"breathing_difficulty"}),
    ("emergency_signs_now", ["non_blanching_rash"], {"non_blanching_rash"}),
    ("vomiting", "green", {"green_vomit"}),
    ("blood_in_stool", "yes", {"blood_in_stool"}),
    ("thoughts_of_self_harm", "yes", {"maternal_self_harm_thoughts"}),
    ("mother_fever_or_unwell", "yes", {"maternal_infection_signs"}),
    ("heavy_bleeding_now", "yes", {"maternal_heavy_bleeding"}),
    ("jaundice", "worsening", {"worsening_jaundice"}),
    ("stool_colour", "pale_chalky", {"pale_stools"}),
    ("baby_dry_mouth_or_sunken_soft_spot", "yes", {"dehydration_signs"}),
]


@FAST
@given(intakes(), st.sampled_from(RED_FLAG_ANSWERS))
def test_a_red_flag_answer_never_lowers_urgency(record, answer):
    rb = shipped_rulebase()
    field, value, flags = answer
    before = scored(rb, record)
    after = scored(rb, {**record, field: value})
    assert RANK[after.urgency.value] <= RANK[before.urgency.value]
    assert flags & set(after.red_flags), after.red_flags
    for flag in flags & set(after.red_flags):
        flag_urgency = min(RANK[rule_urgency(r)] for r in ORACLE.rules if r.get("red_flag") == flag)
        assert RANK[after.urgency.value] <= flag_urgency


# ---------------------------------------------------------------------- forgetting answers


def _forgettable(record: dict) -> list[str]:
    out = []
    for field, value in record.items():
        if field not in QUESTIONS or field == "weight_age_days":
            continue
        if value is None or (isinstance(value, str) and value.strip().lower() in ("", "unsure")):
            continue
        if isinstance(value, float) and value != value:
            continue
        out.append(field)
    return out


@settings(max_examples=400, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(intakes(), st.data())
def test_forgetting_an_answer_adds_findings_only_through_known_or_unless(record, data):
    rb = shipped_rulebase()
    fields = _forgettable(record)
    assume(fields)
    field = data.draw(st.sampled_from(fields), label="field")
    unsure_ok = "unsure" in ORACLE.allowed_values(field) if QUESTIONS[field]["type"] not in ("integer", "number") else False
    forgotten_as = data.draw(st.sampled_from(["missing", None, ""] + (["unsure"] if unsure_ok else [])), label="as")
    forgotten = {k: v for k, v in record.items() if k != field}
    if forgotten_as != "missing":
        forgotten[field] = forgotten_as

    before, after = scored(rb, record), scored(rb, forgotten)
    new_rules = fired_rules(after) - fired_rules(before)
    for rule_id in new_rules:
        assert not is_monotone(ORACLE.rule(rule_id)), (
            f"forgetting {field} made monotone rule {rule_id} fire")
    # Consequences for what a parent sees:
    for flag in set(after.red_flags) - set(before.red_flags):
        raisers = [r for r in new_rules if ORACLE.rule(r).get("red_flag") == flag]
        assert raisers and not any(is_monotone(ORACLE.rule(r)) for r in raisers), (
            f"forgetting {field} added red flag {flag} from a positive finding")
    if after.supply_picture.value == "reassuring" and is_monotone(ORACLE.rule("reassuring_intake")):
        assert "reassuring_intake" in fired_rules(before), "reassurance from an unknown answer"


def test_forgetting_weight_age_days_uses_the_contracts_default(rb):
    """Why weight_age_days is left out above: without it the weight counts as taken today."""
    record = {"infant_age_days": 30, "weight_age_days": 10, "birth_weight_g": 3000, "current_weight_g": 2900}
    assert "below_birth_weight_at_3_weeks" not in scored(rb, record).red_flags
    del record["weight_age_days"]
    assert "below_birth_weight_at_3_weeks" in scored(rb, record).red_flags


# ---------------------------------------------------------------------- what a result may say


@FAST
@given(intakes())
def test_factors_name_known_evidence(record):
    rb = shipped_rulebase()
    result = scored(rb, record)
    known = parse_intake(rb, record).known()
    fired = ORACLE.fired(record)
    assert {f.id for f in result.factors} == {ORACLE.rule(r)["factor"] for r in fired if ORACLE.rule(r).get("factor")}
    for factor in result.factors:
        assert factor.evidence, factor
        unknown = [f for f in factor.evidence if f not in known]
        assert not unknown, f"{factor.id} cites unknown fields {unknown}"
        assert factor.category.value == CODES["factors"][factor.id]["category"]


@FAST
@given(intakes())
def test_likely_low_supply_needs_swallowing_heard(record):
    rb = shipped_rulebase()
    result = scored(rb, record)
    if result.supply_picture.value == "likely_low_supply":
        assert parse_intake(rb, record).known().get("swallowing_heard") == "yes"


@FAST
@given(intakes())
def test_reassuring_never_with_a_weight_or_output_red_flag(record):
    rb = shipped_rulebase()
    result = scored(rb, record)
    if result.supply_picture.value == "reassuring":
        assert not WEIGHT_OR_OUTPUT_FLAGS & set(result.red_flags), result.red_flags


@FAST
@given(intakes())
def test_supply_picture_follows_precedence(record):
    rb = shipped_rulebase()
    result = scored(rb, record)
    pictures = {ORACLE.rule(r)["supply"] for r in ORACLE.fired(record) if ORACLE.rule(r).get("supply")}
    want = next((p for p in META["supply_precedence"] if p in pictures), "unclear")
    assert result.supply_picture.value == want


# ---------------------------------------------------------------------- invalid values


def _invalid_values(field: str) -> list[Any]:
    q = QUESTIONS[field]
    kind = q["type"]
    common = [True, {"a": 1}, float("inf")]
    if kind in ("integer", "number"):
        lo, hi = q["min"], q["max"]
        values = [lo - 1, hi + 1, hi + 0.5, "abc", "7 days", [lo], "inf", *common]
        if kind == "integer":
            values += [lo + 0.5, "1.5"]
        return values
    allowed = ORACLE.allowed_values(field)
    if kind == "multi":
        return [["bogus"], "bogus", ["none", allowed[0]], f"{allowed[0]};bogus", [1], 5, ["unsure"], *common]
    values = ["maybe", "y", 1, ["yes"], *common]
    if "unsure" not in allowed:
        values.append("unsure")
    return values


@FAST
@given(intakes(), st.data())
def test_invalid_values_name_exactly_the_bad_fields(record, data):
    rb = shipped_rulebase()
    fields = data.draw(st.lists(st.sampled_from(sorted(QUESTIONS)), min_size=1, max_size=3, unique=True), label="bad")
    bad = dict(record)
    for field in fields:
        bad[field] = data.draw(st.sampled_from(_invalid_values(field)), label=field)
    if "infant_age_days" in fields and "weight_age_days" not in fields:
        bad.pop("weight_age_days", None)  # keep the cross-field check out of it
    result = evaluate(rb, bad)
    assert result.status == "error"
    assert sorted({e.field for e in result.errors}) == sorted(fields)
    assert sorted(ORACLE.bad_fields(bad)) == sorted(fields)
    for error in result.errors:
        assert error.field in error.message
    assert result.urgency is None and not result.red_flags and not result.referrals


def test_weight_age_after_today_is_an_error(rb):
    result = evaluate(rb, {"infant_age_days": 10, "weight_age_days": 11})
    assert result.status == "error"
    assert [e.field for e in result.errors] == ["weight_age_days"]


@FAST
@given(intakes(), st.text("abcxyz_", min_size=3, max_size=12))
def test_unknown_keys_are_warnings_never_used(record, key):
    rb = shipped_rulebase()
    assume(key not in QUESTIONS and key != "id")
    plain, extra = scored(rb, record), scored(rb, {**record, key: "yes"})
    assert any(key in w for w in extra.warnings)
    assert extra.model_dump(exclude={"warnings"}) == plain.model_dump(exclude={"warnings"})


# ---------------------------------------------------------------------- determinism


@settings(max_examples=100, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(intakes(), intakes())
def test_deterministic_and_stateless(a, b):
    rb = shipped_rulebase()
    first = evaluate(rb, a).model_dump()
    assert evaluate(rb, a).model_dump() == first
    evaluate(rb, b)
    assert evaluate(rb, a).model_dump() == first
    assert evaluate(rb, a, explain=False).contract_dict() == evaluate(rb, a).contract_dict()


# ---------------------------------------------------------------------- a product bug


def test_factor_evidence_omits_unanswered_optional_inputs(tmp_path):
    rb = load_rulebase(write_rule_base(tmp_path, [
        plain_rule("late_weight", {"field": "weight_age", "gte": 21}, factor="prematurity")]))
    result = scored(rb, {"infant_age_days": 30})
    (factor,) = result.factors
    assert factor.evidence == ["infant_age_days"]


def test_the_strategy_reaches_every_supply_picture_and_urgency():
    """Guard against vacuous properties: the generated intakes produce every supply picture
    and every urgency, so the implications above are really exercised."""
    rb = shipped_rulebase()
    pictures: dict[str, int] = {}
    urgencies: set[str] = set()

    @settings(max_examples=500, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(intakes())
    def collect(record):
        result = scored(rb, record)
        pictures[result.supply_picture.value] = pictures.get(result.supply_picture.value, 0) + 1
        urgencies.add(result.urgency.value)

    collect()
    assert all(pictures.get(p, 0) >= 5 for p in META["supply_precedence"]), pictures
    assert urgencies == set(URGENCIES)
