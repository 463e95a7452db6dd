"""Errors in a rule base a clinician edits: each names its file and line, through the library
(`RuleBaseError.problems`, `lint`) and through the real command line, never as a traceback.

Each test works on a copy of rules/ in tmp_path whose rules/rules/*.yaml is replaced by one
small file written here, so line numbers are known exactly.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from test_oracle import QUESTIONS, RULES_DIR, write_rule_base

from supplycheck import load_rulebase
from supplycheck.core.engine import compile_problems
from supplycheck.errors import Problem, RuleBaseError
from supplycheck.rulebase import problems as catalogue
from supplycheck.rulebase.lint import lint
from supplycheck.rulebase.problems import ProblemCode

ROOT = Path(__file__).resolve().parents[1]
SUPPLYCHECK = Path(sys.executable).with_name("supplycheck")  # the venv running the tests
CONTRACT = ROOT / "docs" / "intake-contract.md"  # the repository keeps the contract it implements
RULES_FILE = "rules/rules/10_test.yaml"  # as the CLI shows it, run from tmp_path
ERRORS_DOC = ROOT / "docs" / "rulebase-errors.md"
PRINTED = re.compile(r"^(?P<where>[^:]+(:\d+)?): (?P<severity>error|warning) (?P<code>RB\d{3}): \S")

CODES = yaml.safe_load((RULES_DIR / "codes.yaml").read_text(encoding="utf-8"))
A_RED_FLAG = next(iter(CODES["red_flags"]))
A_FACTOR = next(iter(CODES["factors"]))

GOOD_RULE = """\
rules:
  - id: ok_rule
    when: {field: baby_fever, eq: "yes"}
    refer: {to: baby_doctor, urgency: same_day}
    says: {parent: p, clinical: c}
    source: [NHS-HT]
