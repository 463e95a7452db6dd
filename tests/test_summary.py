"""The summary as data: what every renderer shows, in order."""

from supplycheck import evaluate
from supplycheck.rulebase.models import Urgency
from supplycheck.present.summary import build


def test_an_unsure_danger_sign_is_listed_to_check_now_with_the_urgency_it_alone_could_bring(rulebase):
    result = evaluate(rulebase, {"infant_age_days": 20, "birth_weight_g": 3400, "current_weight_g": 3700,
                                 "wet_diapers_per_day": 7, "baby_fever": "unsure", "jaundice": "no",
                                 "baby_hard_to_wake": "no", "feeding_method": "breast_only"})
    summary = build(rulebase, result)
    check = dict((label, urgency) for label, urgency in summary.check_now)
    fever = rulebase.questions["baby_fever"].parent
    assert check[fever] is Urgency.emergency
    # Sleepiness at the breast matters for jaundice only together with it: jaundice is known
    # "no", so it is not something to check now.
    assert rulebase.questions["sleepy_at_breast"].parent not in check
    assert fever not in summary.open_questions  # shown once, at the top


def test_parents_see_the_answers_they_gave_not_derived_values(rulebase):
    result = evaluate(rulebase, {"infant_age_days": 4, "birth_weight_g": 3500, "current_weight_g": 3100})
    parent = build(rulebase, result, "parent")
    clinical = build(rulebase, result, "clinical")
    (flag,) = [f for f in parent.red_flags if f.code == "weight_loss_over_10_percent"]
    assert {e.field for e in flag.evidence} == {"birth_weight_g", "current_weight_g"}
    (flag,) = [f for f in clinical.red_flags if f.code == "weight_loss_over_10_percent"]
    assert ("weight_loss_pct", "11.4 %") in {(e.field, e.answer) for e in flag.evidence}


def test_a_step_made_redundant_by_a_more_urgent_one_is_left_out(rulebase):
    result = evaluate(rulebase, {"infant_age_days": 4, "birth_weight_g": 3500, "current_weight_g": 3100,
                                 "baby_fever": "yes"})
    codes = [s.code for s in result.next_steps]
    assert codes[0] == "call_emergency_now"
    assert "get_baby_weighed_soon" not in codes and "contact_baby_doctor_today" not in codes
