"""The hazard log (rules/hazards.yaml): the shipped log resolves, and a broken reference makes
`supplycheck rules hazards` and `supplycheck rules lint` fail naming the hazard, file and line.

The broken copies live in tmp_path: tmp_path/rules (a copy of rules/) beside symlinks to the
real tests/ and examples/, so that verifications resolve exactly as in the repository.
"""

from __future__ import annotations

import json
import re
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from supplycheck import load_rulebase
from supplycheck.rulebase.hazards import check_hazards, load_hazards, to_markdown

ROOT = Path(__file__).resolve().parents[1]
RULES_DIR = ROOT / "rules"
SUPPLYCHECK = Path(sys.executable).with_name("supplycheck")
SAFETY_CASE = ROOT / "docs" / "safety-case.md"


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """The real command, running this checkout's code."""
    env = {"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "HOME": str(cwd), "COLUMNS": "200",
           "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run([str(SUPPLYCHECK), *args], cwd=cwd, capture_output=True, text=True,
                         timeout=120, env=env)
    assert "Traceback" not in out.stdout + out.stderr, out.stderr
    return out


def project_copy(tmp_path: Path) -> Path:
    shutil.copytree(RULES_DIR, tmp_path / "rules")
    for name in ("tests", "examples", "src"):
        os.symlink(ROOT / name, tmp_path / name)
    return tmp_path / "rules"


def edit_hazards(rules: Path, old: str, new: str) -> int:
    """Replace the first `old` in the copy's hazards.yaml; returns its line number."""
    path = rules / "hazards.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return line


def hazard_at(rules: Path, line: int) -> str:
    """The id of the hazard a line of hazards.yaml belongs to."""
    lines = (rules / "hazards.yaml").read_text(encoding="utf-8").splitlines()[:line]
    return next(l.split("id:")[1].strip() for l in reversed(lines) if l.strip().startswith("- id: HAZ-"))


# ---------------------------------------------------------------------- the shipped log


def test_the_shipped_hazard_log_has_no_errors(rulebase):
    problems = check_hazards(rulebase)
    assert not [str(p) for p in problems if p.severity == "error"]
    log, _ = load_hazards(rulebase)
    ids = [h.id for h in log.hazards]
    assert len(ids) >= 9 and len(set(ids)) == len(ids)


def test_hazards_json_lists_ids_controls_and_verifications(tmp_path):
    out = cli(tmp_path, "rules", "hazards", "--format", "json", "--rules", str(RULES_DIR))
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    for row in rows:
        assert row["controls"] and row["verified_by"], row["id"]
        assert {"kind", "id", "does", "verified_by"} <= set(row["controls"][0])
        assert row["after"]["rating"] <= row["before"]["rating"]
    by_id = {r["id"]: r for r in rows}
    # Every hazard the issue names is in the log, with the control one would expect.
    controls = {r["id"]: {(c["kind"], c["id"]) for c in r["controls"]} for r in rows}
    assert ("rule", "hard_to_wake") in controls["HAZ-005"]
    assert ("rule", "maternal_heavy_bleeding") in controls["HAZ-008"]
    assert ("software", "src/supplycheck/privacy.py") in controls["HAZ-014"]
    assert "tests/test_api.py::test_result_carries_rulebase_identity" in by_id["HAZ-016"]["verified_by"]


def test_the_table_names_every_hazard(tmp_path):
    out = cli(tmp_path, "rules", "hazards", "--rules", str(RULES_DIR))
    assert out.returncode == 0, out.stderr
    rulebase = load_rulebase(RULES_DIR)
    log, _ = load_hazards(rulebase)
    for hazard in log.hazards:
        assert hazard.id in out.stdout
    assert "\x1b[" not in out.stdout


def test_the_safety_case_doc_is_generated_from_the_log(rulebase):
    """docs/safety-case.md is `supplycheck rules hazards --format markdown`, committed: regenerate
    it with that command when the log changes."""
    log, _ = load_hazards(rulebase)
    assert SAFETY_CASE.read_text(encoding="utf-8") == to_markdown(log, rulebase), (
        "run: supplycheck rules hazards --format markdown > docs/safety-case.md")


def test_the_markdown_format_is_the_doc(tmp_path):
    out = cli(tmp_path, "rules", "hazards", "--format", "markdown", "--rules", str(RULES_DIR))
    assert out.returncode == 0 and out.stdout == SAFETY_CASE.read_text(encoding="utf-8")


# ---------------------------------------------------------------------- broken references


