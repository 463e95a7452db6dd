"""`supplycheck screen --answers FILE`: the same flow without a terminal, its summary for every
golden case, and the saved forms of the summary (Markdown, HTML, JSON)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from screen_driver import SUPPLYCHECK
from supplycheck import evaluate
from supplycheck.present import summary
from supplycheck.cli import cli
from supplycheck.render.labels import tag
from supplycheck.channels.parent.screening import load_answers, render_file, replay

ROOT = Path(__file__).resolve().parents[1]
ANSWERS = sorted((ROOT / "examples" / "answers").glob("*.yaml"))
GOLDEN = sorted((ROOT / "examples" / "golden").glob("*.yaml"))


def flat(text: str) -> str:
    return " ".join(text.replace("│", " ").split())


def screen(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["screen", *args])
    return result.exit_code, result.output


@pytest.mark.parametrize("path", ANSWERS, ids=lambda p: p.stem)
def test_answer_files_print_the_evaluators_summary(rulebase, path):
    code, out = screen("--answers", str(path))
    assert code == 0, out
    want = summary.build(rulebase, evaluate(rulebase, yaml.safe_load(path.read_text())), "parent")
    text = flat(out)
    assert tag(want.urgency) in text
    assert flat(want.urgency_text) in text
    assert flat(want.supply_text) in text
    assert flat(want.disclaimer) in text
    assert "Traceback" not in out


@pytest.mark.parametrize("path", GOLDEN or [pytest.param(None, marks=pytest.mark.skip("no golden cases yet"))],
                         ids=lambda p: p.stem if p else "none")
def test_golden_case_replays_to_the_evaluators_urgency_and_supply_picture(rulebase, path):
    intake = yaml.safe_load(path.read_text())["intake"]
    direct = evaluate(rulebase, intake)
    done = replay(rulebase, load_answers(path))
    assert done.result.status == "scored"
    assert done.result.urgency == direct.urgency
    assert done.result.supply_picture == direct.supply_picture
    assert done.result.red_flags == direct.red_flags
    assert [c for group in done.red_flags_shown for c in group] == sorted(
        direct.red_flags, key=[c for g in done.red_flags_shown for c in g].index)
    code, out = screen("--answers", str(path))
    assert code == 0
    built = summary.build(rulebase, direct, "parent")
    text = flat(out)
    assert tag(built.urgency) in text and flat(built.supply_text) in text


def test_the_summary_leads_with_urgency_and_who_to_contact(rulebase):
    _, out = screen("--answers", str(ROOT / "examples" / "answers" / "painful_latch_day_10.yaml"))
    body = out.split("Your supplycheck summary", 1)[1]
    order = [body.index(h) for h in ("SOON — WITHIN 2 DAYS", "Who to contact", "What your answers suggest",
                                     "What may be affecting your supply", "Worries that are usually normal",
                                     "What to try now", "Sources", "About this summary")]
    assert order == sorted(order)


def test_readable_at_80_columns_and_no_colour_needed(tmp_path):
    for path in ANSWERS:
        proc = subprocess.run([SUPPLYCHECK, "screen", "--answers", str(path)], capture_output=True,
                              text=True, env=dict(os.environ, COLUMNS="200", NO_COLOR="1", FORCE_COLOR="1"),
                              timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert max(len(line) for line in re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout).splitlines()) <= 80
        assert not re.search(r"\x1b\[(3|4|9|10)\dm|\x1b\[[0-9;]*;(3|4)8;", proc.stdout), "colour despite NO_COLOR"


def test_without_no_color_there_is_colour_but_the_tags_say_the_same():
    path = ROOT / "examples" / "answers" / "fever_3_weeks.yaml"
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    proc = subprocess.run([SUPPLYCHECK, "screen", "--answers", str(path)], capture_output=True,
                          text=True, env=dict(env, FORCE_COLOR="1"), timeout=60)
    assert "\x1b[" in proc.stdout
    assert "EMERGENCY — NOW" in re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout)


@pytest.mark.parametrize("name", ["summary.md", "summary.html", "summary.json"])
def test_save_writes_the_format_the_extension_names(rulebase, tmp_path, name):
    path = ROOT / "examples" / "answers" / "painful_latch_day_10.yaml"
    target = tmp_path / name
    code, out = screen("--answers", str(path), "--save", str(target))
    assert code == 0, out
    text = target.read_text()
    result = evaluate(rulebase, yaml.safe_load(path.read_text()))
    built = summary.build(rulebase, result, "parent")
    if name.endswith(".json"):
        data = json.loads(text)
        assert data["urgency"] == result.urgency.value
        assert data["supply_picture"] == result.supply_picture.value
        assert {f["id"] for f in data["factors"]} == {f.id for f in result.factors}
    elif name.endswith(".md"):
        assert text.startswith("# Your supplycheck summary")
        assert f"## {tag(built.urgency)}" in text
        assert "latch may be shallow" in text
    else:
        assert text.startswith("<!DOCTYPE html>")
        assert "<script" not in text and "<link" not in text and "src=" not in text
        assert not re.search(r"(href|url)\(?=?[\"']?https?:", text)
        assert "@media print" in text
        assert tag(built.urgency) in text
        assert "latch may be shallow" in text


def test_render_file_refuses_an_unknown_extension(rulebase, tmp_path):
    from supplycheck.channels.parent.screening import SaveFormatError

    with pytest.raises(SaveFormatError):
        render_file(tmp_path / "summary.pdf", rulebase, evaluate(rulebase, {}))
    code, out = screen("--answers", str(ANSWERS[0]), "--save", str(tmp_path / "x.pdf"))
    assert code == 2 and ".md, .html or .json" in out


def test_bad_answers_are_listed_not_a_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("infant_age_days: -3\nbaby_fever: maybe\n")
    proc = subprocess.run([SUPPLYCHECK, "screen", "--answers", str(bad)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2
    assert "infant_age_days" in flat(proc.stderr) and "baby_fever" in flat(proc.stderr)
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("content, message", [
    ("[1, 2", "not valid YAML"), ("- a\n- b\n", "expected a mapping"),
])
def test_unreadable_answer_files(tmp_path, content, message):
    path = tmp_path / "a.yaml"
    path.write_text(content)
    proc = subprocess.run([SUPPLYCHECK, "screen", "--answers", str(path)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and message in flat(proc.stderr) and "Traceback" not in proc.stderr


def test_json_answers_and_unknown_fields(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"infant_age_days": 70, "wet_diapers_per_day": 7, "favourite_colour": "blue"}))
    code, out = screen("--answers", str(path))
    assert code == 0
    assert "favourite_colour" in out
