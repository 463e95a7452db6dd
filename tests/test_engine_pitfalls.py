"""Every silent failure mode measured in /work/shared/notes/durable-rules.md, and why it cannot
happen in supplycheck's design; plus the durable_rules limits found while writing these tests.

Where a test needs the raw C core to show that a pitfall is real, that part runs in a separate
interpreter: the core can abort the whole process (for instance `delete_state` on a session
with pending actions ends in `munmap_chunk(): invalid pointer`).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from oracle import Oracle
from supplycheck import evaluate, evaluate_many, load_rulebase
from supplycheck.core import engine
from supplycheck.errors import EngineError
from supplycheck.core.evaluate import facts_of
from supplycheck.core.intake import parse_intake
from supplycheck.rulebase.lint import lint
from test_oracle import ORACLE, QUESTIONS, RULES_DIR, plain_rule, random_intake, write_rule_base

ROOT = Path(__file__).resolve().parents[1]
SUPPLYCHECK = Path(sys.executable).with_name("supplycheck")  # the venv running the tests


@pytest.fixture(scope="module")
def rb():
    return load_rulebase(RULES_DIR)


def run_python(code: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run a snippet in a fresh interpreter (the project's venv)."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)


def fired(rb, record: dict) -> set[str]:
    return set(engine.matching_rules(rb, facts_of(rb, parse_intake(rb, record))))


# ---------------------------------------------------------------------- 1. unhandled facts


def test_core_drops_a_fact_no_rule_matches():
    """The pitfall is real: the core refuses a fact no rule handles (code 1, nothing fires)."""
    out = run_python("""
        import json, durable_rules_engine as core
        h = core.create_ruleset("probe", json.dumps({"r": {"all": [{"m": {"t": "a"}}]}}))
        print(json.dumps(core.assert_fact(h, json.dumps({"t": "other", "sid": "1"}))[0]))
    """)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == 1  # ERR_EVENT_NOT_HANDLED


def test_an_intake_no_rule_matches_still_gives_a_result(rb):
    record = {"birth_weight_g": 3000, "current_weight_g": 3000}
    assert ORACLE.fired(record) == set(), "precondition: no rule of the shipped base matches"
    # The sentinel rules match every intake and its witness: `matches` raises EngineError if the
    # core did not process both, so an empty answer is a real "nothing matched".
    facts = facts_of(rb, parse_intake(rb, record))
    assert engine._ruleset_for(rb).matches(facts) == set()
    result = evaluate(rb, record)
    assert result.status == "scored"
    assert result.urgency.value == "none" and result.supply_picture.value == "unclear"
    assert not result.red_flags and not result.referrals and not result.explanations


def test_every_fact_kind_has_a_catch_all_rule(rb):
    definition = engine.ruleset_definition(rb)
    catch_all = [body["all"][0]["m"] for body in definition.values() if len(body["all"]) == 1]
    assert {engine.KIND: engine.INTAKE} in catch_all and {engine.KIND: engine.WITNESS} in catch_all


# ---------------------------------------------------------------------- 2, 3. actions


def test_no_python_runs_inside_the_engine(rb):
    """No actions at all: nothing to swallow exceptions, nothing mistaken for async."""
    definition = engine.ruleset_definition(rb)
    assert definition, "empty ruleset"
    for name, body in definition.items():
        assert set(body) == {"all"}, f"{name} has {sorted(body)}"
        assert "run" not in json.dumps(body)


# ---------------------------------------------------------------------- 4. absence-only patterns


def _patterns(definition: dict):
    for name, body in definition.items():
        for pattern in body["all"]:
            ((alias, expr),) = pattern.items()
            yield name, alias, expr


def test_every_pattern_has_a_positive_discriminator(rb):
    for name, alias, expr in _patterns(engine.ruleset_definition(rb)):
        first = expr["$and"][0] if "$and" in expr else expr
        assert first in ({engine.KIND: engine.INTAKE}, {engine.KIND: engine.WITNESS}), (name, alias, expr)


def test_a_rule_on_unknown_answers_only_terminates(tmp_path):
    """A rule that only tests absence (`known: false`) fires once and does not loop."""
    directory = write_rule_base(tmp_path, [
        plain_rule("fever_unknown", {"field": "baby_fever", "known": False}),
        plain_rule("no_fever_unless", {"unless": {"field": "baby_fever", "eq": "yes"}}),
    ])
    out = run_python(f"""
        from supplycheck import load_rulebase, evaluate
        rb = load_rulebase({str(directory)!r})
        for record in ({{}}, {{"baby_fever": "unsure"}}, {{"baby_fever": "yes"}}):
            print(sorted(e.rule for e in evaluate(rb, record).explanations))
    """, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:3] == [
        "['fever_unknown', 'no_fever_unless']", "['fever_unknown', 'no_fever_unless']", "[]"]


# ---------------------------------------------------------------------- 5. mixed types


def test_core_compares_mixed_types_as_text():
    """The pitfall is real: the core matches "10" < 6."""
    out = run_python("""
        import json, durable_rules_engine as core
        h = core.create_ruleset("probe", json.dumps({
            "low": {"all": [{"m": {"$and": [{"t": "a"}, {"$lt": {"wet": 6}}]}}]},
            "seen": {"all": [{"m": {"t": "a"}}]}}))
        for i, value in enumerate(["10", 10]):
            code, state = core.assert_fact(h, json.dumps({"t": "a", "sid": str(i), "wet": value}))
            names, action = [], core.start_action_for_state(h, state)[1]
            while action:
                names.append(next(iter(json.loads(action))))
                action = core.complete_and_start_action(h, state)
            print(json.dumps(sorted(names)))
    """)
    assert out.returncode == 0, out.stderr
    assert [json.loads(line) for line in out.stdout.splitlines()] == [["low", "seen"], ["seen"]]


def test_values_reach_the_engine_typed(rb):
    record = {"wet_diapers_per_day": "10", "infant_age_days": " 20 ", "hours_since_wet_diaper": "2.5",
              "birth_weight_g": "3000", "current_weight_g": "3300.0", "concerns": "none"}
    facts = facts_of(rb, parse_intake(rb, record))
    witness, intake = engine._ruleset_for(rb).facts(facts)
    fact = {**witness, **intake}
    assert fact["wet_diapers_per_day"] == 10 and isinstance(fact["wet_diapers_per_day"], int)
    assert fact["infant_age_days"] == 20 and isinstance(fact["infant_age_days"], int)
    assert fact["hours_since_wet_diaper"] == 2.5
    for name, value in fact.items():
        if name in QUESTIONS and QUESTIONS[name]["type"] in ("integer", "number"):
            assert isinstance(value, (int, float)) and not isinstance(value, bool), name
    result = evaluate(rb, record)
    assert "few_wet_diapers" not in result.red_flags  # "10" < 6 would have matched as text
    assert fired(rb, record) == ORACLE.fired(record)


def test_lint_reports_a_threshold_of_the_wrong_type(tmp_path):
    write_rule_base(tmp_path, textwrap.dedent("""\
        rules:
          - id: few_feeds_text
            when: {field: feeds_per_day, lt: "8"}
            refer: {to: lactation_consultant, urgency: routine}
            says: {parent: p, clinical: c}
            source: [WHO-MC]
        """))
    out = subprocess.run([str(SUPPLYCHECK), "rules", "lint", "--rules", "rules"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    text = out.stdout + out.stderr
    assert out.returncode != 0
    assert "Traceback" not in text
    assert any(line.startswith("rules/rules/10_test.yaml:3:") for line in text.splitlines()), text
    assert "wrong type" in " ".join(text.split())


# ---------------------------------------------------------------------- 6. truth maintenance


def test_a_missing_answer_does_not_leak_into_the_next_evaluation(rb):
    unknown_age = {"wet_diapers_per_day": 3}  # age unknown: fewer than 6 counts as low
    day_3 = {"wet_diapers_per_day": 3, "infant_age_days": 2}  # day 3: 3 is as expected
    first = evaluate(rb, unknown_age)
    assert "few_wet_diapers" in first.red_flags
    assert "few_wet_diapers" not in evaluate(rb, day_3).red_flags
    assert evaluate(rb, unknown_age).model_dump() == first.model_dump()


# ---------------------------------------------------------------------- 7. one fact at a time


def test_evaluate_many_keeps_order_and_equals_single_evaluations(rb):
    import random
    rng = random.Random(3)
    records = [{**random_intake(rng), "id": f"r{i}"} for i in range(150)]
    results = list(evaluate_many(rb, records))
    assert [r.id for r in results] == [r["id"] for r in records]
    for record, result in zip(records, results):
        assert result.contract_dict() == evaluate(rb, record, explain=False).contract_dict()


# ---------------------------------------------------------------------- limits


def test_core_session_limit_is_real():
    """Without deleting sessions the core stops at 1024 live sessions (MemoryError)."""
    out = run_python("""
        import json, durable_rules_engine as core
        h = core.create_ruleset("probe", json.dumps({"r": {"all": [{"m": {"t": "a"}}]}}))
        n = 0
        try:
            for i in range(1100):
                code, state = core.assert_fact(h, json.dumps({"t": "a", "sid": str(i)}))
                action = core.start_action_for_state(h, state)[1]
                while action:
                    action = core.complete_and_start_action(h, state)
                n += 1
        except MemoryError:
            pass
        print(n)
    """)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) == 1024


def test_thousands_of_evaluations_in_one_process(rb):
    """Sessions are deleted after each intake: far more than 1024 evaluations in one process
    (on top of the thousands the other tests run on the same ruleset) all work."""
    import random
    rng = random.Random(5)
    records = [random_intake(rng) for _ in range(200)]
    results = list(evaluate_many(rb, (records[i % 200] for i in range(2500))))
    assert len(results) == 2500 and all(r.status == "scored" for r in results)
    assert results[2400].contract_dict() == results[0].contract_dict()


def maximal_intake() -> dict:
    """Every field answered, every yes/no "yes", every list ticked in full: contract-valid."""
    record = {}
    for field, q in QUESTIONS.items():
        kind = q["type"]
        if kind in ("integer", "number"):
            record[field] = q["min"] if field != "weight_age_days" else 0
        elif kind == "multi":
            record[field] = ORACLE.allowed_values(field)
        else:
            record[field] = next(v for v in ORACLE.allowed_values(field) if v != "unsure")
    record["infant_age_days"] = 5
    return record


def test_a_maximal_intake_stays_under_255_properties(rb):
    for fact in engine._ruleset_for(rb).facts(facts_of(rb, parse_intake(rb, maximal_intake()))):
        assert len(fact) + len(engine.GROUPED) + 3 < 255  # + sid, kind, index


def test_a_maximal_intake_evaluates():
    out = run_python(f"""
        import json
        from supplycheck import load_rulebase, evaluate
        rb = load_rulebase()
        print(json.dumps(sorted(e.rule for e in evaluate(rb, {maximal_intake()!r}).explanations)))
    """)
    assert out.returncode == 0, out.stderr[-400:]
    assert set(json.loads(out.stdout)) == ORACLE.fired(maximal_intake())


def test_the_same_rule_base_is_registered_once(tmp_path, rb):
    again = load_rulebase(RULES_DIR)
    assert again is not rb and again.content_hash == rb.content_hash
    assert engine._ruleset_for(again) is engine._ruleset_for(rb)
    # An identical copy elsewhere has the same content: no second registration either.
    copy = load_rulebase(write_rule_base(tmp_path / "a", [plain_rule("feeds", {"field": "feeds_per_day", "lt": 8})]))
    twin = load_rulebase(write_rule_base(tmp_path / "b", [plain_rule("feeds", {"field": "feeds_per_day", "lt": 8})]))
    assert engine._ruleset_for(copy) is engine._ruleset_for(twin)


def test_an_edited_rule_base_gets_its_own_rules(tmp_path):
    """The DSL silently keeps old rules under a re-registered name; here each content has its
    own ruleset, so two versions of the same rule id coexist in one process."""
    v1 = load_rulebase(write_rule_base(tmp_path / "v1", [plain_rule("few_feeds", {"field": "feeds_per_day", "lt": 8})]))
    v2 = load_rulebase(write_rule_base(tmp_path / "v2", [plain_rule("few_feeds", {"field": "feeds_per_day", "lt": 6})]))
    record = {"feeds_per_day": 7}
    assert fired(v1, record) == {"few_feeds"}
    assert fired(v2, record) == set()
    assert fired(v1, record) == {"few_feeds"}


def test_no_durable_host_threads(rb):
    import random
    before = threading.active_count()
    rng = random.Random(9)
    for _ in range(150):
        evaluate(rb, random_intake(rng))
    assert threading.active_count() == before
    out = run_python("""
        import sys, threading
        from supplycheck import load_rulebase, evaluate
        rb = load_rulebase()
        evaluate(rb, {"wet_diapers_per_day": 3, "baby_fever": "yes"})
        print(threading.active_count(), "durable.engine" in sys.modules, "durable.lang" in sys.modules)
    """)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "False", "False"]


# ---------------------------------------------------------------------- `unless`


UNLESS_RULES = [
    plain_rule("leak_unless_low_wet", {"all": [{"field": "concerns", "contains": "no_leaking"},
                                              {"unless": {"field": "wet_diapers_per_day", "lt": 6}}]}),
    plain_rule("leak_unless_def", {"all": [{"field": "concerns", "contains": "no_leaking"},
                                          {"unless": {"def": "low_output"}}]}),
    plain_rule("only_unless", {"unless": {"field": "baby_fever", "eq": "yes"}}),
    plain_rule("two_unless", {"all": [{"field": "concerns", "contains": "wakes_at_night"},
                                      {"unless": {"field": "hours_since_wet_diaper", "gte": 8}},
                                      {"unless": {"field": "stool_colour", "in": ["black_tarry", "pale_chalky"]}}]}),
]
LOW_OUTPUT = {"low_output": {"any": [{"field": "wet_diapers_per_day", "lt": 6},
                                     {"field": "hours_since_wet_diaper", "gte": 8}]}}

UNLESS_CASES = [
    ({"concerns": ["no_leaking"]}, {"leak_unless_low_wet", "leak_unless_def", "only_unless"}),
    ({"concerns": ["no_leaking"], "wet_diapers_per_day": 3}, {"only_unless"}),
    ({"concerns": ["no_leaking"], "wet_diapers_per_day": 7}, {"leak_unless_low_wet", "leak_unless_def", "only_unless"}),
    ({"concerns": ["no_leaking"], "wet_diapers_per_day": 7, "hours_since_wet_diaper": 9}, {"leak_unless_low_wet", "only_unless"}),
    ({"baby_fever": "yes"}, set()),
    ({"baby_fever": "no"}, {"only_unless"}),
    ({"baby_fever": "unsure"}, {"only_unless"}),
    ({"concerns": ["wakes_at_night"], "baby_fever": "yes"}, {"two_unless"}),
    ({"concerns": ["wakes_at_night"], "baby_fever": "yes", "stool_colour": "pale_chalky"}, set()),
    ({"concerns": ["wakes_at_night"], "baby_fever": "yes", "hours_since_wet_diaper": 8}, set()),
    ({"concerns": ["wakes_at_night"], "baby_fever": "yes", "stool_colour": "yellow", "hours_since_wet_diaper": 7.5}, {"two_unless"}),
]


@pytest.fixture(scope="module")
def unless_base(tmp_path_factory):
    directory = write_rule_base(tmp_path_factory.mktemp("unless"), UNLESS_RULES, LOW_OUTPUT)
    return load_rulebase(directory), Oracle(directory)


@pytest.mark.parametrize("record,expected", UNLESS_CASES, ids=[str(i) for i in range(len(UNLESS_CASES))])
def test_a_negated_unless_pattern_really_blocks(unless_base, record, expected):
    rb, oracle = unless_base
    assert oracle.fired(record) == expected, "oracle"
    assert fired(rb, record) == expected, "engine"


# ---------------------------------------------------------------------- the 31-expression limit


def test_a_long_condition_is_split_and_still_correct(tmp_path):
    # 16 conjunctions of 2 tests: 49 expressions as one pattern, over the core's limit of 31.
    long_any = {"any": [{"all": [{"field": "wet_diapers_per_day", "eq": i},
                                 {"field": "infant_age_days", "gte": i}]} for i in range(16)]}
    directory = write_rule_base(tmp_path, [plain_rule("long_any", long_any),
                                           plain_rule("short", {"field": "wet_diapers_per_day", "lt": 3})])
    rb, oracle = load_rulebase(directory), Oracle(directory)
    names = [n for n in engine.ruleset_definition(rb) if n.startswith("long_any")]
    assert len(names) > 1, "the long condition was not split"
    assert not [p for p in lint(rb) + engine.compile_problems(rb) if p.severity == "error"]
    for wet in range(0, 18):
        for age in (None, 0, 5, 15, 16):
            record = {"wet_diapers_per_day": wet} if age is None else {"wet_diapers_per_day": wet, "infant_age_days": age}
            assert fired(rb, record) == oracle.fired(record), record


def test_a_conjunction_too_long_is_an_error_not_a_silent_miss(tmp_path):
    fields = [f for f in QUESTIONS][:32]
    directory = write_rule_base(tmp_path, [
        plain_rule("everything_known", {"all": [{"field": f, "known": True} for f in fields]})])
    rb = load_rulebase(directory)
    assert not [p for p in lint(rb) if p.severity == "error"]  # the engine's limit, not a lint finding
    errors = engine.compile_problems(rb)
    assert errors and errors[0].code == "RB601" and "everything_known" in errors[0].message and errors[0].line
    with pytest.raises(EngineError):
        evaluate(rb, {"infant_age_days": 3})


# ---------------------------------------------------------------------- product bugs found


def test_ne_and_not_eq_on_codes_fire(tmp_path):
    directory = write_rule_base(tmp_path, [
        plain_rule("swallowing_not_no", {"not": {"field": "swallowing_heard", "eq": "no"}}),  # rules/README.md's example
        plain_rule("method_ne_formula", {"field": "feeding_method", "ne": "formula_only"})])
    rb, oracle = load_rulebase(directory), Oracle(directory)
    record = {"swallowing_heard": "yes", "feeding_method": "breast_only"}
    assert oracle.fired(record) == {"swallowing_not_no", "method_ne_formula"}
    assert fired(rb, record) == oracle.fired(record)


def test_ne_on_numbers_evaluates(tmp_path):
    directory = write_rule_base(tmp_path, [plain_rule("not_8_feeds", {"not": {"field": "feeds_per_day", "eq": 8}})])
    out = run_python(f"""
        import json
        from supplycheck import load_rulebase, evaluate
        rb = load_rulebase({str(directory)!r})
        print(json.dumps(sorted(e.rule for e in evaluate(rb, {{"feeds_per_day": 3}}).explanations)))
    """)
    assert out.returncode == 0, out.stderr[-400:]
    assert json.loads(out.stdout) == ["not_8_feeds"]


def test_nested_unless_with_not_treats_unknown_as_not_definitely_true(tmp_path):
    """Regression (found by these tests, fixed in 6ec4277): under the weak negation of a nested
    `unless`, `not X` must mean 'X not definitely false', so an unknown answer does not block."""
    cond = {"all": [{"field": "baby_fever", "eq": "yes"},
                    {"any": [{"unless": {"not": {"field": "latch_pain", "eq": "yes"}}},
                             {"field": "jaundice", "eq": "worsening"}]}]}
    directory = write_rule_base(tmp_path, [plain_rule("nested", cond)])
    rb, oracle = load_rulebase(directory), Oracle(directory)
    record = {"baby_fever": "yes"}  # latch_pain unknown: `not` unknown, so `unless` is true
    assert oracle.fired(record) == {"nested"}
    assert fired(rb, record) == {"nested"}


def test_many_satisfied_disjuncts_do_not_break_evaluation(tmp_path):
    rules = [plain_rule(f"wet_any_{j}", {"any": [{"field": "wet_diapers_per_day", "gte": i + j / 100}
                                                 for i in range(20)]}) for j in range(4)]
    directory = write_rule_base(tmp_path, rules)
    out = run_python(f"""
        import json
        from supplycheck import load_rulebase, evaluate
        from supplycheck.errors import SupplycheckError
        from supplycheck.core.engine import compile_problems
        from supplycheck.rulebase.lint import lint
        rb = load_rulebase({str(directory)!r})
        lint_errors = [str(p) for p in lint(rb) + compile_problems(rb) if p.severity == "error"]
        try:
            fired = sorted(e.rule for e in evaluate(rb, {{"wet_diapers_per_day": 30}}).explanations)
            print(json.dumps({{"fired": fired, "lint": lint_errors}}))
        except SupplycheckError as exc:
            print(json.dumps({{"error": str(exc), "lint": lint_errors}}))
    """)
    assert out.returncode == 0, out.stderr[-400:]
    outcome = json.loads(out.stdout)
    if "error" in outcome:  # acceptable only if lint told the author beforehand
        assert outcome["lint"], outcome
    else:
        assert outcome["fired"] == [f"wet_any_{j}" for j in range(4)]
