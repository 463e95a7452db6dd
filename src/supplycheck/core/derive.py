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


def weight_age(weight_age_days: int | None = None, infant_age_days: int | None = None) -> int | None:
    """Age in days when the current weight was measured: the weighing's own age, else (the
    contract's default) the age now; unknown when neither is given."""
    return infant_age_days if weight_age_days is None else weight_age_days


def _expected_gain(start: float, end: float, bands: list[list[float]]) -> float:
    """The least gain expected from age `start` to `end`, adding up each band's lower bound."""
    return sum(max(0, min(end, b_end) - max(start, b_start)) * rate for b_start, b_end, rate in bands)


def gain_vs_minimum_pct(current_weight_g: float, weight_age: int, birth_weight_g: float | None = None,
                        previous_weight_g: float | None = None, previous_weight_age_days: int | None = None,
                        *, minimum_g_per_day: list[list[float]], first_interval_day: int,
                        min_interval_days: int) -> float | None:
    """Recent weight gain as % of the least gain expected for age (below 100: fallen behind).

    With an earlier weighing at least `min_interval_days` before the last one, and itself from
    `first_interval_day` on, the gain between the two is used: an average since birth would
    hide a recent plateau. Otherwise, from day 21, the gain since birth weight was regained
    (assumed at day 10). A band is [from_day, to_day, g_per_day]."""
    bands = minimum_g_per_day
    if weight_age > bands[-1][1]:
        return None
    if (previous_weight_g is not None and previous_weight_age_days is not None
            and previous_weight_age_days >= first_interval_day
            and weight_age - previous_weight_age_days >= min_interval_days):
        expected = _expected_gain(previous_weight_age_days, weight_age, bands)
        return round((current_weight_g - previous_weight_g) / expected * 100, 1)
    if birth_weight_g is None or weight_age < FIRST_GAIN_DAY:
        return None
    expected = _expected_gain(ASSUMED_REGAIN_DAY, weight_age, bands)
    return round((current_weight_g - birth_weight_g) / expected * 100, 1)


def change_since_previous_g(current_weight_g: float, previous_weight_g: float,
                            previous_weight_age_days: int, weight_age: int) -> float | None:
    """Grams gained (negative: lost) since the earlier weighing; unknown when the order of the
    two weighings is not clear (same day or the 'previous' one later)."""
    if previous_weight_age_days >= weight_age:
        return None
    return round(current_weight_g - previous_weight_g, 1)


def days_since_weighed(infant_age_days: int, weight_age: int) -> int:
    """How long ago the current weight was taken."""
    return infant_age_days - weight_age


FUNCTIONS: dict[str, Callable[..., Any]] = {
    f.__name__: f for f in (day_of_life, weight_loss_pct, weight_age, gain_vs_minimum_pct,
                            change_since_previous_g, days_since_weighed)
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
