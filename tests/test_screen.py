"""The screening flow, driven through its real prompts with prompt_toolkit pipe input, saving
into a real SQLite store: red flags, whole screenings, going back, quitting and resuming."""

from __future__ import annotations

import io
import signal
from datetime import date
from pathlib import Path

import pytest
import yaml
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console

from screen_driver import (
    CTRL_C, CTRL_D, DOWN, ENTER, LEFT, UP, answers_after, flow_keys, plan,
)
from supplycheck import evaluate
from supplycheck.core import interview
from supplycheck.present import summary
from supplycheck.channels.parent.screen import Terminal, run
from supplycheck.channels.parent.screening import Ending
from supplycheck.storage.store import Store

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "answers"
TODAY = date(2026, 12, 1)
CLEAR_LINE = "\x15"  # Ctrl-U: clear the typed text


def scenario(name: str) -> dict:
    return yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())


@pytest.fixture(autouse=True)
def no_hang():
    """A prompt left waiting for keys that never come would hang: fail instead."""
    def boom(*_):
        raise TimeoutError("the screening waited for keys the test did not send")
    old = signal.signal(signal.SIGALRM, boom)
    signal.alarm(120)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "screen.db") as s:
        yield s


def screen(rulebase, store, keys: str, *, resume: bool = False):
    """Run the screening with `keys` typed; returns (outcome, what it printed)."""
    out = io.StringIO()
    with create_pipe_input() as inp:
        inp.send_text(keys)
        term = Terminal(Console(file=out, width=80, no_color=True, highlight=False), inp,
                        DummyOutput(), TODAY)
        outcome = run(rulebase, store, term, resume=resume)
    return outcome, out.getvalue()


def expected(rulebase, answers):
    return evaluate(rulebase, interview.relevant_answers(rulebase, answers))


# ------------------------------------------------------------------ scenarios

def test_red_flag_interrupts_at_once_and_the_summary_leads_with_it(rulebase, store):
    steps = plan(rulebase, scenario("fever_3_weeks"), stop_at_red_flag=True)
    assert steps[-1].field == "baby_fever" and steps[-1].red_flags == ("fever_young_infant",)
    outcome, printed = screen(rulebase, store, flow_keys(steps, stop_at_red_flag=True))

    assert outcome.ending is Ending.stopped
    assert store.answers(outcome.ref) == answers_after(steps)
    wording = " ".join(rulebase.codes.red_flags["fever_young_infant"].parent.split()[:6])
    panel, summary_part = printed.split("Your supplycheck summary")
    assert "EMERGENCY — NOW" in panel and wording in " ".join(panel.split())
    assert rulebase.codes.urgencies["emergency"].parent.split(":")[0] in panel
    assert summary_part.index("EMERGENCY — NOW") < summary_part.index("What your answers suggest")
    assert outcome.result.urgency.value == "emergency"
    stored = store.latest_result(outcome.ref)
    assert stored is not None and stored.urgency.value == "emergency"
    assert not store.get(outcome.ref).finished  # stopped early: still open to finish later


@pytest.mark.parametrize("name, picture", [
    ("soft_breasts_10_weeks", "reassuring"),  # perceived low supply
    ("painful_latch_day_10", None),  # secondary causes
])
def test_whole_screening_gives_the_evaluators_result(rulebase, store, name, picture):
    steps = plan(rulebase, scenario(name))
    outcome, printed = screen(rulebase, store, flow_keys(steps))

    assert outcome.ending is Ending.finished
    answers = answers_after(steps)
    assert store.answers(outcome.ref) == answers
    want = expected(rulebase, answers)
    assert outcome.result.contract_dict() == want.contract_dict()
    if picture:
        assert want.supply_picture.value == picture
    built = summary.build(rulebase, want, "parent")
    flat = " ".join(printed.split())
    assert " ".join(built.supply_text.split()) in flat
    for f in built.factors + built.perceived:
        assert " ".join(f.text.split()[:8]) in flat
    assert store.get(outcome.ref).finished


def test_secondary_causes_show_the_answers_behind_them(rulebase, store):
    steps = plan(rulebase, scenario("painful_latch_day_10"))
    outcome, printed = screen(rulebase, store, flow_keys(steps))
    factors = {f.id: f for f in outcome.result.factors}
    assert {"poor_latch", "nipple_pain", "tongue_tie"} <= set(factors)
    assert all(f.category.value == "secondary" for f in factors.values())
    flat = " ".join(printed.split())
    assert "About how often and how well milk is removed" in flat
    assert "Because you said:" in flat
    assert "Has anyone said your baby may have a tongue-tie? → Someone suspects it" in flat


