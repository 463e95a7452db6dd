"""The interview as data: skip logic, options by age, stale answers."""

from supplycheck.core import interview


def asked(rulebase, answers):
    return {q.id for q in interview.questions_to_ask(rulebase, answers)}


def test_a_question_depending_on_a_skipped_one_is_not_asked(rulebase):
    formula = asked(rulebase, {"feeding_method": "formula_only", "infant_age_days": 30})
    assert not {"separated_from_baby", "pump_sessions_per_day", "pumping_pain", "feeds_per_day"} & formula
    breast = asked(rulebase, {"feeding_method": "breast_only", "infant_age_days": 30})
    assert not {"relactation_goal", "weeks_since_stopped", "formula_feeds_per_day"} & breast
    assert "separated_from_baby" in breast
    assert not {"pump_sessions_per_day", "pumping_pain"} & breast  # no expressing after "breastfeeds only"
    mixed = asked(rulebase, {"feeding_method": "breast_and_formula", "infant_age_days": 30})
    assert {"separated_from_baby", "pump_sessions_per_day"} <= mixed  # pumping asked until "not apart"
    assert "pump_sessions_per_day" not in asked(rulebase, {"feeding_method": "breast_and_formula",
                                                           "separated_from_baby": "no"})


def test_an_unknown_answer_never_hides_a_question(rulebase):
    assert "solids_or_water_before_6_months" in asked(rulebase, {})
    assert "solids_or_water_before_6_months" not in asked(rulebase, {"infant_age_days": 200})


def test_options_that_do_not_fit_the_age_are_not_offered(rulebase):
    concerns = rulebase.questions["concerns"]
    young = {o.value for o in interview.as_asked(rulebase, concerns, {"infant_age_days": 5}).options}
    assert "slower_growth_after_3_months" not in young and "breasts_soft" in young
    older = interview.as_asked(rulebase, concerns, {"infant_age_days": 100})
    assert older is concerns  # nothing to leave out
    kept = interview.as_asked(rulebase, concerns, {"infant_age_days": 5,
                                                   "concerns": ["slower_growth_after_3_months"]})
    assert "slower_growth_after_3_months" in {o.value for o in kept.options}  # an earlier answer stays


def test_answers_to_questions_that_no_longer_apply_are_not_evaluated(rulebase):
    answers = {"feeding_method": "breast_and_expressed", "pump_sessions_per_day": 3}
    assert interview.relevant_answers(rulebase, answers) == answers
    answers["feeding_method"] = "formula_only"
    assert interview.relevant_answers(rulebase, answers) == {"feeding_method": "formula_only"}
