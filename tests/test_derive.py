"""The derived values: small named functions with the clinical conventions they encode."""

import pytest

from supplycheck.core import derive


def test_day_of_life_counts_first_24_hours_as_day_1():
    assert derive.day_of_life(0) == 1
    assert derive.day_of_life(4) == 5


@pytest.mark.parametrize("birth, now, pct", [(3500, 3150, 10.0), (3000, 3210, -7.0), (3400, 3400, 0.0)])
def test_weight_loss_pct(birth, now, pct):
    assert derive.weight_loss_pct(birth, now) == pct


def test_weight_age_is_the_weighings_own_age_else_the_age_now():
    assert derive.weight_age(infant_age_days=30) == 30
    assert derive.weight_age(21, 30) == 21
    assert derive.weight_age(21) == 21  # known even when the age now is not
    assert derive.weight_age() is None


def test_compute_skips_values_whose_inputs_are_unknown(rulebase):
    values = derive.compute(rulebase.derive_functions, {"infant_age_days": 30, "birth_weight_g": 3500})
    assert values == {"day_of_life": 31, "weight_age": 30, "days_since_weighed": 0}
    values = derive.compute(rulebase.derive_functions, {"birth_weight_g": 3500, "current_weight_g": 3325})
    assert values == {"weight_loss_pct": 5.0}  # no age at all: no weight_age, nothing age-based


BANDS = [[0, 120, 20], [120, 183, 16], [183, 365, 8]]
SETTINGS = {"minimum_g_per_day": BANDS, "first_interval_day": 4, "min_interval_days": 7}


def test_gain_vs_minimum_adds_up_each_band_so_early_gain_cannot_hide_faltering():
    gain = derive.gain_vs_minimum_pct
    # Day 40: 30 days at 20 g/day = 600 g expected; 900 g gained is 150%.
    assert gain(4400, 40, 3500, **SETTINGS) == 150.0
    # 9 months (day 270) at 6.1 kg from 3.4 kg: 2700 g against 2200 + 1008 + 696 = 3904 g.
    assert gain(6100, 270, 3400, **SETTINGS) == 69.2
    assert gain(3600, 20, 3400, **SETTINGS) is None
    assert gain(9000, 400, 3400, **SETTINGS) is None


def test_gain_between_two_weighings_shows_a_plateau_the_average_hides():
    gain = derive.gain_vs_minimum_pct
    # 3400 g at birth, 4600 g at 28 days, 4620 g at 41 days: 39 g/day since day 10 on average...
    assert gain(4620, 41, 3400, **SETTINGS) == 196.8
    # ...but 20 g over the last 13 days, against 260 g expected.
    assert gain(4620, 41, 3400, 4600, 28, **SETTINGS) == 7.7
    # Weighings less than a week apart, or the earlier one in the first days: the average is used.
    assert gain(4620, 41, 3400, 4600, 36, **SETTINGS) == 196.8
    assert gain(3300, 12, None, 3200, 3, **SETTINGS) is None
    assert gain(3400, 12, None, 3200, 4, **SETTINGS) == 125.0


def test_change_since_previous_needs_the_weighings_in_order():
    assert derive.change_since_previous_g(3580, 3620, 12, 19) == -40
    assert derive.change_since_previous_g(3580, 3620, 19, 19) is None


def test_derived_settings_come_from_the_rule_base(rulebase):
    (entry,) = [d for d in rulebase.derived if d.id == "gain_vs_minimum_pct"]
    assert entry.params == SETTINGS
