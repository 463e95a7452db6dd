"""ask.py: the unit parsers (pure) and the real prompts, driven by prompt_toolkit pipe input."""

from __future__ import annotations

from datetime import date

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from supplycheck.channels.answer_text import (
    UnreadableAnswer, choices_of, parse_age_days, parse_duration, parse_number, parse_weight_g, unsure_value,
)
from supplycheck.channels.ask import Action, Answer, ask

ENTER, DOWN, UP, LEFT, SPACE = "\r", "\x1b[B", "\x1b[A", "\x1b[D", " "
CTRL_C, CTRL_D = "\x03", "\x04"
TODAY = date(2026, 12, 1)


# ------------------------------------------------------------------ parsers

@pytest.mark.parametrize("text, grams", [
    ("3400", 3400), ("3400 g", 3400), ("3400g", 3400), ("3,400 g", 3400), ("3.4 kg", 3400),
    ("3,4 kg", 3400), ("3.4kg", 3400), ("7 lb 8 oz", 3401.9), ("7lb8oz", 3401.9),
    ("7 lbs 8 ounces", 3401.9), ("7 lb 8", 3401.9), ("7.5 lb", 3401.9), ("120 oz", 3401.9),
    ("3 kg 400 g", 3400),
])
def test_weights_in_grams_kilos_pounds_and_ounces(text, grams):
    assert parse_weight_g(text) == pytest.approx(grams, abs=0.1)


@pytest.mark.parametrize("text", ["", "heavy", "3 stone", "7 oz 3 lb", "3.4 kg 7 lb", "kg"])
def test_unreadable_weights_say_how_to_type_one(text):
    with pytest.raises(UnreadableAnswer, match="3.4 kg"):
        parse_weight_g(text)


@pytest.mark.parametrize("text, days", [
    ("5", 5), ("5 days", 5), ("5d", 5), ("1 day", 1), ("3 weeks", 21), ("3 wks", 21),
    ("3 weeks 2 days", 23), ("3w2d", 23), ("2 weeks and 3 days", 17),
    ("2026-11-20", 11), ("born 2026-11-20", 11), ("2026/11/20", 11), ("2026-12-01", 0),
    ("48 hours", 2),
])
def test_ages_in_days_weeks_or_from_a_date_of_birth(text, days):
    assert parse_age_days(text, TODAY) == pytest.approx(days)


def test_two_months_is_about_61_days():
    assert parse_age_days("2 months", TODAY) == pytest.approx(60.9, abs=0.1)


@pytest.mark.parametrize("text, message", [
    ("2026-12-25", "future"), ("2026-02-30", "doesn't exist"), ("soon", "couldn't read"),
    ("3 fortnights", "don't know the unit"), ("3 2", "unit after each number"),
])
def test_bad_ages_are_explained(text, message):
    with pytest.raises(UnreadableAnswer, match=message):
        parse_age_days(text, TODAY)


def test_a_date_is_refused_where_it_would_not_be_a_date_of_birth():
    with pytest.raises(UnreadableAnswer, match="not a date"):
        parse_age_days("2026-11-20", TODAY, allow_date=False)


@pytest.mark.parametrize("text, unit, value", [
    ("3", "hour", 3), ("3 hours", "hour", 3), ("3h", "hour", 3), ("90 min", "hour", 1.5),
    ("2 h 30 min", "hour", 2.5), ("3 days", "hour", 72), ("38+4", "week", 38 + 4 / 7),
    ("10 days", "week", 10 / 7), ("2 months", "week", 8.7),
])
def test_durations_convert_to_the_question_unit(text, unit, value):
    assert parse_duration(text, unit) == pytest.approx(value, abs=0.05)


