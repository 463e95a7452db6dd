"""Raw answers -> typed intake: every bad field named with its value and what is allowed."""

import pytest

from supplycheck import IntakeError, evaluate
from supplycheck.core.intake import parse_intake


def test_values_are_typed_and_lists_accept_semicolons(rulebase):
    intake = parse_intake(rulebase, {
        "id": 17, "infant_age_days": "12", "birth_weight_g": "3400.0", "latch_pain": " Yes ",
        "concerns": "breasts_soft; feeds_more_often", "breast_surgery": "none", "herbs": ["sage"],
        "baby_fever": "", "jaundice": None,
    })
    assert intake.id == "17"
    assert intake.answers == {
        "infant_age_days": 12, "birth_weight_g": 3400, "latch_pain": "yes",
        "concerns": ["breasts_soft", "feeds_more_often"], "breast_surgery": [], "herbs": ["sage"]}


def test_unsure_is_recorded_but_not_known(rulebase):
    intake = parse_intake(rulebase, {"swallowing_heard": "unsure", "tongue_tie": "unsure"})
    assert intake.answers == {"swallowing_heard": "unsure", "tongue_tie": "unsure"}
    assert intake.known() == {}


@pytest.mark.parametrize("field, value, allowed", [
    ("infant_age_days", 1096, "a whole number from 0 to 1095"),
    ("infant_age_days", 2.5, "a whole number from 0 to 1095"),
    ("infant_age_days", True, "a whole number from 0 to 1095"),
    ("birth_weight_g", "heavy", "a number from 400 to 6500"),
    ("jaundice", "yes", "one of: no, mild, worsening, unsure"),
    ("night_feeds", "unsure", "one of: yes, no"),
    ("concerns", "breasts_soft;none", "a list of"),
    ("medications", ["ibuprofen"], "a list of"),
])
def test_bad_values_name_field_value_and_allowed(rulebase, field, value, allowed):
    with pytest.raises(IntakeError) as exc:
        parse_intake(rulebase, {field: value})
    (error,) = exc.value.errors
    assert error.field == field and error.value == value and allowed in error.allowed


def test_every_bad_field_is_reported_and_unknown_fields_warn(rulebase):
    result = evaluate(rulebase, {"id": "r1", "infant_age_days": -1, "stool_colour": "blue", "shoe_size": 4})
    assert result.status == "error" and result.id == "r1"
    assert [e.field for e in result.errors] == ["infant_age_days", "stool_colour"]
    ok = evaluate(rulebase, {"shoe_size": 4})
    assert ok.status == "scored" and ok.warnings == ["unknown field 'shoe_size' ignored"]