def test_skip_logic_never_asks_at_breast_questions_of_a_formula_fed_baby(rulebase, store):
    answers = {"infant_age_days": 40, "feeding_method": "formula_only"}
    steps = plan(rulebase, answers)
    asked = {s.field for s in steps}
    assert not asked & {"feeds_per_day", "latch_pain", "swallowing_heard", "night_feeds",
                        "supplement_timing", "feeding_schedule", "separated_from_baby"}
    outcome, _ = screen(rulebase, store, flow_keys(steps))
    assert list(store.answers(outcome.ref)) == [s.field for s in steps]


# ------------------------------------------------------------------ back, quit, resume

def test_going_back_changes_the_previous_answer(rulebase, store):
    keys = (DOWN * 8 + " " + ENTER  # the quick first step: none of these
            + "3 weeks" + ENTER  # age
            + "back" + ENTER  # at gestation: back to age, shown with "21 days" typed in
            + CLEAR_LINE + "5 days" + ENTER
            + "39" + ENTER  # gestation
            + LEFT  # at "twin?" (a list): back to gestation
            + ENTER  # keep 39
            + DOWN * 2 + ENTER  # twin: no (the cursor starts above "Yes", on no answer)
            + CTRL_C + ENTER)  # save and quit
    outcome, _ = screen(rulebase, store, keys)
    assert outcome.ending is Ending.paused
    assert store.answers(outcome.ref) == {"emergency_signs_now": ["none"], "infant_age_days": 5,
                                          "gestational_age_weeks": 39, "multiple_birth": "no"}
    trail = [(e.field, e.old, e.new) for e in store.audit(outcome.ref)
             if e.what == "answer" and e.field != "emergency_signs_now"]
    assert trail[:3] == [("infant_age_days", trail[0][1], 21), ("infant_age_days", 21, trail[1][2]),
                         ("infant_age_days", trail[2][1], 5)]


def test_quit_then_resume_continues_at_the_next_question(rulebase, store):
    steps = plan(rulebase, scenario("painful_latch_day_10"))
    first, rest = steps[:5], steps[5:]
    outcome, printed = screen(rulebase, store, flow_keys(first) + CTRL_C + ENTER)
    assert outcome.ending is Ending.paused
    assert "supplycheck screen --resume" in printed
    assert store.answers(outcome.ref) == answers_after(first)

    again, printed = screen(rulebase, store, flow_keys(rest), resume=True)
    assert again.ref == outcome.ref and again.ending is Ending.finished
    assert "Welcome back" in printed
    assert store.answers(outcome.ref) == answers_after(steps)
    assert again.result.contract_dict() == expected(rulebase, answers_after(steps)).contract_dict()


def test_an_unfinished_screening_is_offered_on_a_plain_start(rulebase, store):
    steps = plan(rulebase, scenario("soft_breasts_10_weeks"))
    outcome, _ = screen(rulebase, store, flow_keys(steps[:3]) + CTRL_D + ENTER)
    assert outcome.ending is Ending.paused
    again, printed = screen(rulebase, store, ENTER + flow_keys(steps[3:]))  # "Yes, continue"
    assert "Welcome back" in printed  # the offer itself is a prompt (DummyOutput here)
    assert again.ref == outcome.ref and again.ending is Ending.finished


def test_start_a_new_one_instead(rulebase, store):
    steps = plan(rulebase, scenario("soft_breasts_10_weeks"))
    paused, _ = screen(rulebase, store, flow_keys(steps[:2]) + CTRL_C + ENTER)
    fresh, _ = screen(rulebase, store, DOWN + ENTER + flow_keys(steps[:1]) + CTRL_C + ENTER)
    assert fresh.ref != paused.ref
    assert store.answers(fresh.ref) == answers_after(steps[:1])


def test_quit_keep_going_then_quit_and_delete(rulebase, store):
    steps = plan(rulebase, scenario("soft_breasts_10_weeks"))
    keys = (flow_keys(steps[:2]) + CTRL_C + DOWN + ENTER  # "Keep going"
            + steps[2].keys + CTRL_C + DOWN + DOWN + ENTER  # "Quit and delete my answers"
            + DOWN + ENTER)  # "Yes, delete them" (the cursor starts on "No, keep them")
    outcome, printed = screen(rulebase, store, keys)
    assert outcome.ending is Ending.discarded
    assert store.list(kind="screen") == []
    assert "deleted" in printed


def test_quitting_before_any_answer_keeps_nothing(rulebase, store):
    outcome, _ = screen(rulebase, store, CTRL_C)
    assert outcome.ending is Ending.discarded
    assert store.list(kind="screen") == []


