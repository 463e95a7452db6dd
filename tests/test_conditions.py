"""The condition language: type checking at load, Kleene semantics, and the negation normal
form the engine compiles (checked against the three-valued evaluator by hypothesis)."""

import pytest
from hypothesis import given, settings, strategies as st

from supplycheck.rulebase import conditions as C

SYMBOLS = {
    "n": C.Symbol("n", "integer", min=0, max=10),
    "c": C.Symbol("c", "choice", values=("a", "b", "x")),
    "l": C.Symbol("l", "multi", values=("p", "q", "r")),
}


def parse(raw):
    return C.parse(raw, SYMBOLS, {})


@pytest.mark.parametrize("raw, message", [
    ({"field": "zz", "eq": 1}, "unknown field 'zz'"),
    ({"field": "n", "lt": "8"}, "wrong type; expected a number"),
    ({"field": "c", "eq": "d"}, "unknown value 'd'"),
    ({"field": "c", "eq": "unsure"}, "can never match"),
    ({"field": "l", "eq": "p"}, "is a list"),
    ({"field": "n", "lt": 1, "gt": 0}, "exactly one of"),
    ({"every": []}, "unknown condition"),
    ({"all": []}, "non-empty list"),
    ({"at_least": {"n": 3, "of": [{"field": "n", "lt": 1}]}}, "from 1 to 1"),
    ({"def": "nope"}, "unknown definition"),
])
def test_type_errors_at_load(raw, message):
    with pytest.raises(C.ConditionError, match=message):
        parse(raw)


def test_unknown_never_satisfies_a_comparison_nor_its_negation():
    lt = parse({"field": "n", "lt": 5})
    assert C.truth(lt, {}, {}) is None
    assert C.truth(parse({"not": {"field": "n", "lt": 5}}), {}, {}) is None
    assert C.truth(parse({"field": "n", "known": False}), {}, {}) is True
    assert C.truth(parse({"unless": {"field": "n", "lt": 5}}), {}, {}) is True
    assert C.truth(parse({"unless": {"field": "n", "lt": 5}}), {"n": 3}, {}) is False


def test_any_and_all_follow_kleene_logic():
    cond = parse({"any": [{"field": "n", "lt": 5}, {"field": "c", "eq": "a"}]})
    assert C.truth(cond, {"c": "a"}, {}) is True
    assert C.truth(cond, {"c": "b"}, {}) is None
    assert C.truth(cond, {"c": "b", "n": 7}, {}) is False
    both = parse({"all": [{"field": "n", "lt": 5}, {"field": "c", "eq": "a"}]})
    assert C.truth(both, {"c": "b"}, {}) is False


def test_lists_known_empty_versus_unknown():
    empty = parse({"field": "l", "empty": True})
    assert C.truth(empty, {"l": []}, {}) is True
    assert C.truth(empty, {}, {}) is None
    assert C.truth(parse({"not": {"field": "l", "contains": "p"}}), {"l": ["q"]}, {}) is True


# ---- NNF (what the engine compiles) agrees with the three-valued evaluator

leaf = st.one_of(
    st.builds(lambda op, v: {"field": "n", op: v}, st.sampled_from(["eq", "ne", "lt", "lte", "gt", "gte"]),
              st.integers(0, 10)),
    st.builds(lambda op, v: {"field": "c", op: v}, st.sampled_from(["eq", "ne"]), st.sampled_from("abx")),
    st.builds(lambda v: {"field": "c", "in": v}, st.lists(st.sampled_from("abx"), min_size=1, max_size=2)),
    st.builds(lambda v: {"field": "l", "contains": v}, st.sampled_from("pqr")),
    st.builds(lambda v: {"field": "l", "contains_any": v}, st.lists(st.sampled_from("pqr"), min_size=1, max_size=2)),
    st.just({"field": "l", "empty": True}),
    st.builds(lambda f, k: {"field": f, "known": k}, st.sampled_from("ncl"), st.booleans()),
)
conditions = st.recursive(leaf, lambda inner: st.one_of(
    st.builds(lambda xs: {"all": xs}, st.lists(inner, min_size=1, max_size=3)),
    st.builds(lambda xs: {"any": xs}, st.lists(inner, min_size=1, max_size=3)),
    st.builds(lambda x: {"not": x}, inner),
    st.builds(lambda x: {"unless": x}, inner),
    st.builds(lambda xs, n: {"at_least": {"n": min(n, len(xs)), "of": xs}}, st.lists(inner, min_size=1, max_size=3),
              st.integers(1, 3)),
), max_leaves=8)
facts = st.fixed_dictionaries({}, optional={
    "n": st.integers(0, 10), "c": st.sampled_from("abx"), "l": st.lists(st.sampled_from("pqr"), unique=True)})


def nnf_true(cond, values):
    """Evaluate an NNF condition (internal ops included) two-valued, as the engine does."""
    if isinstance(cond, C.All):
        return all(nnf_true(p, values) for p in cond.parts)
    if isinstance(cond, C.Any_):
        return any(nnf_true(p, values) for p in cond.parts)
    f, op, v = cond.field, cond.op, cond.value
    if op == "known":
        return (f in values) == v
    if f not in values:
        return False
    x = values[f]
    return {
        "eq": lambda: x == v, "ne": lambda: x != v, "lt": lambda: x < v, "lte": lambda: x <= v,
        "gt": lambda: x > v, "gte": lambda: x >= v, "in": lambda: x in v, "nin": lambda: x not in v,
        "contains": lambda: v in x, "lacks": lambda: v not in x,
        "contains_any": lambda: any(c in x for c in v), "lacks_all": lambda: not any(c in x for c in v),
        "empty": lambda: not x, "not_empty": lambda: bool(x),
    }[op]()


@settings(max_examples=1500, deadline=None, derandomize=True)
@given(conditions, facts)
def test_nnf_is_true_exactly_when_the_condition_is_definitely_true(raw, values):
    cond = parse(raw)
    assert nnf_true(C.nnf(cond, {}), values) == (C.truth(cond, values, {}) is True)


@settings(max_examples=500, deadline=None, derandomize=True)
@given(conditions, facts)
def test_dnf_terms_cover_the_same_cases(raw, values):
    normal = C.nnf(parse(raw), {})
    terms = C.dnf(normal)
    assert terms is not None
    assert any(all(nnf_true(leaf, values) for leaf in term) for term in terms) == nnf_true(normal, values)
