"""The derived values: small named functions with the clinical conventions they encode."""

import pytest

from supplycheck.core import derive


def test_day_of_life_counts_first_24_hours_as_day_1():
    assert derive.day_of_life(0) == 1
    assert derive.day_of_life(4) == 5


@pytest.mark.parametrize("birth, now, pct", [(3500, 3150, 10.0), (3000, 3210, -7.0), (3400, 3400, 0.0)])
def test_weight_loss_pct(birth, now, pct):
    assert derive.weight_loss_pct(birth, now) == pct


def test_weight_age_defaults_to_age_now():
    assert derive.weight_age(30) == 30
    assert derive.weight_age(30, 21) == 21


def test_gain_assumes_regain_at_day_10_and_needs_three_weeks():
    # 3500 g at birth, 4400 g on day 40: 900 g over the 30 days since day 10.
    assert derive.gain_g_per_day(3500, 4400, 40) == 30.0
    assert derive.gain_g_per_day(3500, 3600, 20) is None


@pytest.mark.parametrize("age, band", [(0, "first_week"), (6, "first_week"), (7, "weeks_1_to_4"),
                                       (27, "weeks_1_to_4"), (28, "months_1_to_3"), (90, "months_3_to_6"),
                                       (180, "months_6_to_12"), (365, "over_12_months")])
def test_age_band_edges(age, band):
    assert derive.age_band(age) == band


def test_compute_skips_values_whose_inputs_are_unknown(rulebase):
    values = derive.compute(rulebase.derive_functions, {"infant_age_days": 30, "birth_weight_g": 3500})
    assert values == {"day_of_life": 31, "weight_age": 30, "days_since_weighed": 0, "age_band": "months_1_to_3"}
    values = derive.compute(rulebase.derive_functions,
                            {"infant_age_days": 40, "birth_weight_g": 3500, "current_weight_g": 4400})
    assert values["gain_g_per_day"] == 30.0 and values["weight_loss_pct"] < 0


BANDS = [[0, 120, 20], [120, 183, 16], [183, 365, 8]]


def test_gain_vs_minimum_adds_up_each_band_so_early_gain_cannot_hide_faltering():
    # Day 40: 30 days at 20 g/day = 600 g expected; 900 g gained is 150%.
    assert derive.gain_vs_minimum_pct(3500, 4400, 40, minimum_g_per_day=BANDS) == 150.0
    # 9 months (day 270) at 6.1 kg from 3.4 kg: 2700 g against 2200 + 1008 + 696 = 3904 g.
    assert derive.gain_vs_minimum_pct(3400, 6100, 270, minimum_g_per_day=BANDS) == 69.2
    assert derive.gain_vs_minimum_pct(3400, 3600, 20, minimum_g_per_day=BANDS) is None
    assert derive.gain_vs_minimum_pct(3400, 9000, 400, minimum_g_per_day=BANDS) is None


def test_derived_settings_come_from_the_rule_base(rulebase):
    (entry,) = [d for d in rulebase.derived if d.id == "gain_vs_minimum_pct"]
    assert entry.params == {"minimum_g_per_day": BANDS}