BROKEN = {
    # name: (text in hazards.yaml, replacement, words the message must hold)
    "missing_rule": ("- rule: hard_to_wake\n", "- rule: hard_to_wake_typo\n",
                     ["rule that does not exist", "hard_to_wake_typo"]),
    "missing_definition": ("- definition: wet_below_expected\n", "- definition: wet_below_expectation\n",
                           ["definition that does not exist", "wet_below_expectation"]),
    "missing_question": ("- question: heavy_bleeding_now\n", "- question: bleeding_now\n",
                         ["question that does not exist", "bleeding_now"]),
    "missing_test": ("tests/test_api.py::test_result_carries_rulebase_identity",
                     "tests/test_api.py::test_result_carries_rulebase_name",
                     ["test that does not exist", "test_result_carries_rulebase_name"]),
    "missing_test_file": ("tests/test_api.py::test_result_carries_rulebase_identity",
                          "tests/test_apx.py::test_result_carries_rulebase_identity",
                          ["test file that does not exist", "tests/test_apx.py"]),
    "missing_golden": ("examples/golden/017_jaundice_first_24h.yaml",
                       "examples/golden/017_jaundice_first_12h.yaml",
                       ["golden case that does not exist", "017_jaundice_first_12h"]),
    "missing_source_file": ("- software: src/supplycheck/storage/store.py\n", "- software: src/supplycheck/storage/nowhere.py\n",
                            ["file that does not exist", "storage/nowhere.py"]),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_reference_fails_naming_the_hazard(tmp_path, name):
    old, new, words = BROKEN[name]
    rules = project_copy(tmp_path)
    line = edit_hazards(rules, old, new)
    hazard = hazard_at(rules, line)
    out = cli(tmp_path, "rules", "hazards", "--rules", "rules")
    assert out.returncode == 1, (out.stdout, out.stderr)
    errors = [l for l in out.stderr.splitlines() if re.search(r": error RB\d+: ", l)]
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"rules/hazards.yaml:{line}: error RB704: {hazard}: "), errors[0]
    assert all(w in errors[0] for w in words), errors[0]


def test_a_form_error_names_file_and_line(tmp_path):
    rules = project_copy(tmp_path)
    line = edit_hazards(rules, "before: {severity: catastrophic, likelihood: medium}",
                        "before: {severity: deadly, likelihood: medium}")
    out = cli(tmp_path, "rules", "hazards", "--rules", "rules")
    assert out.returncode == 1
    assert f"rules/hazards.yaml:{line}: error RB708: {hazard_at(rules, line)}: before.severity: 'deadly'" in out.stderr
    assert "minor, significant, considerable, major, catastrophic" in out.stderr

    rules2 = project_copy(tmp_path / "two")
    line = edit_hazards(rules2, "        does: \"Hard to wake", "        what: \"Hard to wake")
    out = cli(tmp_path / "two", "rules", "hazards", "--rules", "rules")
    assert out.returncode == 1
    assert f"rules/hazards.yaml:{line}: error RB701: HAZ-005: hazards.4.controls.1.what: Extra inputs" in out.stderr


def test_risk_after_controls_cannot_exceed_risk_before(tmp_path):
    rules = project_copy(tmp_path)
    line = edit_hazards(rules, "after: {severity: considerable, likelihood: very_low}",
                        "after: {severity: catastrophic, likelihood: high}")
    out = cli(tmp_path, "rules", "hazards", "--rules", "rules")
    assert out.returncode == 1
    assert f"rules/hazards.yaml:{line}: error RB709:" in out.stderr and "higher than before" in out.stderr


def test_pending_controls_are_warnings_until_they_exist(tmp_path):
    """A pending control that does not exist yet is a warning; once it exists the check says to
    move it to `controls`. The table shows both as pending."""
    rules = project_copy(tmp_path)
    log = rules / "hazards.yaml"
    text = log.read_text(encoding="utf-8").rstrip("\n") + "\n"
    first = text.count("\n") + 2
    log.write_text(text + """    pending_controls:
      - rule: not_built_yet
        does: "A control still being built."
        verified_by: [examples/golden/001_fever_day_20_emergency.yaml]
      - rule: maternal_heavy_bleeding
        does: "A control that has come to exist."
        verified_by: [examples/golden/001_fever_day_20_emergency.yaml]
""", encoding="utf-8")
    out = cli(tmp_path, "rules", "hazards", "--rules", "rules")
    assert out.returncode == 0, out.stderr
    assert (f"rules/hazards.yaml:{first}: warning RB705: HAZ-022: pending: control names a rule that "
            "does not exist: 'not_built_yet'") in out.stderr
    assert (f"rules/hazards.yaml:{first + 3}: warning RB706: HAZ-022: pending control rule "
            "'maternal_heavy_bleeding' now exists") in out.stderr
    assert "pending" in out.stdout


def test_lint_runs_the_hazard_check(tmp_path):
    """`rules lint` reports the same broken reference, and so does `--format json` (on stderr,
    with nothing but JSON on stdout)."""
    rules = project_copy(tmp_path)
    line = edit_hazards(rules, "- rule: hard_to_wake\n", "- rule: hard_to_wake_typo\n")
    out = cli(tmp_path, "rules", "lint", "--rules", "rules")
    assert out.returncode == 1
    errors = [l for l in out.stdout.splitlines() if re.search(r": error RB\d+: ", l)]
    assert errors == [f"rules/hazards.yaml:{line}: error RB704: HAZ-005: control names a rule that does not exist: "
                      "'hard_to_wake_typo'"], out.stdout
    out = cli(tmp_path, "rules", "hazards", "--format", "json", "--rules", "rules")
    assert out.returncode == 1 and json.loads(out.stdout) and errors[0] in out.stderr


def test_without_tests_beside_the_rules_only_references_into_the_rule_base_are_checked(tmp_path):
    """An installed rule base has no tests/ or src/ beside it: verifications and source files
    are not checked (a warning says so), but the references into the rule base still are."""
    shutil.copytree(RULES_DIR, tmp_path / "rules")
    out = cli(tmp_path, "rules", "hazards", "--rules", "rules")
    assert out.returncode == 0 and "verifications not checked" in out.stderr
    edit_hazards(tmp_path / "rules", "- rule: hard_to_wake\n", "- rule: hard_to_wake_typo\n")
    assert cli(tmp_path, "rules", "hazards", "--rules", "rules").returncode == 1