"""  # lines 1-6; a bad rule added below starts on line 8


def rules_text(bad: str) -> str:
    return GOOD_RULE + "\n" + textwrap.indent(textwrap.dedent(bad), "  ")


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "HOME": str(tmp_path)}
    if "PYTHONPATH" in os.environ:  # the code under test, not whatever the venv has installed
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return subprocess.run([str(SUPPLYCHECK), *args], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, env=env)


def problem_lines(text: str, file: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(f"{file}:")]


def assert_located(problems, file: str, line: int, *words: str, severity: str = "error",
                   code: str | None = None) -> None:
    for p in problems:
        assert_coded(p)
    hits = [p for p in problems if p.file.endswith(file) and p.line == line and p.severity == severity
            and all(w in p.message for w in words) and code in (None, p.code)]
    assert hits, f"no {severity} {code or ''} at {file}:{line} mentioning {words}; got:\n" + "\n".join(map(str, problems))


def assert_coded(problem: Problem) -> None:
    """A problem has a catalogue code, its severity, and shows both when printed."""
    kind = next((k for k in ProblemCode if k.code == problem.code), None)
    assert kind is not None, f"{problem} has no catalogue code"
    assert problem.severity == kind.severity, problem
    assert PRINTED.match(str(problem)) and f" {problem.severity} {problem.code}: " in str(problem), str(problem)


def assert_cli_reports(tmp_path: Path, file: str, line: int, exit_code: int | None = None) -> str:
    out = cli(tmp_path, "rules", "lint", "--rules", "rules")
    text = out.stdout + out.stderr
    assert "Traceback" not in text, text
    assert out.returncode != 0 if exit_code is None else out.returncode == exit_code, (out.returncode, text)
    assert any(l.startswith(f"{file}:{line}:") for l in problem_lines(text, file)), text
    for printed in problem_lines(text, "rules/"):
        assert PRINTED.match(printed), printed  # file:line: severity CODE: message
    return text


# ---------------------------------------------------------------------- load errors

LOAD_ERRORS = {
    # name: (bad rule text, line of the problem, words the message must hold)
    "unknown_field": ("""\
        - id: bad
          when: {field: baby_temperature, gt: 38}
          refer: {to: baby_doctor, urgency: same_day}
          says: {parent: p, clinical: c}
          source: [NHS-HT]
        """, 9, ["baby_temperature"]),
    "unknown_field_deep_in_a_condition": ("""\
        - id: bad
          when:
            all:
              - {field: baby_fever, eq: "yes"}
              - any:
                  - {field: infant_age_days, lt: 90}
                  - {field: baby_temperature, gt: 38}
          refer: {to: baby_doctor, urgency: same_day}
          says: {parent: p, clinical: c}
          source: [NHS-HT]
        """, 14, ["baby_temperature"]),
    "unknown_red_flag_code": ("""\
        - id: bad
          when: {field: baby_fever, eq: "yes"}
          red_flag: not_a_flag
          refer: {to: baby_doctor, urgency: same_day}
          says: {parent: p, clinical: c}
          source: [NHS-HT]
        """, 8, ["not_a_flag"]),
    "unknown_answer_code": ("""\
        - id: bad
          when: {field: stool_colour, eq: purple}
          refer: {to: baby_doctor, urgency: same_day}
          says: {parent: p, clinical: c}
          source: [NHS-HT]
        """, 9, ["purple"]),
    "unknown_next_step": ("""\
        - id: bad
          when: {field: baby_fever, eq: "yes"}
          refer: {to: baby_doctor, urgency: same_day}
          next_steps: [do_a_dance]
          says: {parent: p, clinical: c}
          source: [NHS-HT]
        """, 8, ["do_a_dance"]),
    "duplicate_rule_id": ("""\
        - id: ok_rule
          when: {field: baby_fever, eq: "no"}
          refer: {to: baby_doctor, urgency: same_day}
          says: {parent: p, clinical: c}
          source: [NHS-HT]
        """, 8, ["duplicate", "ok_rule", "10_test.yaml:2"]),
    "threshold_of_the_wrong_type": ("""\
        - id: bad
          when: {field: feeds_per_day, lt: "8"}
          refer: {to: lactation_consultant, urgency: routine}
          says: {parent: p, clinical: c}
          source: [WHO-MC]
        """, 9, ["feeds_per_day", "wrong type"]),
    "number_compared_with_a_code": ("""\
        - id: bad
          when: {field: stool_colour, lt: 3}
          refer: {to: baby_doctor, urgency: routine}
          says: {parent: p, clinical: c}
          source: [WHO-MC]
        """, 9, ["stool_colour", "not a number"]),
    "list_compared_as_a_value": ("""\
        - id: bad
          when: {field: concerns, eq: breasts_soft}
          refer: {to: peer_support, urgency: none}
          says: {parent: p, clinical: c}
          source: [WHO-MC]
        """, 9, ["concerns", "list"]),
    "unsure_can_never_match": ("""\
        - id: bad
          when: {field: baby_fever, eq: unsure}
          refer: {to: baby_doctor, urgency: routine}
          says: {parent: p, clinical: c}
          source: [WHO-MC]
        """, 9, ["unsure", "known: false"]),
    "unknown_source_tag": ("""\
        - id: bad
          when: {field: baby_fever, eq: "yes"}
          refer: {to: baby_doctor, urgency: same_day}
          says: {parent: p, clinical: c}
          source: [NoSuchSource]
        """, 8, ["NoSuchSource"]),
    "missing_source": ("""\
        - id: bad
          when: {field: baby_fever, eq: "yes"}
          refer: {to: baby_doctor, urgency: same_day}
          says: {parent: p, clinical: c}
        """, 8, ["source"]),
    "unknown_urgency": ("""\
        - id: bad
          when: {field: baby_fever, eq: "yes"}
          refer: {to: baby_doctor, urgency: asap}
          says: {parent: p, clinical: c}
          source: [NHS-HT]
        """, 10, ["urgency"]),
    "rule_id_not_snake_case": ("""\
        - id: Bad-Rule
          when: {field: baby_fever, eq: "yes"}
          refer: {to: baby_doctor, urgency: same_day}
          says: {parent: p, clinical: c}
          source: [NHS-HT]
        """, 8, ["id", "lower_snake_case", "Bad-Rule"]),
}

# The stable code each of them has (docs/rulebase-errors.md): users search for these.
LOAD_ERROR_CODES = {
    "unknown_field": "RB308", "unknown_field_deep_in_a_condition": "RB308",
    "unknown_red_flag_code": "RB401", "unknown_answer_code": "RB311", "unknown_next_step": "RB401",
    "duplicate_rule_id": "RB205", "threshold_of_the_wrong_type": "RB309",
    "number_compared_with_a_code": "RB314", "list_compared_as_a_value": "RB313",
    "unsure_can_never_match": "RB310", "unknown_source_tag": "RB402", "missing_source": "RB201",
    "unknown_urgency": "RB203", "rule_id_not_snake_case": "RB204",
}


@pytest.mark.parametrize("name", sorted(LOAD_ERRORS))
def test_a_load_error_names_file_and_line(tmp_path, name):
    bad, line, words = LOAD_ERRORS[name]
    write_rule_base(tmp_path, rules_text(bad))
    with pytest.raises(RuleBaseError) as exc:
        load_rulebase(tmp_path / "rules")
    assert_located(exc.value.problems, "rules/10_test.yaml", line, *words, code=LOAD_ERROR_CODES[name])
    assert f"10_test.yaml:{line}" in str(exc.value)
    text = assert_cli_reports(tmp_path, RULES_FILE, line)
    for word in words:
        assert word in " ".join(text.split()), word
    assert f"{RULES_FILE}:{line}: error {LOAD_ERROR_CODES[name]}: " in text


def test_invalid_yaml_names_the_line_pyyaml_finds(tmp_path):
    text = rules_text("""\
        - id: broken
          when: {field: baby_fever, eq: "yes"
          says: {parent: p, clinical: c}
          source: [NHS-HT]
        """)
    with pytest.raises(yaml.MarkedYAMLError) as syntax:
        yaml.safe_load(text)
    line = syntax.value.problem_mark.line + 1
    write_rule_base(tmp_path, text)
    with pytest.raises(RuleBaseError) as exc:
        load_rulebase(tmp_path / "rules")
    assert_located(exc.value.problems, "rules/10_test.yaml", line, "invalid YAML", code="RB102")
    assert_cli_reports(tmp_path, RULES_FILE, line)


def test_a_duplicate_key_is_an_error_not_a_silent_overwrite(tmp_path):
    write_rule_base(tmp_path, rules_text("""\
        - id: twice
          when: {field: baby_fever, eq: "yes"}
          when: {field: baby_fever, eq: "no"}
          refer: {to: baby_doctor, urgency: same_day}
          says: {parent: p, clinical: c}
          source: [NHS-HT]
        """))
    with pytest.raises(RuleBaseError) as exc:
        load_rulebase(tmp_path / "rules")
    assert_located(exc.value.problems, "rules/10_test.yaml", 10, "duplicate", code="RB103")
    assert_cli_reports(tmp_path, RULES_FILE, 10)


def test_every_problem_is_reported_at_once(tmp_path):
    write_rule_base(tmp_path, rules_text("""\
        - id: bad_field
          when: {field: baby_temperature, gt: 38}
          refer: {to: baby_doctor, urgency: same_day}
          says: {parent: p, clinical: c}
          source: [NHS-HT]
        - id: bad_source
          when: {field: baby_fever, eq: "yes"}
          refer: {to: baby_doctor, urgency: same_day}
          says: {parent: p, clinical: c}
          source: [NoSuchSource]
        """))
    with pytest.raises(RuleBaseError) as exc:
        load_rulebase(tmp_path / "rules")
    assert_located(exc.value.problems, "rules/10_test.yaml", 9, "baby_temperature")
    assert_located(exc.value.problems, "rules/10_test.yaml", 13, "NoSuchSource")


def test_an_error_in_definitions_names_its_line(tmp_path):
    directory = write_rule_base(tmp_path, GOOD_RULE)
    definitions = directory / "definitions.yaml"
    text = definitions.read_text(encoding="utf-8").rstrip("\n") + "\n\n  broken_definition:\n    field: nope_not_a_field\n    eq: 1\n"
    definitions.write_text(text, encoding="utf-8")
    line = text.splitlines().index("  broken_definition:") + 1
    with pytest.raises(RuleBaseError) as exc:
        load_rulebase(directory)
    hits = [p for p in exc.value.problems if p.file.endswith("definitions.yaml") and "nope_not_a_field" in p.message]
    assert hits and hits[0].line in (line, line + 1), [str(p) for p in exc.value.problems]
    assert_cli_reports(tmp_path, "rules/definitions.yaml", hits[0].line)


# ---------------------------------------------------------------------- lint findings (exit 1)

LINT_FINDINGS = {  # name: (bad rule text, words the message must hold, code)
    "rule_that_can_never_fire": ("""\
        - id: never_fires
          when: {all: [{field: feeds_per_day, lt: 3}, {field: feeds_per_day, gt: 5}]}
          refer: {to: lactation_consultant, urgency: routine}
          says: {parent: p, clinical: c}
          source: [WHO-MC]
        """, ["never_fires", "can never fire"], "RB504"),
    "integer_window_with_no_whole_number": ("""\
        - id: never_whole
          when: {all: [{field: feeds_per_day, gt: 3}, {field: feeds_per_day, lt: 4}]}
          refer: {to: lactation_consultant, urgency: routine}
          says: {parent: p, clinical: c}
          source: [WHO-MC]
        """, ["never_whole", "can never fire"], "RB504"),
    "red_flag_without_urgency": (f"""\
        - id: flag_no_urgency
          when: {{field: baby_fever, eq: "yes"}}
          red_flag: {A_RED_FLAG}
          refer: {{to: baby_doctor, urgency: none}}
          says: {{parent: p, clinical: c}}
          source: [NHS-HT]
        """, ["flag_no_urgency", "without urgency"], "RB506"),
    "conclusion_with_no_referral": (f"""\
        - id: factor_no_referral
          when: {{field: latch_pain, eq: "yes"}}
          factor: {A_FACTOR}
          says: {{parent: p, clinical: c}}
          source: [WHO-MC]
        """, ["factor_no_referral", "refers no one"], "RB505"),
}


@pytest.mark.parametrize("name", sorted(LINT_FINDINGS))
def test_a_lint_finding_names_file_and_line(tmp_path, name):
    bad, words, code = LINT_FINDINGS[name]
    write_rule_base(tmp_path, rules_text(bad))
    rb = load_rulebase(tmp_path / "rules")  # loads: only lint finds it
    assert_located(lint(rb), "rules/10_test.yaml", 8, *words, code=code)
    text = assert_cli_reports(tmp_path, RULES_FILE, 8, exit_code=1)
    assert words[-1] in " ".join(text.split())


def test_a_question_that_can_never_be_asked(tmp_path):
    directory = write_rule_base(tmp_path, GOOD_RULE)
    questions = yaml.safe_load((directory / "questions.yaml").read_text(encoding="utf-8"))
    questions["sections"][0]["questions"].append({
        "id": "lint_probe", "type": "yes_no", "parent": "p", "clinical": "c",
        "ask_when": {"all": [{"field": "infant_age_days", "lt": 3}, {"field": "infant_age_days", "gt": 5}]}})
    text = yaml.safe_dump(questions, sort_keys=False, allow_unicode=True, width=1000)
    (directory / "questions.yaml").write_text(text, encoding="utf-8")
    line = next(i for i, l in enumerate(text.splitlines(), 1) if l.strip() == "- id: lint_probe")
    rb = load_rulebase(directory)
    assert_located(lint(rb), "questions.yaml", line, "lint_probe", "never be asked", code="RB502")
    assert_cli_reports(tmp_path, "rules/questions.yaml", line, exit_code=1)


def test_the_shipped_rule_base_lints_clean(tmp_path):
    out = cli(tmp_path, "rules", "lint", "--rules", str(RULES_DIR))
    assert out.returncode == 0, out.stdout + out.stderr
    assert " 0 error(s)" in out.stdout


def test_each_problem_is_one_line_when_piped(tmp_path):
    bad, line, _ = LOAD_ERRORS["threshold_of_the_wrong_type"]
    write_rule_base(tmp_path, rules_text(bad))
    text = cli(tmp_path, "rules", "lint", "--rules", "rules").stderr
    (first,) = [l for l in text.splitlines() if l.startswith(f"{RULES_FILE}:{line}:")]
    assert first.endswith("expected a number"), text


def test_a_condition_the_engine_cannot_compile_fails_rules_lint(tmp_path):
    """Lint itself knows nothing of the engine; `rules lint` adds the engine's compile check."""
    tests = ", ".join(f"{{field: {f}, known: true}}" for f in list(QUESTIONS)[:32])
    write_rule_base(tmp_path, rules_text(f"""\
        - id: everything_known
          when: {{all: [{tests}]}}
          refer: {{to: lactation_consultant, urgency: routine}}
          says: {{parent: p, clinical: c}}
          source: [WHO-MC]
        """))
    rb = load_rulebase(tmp_path / "rules")
    assert not [p for p in lint(rb) if p.severity == "error"]
    assert_located(compile_problems(rb), "rules/10_test.yaml", 8, "everything_known", "cannot be compiled",
                   code="RB601")
    text = assert_cli_reports(tmp_path, RULES_FILE, 8, exit_code=1)
    assert f"{RULES_FILE}:8: error RB601: rule everything_known cannot be compiled" in text


# ---------------------------------------------------------------------- the catalogue of codes


def test_codes_are_unique_stable_in_form_and_grouped():
    codes = [k.code for k in ProblemCode]
    assert len(set(codes)) == len(codes)
    for kind in ProblemCode:
        assert re.fullmatch(r"RB[1-9]\d\d", kind.code), kind
        assert kind.severity in ("error", "warning"), kind
        assert kind.template.strip() and kind.action.strip(), kind
    assert codes == sorted(codes), "keep the catalogue in code order, so the next free code is plain to see"


def test_every_catalogue_entry_is_used():
    """No dead entries: each is made somewhere in the package (by name, as `ProblemCode.X`)."""
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "src" / "supplycheck").rglob("*.py")
                       if p.name != "problems.py")
    unused = [k.name for k in ProblemCode if not re.search(rf"\bProblemCode\.{k.name}\b", source)]
    assert not unused, f"catalogue entries never used: {unused}"


