"""`supplycheck intake` end to end, in a pseudo-terminal and on a real database file."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from consult_pty import DOWN, ENTER, LEFT, SUPPLYCHECK, UP, Terminal
from test_clinic import BUMPED, VERSION, changed_rules

from supplycheck.storage.store import Store

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")

ANSI = re.compile(r"\x1b\[[0-9;?]*[a-zA-Z]")


def run(*args: str, db, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
    env = {"SUPPLYCHECK_DB": str(db), "COLUMNS": "120", "PATH": "/usr/bin:/bin", "NO_COLOR": "1",
           # the code under test, not whatever is installed
           **{k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ}}
    proc = subprocess.run([SUPPLYCHECK, *args], capture_output=True, text=True, env=env, input=input,
                          timeout=60)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def first_visit(db) -> Terminal:
    """New intake LC-0201: the infant section, a jump to nappies, notes, then Ctrl-C."""
    t = Terminal("intake", "new", "LC-0201", db=db)
    t.answer("emergency_signs_now", DOWN * 8 + " " + ENTER)  # the quick first step: None
    t.answer("infant_age_days", "5" + ENTER)
    t.answer("gestational_age_weeks", "39" + ENTER)
    t.answer("multiple_birth", DOWN * 2 + ENTER)  # No (the cursor starts above the answers)
    t.answer("birth_weight_g", "3400" + ENTER)
    t.answer("current_weight_g", "3000" + ENTER)
    t.wait("SAME DAY")  # the panel: weight loss over 10% is a red flag
    t.answer("weight_age_days", "5" + ENTER)
    t.answer("previous_weight_g", "not sure" + ENTER)  # no earlier weighing
    # The next question; ← opens the menu. Jump to the nappies section.
    t.answer("professional_growth_concern", LEFT)
    t.wait("Jump to a section")
    t.send(DOWN + DOWN + ENTER)
    t.wait("Jump to which section")
    t.send(DOWN + DOWN + ENTER)  # from the current section: Infant, Red-flag screen, Output
    t.answer("wet_diapers_per_day", "3" + ENTER)
    # 'back' at a number question opens the menu too: a note on the wet-nappy count.
    t.answer("hours_since_wet_diaper", "back" + ENTER)
    t.wait("Note on a question")
    t.send(DOWN * 4 + ENTER)  # Continue, Previous, Jump, Change, Note
    t.wait("Note on which question")
    t.send("wet_diapers_per_day")
    t.wait(r"wet_diapers_per_day\]: 3 per day")
    t.send(ENTER)
    t.wait("Note on Wet nappies")
    t.send("counted by the father, call 0612 345 678" + ENTER)
    t.wait("looks like it holds a phone number")
    t.wait("What now")
    t.send(ENTER)  # Edit the note
    t.wait("Note on Wet nappies")
    t.send("\x15" + "counted by the father over 24 h" + ENTER)  # Ctrl-U clears the line
    t.wait("Note saved")
    t.wait("Note on the whole intake")
    t.send(DOWN * 5 + ENTER)
    t.wait("Note on intake LC-0201")
    t.send("Home visit, day 5; observed a feed." + ENTER)
    t.wait("Note saved")
    t.wait("Save and quit")
    t.pause()  # Ctrl-C in the menu: the same choice as anywhere; save and quit
    t.wait("Resume with")
    assert t.finish() == 0
    return t


def test_a_consultant_intake_end_to_end(tmp_path):
    db = tmp_path / "clinic.db"
    t = first_visit(db)
    screen = ANSI.sub("", t.text)
    assert "Findings so far" in screen and "Weight loss >10%" in screen
    assert "Output (nappies)" in screen

    with Store(db) as store:
        answers = store.answers("LC-0201")
        assert answers == {"emergency_signs_now": ["none"], "infant_age_days": 5,
                           "gestational_age_weeks": 39, "multiple_birth": "no",
                           "birth_weight_g": 3400, "current_weight_g": 3000, "weight_age_days": 5,
                           "previous_weight_g": None, "wet_diapers_per_day": 3}
        assert store.notes("LC-0201") == {"wet_diapers_per_day": "counted by the father over 24 h",
                                          None: "Home visit, day 5; observed a feed."}
        assert store.latest_result("LC-0201").urgency.value == "same_day"
        assert not store.get("LC-0201").finished

    # Resume: the panel first, then the question the consultant left.
    t = Terminal("intake", "resume", "LC-0201", db=db)
    t.wait("Findings so far")
    t.answer("professional_growth_concern", DOWN + ENTER)  # Yes
    t.answer("baby_temperature_c", "37" + ENTER)  # hard-to-wake was answered by the first step
    t.wait(r"\[vomiting\]")
    t.pause()
    t.wait("Resume with")
    assert t.finish() == 0
    with Store(db) as store:
        assert store.answers("LC-0201")["professional_growth_concern"] == "yes"
        trail = [(e.what, e.field) for e in store.audit("LC-0201")]
        assert ("answer", "professional_growth_concern") in trail
        assert ("note", "wet_diapers_per_day") in trail and ("note", None) in trail

    # Change an earlier answer through the menu: the weight, now only 5% lost.
    t = Terminal("intake", "resume", "LC-0201", db=db)
    t.answer("vomiting", LEFT)
    t.wait("Change an answer")
    t.send(DOWN * 3 + ENTER)
    t.wait("Change which answer")
    t.send("current_weight_g")
    t.wait(r"current_weight_g\]: 3000 g")
    t.send(ENTER)
    t.wait(r"\[current_weight_g\]")
    t.send("\x15" + "3230" + ENTER)
    t.wait("Findings so far")
    t.wait(r"\[vomiting\]")
    t.pause()
    assert t.finish() == 0
    with Store(db) as store:
        changes = [(e.old, e.new) for e in store.audit("LC-0201") if e.field == "current_weight_g"]
        assert changes[-1] == (3000, 3230)
        assert "weight_loss_over_10_percent" not in store.latest_result("LC-0201").red_flags


def test_list_show_explain_export_rescore_delete(tmp_path):
    db = tmp_path / "clinic.db"
    first_visit(db)
    with Store(db) as store:  # two more intakes, written through the library
        from supplycheck import load_rulebase
        from supplycheck.channels.consult import records

        rb = load_rulebase()
        for ref, answers in {"LC-0202": {"infant_age_days": 40, "baby_fever": "yes"},
                             "LC-0203": {"infant_age_days": 30, "wet_diapers_per_day": 7,
                                         "regained_birth_weight": "yes"}}.items():
            store.create(ref, "intake", rb)
            for f, v in answers.items():
                store.set_answer(ref, f, v)
            records.refresh(store, rb, ref)

    listing = run("intake", "list", db=db).stdout
    rows = {line.split()[0]: line for line in listing.splitlines() if line.startswith("LC-")}
    assert set(rows) == {"LC-0201", "LC-0202", "LC-0203"}
    assert "SAME DAY" in rows["LC-0201"] and "EMERGENCY" in rows["LC-0202"]
    assert VERSION in rows["LC-0201"]

    shown = run("intake", "show", "LC-0201", "--explain", db=db).stdout
    assert "rule weight_loss_over_10_percent" in shown
    assert "Weight change from birth (% lost): 11.8 %" in shown
    assert "derived from Birth weight (g), Most recent weight (g)" in shown
    assert "NICE-NG75" in shown
    assert "Unanswered questions that could raise the urgency" in shown
    assert "baby_fever" in shown
    assert "counted by the father over 24 h" in shown and "Home visit, day 5" in shown

    audit = run("intake", "show", "LC-0201", "--audit", db=db).stdout
    assert "wet_diapers_per_day" in audit and "counted by the father over 24 h" in audit

    letter = tmp_path / "out" / "LC-0201.html"
    proc = run("intake", "export", "LC-0201", "--format", "html", "--to", "baby_doctor",
               "--output", str(letter), db=db)
    html = letter.read_text()
    assert 'data-ref="LC-0201"' in html and "Home visit, day 5; observed a feed." in html
    assert "Wrote" in proc.stderr
    data = json.loads(run("intake", "export", "LC-0201", "--format", "json", db=db).stdout)
    assert data["id"] == "LC-0201" and data["answers"]["current_weight_g"] == 3000
    md = run("intake", "export", "LC-0201", "--format", "md", "--to", "mothers_doctor", db=db).stdout
    assert md.startswith("# Referral letter")

    rules = changed_rules(tmp_path)
    out = run("intake", "rescore", "--rules", str(rules), db=db).stdout
    versions = rf"rule base {re.escape(VERSION)} \(\w+\) → {re.escape(BUMPED)} \(\w+\)"
    assert re.search(rf"LC-0201\s+{versions}\s+changed", out)
    assert "urgency: SAME DAY → WITHIN 2 DAYS" in out
    assert "weight_loss_over_10_percent no longer fires" in out
    assert re.search(rf"LC-0202\s+{versions}\s+unchanged", out)
    assert f"3 intakes rescored with supplycheck-core {BUMPED}; 1 changed." in out
    listing = run("intake", "list", db=db).stdout
    assert re.search(rf"LC-0201\t.*WITHIN 2 DAYS\t.*{re.escape(BUMPED)}", listing)  # piped: tab-separated
    # Shown with the old rule base, the new result is flagged as from another rule base.
    assert "rescore LC-0201" in run("intake", "show", "LC-0201", db=db).stdout

    refused = run("intake", "delete", "LC-0203", db=db, check=False, input="n\n")
    assert refused.returncode != 0
    run("intake", "delete", "LC-0203", "--yes", db=db)
    assert "LC-0203" not in run("intake", "list", db=db).stdout


def test_reference_codes_that_could_be_names_are_refused(tmp_path):
    db = tmp_path / "clinic.db"
    proc = run("intake", "new", "JaneSmith", db=db, check=False)
    assert proc.returncode == 2
    assert "at least one digit" in proc.stderr
    proc = run("intake", "show", "LC-9999", db=db, check=False)
    assert proc.returncode == 2 and "no saved intake" in proc.stderr


def test_reading_a_database_that_is_not_there_says_so_and_creates_nothing(tmp_path):
    missing = tmp_path / "typo" / "x.db"
    for command in (["list"], ["show", "LC-1"], ["rescore"]):
        done = subprocess.run([SUPPLYCHECK, "intake", *command, "--db", str(missing)],
                              capture_output=True, text=True)
        assert done.returncode == 2, command
        assert "No intakes database at" in done.stderr and "Traceback" not in done.stderr
    assert not missing.parent.exists()
