"""End to end: the installed `supplycheck` in a real pseudo-terminal (pexpect), as a parent
would use it: red flag, perceived low supply, secondary causes, going back, Ctrl-C then
--resume, a killed terminal, saving the summary; and no terminal at all."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from screen_driver import (
    CARRY_ON, CTRL_C, ENTER, SUPPLYCHECK, STOP, Pty, answers_after, plan, question_pattern,
)
from supplycheck import evaluate
from supplycheck.core import interview
from supplycheck.storage.store import Store

pytest.importorskip("pexpect")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "answers"
CLEAR_LINE = "\x15"


def scenario(name: str) -> dict:
    return yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())


def flat(text: str) -> str:
    return " ".join(text.replace("│", " ").split())


def stored(db: Path) -> tuple[str, dict]:
    with Store(db) as store:
        (record,) = store.list(kind="screen")
        return record.ref, store.answers(record.ref)


def run_through(term: Pty, steps, *, stop_at_red_flag: bool = False) -> None:
    for step in steps:
        term.answer(step)
        if step.red_flags:
            term.expect("arry on with the questions")
            term.send(STOP if stop_at_red_flag else CARRY_ON)


def test_red_flag_panel_then_summary(rulebase, tmp_path):
    db = tmp_path / "s.db"
    steps = plan(rulebase, scenario("fever_3_weeks"), stop_at_red_flag=True)
    term = Pty(db=db)
    term.expect("not a diagnosis")
    run_through(term, steps, stop_at_red_flag=True)
    term.expect("ave this summary")
    term.send(ENTER)  # No, thanks
    assert term.finish() == 0
    text = flat(term.plain)
    assert "⚠ EMERGENCY — NOW" in text
    assert text.index("⚠ EMERGENCY — NOW") < text.index("Your supplycheck summary")
    assert "Your baby is under 3 months old and has a temperature of 38 °C or more" in text
    ref, answers = stored(db)
    assert answers == answers_after(steps)


def test_an_emergency_sign_in_the_first_step_ends_in_a_call_now_screen(rulebase, tmp_path):
    """Issue 16: the emergency signs are asked first, as one step; one ticked sign interrupts at
    once with "call now", and stopping there (the default) shows the summary with the safety net."""
    db = tmp_path / "s.db"
    steps = plan(rulebase, {"emergency_signs_now": ["seizure"]}, stop_at_red_flag=True)
    assert [s.field for s in steps] == ["emergency_signs_now"] and steps[0].red_flags == ("seizure",)
    term = Pty(db=db)
    term.expect(r"\[1/\d+(–\d+)?\][^\n]*Right now, does your baby have any of these")
    term.send(steps[0].keys)
    term.expect("EMERGENCY — NOW")
    term.expect("arry on with the questions")
    term.send(STOP)
    term.expect("ave this summary")
    term.send(ENTER)  # No, thanks
    assert term.finish() == 0
    text = flat(term.plain)
    panel = text.index("⚠ EMERGENCY — NOW")
    assert text.index("call your local emergency number", panel) < text.index("Your supplycheck summary")
    assert "Your baby has had a fit" in text[panel:]
    assert "Get help at once if" in text  # the safety net, on every summary
    assert stored(db)[1] == {"emergency_signs_now": ["seizure"]}


def test_perceived_low_supply_and_save_as_html(rulebase, tmp_path):
    db, out = tmp_path / "s.db", tmp_path / "mine.html"
    steps = plan(rulebase, scenario("soft_breasts_10_weeks"))
    term = Pty(db=db)
    run_through(term, steps)
    term.expect("ave this summary")
    term.send("\x1b[B" + ENTER)  # as a web page
    term.expect("Save as")
    term.send(CLEAR_LINE + str(out) + ENTER)
    assert term.finish() == 0
    want = evaluate(rulebase, interview.relevant_answers(rulebase, answers_after(steps)))
    assert want.supply_picture.value == "reassuring"
    text = flat(term.plain)
    assert "NO RUSH" in text and "Worries that are usually normal" in text
    assert "My breasts feel softer" in text
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and "My breasts feel softer" in html


def test_secondary_causes_with_save_option(rulebase, tmp_path):
    db, out = tmp_path / "s.db", tmp_path / "summary.md"
    steps = plan(rulebase, scenario("painful_latch_day_10"))
    term = Pty("screen", "--save", str(out), db=db)
    run_through(term, steps)
    assert term.finish() == 0
    text = flat(term.plain)
    assert "SOON — WITHIN 2 DAYS" in text
    assert "About how often and how well milk is removed" in text
    md = out.read_text()
    assert "# Your supplycheck summary" in md and "latch may be shallow" in md


def test_going_back_then_ctrl_c_then_resume(rulebase, tmp_path):
    db = tmp_path / "s.db"
    steps = plan(rulebase, scenario("painful_latch_day_10"))
    term = Pty(db=db)
    assert steps[0].field == "emergency_signs_now" and steps[1].field == "infant_age_days"
    term.answer(steps[0])  # the quick "any of these right now?" step comes first
    term.expect(question_pattern(steps[1]))
    term.send("3 weeks" + ENTER)
    term.expect(r"\[3/")
    term.send("back" + ENTER)  # back to the age, shown with what was typed
    term.expect(r"\[2/[\d–]+\][^\n]*How old")
    term.expect("21 days")
    term.send(CLEAR_LINE + "9 days" + ENTER)
    for step in steps[2:7]:
        term.answer(step)
    term.expect(question_pattern(steps[7]))
    term.send(CTRL_C)
    term.expect("What now")
    term.send(ENTER)  # save and quit
    term.expect("supplycheck screen --resume")
    assert term.finish() == 0
    ref, answers = stored(db)
    assert answers == answers_after(steps[:7])

    again = Pty("screen", "--resume", db=db)
    again.expect("Welcome back")
    run_through(again, steps[7:])
    again.expect("ave this summary")
    again.send(ENTER)
    assert again.finish() == 0
    assert stored(db) == (ref, answers_after(steps))
    with Store(db) as store:
        assert store.get(ref).finished


def test_a_killed_terminal_loses_at_most_the_answer_being_typed(rulebase, tmp_path):
    db = tmp_path / "s.db"
    steps = plan(rulebase, scenario("soft_breasts_10_weeks"))
    term = Pty(db=db)
    for step in steps[:8]:
        term.answer(step)
    term.expect(question_pattern(steps[8]))
    term.send("half an answ")  # being typed when the terminal dies
    time.sleep(0.2)
    os.kill(term.child.pid, signal.SIGKILL)
    term.child.wait()
    assert stored(db)[1] == answers_after(steps[:8])

    again = Pty("screen", "--resume", db=db)
    again.expect("Welcome back")
    again.expect(question_pattern(steps[8]))
    again.send(CTRL_C + ENTER)
    assert again.finish() == 0


def test_no_terminal_is_a_clear_message_not_a_traceback(tmp_path):
    proc = subprocess.run([SUPPLYCHECK], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          env=dict(os.environ, SUPPLYCHECK_DB=str(tmp_path / "s.db")), timeout=30)
    assert proc.returncode == 2
    assert "--answers" in proc.stderr and "Traceback" not in proc.stderr + proc.stdout