def test_every_problem_is_made_with_a_code():
    with pytest.raises(TypeError):
        Problem("rules/rules/10_test.yaml", 3, "a message", "error")  # the old, uncoded form
    for kind in ProblemCode:  # each template formats with exactly the fields it names
        problem = kind.at("rules/x.yaml", 1, within="rule r", **{name: "v" for name in kind.fields})
        assert_coded(problem)
        assert problem.message.startswith("rule r: ")
    raised = ProblemCode.DEFINITION_UNUSED.at("rules/definitions.yaml", 3, name="x", severity="error")
    assert str(raised) == "rules/definitions.yaml:3: error RB510: definition 'x' is never used"


def test_every_problem_found_has_a_code(tmp_path):
    """Everything load and lint report, over every broken rule base above, carries its code."""
    for name, (bad, *_) in [*LOAD_ERRORS.items(), *LINT_FINDINGS.items()]:
        directory = write_rule_base(tmp_path / name, rules_text(bad))
        try:
            rb = load_rulebase(directory)
        except RuleBaseError as exc:
            found = exc.problems
        else:
            found = lint(rb) + compile_problems(rb)
        assert found
        for problem in found:
            assert_coded(problem)


def test_the_error_reference_is_up_to_date():
    assert ERRORS_DOC.read_text(encoding="utf-8") == catalogue.catalogue_markdown(), (
        f"docs/rulebase-errors.md is out of date; regenerate it with:\n{catalogue.REGENERATE}")


