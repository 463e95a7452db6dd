"""What new users hit (issue 10), each reproduced as they met it: real pseudo-terminals at 60
and 80 columns, real SQLite stores, the installed command piped and with NO_COLOR."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from pty_session import CTRL_C, DOWN, ENTER, SUPPLYCHECK
from pty_session import PtySession as _PtySession
from supplycheck.channels.consult import records
from supplycheck.core import interview
from supplycheck.present import summary
from supplycheck.present.completeness import assess
from supplycheck.storage.store import Store

pytest.importorskip("pexpect")

ROOT = Path(__file__).resolve().parents[1]
FEVER = "Age <92 days (through the third month) and temperature ≥38.0 °C: emergency assessment (NHS-HT red; NICE NG143)."
EMERGENCY_NONE = DOWN * 8 + " " + ENTER  # the emergency-first step (a multi choice): "None"


class PtySession(_PtySession):
    """Types as a person does: only once the prompt is there (a key sent while the previous
    prompt hands over the terminal can be lost, as it can with a fast typist)."""

    def send(self, keys: str) -> None:
        time.sleep(0.2)
        super().send(keys)


def ctrl_c(term: PtySession) -> None:
    """Ctrl-C once the prompt has the terminal (before that, the terminal would send SIGINT)."""
    time.sleep(0.3)
    term.send(CTRL_C)


def flat(text: str) -> str:
    return " ".join(text.replace("│", " ").replace("╭", " ").replace("╰", " ").split())


def cli(*args: str, db: Path, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([SUPPLYCHECK, *args, "--db", str(db)], capture_output=True, text=True,
                          env=dict(os.environ, **(env or {})), timeout=60)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def saved(db: Path, rulebase, ref: str, kind: str, answers: dict, *, finish: bool = False,
          score: bool = False) -> None:
    with Store(db) as store:
        store.create(ref, kind, rulebase)
        for field, value in answers.items():
            store.set_answer(ref, field, value)
        if score:
            records.refresh(store, rulebase, ref)
        if finish:
            store.finish(ref)


# ------------------------------------------------------------------ 1, 4: the list


@pytest.fixture
def clinic(tmp_path, rulebase):
    """A paused screening under 3 months with fever (never scored: screenings keep their result
    only at the end), a complete-looking finished intake, and an open one."""
    db = tmp_path / "clinic.db"
    saved(db, rulebase, "S-261202-FEVR", "screen", {"infant_age_days": 20, "baby_fever": "yes"})
    saved(db, rulebase, "LC-0042", "intake", {"infant_age_days": 20, "baby_fever": "no"},
          finish=True, score=True)
    saved(db, rulebase, "LC-0043", "intake", {"infant_age_days": 50, "wet_diapers_per_day": 2},
          score=True)
    return db


def test_the_list_scores_every_record_and_never_hides_an_emergency(clinic, rulebase):
    rows = {r["ref"]: r for r in json.loads(cli("intake", "list", "--all", "--format", "json", db=clinic).stdout)}
    assert rows["S-261202-FEVR"]["urgency"] == "emergency"  # paused, never finished, never scored
    assert rows["S-261202-FEVR"]["status"].startswith("open, ")
    assert rows["LC-0042"]["status"].startswith("finished early, ")
    with Store(clinic) as store:
        listed = {item.record.ref: item for item in records.listing(store, rulebase, None)}
    assert listed["LC-0042"].completeness.finished_early
    assert listed["S-261202-FEVR"].result.red_flags == ["fever_young_infant"]


def test_piped_the_list_is_plain_tab_separated_text_and_csv_or_json_on_request(clinic):
    piped = cli("intake", "list", "--all", db=clinic, env={"NO_COLOR": "1"}).stdout
    lines = piped.splitlines()
    assert lines[0].split("\t")[:3] == ["Reference", "Urgency", "Status"]
    assert not re.search(r"[┃│━…\x1b]", piped)  # no box, no ellipsis, no escape codes
    fever = next(line.split("\t") for line in lines if line.startswith("S-261202-FEVR"))
    assert fever[1] == "EMERGENCY"
    table = list(csv.DictReader(io.StringIO(cli("intake", "list", "--all", "--format", "csv", db=clinic).stdout)))
    assert {r["ref"] for r in table} == {"S-261202-FEVR", "LC-0042", "LC-0043"}
    assert next(r for r in table if r["ref"] == "LC-0043")["urgency"] == "SAME DAY"


@pytest.mark.parametrize("columns", [60, 80])
def test_a_narrow_terminal_drops_columns_before_cutting_urgency_or_reference(clinic, tmp_path, columns):
    term = PtySession("intake", "list", "--all", db=clinic, columns=columns)
    assert term.finish() == 0
    screen = term.plain
    assert "S-261202-FEVR" in screen and "EMERGENCY" in screen and "SAME DAY" in screen
    assert "…" not in screen and "Refere…" not in screen
    assert max(len(line) for line in screen.splitlines()) <= columns
    assert ("Created" in screen) is False  # the least important columns went first
    assert "Status" in screen


# ------------------------------------------------------------------ 2: finished early


def test_a_finished_but_incomplete_intake_says_so_everywhere(clinic, rulebase):
    shown = flat(cli("intake", "show", "LC-0042", "--explain", db=clinic).stdout)
    assert "Finished early:" in shown
    assert "none found, but not known" in shown  # the panel: not "none so far"
    assert "Not asked or not known" in shown and "Could show secondary factors" in shown
    assert shown.count("Scored ") == 1 and "Rule base supplycheck-core" not in shown
    letter = cli("intake", "export", "LC-0042", "--format", "md", db=clinic).stdout
    assert "**Incomplete intake.**" in letter
    secondary = letter.split("### Secondary factors (milk removal)")[1].split("###")[0]
    assert "None found in the answers given, but not known" in secondary
    assert "Breastfeeds / 24 h" in secondary  # the unknowns that matter, by name
    html = cli("intake", "export", "LC-0042", "--format", "html", db=clinic).stdout
    assert 'id="incomplete"' in html and "None found in the answers given" in html


def test_a_complete_intake_says_none_found_not_not_asked(rulebase):
    answers = {"infant_age_days": 40, "feeding_method": "formula_only"}
    while (q := interview.next_question(rulebase, answers)) is not None:
        answers[q.id] = "no" if "no" in q.values else (["none"] if q.type.value == "multi" else
                                                        (q.min if q.is_numeric else q.values[0]))
    done = assess(rulebase, answers, finished=True)
    assert done.complete and done.state == "finished" and not done.not_asked


def test_the_consultant_confirms_finishing_early(tmp_path):
    db = tmp_path / "c.db"
    term = PtySession("intake", "new", "LC-0501", db=db, columns=80, lines=40)
    term.expect(r"\[emergency_signs_now\]")
    term.send(EMERGENCY_NONE)
    term.expect(r"\[infant_age_days\]")
    term.send("20" + ENTER)
    term.expect(r"\[gestational_age_weeks\]")
    term.send("back" + ENTER)  # the menu
    term.expect("Finish the intake")
    term.send(DOWN * 7 + ENTER)  # Continue, Previous, Jump, Change, Note, Note, Explain, Finish
    term.expect("Finish anyway")
    term.send(ENTER)  # "No, back to the questions" is where the cursor starts
    term.expect("Finish the intake")
    term.send(DOWN * 7 + ENTER)
    term.expect("Finish anyway")
    term.send(DOWN + ENTER)
    term.expect("Intake finished")
    assert term.finish() == 0
    assert "Could show red flags" in flat(term.plain)
    with Store(db) as store:
        assert store.get("LC-0501").finished
        assert store.audit("LC-0501")[-1].new.startswith("finished early (")


# ------------------------------------------------------------------ 3: hints repeat --db


@pytest.mark.parametrize("columns", [60, 80])
def test_the_hint_to_continue_repeats_db_and_resume_says_where_it_looked(tmp_path, columns):
    mine = tmp_path / "my screenings.db"
    term = PtySession("screen", "--db", str(mine), db=tmp_path / "default.db", columns=columns)
    term.expect(r"\[1/")
    term.send(EMERGENCY_NONE)
    term.expect(r"\[2/")
    term.send("3 weeks" + ENTER)
    term.expect(r"\[3/")
    ctrl_c(term)
    term.expect(r"What\s+now")
    term.send(ENTER)
    assert term.finish() == 0
    # (a long path may be folded at the edge of a narrow terminal: compare without spaces)
    assert "".join(f"supplycheck screen --db '{mine}' --resume".split()) in "".join(term.plain.split())

    other = tmp_path / "other.db"
    term = PtySession("screen", "--resume", "--db", str(other), db=tmp_path / "default.db", columns=columns)
    term.expect(r"\[1/")
    ctrl_c(term)
    assert term.finish() == 0
    assert "".join(f"no unfinished screening to continue in {other}".split()) in "".join(term.plain.split())


# ------------------------------------------------------------------ 5: the panel


@pytest.mark.parametrize("columns", [60, 80, 120])
def test_the_findings_panel_never_cuts_the_clinical_reason(clinic, columns):
    term = PtySession("intake", "show", "S-261202-FEVR", db=clinic, columns=columns)
    assert term.finish() == 0
    assert FEVER in flat(term.plain)
    assert "…" not in term.plain.split("Question")[0]


# ------------------------------------------------------------------ 6, 8, 9, 10, 12: the prompts


@pytest.mark.parametrize("columns", [60, 80])
def test_the_screening_prompts_as_a_new_parent_meets_them(tmp_path, columns):
    db = tmp_path / "s.db"
    term = PtySession(db=db, columns=columns)
    term.expect("Between \\d+ and \\d+")
    term.expect(r"\[1/\d+–\d+\]")  # progress, with the range the skip logic leaves
    term.send(EMERGENCY_NONE)  # first: is the baby in danger right now? None of these
    term.expect(r"\[2/")
    term.send("3 weeks" + ENTER)
    term.expect(r"\[3/")
    term.send("abc")
    term.expect("abc")  # on screen: the prompt has it (a busy machine may take a moment)
    term.send(ENTER)  # refused ...
    term.expect("couldn't")
    term.send("38" + ENTER)  # ... and cleared: read as 38, not "abc38"
    term.expect(r"\[4/")  # twins? a list question: Enter alone answers nothing
    term.send(ENTER + ENTER)
    ctrl_c(term)  # Ctrl-C at a list: the same menu as at a number
    term.expect(r"What\s+now")
    term.send(DOWN + ENTER)  # keep going
    term.expect(r"\[4/")
    term.send(DOWN * 2 + ENTER)  # No
    term.expect(r"\[5/")
    ctrl_c(term)  # at a number
    term.expect(r"What\s+now")
    term.send(ENTER)  # save and quit
    assert term.finish() == 0
    with Store(db) as store:
        (record,) = store.list("screen")
        assert store.answers(record.ref) == {"emergency_signs_now": ["none"], "infant_age_days": 21,
                                             "gestational_age_weeks": 38, "multiple_birth": "no"}
    assert flat(term.plain).count("Saved. To continue later") == 1


def test_a_consultant_sees_unit_hints_in_words_and_not_sure(tmp_path):
    db = tmp_path / "c.db"
    term = PtySession("intake", "new", "LC-0601", "--by", "Ayo", db=db, columns=80, lines=40)
    term.expect(r"\[emergency_signs_now\]")
    term.send(EMERGENCY_NONE)
    term.expect(r"\[infant_age_days\]")
    term.send("5" + ENTER)
    term.expect(r"\[gestational_age_weeks\]")
    term.send("39" + ENTER)
    term.expect(r"\[multiple_birth\]")
    term.expect("Not sure")
    term.send(DOWN * 2 + ENTER)
    term.expect(r"\[birth_weight_g\]")
    term.expect("(?i)grams, 400–6500")  # the hint starts a sentence: "Grams, 400–6500. Or type: ..."
    ctrl_c(term)
    term.expect(r"What\s+now")
    term.send(ENTER)
    term.expect("Resume with")
    assert term.finish() == 0
    assert "G, 400" not in term.plain and "Unknown" not in term.plain
    audit = cli("intake", "show", "LC-0601", "--audit", db=db).stdout
    assert "Ayo" in audit and "+00:00" in audit


# ------------------------------------------------------------------ 7: skip logic


def test_no_expressing_questions_after_breastfeeds_only(rulebase):
    for separated in ("yes", "no", None):
        answers = {"infant_age_days": 20, "feeding_method": "breast_only", "separated_from_baby": separated}
        asked = {q.id for q in interview.questions_to_ask(rulebase, answers)}
        assert not asked & {"pump_sessions_per_day", "pumping_pain"}, separated
    both = {"infant_age_days": 20, "feeding_method": "breast_and_expressed"}
    assert {"pump_sessions_per_day", "pumping_pain"} <= {q.id for q in interview.questions_to_ask(rulebase, both)}


# ------------------------------------------------------------------ 11: new, explain


def test_a_code_already_used_suggests_resume(clinic):
    term = PtySession("intake", "new", "LC-0043", db=clinic, columns=80)
    assert term.finish() != 0
    assert f"supplycheck intake --db {clinic} resume LC-0043" in flat(term.plain)


# ------------------------------------------------------------------ 12, 13: wording, audit


def test_one_word_for_each_thing_in_what_people_read(rulebase):
    texts = [s.title.clinical for s in rulebase.sections] + [s.title.parent for s in rulebase.sections]
    for q in rulebase.questions.values():
        texts += [q.parent, q.clinical] + [o.parent for o in q.options] + [o.clinical for o in q.options]
    texts += [r.model.says.clinical for r in rulebase.rules] + [r.model.says.parent for r in rulebase.rules]
    joined = "\n".join(texts)
    assert not re.search(r"\bdiapers?\b", joined, re.I)
    assert not re.search(r"\b(Unsure|Unknown)\b", joined)


def test_parents_are_cited_primary_sources_without_a_version_line(rulebase):
    from supplycheck import evaluate
    from supplycheck.render.markdown import to_markdown
    from supplycheck.render.terminal import summary_renderable, to_text

    result = evaluate(rulebase, {"infant_age_days": 5, "milk_came_in": "no", "concerns": ["breasts_soft"],
                                 "wet_diapers_per_day": 2})
    parent = summary.build(rulebase, result, "parent")
    cited = {tag for tag, _ in summary.build(rulebase, result, "clinical").sources}
    assert any(not summary.for_parents(t) for t in cited)  # a secondary source is behind it ...
    assert all(summary.for_parents(t) for t, _ in parent.sources)  # ... and parents don't see it
    for text in (to_markdown(parent), to_text(summary_renderable(parent))):
        assert "Wikipedia" not in text and "supplycheck-core" not in text
    letter_like = summary.build(rulebase, result, "clinical")
    assert "supplycheck-core" in letter_like.rulebase


def test_audit_entries_name_the_os_user_and_are_utc(tmp_path, rulebase):
    import getpass

    with Store(tmp_path / "a.db") as store:
        store.create("LC-0700", "intake", rulebase)
        store.set_answer("LC-0700", "infant_age_days", 3)
        entries = store.audit("LC-0700")
    assert {e.author for e in entries} == {getpass.getuser()}
    assert all(e.at.endswith("+00:00") for e in entries)


# ------------------------------------------------------------------ 14: the README


def test_the_quick_start_makes_a_virtual_environment_and_has_two_commands():
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = [line.strip() for line in quick.splitlines() if line.startswith("    ")]
    assert len(commands) == 2
    assert commands[0].startswith("python3 -m venv .venv && . .venv/bin/activate && pip install .")
    assert commands[0].endswith("supplycheck")
    assert commands[1].endswith("pip install -e '.[test]' && pytest")
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pip install -e '.[test]' && pytest" in ci