def test_parse_number_checks_the_range_and_types(rulebase):
    q = rulebase.questions
    assert parse_number(q["birth_weight_g"], "7 lb 8 oz") == 3402
    assert parse_number(q["infant_age_days"], "2026-11-20", today=TODAY) == 11
    assert parse_number(q["infant_age_days"], "10 days") == 10
    assert parse_number(q["gestational_age_weeks"], "36+5") == 36  # completed weeks
    assert parse_number(q["milk_came_in_hours"], "3 days") == 72
    assert parse_number(q["longest_gap_hours"], "2.5") == 2.5
    assert parse_number(q["wet_diapers_per_day"], "6") == 6
    with pytest.raises(UnreadableAnswer, match="whole number"):
        parse_number(q["wet_diapers_per_day"], "6.5")
    with pytest.raises(UnreadableAnswer, match="from 0 to 30 per day"):
        parse_number(q["wet_diapers_per_day"], "31")
    with pytest.raises(UnreadableAnswer, match="Did you mean 3.4 kg"):
        parse_number(q["birth_weight_g"], "3.4")
    with pytest.raises(UnreadableAnswer, match="not a date"):
        parse_number(q["weight_age_days"], "2026-11-20", today=TODAY)
    with pytest.raises(UnreadableAnswer, match="not sure"):
        parse_number(q["wet_diapers_per_day"], "  ")


def test_not_sure_is_stored_as_unsure_only_where_the_field_takes_it(rulebase):
    q = rulebase.questions
    assert unsure_value(q["baby_fever"]) == "unsure"
    assert unsure_value(q["jaundice"]) == "unsure"  # its own "Not sure" option
    assert unsure_value(q["night_feeds"]) is None  # yes/no only
    assert unsure_value(q["birth_weight_g"]) is None
    assert unsure_value(q["breast_surgery"]) is None


# ------------------------------------------------------------------ the real prompts

def run(rulebase, field, keys, **kwargs) -> Answer:
    with create_pipe_input() as inp:
        inp.send_text(keys)
        return ask(rulebase, rulebase.questions[field], input=inp, output=DummyOutput(), **kwargs)


def test_yes_no_unsure(rulebase):
    # The cursor starts on a line that is not an answer: Enter there does nothing.
    assert run(rulebase, "baby_fever", ENTER + DOWN + ENTER) == Answer.given("yes")
    assert run(rulebase, "baby_fever", DOWN * 2 + ENTER) == Answer.given("no")
    assert run(rulebase, "baby_fever", DOWN * 3 + ENTER) == Answer.given("unsure")


def test_no_clinical_question_has_a_default_answer(rulebase):
    """Enter alone answers nothing, at any list question, for parents and consultants: after
    three Enters the prompt still waits, and the first answer below takes one key down."""
    for q in rulebase.questions.values():
        if q.is_numeric or q.type.value == "multi":
            continue
        first = choices_of(q, "parent")[0][0]
        for audience in ("parent", "clinical"):
            assert run(rulebase, q.id, ENTER * 3 + DOWN + ENTER, audience=audience) == Answer.given(first), q.id


def test_not_sure_on_a_yes_no_question_is_asked_but_unknown(rulebase):
    assert run(rulebase, "night_feeds", DOWN * 3 + ENTER) == Answer.given(None)


def test_a_choice_with_its_own_not_sure_option_gets_no_second_one(rulebase):
    # jaundice: No, A little, Worsening, Not sure, then What does this mean?
    assert run(rulebase, "jaundice", DOWN * 4 + ENTER) == Answer.given("unsure")
    assert run(rulebase, "jaundice", DOWN * 5 + ENTER + DOWN * 2 + ENTER) == Answer.given("mild")


def test_a_choice_without_one_gets_not_sure_as_none(rulebase):
    # settled_after_feeds: Mostly, Sometimes, Rarely, Not sure
    assert run(rulebase, "settled_after_feeds", DOWN * 4 + ENTER) == Answer.given(None)
    assert run(rulebase, "settled_after_feeds", DOWN * 3 + ENTER) == Answer.given("rarely")


def test_help_then_answer(rulebase):
    assert run(rulebase, "baby_fever", "?" + DOWN * 2 + ENTER) == Answer.given("no")
    assert run(rulebase, "wet_diapers_per_day", "?" + ENTER + "6" + ENTER) == Answer.given(6)


def test_going_back_by_key_by_choice_or_by_typing(rulebase):
    assert run(rulebase, "baby_fever", LEFT) == Answer.back()
    assert run(rulebase, "baby_fever", DOWN * 5 + ENTER) == Answer.back()  # past "What does this mean?"
    assert run(rulebase, "birth_weight_g", "back" + ENTER) == Answer.back()
    assert run(rulebase, "breast_surgery", LEFT) == Answer.back()


