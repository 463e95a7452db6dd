"""Hostile rule files and answers files: an alias bomb is stopped early, a definition cycle is
named as a cycle, and a parent's unquoted `yes` is the answer yes."""

from __future__ import annotations

import shutil
import time



def copy_rules(tmp_path, rules_dir):
    target = tmp_path / "rules"
    shutil.copytree(rules_dir, target)
    return target


def test_a_yaml_alias_bomb_is_refused_quickly(trial, tmp_path, rules_dir):
    rules = copy_rules(tmp_path, rules_dir)
    bomb = 'x0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
        f"x{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10))
    codes = rules / "codes.yaml"
    codes.write_text(bomb + codes.read_text())
    started = time.monotonic()
    run = trial.run("rules", "lint", "--rules", str(rules))
    assert run.code == 2 and "too many aliases" in run.stderr and "codes.yaml" in run.stderr
    assert time.monotonic() - started < 15


def test_a_definition_cycle_is_reported_as_a_cycle(trial, tmp_path, rules_dir):
    rules = copy_rules(tmp_path, rules_dir)
    definitions = rules / "definitions.yaml"
    definitions.write_text(definitions.read_text() + "  cycle_a:\n    def: cycle_b\n  cycle_b:\n    def: cycle_a\n"
                           "  uses_later:\n    def: written_later\n  written_later:\n"
                           "    {field: infant_age_days, lt: 3}\n")
    run = trial.run("rules", "lint", "--rules", str(rules))
    assert run.code == 2
    assert "definition cycle_a: definitions form a cycle: cycle_a -> cycle_b -> cycle_a" in run.stderr
    assert "definition uses_later: uses definition 'written_later', which is written below it" in run.stderr
    assert "unknown definition" not in run.stderr


def test_unquoted_yes_and_no_in_an_answers_file(trial):
    trial.write("answers.yaml", "infant_age_days: 20\nbaby_fever: yes\nbaby_hard_to_wake: no\n")
    run = trial.run("screen", "--answers", "answers.yaml")
    assert run.code == 0 and "is not allowed" not in run.text
    assert "38" in run.stdout  # the fever red flag is shown
