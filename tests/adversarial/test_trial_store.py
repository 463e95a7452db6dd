"""The intakes store holds health information: private files whatever the umask, deleted rows
overwritten, and a damaged or read-only store explained with a way out, never written to."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess

import pytest

from supplycheck import load_rulebase
from supplycheck.storage.store import Store, StoreDamagedError, StoreReadOnlyError, diagnose


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(scope="module")
def rules():
    return load_rulebase()


def fill(path, rules, n: int = 30) -> None:
    with Store(path) as store:
        for i in range(n):
            store.create(f"LC-{i:04d}", "intake", rules)
            store.set_answer(f"LC-{i:04d}", "infant_age_days", i)
            store.set_note(f"LC-{i:04d}", None, "note " * 40)


def test_the_store_is_private_whatever_the_umask(tmp_path, rules):
    old = os.umask(0)
    try:
        path = tmp_path / "new" / "folder" / "intakes.db"
        with Store(path) as store:
            store.create("LC-0001", "intake", rules)
            assert store.conn.execute("PRAGMA secure_delete").fetchone()[0] == 1
            for suffix in ("", "-wal", "-shm"):
                assert mode(f"{path}{suffix}") == 0o600, suffix
        assert mode(path.parent) == 0o700 and mode(path.parent.parent) == 0o700
        # A store made by an older version, world-readable, is made private when opened.
        os.chmod(path, 0o644)
        Store(path).close()
        assert mode(path) == 0o600
    finally:
        os.umask(old)


def test_a_deleted_intake_is_overwritten_on_disk(tmp_path, rules):
    path = tmp_path / "intakes.db"
    with Store(path) as store:
        store.create("LC-0001", "intake", rules)
        store.set_note("LC-0001", None, "SECRETNOTE" * 50)
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        store.delete("LC-0001")
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("intakes.db"))
    assert b"SECRETNOTE" not in data


def damage(path) -> None:
    """Overwrite the b-tree pages of the tables (not the header): SQLite opens the file, the
    integrity check fails."""
    page = 4096
    with open(path, "r+b") as f:
        size = os.path.getsize(path)
        for n in range(2, size // page):
            f.seek(page * (n - 1))
            f.write(b"\x0d\x00\x00\xff\xff" + b"\x41" * 200)


def test_a_damaged_store_is_explained_never_written_and_doctor_says_what_to_do(trial, rules):
    path = trial.folder / "store" / "intakes.db"
    fill(path, rules)
    damage(path)
    before = path.read_bytes()
    for args in (["show", "LC-0001"], ["rescore", "LC-0001"], ["delete", "LC-0001", "--yes"], ["list"]):
        run = trial.run("intake", *args)
        assert run.code == 5, (args, run.stderr)
        assert "intake doctor" in run.stderr and "--db" in run.stderr
    assert path.read_bytes() == before
    run = trial.run("intake", "doctor")
    assert run.code == 5 and "damaged" in run.stdout and ".recover" in run.stdout
    assert path.read_bytes() == before
    with pytest.raises(StoreDamagedError):
        with Store(path) as store:
            store.set_answer("LC-0001", "infant_age_days", 3)


def test_doctor_passes_a_sound_store_and_makes_it_private(trial, rules):
    path = trial.folder / "store" / "intakes.db"
    fill(path, rules, 2)
    os.chmod(path, 0o644)
    run = trial.run("intake", "doctor")
    assert run.code == 0 and "integrity check passed" in run.stdout and "644 -> 600" in run.stdout
    assert mode(path) == 0o600 and diagnose(path).ok


def _make_read_only(path) -> list[str]:
    """Make the file read-only even for root (immutable, where chattr works); returns the
    command that undoes it."""
    os.chmod(path, 0o400)
    if os.access(path, os.W_OK):  # root: file modes do not stop it
        if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)]).returncode != 0:
            pytest.skip("cannot make a file read-only for this user")
        return ["chattr", "-i", str(path)]
    return []


def test_a_read_only_store_is_read_but_never_written(trial, rules):
    path = trial.folder / "store" / "intakes.db"
    fill(path, rules, 2)
    assert trial.run("intake", "show", "LC-0000").code == 0  # the result is saved once
    with Store(path) as store:
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    undo = _make_read_only(path)
    try:
        with Store(path) as store:
            assert store.read_only and [r.ref for r in store.list()]
            with pytest.raises(StoreReadOnlyError, match="cannot be written"):
                store.delete("LC-0000")
        run = trial.run("intake", "delete", "LC-0000", "--yes")
        assert run.code == 5 and "cannot be written" in run.stderr and "--db" in run.stderr
        run = trial.run("intake", "show", "LC-0000")
        assert run.code == 0
    finally:
        if undo:
            subprocess.run(undo)
        os.chmod(path, 0o600)


def test_a_store_that_is_not_a_database(trial):
    path = trial.folder / "store" / "intakes.db"
    path.parent.mkdir()
    path.write_bytes(b"this is not SQLite" * 100)
    run = trial.run("intake", "list")
    assert run.code == 5 and "intake doctor" in run.stderr
    conn = sqlite3.connect(":memory:")
    conn.close()


def test_supplycheck_s_own_data_folder_is_made_private(trial, monkeypatch):
    home = trial.folder / "home"
    folder = home / ".local" / "share" / "supplycheck"
    folder.mkdir(parents=True)
    os.chmod(folder, 0o755)  # as an earlier version made it
    run = trial.run("intake", "list", env={"SUPPLYCHECK_DB": "", "HOME": str(home),
                                           "XDG_DATA_HOME": str(home / ".local" / "share")})
    assert run.code == 2 and "No intakes database" in run.stderr  # nothing is created by a read
    run = trial.run("intake", "doctor", env={"SUPPLYCHECK_DB": "", "HOME": str(home)})
    assert run.code == 2
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    Store(folder / "supplycheck.db").close()
    assert mode(folder) == 0o700 and mode(folder / "supplycheck.db") == 0o600
