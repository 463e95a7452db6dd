"""The saved-intakes database, on real SQLite files."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pexpect
import pytest

from supplycheck import evaluate
from supplycheck.storage.store import (
    ABSENT, MIGRATIONS, SCHEMA_V1, SCHEMA_VERSION, DuplicateRefError, InvalidRefError,
    SchemaTooNewError, Store, UnknownRefError, check_ref, default_db_path, new_ref,
)


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "intakes.db") as s:
        yield s


def test_a_new_database_is_at_the_latest_schema_in_wal_mode(tmp_path):
    path = tmp_path / "sub" / "dir" / "intakes.db"
    with Store(path) as store:
        assert store.schema_version == SCHEMA_VERSION == len(MIGRATIONS)
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert path.is_file()


def test_default_path_is_in_the_user_data_folder_unless_the_environment_says(monkeypatch, tmp_path):
    monkeypatch.delenv("SUPPLYCHECK_DB", raising=False)
    assert default_db_path().name == "supplycheck.db"
    assert "supplycheck" in str(default_db_path().parent)
    monkeypatch.setenv("SUPPLYCHECK_DB", str(tmp_path / "x.db"))
    assert default_db_path() == tmp_path / "x.db"


@pytest.mark.parametrize("ref", ["LC-0042", "c7", "2024_11_A", "a" * 39 + "1"])
def test_reference_codes_that_are_accepted(ref):
    assert check_ref(f" {ref} ") == ref


@pytest.mark.parametrize("ref, reason", [
    ("", "empty"),
    ("Jane Smith", "only letters"),
    ("JaneSmith", "at least one digit"),
    ("smith", "at least one digit"),
    ("jane.smith@example.org1", "only letters"),
    ("-001", "only letters"),
    ("a" * 41 + "1", "at most 40"),
])
def test_reference_codes_that_are_refused(ref, reason):
    with pytest.raises(InvalidRefError) as info:
        check_ref(ref)
    assert reason in info.value.reason
    assert info.value.ref == ref


def test_generated_reference_codes_are_valid():
    # An all-digit tail (S-261202-5287) reads as a phone number, about 1 draw in 300: a parent's
    # screening once ended at its first saved answer (CI). 3,000 draws meet one almost surely.
    for kind in ("screen", "intake"):
        for _ in range(3000):
            ref = new_ref(kind)
            assert check_ref(ref) == ref and ref[0] == kind[0].upper()


def test_answers_keep_the_order_first_given_and_none_means_asked_not_known(store, rulebase):
    store.create("LC-1", "intake", rulebase)
    store.set_answer("LC-1", "infant_age_days", 5)
    store.set_answer("LC-1", "baby_fever", None)
    store.set_answer("LC-1", "conditions", ["pcos"])
    store.set_answer("LC-1", "infant_age_days", 6)
    assert store.answers("LC-1") == {"infant_age_days": 6, "baby_fever": None, "conditions": ["pcos"]}
    assert store.history("LC-1") == ["infant_age_days", "baby_fever", "conditions"]
    assert store.clear_answer("LC-1", "baby_fever") is True
    assert store.clear_answer("LC-1", "baby_fever") is False
    assert store.history("LC-1") == ["infant_age_days", "conditions"]


def test_the_audit_trail_after_edits(store, rulebase):
    store.create("LC-2", "intake", rulebase)
    store.set_answer("LC-2", "wet_diapers_per_day", 3)
    store.set_answer("LC-2", "wet_diapers_per_day", 3)  # unchanged: no audit row
    store.set_answer("LC-2", "wet_diapers_per_day", 5)
    store.set_answer("LC-2", "latch_pain", "unsure")
    store.clear_answer("LC-2", "latch_pain")
    store.set_note("LC-2", "wet_diapers_per_day", "counted by the father")
    store.set_note("LC-2", "wet_diapers_per_day", "counted over 24 h by the father")
    store.set_note("LC-2", None, "first visit at home")
    store.set_note("LC-2", None, "")
    store.finish("LC-2")
    trail = [(e.what, e.field, e.old, e.new) for e in store.audit("LC-2")]
    assert trail == [
        ("status", None, ABSENT, "created"),
        ("answer", "wet_diapers_per_day", ABSENT, 3),
        ("answer", "wet_diapers_per_day", 3, 5),
        ("answer", "latch_pain", ABSENT, "unsure"),
        ("answer", "latch_pain", "unsure", ABSENT),
        ("note", "wet_diapers_per_day", ABSENT, "counted by the father"),
        ("note", "wet_diapers_per_day", "counted by the father", "counted over 24 h by the father"),
        ("note", None, ABSENT, "first visit at home"),
        ("note", None, "first visit at home", ABSENT),
        ("status", None, "open", "finished"),
    ]
    times = [e.at for e in store.audit("LC-2")]
    assert times == sorted(times)
    assert store.notes("LC-2") == {"wet_diapers_per_day": "counted over 24 h by the father"}


def test_results_record_the_rule_base_they_came_from(store, rulebase):
    store.create("LC-3", "intake", rulebase)
    store.set_answer("LC-3", "infant_age_days", 5)
    store.set_answer("LC-3", "wet_diapers_per_day", 2)
    result = evaluate(rulebase, store.answers("LC-3"))
    store.save_result("LC-3", result)
    stored = store.latest_stored_result("LC-3")
    assert (stored.rulebase_name, stored.rulebase_version, stored.rulebase_hash) == (
        rulebase.name, rulebase.version, rulebase.content_hash)
    assert stored.result == result
    assert store.latest_result("LC-3").explanations == result.explanations
    [record] = store.list()
    assert record.urgency == result.urgency.value
    assert record.answered == 2
    raw = store.conn.execute("SELECT rulebase_hash FROM result").fetchone()[0]
    assert raw == rulebase.content_hash


def test_list_latest_unfinished_and_delete(store, rulebase):
    store.create("S-1", "screen", rulebase)
    store.create("LC-4", "intake", rulebase)
    store.create("LC-5", "intake", rulebase)
    store.set_answer("LC-4", "infant_age_days", 3)  # LC-4 is now the most recently changed
    assert [r.ref for r in store.list()] == ["LC-4", "LC-5", "S-1"]
    assert [r.ref for r in store.list("screen")] == ["S-1"]
    assert store.latest_unfinished("intake") == "LC-4"
    store.finish("LC-4")
    assert store.latest_unfinished("intake") == "LC-5"
    store.delete("LC-4")
    assert store.get("LC-4") is None
    for table in ("answer", "audit", "result", "note"):
        assert store.conn.execute(f"SELECT count(*) FROM {table} WHERE ref = 'LC-4'").fetchone()[0] == 0


def test_errors_carry_the_reference_code(store, rulebase):
    store.create("LC-6", "intake", rulebase)
    with pytest.raises(DuplicateRefError) as dup:
        store.create("lc-6", "intake", rulebase)
    assert dup.value.ref == "lc-6" and dup.value.kind == "intake"
    with pytest.raises(UnknownRefError) as unknown:
        store.set_answer("LC-404", "infant_age_days", 1)
    assert unknown.value.ref == "LC-404"
    with pytest.raises(InvalidRefError):
        store.create("Jane Smith", "intake", rulebase)


def _v1_database(path: Path) -> None:
    """A database as the first release wrote it: schema v1, with data."""
    db = sqlite3.connect(path)
    db.executescript(SCHEMA_V1)
    db.executescript("""
        INSERT INTO intake VALUES ('LC-OLD1', 'intake', '2024-01-02T09:00:00+00:00',
            '2024-01-02T09:05:00+00:00', NULL, 'supplycheck-core', '0.9.0', 'abc123');
        INSERT INTO answer VALUES ('LC-OLD1', 'infant_age_days', '5', 1, '2024-01-02T09:01:00+00:00');
        INSERT INTO answer VALUES ('LC-OLD1', 'wet_diapers_per_day', '2', 2, '2024-01-02T09:02:00+00:00');
        INSERT INTO audit (ref, at, field, old, new) VALUES
            ('LC-OLD1', '2024-01-02T09:01:00+00:00', 'infant_age_days', NULL, '5'),
            ('LC-OLD1', '2024-01-02T09:02:00+00:00', 'wet_diapers_per_day', NULL, '2');
        INSERT INTO result (ref, at, rulebase_name, rulebase_version, rulebase_hash, urgency, result)
            VALUES ('LC-OLD1', '2024-01-02T09:05:00+00:00', 'supplycheck-core', '0.9.0', 'abc123',
                    'same_day', '{"status": "scored", "urgency": "same_day",
                    "rulebase": {"name": "supplycheck-core", "version": "0.9.0", "hash": "abc123"}}');
        PRAGMA user_version = 1;
    """)
    db.commit()
    db.close()


def test_a_first_schema_database_is_migrated_with_its_data(tmp_path, rulebase):
    path = tmp_path / "v1.db"
    _v1_database(path)
    with Store(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.answers("LC-OLD1") == {"infant_age_days": 5, "wet_diapers_per_day": 2}
        [record] = store.list()
        assert (record.ref, record.urgency, record.result_rulebase_version) == ("LC-OLD1", "same_day", "0.9.0")
        assert [(e.what, e.field, e.new) for e in store.audit("LC-OLD1")] == [
            ("answer", "infant_age_days", 5), ("answer", "wet_diapers_per_day", 2)]
        # What v2 added works on the migrated file.
        store.set_note("LC-OLD1", None, "migrated")
        store.set_answer("LC-OLD1", "infant_age_days", 6)
        assert store.notes("LC-OLD1") == {None: "migrated"}
        assert store.audit("LC-OLD1")[-1].old == 5
        indexes = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        assert {"result_by_ref", "audit_by_ref"} <= indexes
    with Store(path) as again:  # opening an up-to-date file changes nothing
        assert again.schema_version == SCHEMA_VERSION
        assert again.notes("LC-OLD1") == {None: "migrated"}


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "future.db"
    with Store(path):
        pass
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(SchemaTooNewError) as info:
        Store(path)
    assert info.value.found == SCHEMA_VERSION + 1


WRITER = textwrap.dedent("""
    import sys
    from supplycheck import load_rulebase
    from supplycheck.storage.store import Store, DuplicateRefError
    path, me, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rb = load_rulebase()
    store = Store(path)
    try:
        store.create("SHARED-1", "intake", rb)
    except DuplicateRefError:
        pass
    store.create(f"{me}-1", "intake", rb)
    print("ready", flush=True)
    sys.stdin.readline()  # start together
    for i in range(n):
        store.set_answer(f"{me}-1", "feeds_per_day", i)
        store.set_answer("SHARED-1", f"{me}_{i}", i)
        store.set_note("SHARED-1", None, f"{me} {i}")
    print("done", flush=True)