def test_resume_with_nothing_to_resume_starts_afresh_and_says_where_it_looked(rulebase, store):
    outcome, printed = screen(rulebase, store, CTRL_C, resume=True)
    flat = " ".join(printed.split())
    # a long path may be folded across lines: look for it with the line breaks taken out
    assert "nounfinishedscreeningtocontinuein" + str(store.path) in "".join(printed.split())
    assert "--db FILE" in flat
    assert outcome.ending is Ending.discarded


def test_deleting_is_confirmed_and_no_keeps_going(rulebase, store):
    steps = plan(rulebase, scenario("soft_breasts_10_weeks"))
    keys = (flow_keys(steps[:2]) + CTRL_C + DOWN + DOWN + ENTER + ENTER  # delete? "No, keep them"
            + flow_keys(steps[2:3]) + CTRL_C + ENTER)  # kept going; then save and quit
    outcome, _ = screen(rulebase, store, keys)
    assert outcome.ending is Ending.paused
    assert store.answers(outcome.ref) == answers_after(steps[:3])


def test_ctrl_c_after_a_red_flag_offers_the_same_choice_as_at_a_question(rulebase, store):
    steps = plan(rulebase, scenario("fever_3_weeks"), stop_at_red_flag=True)
    keys = "".join(s.keys for s in steps) + CTRL_C + DOWN + ENTER  # at "Carry on?": Keep going
    keys += flow_keys(plan(rulebase, scenario("fever_3_weeks"))[len(steps):len(steps) + 1]) + CTRL_C + ENTER
    outcome, printed = screen(rulebase, store, keys)
    assert outcome.ending is Ending.paused
    assert printed.count("Saved. To continue later") == 1


def test_the_estimate_follows_the_skip_logic(rulebase, store):
    from supplycheck.present.completeness import questions_left

    fewest, most = questions_left(rulebase, {})
    # an age only ever skips some; the most counts every question, the follow-ups to a given
    # answer (a weight's age, an earlier weight and its age) too: it was once 3 short
    follow_ups = [q for q in rulebase.questions.values() if isinstance(q.ask_when, dict) and q.ask_when.get("known")]
    assert [q.id for q in follow_ups] == ["weight_age_days", "previous_weight_g", "previous_weight_age_days"]
    assert fewest < most == len(rulebase.questions)
    # a weight given opens its follow-ups, and the most still covers them
    assert questions_left(rulebase, {"current_weight_g": 4000})[1] == most - 1
    _, printed = screen(rulebase, store, CTRL_C)
    flat = " ".join(printed.split())
    assert f"Between {fewest} and {most} questions" in flat
    # after "formula only" the range closes in on what is really left
    formula = {"infant_age_days": 40, "feeding_method": "formula_only"}
    formula_fewest, formula_most = questions_left(rulebase, formula)
    assert formula_fewest < fewest and formula_most < most


def test_red_flags_are_shown_once_and_again_as_a_reminder_on_resume(rulebase, store):
    steps = plan(rulebase, scenario("fever_3_weeks"))
    at = next(i for i, s in enumerate(steps) if s.red_flags) + 1
    outcome, printed = screen(rulebase, store, flow_keys(steps[:at] + steps[at:at + 2]) + CTRL_C + ENTER)
    assert printed.count("⚠") == 1
    _, printed = screen(rulebase, store, CTRL_C + ENTER, resume=True)
    assert printed.count("⚠") == 1 and "EMERGENCY — NOW" in printed


def test_welcome_says_what_this_is(rulebase, store):
    _, printed = screen(rulebase, store, CTRL_C)
    flat = " ".join(printed.split())
    assert "not a diagnosis" in flat
    assert "minutes" in flat
    assert "nothing is sent anywhere" in flat
    assert "emergency number" in flat


def test_resume_asks_again_what_the_rule_base_no_longer_accepts(rulebase, store):
    steps = plan(rulebase, scenario("soft_breasts_10_weeks"))
    paused, _ = screen(rulebase, store, flow_keys(steps[:5]) + CTRL_C + ENTER)
    assert steps[3].field == "multiple_birth"
    store.set_answer(paused.ref, "multiple_birth", "perhaps")  # as if an option had been removed
    again, printed = screen(rulebase, store, steps[3].keys + CTRL_C + ENTER, resume=True)
    assert "asked again" in printed
    assert store.answers(paused.ref)["multiple_birth"] == steps[3].value


def test_stray_keys_at_the_flows_own_prompts_do_not_quit(rulebase, store):
    steps = plan(rulebase, scenario("fever_3_weeks"), stop_at_red_flag=True)
    keys = "".join(s.keys for s in steps) + "?" + ENTER  # "?" at "Carry on?", then stop (the default)
    outcome, _ = screen(rulebase, store, keys)
    assert outcome.ending is Ending.stopped
