"""Values computed from answers. Each is a small named function; `rules/derived.yaml` says
which exist, and each function's parameters name the answers it needs.

A function gets only known values; it is not called when any of its inputs is unknown.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Mapping

# Birth weight is assumed regained at day 10, the earliest date Toronto Public Health expects;
# an earlier assumed date gives a lower average gain, so slow gain is flagged sooner (safer).
ASSUMED_REGAIN_DAY = 10
# Average gain since regaining is only meaningful once there are a couple of weeks to average.
FIRST_GAIN_DAY = 21


def day_of_life(infant_age_days: int) -> int:
    """Day of life, counting the first 24 hours as day 1 (the contract's age 0)."""
    return infant_age_days + 1


def weight_loss_pct(birth_weight_g: float, current_weight_g: float) -> float:
    """Weight lost since birth, as % of birth weight (negative when above birth weight)."""
    return round((birth_weight_g - current_weight_g) / birth_weight_g * 100, 2)


def weight_age(infant_age_days: int, weight_age_days: int | None = None) -> int:
    """Age in days when the current weight was measured (the contract's default: age now)."""
    return infant_age_days if weight_age_days is None else weight_age_days


def gain_g_per_day(birth_weight_g: float, current_weight_g: float, weight_age: int) -> float | None:
    """Average gain in g/day since birth weight was regained (assumed at day 10), from day 21."""
    if weight_age < FIRST_GAIN_DAY:
        return None
    return round((current_weight_g - birth_weight_g) / (weight_age - ASSUMED_REGAIN_DAY), 1)


def gain_vs_minimum_pct(birth_weight_g: float, current_weight_g: float, weight_age: int, *,
                        minimum_g_per_day: list[list[float]]) -> float | None:
    """Gain since birth weight was regained (assumed at day 10) as % of the least gain expected
    over the same days, adding up each age band's lower bound. A band is [from_day, to_day,
    g_per_day]; below 100 the baby has fallen behind even if recent gain looks normal."""
    if weight_age < FIRST_GAIN_DAY or weight_age > minimum_g_per_day[-1][1]:
        return None
    expected = sum(max(0, min(weight_age, end) - max(ASSUMED_REGAIN_DAY, start)) * rate
                   for start, end, rate in minimum_g_per_day)
    return round((current_weight_g - birth_weight_g) / expected * 100, 1)


def days_since_weighed(infant_age_days: int, weight_age: int) -> int:
    """How long ago the current weight was taken."""
    return infant_age_days - weight_age


def age_band(infant_age_days: int) -> str:
    """Age band used for expected weight gain and normal behaviour."""
    if infant_age_days < 7:
        return "first_week"
    if infant_age_days < 28:
        return "weeks_1_to_4"
    if infant_age_days < 90:
        return "months_1_to_3"
    if infant_age_days < 180:
        return "months_3_to_6"
    if infant_age_days < 365:
        return "months_6_to_12"
    return "over_12_months"


AGE_BANDS = ("first_week", "weeks_1_to_4", "months_1_to_3", "months_3_to_6", "months_6_to_12",
             "over_12_months")

FUNCTIONS: dict[str, Callable[..., Any]] = {
    f.__name__: f for f in (day_of_life, weight_loss_pct, weight_age, gain_g_per_day,
                            gain_vs_minimum_pct, days_since_weighed, age_band)
}


@functools.lru_cache(maxsize=None)
def inputs_of(function: Callable[..., Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(required, optional) answer names a derive function takes; keyword-only parameters are
    settings from the rule base (`params:` in derived.yaml), not answers."""
    params = [p for p in inspect.signature(function).parameters.values() if p.kind is not p.KEYWORD_ONLY]
    required = tuple(p.name for p in params if p.default is inspect.Parameter.empty)
    optional = tuple(p.name for p in params if p.default is not inspect.Parameter.empty)
    return required, optional


def compute(derived: list[tuple[str, Callable[..., Any]]], known: Mapping[str, Any]) -> dict[str, Any]:
    """Compute every derived value whose required inputs are known, in declaration order,
    so a derived value may use an earlier one. `derived` holds (name, function) pairs, the
    function already bound to its rule-base settings."""
    values = dict(known)
    out: dict[str, Any] = {}
    for name, function in derived:
        required, optional = inputs_of(function)
        try:
            args = {p: values[p] for p in required}
        except KeyError:
            continue
        for p in optional:
            if p in values:
                args[p] = values[p]
        result = function(**args)
        if result is not None:
            out[name] = values[name] = result
    return out