def test_going_back_is_refused_on_the_first_question(rulebase):
    assert run(rulebase, "baby_fever", LEFT + DOWN * 2 + ENTER, allow_back=False) == Answer.given("no")


def test_quit_keys(rulebase):
    for field in ("baby_fever", "breast_surgery", "birth_weight_g"):
        assert run(rulebase, field, CTRL_C).action is Action.quit
        assert run(rulebase, field, CTRL_D).action is Action.quit


def test_numbers_with_units_and_validation(rulebase):
    assert run(rulebase, "birth_weight_g", "7 lb 8 oz" + ENTER) == Answer.given(3402)
    # 3.4 is refused (grams, "did you mean 3.4 kg?"); the text is cleared for the next try
    assert run(rulebase, "birth_weight_g", "3.4" + ENTER + "3.4 kg" + ENTER) == Answer.given(3400)
    assert run(rulebase, "infant_age_days", "3 weeks" + ENTER) == Answer.given(21)
    assert run(rulebase, "infant_age_days", "2026-11-20" + ENTER, today=TODAY) == Answer.given(11)
    assert run(rulebase, "birth_weight_g", "not sure" + ENTER) == Answer.given(None)


def test_refused_text_is_cleared_so_the_next_try_starts_afresh(rulebase):
    # "abc" is refused; what is typed next is read alone, not as "abc3,5 kg"
    assert run(rulebase, "birth_weight_g", "abc" + ENTER + "3,5 kg" + ENTER) == Answer.given(3500)
    assert run(rulebase, "wet_diapers_per_day", "31" + ENTER + "6" + ENTER) == Answer.given(6)


def test_unit_hints_name_the_unit_in_words(rulebase):
    from supplycheck.channels.answer_text import number_hint

    q = rulebase.questions
    assert number_hint(q["birth_weight_g"], "clinical") == "grams, 400–6500"
    assert number_hint(q["longest_gap_hours"], "clinical") == "hours, 0–24"


def test_default_is_offered_again_when_going_back(rulebase):
    assert run(rulebase, "birth_weight_g", ENTER, default=3400) == Answer.given(3400)
    assert run(rulebase, "baby_fever", ENTER, default="no") == Answer.given("no")
    assert run(rulebase, "breast_surgery", ENTER, default=["reduction"]) == Answer.given(["reduction"])


def test_multi_select(rulebase):
    # breast_surgery: 6 options, then None of these, Not sure
    assert run(rulebase, "breast_surgery", SPACE + DOWN + SPACE + ENTER) == Answer.given(
        ["reduction", "augmentation"])
    assert run(rulebase, "breast_surgery", DOWN * 6 + SPACE + ENTER) == Answer.given(["none"])
    assert run(rulebase, "breast_surgery", DOWN * 7 + SPACE + ENTER) == Answer.given(None)


def test_multi_select_refuses_none_with_others_and_nothing_ticked(rulebase):
    keys = ENTER + SPACE + DOWN * 6 + SPACE + ENTER + SPACE + ENTER  # empty; mixed; fixed
    assert run(rulebase, "breast_surgery", keys) == Answer.given(["reduction"])


def test_clinical_audience_uses_clinical_wording(rulebase):
    from supplycheck.channels.answer_text import question_text

    q = rulebase.questions["baby_fever"]
    assert question_text(q, "clinical") == "Temperature ≥38.0 °C [baby_fever]"
    assert run(rulebase, "baby_fever", DOWN * 3 + ENTER, audience="clinical") == Answer.given("unsure")


def test_every_question_can_be_answered_not_sure(rulebase):
    """Whatever the type, a "not sure" answer exists and is stored as `unsure` or None."""
    for q in rulebase.questions.values():
        if q.is_numeric:
            keys = "not sure" + ENTER
        elif q.type.value == "multi":
            keys = DOWN * (len(q.options) + 1) + SPACE + ENTER
        else:
            labels = [label for _, label in choices_of(q, "parent")]
            keys = DOWN * (labels.index("Not sure") + 1) + ENTER
        assert run(rulebase, q.id, keys) == Answer.given(unsure_value(q)), q.id