# ---------------------------------------------------------------------- the data dictionary


def contract_fields() -> dict[str, str]:
    """field -> its 'type / values' cell, from the contract's field tables."""
    fields: dict[str, str] = {}
    in_fields = False
    for line in CONTRACT.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            in_fields = line.strip() == "## Fields"
        if in_fields and line.startswith("| `"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            fields[cells[0].strip("`")] = cells[1]
    if not fields:
        pytest.skip("no field tables found in the contract")
    return fields


def parse_spec(spec: str) -> dict:
    """A contract 'type / values' cell as {type, min, max, values}."""
    m = re.fullmatch(r"(integer|number) (\d+(?:\.\d+)?)[–-](\d+(?:\.\d+)?)", spec)
    if m:
        return {"type": m[1], "min": float(m[2]), "max": float(m[3])}
    if spec == "yes/no/unsure":
        return {"type": "yes_no_unsure", "values": {"yes", "no", "unsure"}}
    if spec == "yes/no":
        return {"type": "yes_no", "values": {"yes", "no"}}
    codes = set(re.findall(r"`([^`]+)`", spec))
    if spec.startswith("list of"):
        return {"type": "multi", "values": codes}
    if codes:
        return {"type": "choice", "values": codes}
    return {"type": spec}


def question_spec(q: dict) -> dict:
    if q["type"] in ("integer", "number"):
        return {"type": q["type"], "min": float(q["min"]), "max": float(q["max"])}
    if q["type"] == "yes_no_unsure":
        return {"type": "yes_no_unsure", "values": {"yes", "no", "unsure"}}
    if q["type"] == "yes_no":
        return {"type": "yes_no", "values": {"yes", "no"}}
    return {"type": q["type"], "values": {str(o["value"]) for o in q["options"]}}


# Questions the rule base asks beyond the contract ("the rule base may ask for more fields"):
# the interview's quick first step; the rules read it together with the contract's own fields.
RULEBASE_ONLY = {"emergency_signs_now"}


def test_questions_are_exactly_the_contract_fields():
    contract = contract_fields()
    assert contract.pop("id", None) == "string"
    assert sorted(set(QUESTIONS) - RULEBASE_ONLY) == sorted(contract)


@pytest.mark.parametrize("field", sorted(set(QUESTIONS) - RULEBASE_ONLY))
def test_a_question_matches_its_contract_field(field):
    contract = contract_fields()
    if field not in contract:
        pytest.fail(f"{field} is not a contract field")
    assert question_spec(QUESTIONS[field]) == parse_spec(contract[field])


def test_rules_fields_markdown_lists_every_contract_field(tmp_path):
    out = cli(tmp_path, "rules", "fields")
    assert out.returncode == 0, out.stderr
    assert out.stdout.lstrip().startswith("#")
    rows = {m for m in re.findall(r"^\| `([a-z0-9_]+)` \|", out.stdout, flags=re.M)}
    assert rows == set(QUESTIONS)
    assert set(contract_fields()) - {"id"} <= rows


def test_rules_fields_json(tmp_path):
    out = cli(tmp_path, "rules", "fields", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    by_field = {row["field"]: row for row in data["fields"]}
    assert list(by_field) == list(QUESTIONS)
    for field, q in QUESTIONS.items():
        row = by_field[field]
        assert row["type"] == q["type"]
        if q["type"] in ("integer", "number"):
            assert (row["min"], row["max"]) == (q["min"], q["max"])
        else:
            assert set(row["values"]) == question_spec(q)["values"]