""")


def test_two_processes_writing_to_the_same_file(tmp_path):
    path = tmp_path / "shared.db"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    n = 150
    procs = [subprocess.Popen([sys.executable, str(script), str(path), me, str(n)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for me in ("A", "B")]
    for p in procs:
        assert p.stdout.readline().strip() == "ready", p.stderr.read()
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert out.strip() == "done"
    with Store(path) as store:
        assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        shared = store.answers("SHARED-1")
        assert len(shared) == 2 * n
        assert all(shared[f"{me}_{i}"] == i for me in "AB" for i in range(n))
        assert store.answers("A-1") == {"feeds_per_day": n - 1}
        assert store.answers("B-1") == {"feeds_per_day": n - 1}
        # Every write left exactly one audit row; seq numbers stayed unique.
        assert len([e for e in store.audit("SHARED-1") if e.what == "answer"]) == 2 * n
        assert len([e for e in store.audit("SHARED-1") if e.what == "note"]) == 2 * n
        seqs = [r[0] for r in store.conn.execute("SELECT seq FROM answer WHERE ref = 'SHARED-1'")]
        assert len(set(seqs)) == len(seqs)


def test_resume_after_the_process_is_killed_mid_interview(tmp_path):
    """SIGKILL a real `supplycheck intake new` in a pseudo-terminal while an answer is being
    typed: every answer given before is kept, and `resume` goes on from there."""
    import signal

    from consult_pty import DOWN, ENTER, UP, Terminal

    db = tmp_path / "killed.db"
    t = Terminal("intake", "new", "LC-0301", db=db)
    t.answer("emergency_signs_now", DOWN * 8 + " " + ENTER)  # the quick first step: None
    t.answer("infant_age_days", "12" + ENTER)
    t.answer("gestational_age_weeks", "36" + ENTER)
    t.answer("multiple_birth", DOWN + ENTER)  # Yes (the cursor starts above the answers)
    t.answer("birth_weight_g", "31")  # being typed when the power goes
    t.child.kill(signal.SIGKILL)
    t.child.expect(pexpect.EOF)
    t.child.close()
    assert t.child.signalstatus == signal.SIGKILL

    with Store(db) as store:
        assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert store.answers("LC-0301") == {"emergency_signs_now": ["none"], "infant_age_days": 12,
                                            "gestational_age_weeks": 36, "multiple_birth": "yes"}
        assert store.latest_unfinished("intake") == "LC-0301"

    t = Terminal("intake", "resume", db=db)  # no code: the latest unfinished intake
    t.wait("4 answered")
    t.answer("birth_weight_g", "3100" + ENTER)
    t.wait(r"\[current_weight_g\]")
    t.pause()
    t.wait("Resume with")
    assert t.finish() == 0
    with Store(db) as store:
        assert store.history("LC-0301") == [
            "emergency_signs_now", "infant_age_days", "gestational_age_weeks", "multiple_birth",
            "birth_weight_g"]
        assert store.answers("LC-0301")["birth_weight_g"] == 3100


def test_an_intake_saved_under_contract_1_0_still_loads_and_rescores(store, rulebase):
    """A result stored before 1.1 has no safety_net (and a 1.0.0 rule base): it still loads,
    and rescoring it gives the 1.1 result, with the safety net and the safer rules."""
    from supplycheck.channels.consult.records import rescore

    store.create("LC-10", "intake", rulebase)
    answers = {"infant_age_days": 0, "jaundice": "mild", "feeding_method": "breast_only"}
    for field, value in answers.items():
        store.set_answer("LC-10", field, value)
    old = evaluate(rulebase, answers).model_dump(mode="json")
    del old["safety_net"]
    old["rulebase"]["version"], old["urgency"] = "1.0.0", "same_day"  # as 1.0 scored it
    store.conn.execute(
        "INSERT INTO result (ref, at, rulebase_name, rulebase_version, rulebase_hash, urgency, result) "
        "VALUES ('LC-10', '2026-11-01T10:00:00+00:00', ?, '1.0.0', 'old', 'same_day', ?)",
        (rulebase.name, __import__("json").dumps(old)))
    store.conn.commit()
    before = store.latest_result("LC-10")
    assert before.safety_net == [] and before.urgency.value == "same_day"
    (report,) = rescore(store, rulebase, ["LC-10"])
    assert report.saved and report.version_before == "1.0.0"
    after = store.latest_result("LC-10")
    assert after.urgency.value == "emergency"  # jaundice in the first 24 hours (NICE CG98)
    assert after.safety_net and after.rulebase.version == rulebase.version
