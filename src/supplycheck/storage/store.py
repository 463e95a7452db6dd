"""Saved screenings and intakes: an embedded SQLite database, one file, safe to share between
terminals.

    store = Store(default_db_path())            # $SUPPLYCHECK_DB overrides the default
    store.create("LC-0042", kind="intake", rulebase=rulebase)
    store.set_answer("LC-0042", "infant_age_days", 5)      # committed at once, audited
    store.save_result("LC-0042", evaluate(rulebase, store.answers("LC-0042")))

Every write is its own short transaction (`BEGIN IMMEDIATE`), committed before the call returns:
killing the process loses nothing already given. The database runs in WAL mode with a busy
timeout, so two processes writing to the same file wait for each other instead of failing or
corrupting it. Every change to an answer, a note or the status is kept in the audit trail
(time, field, old value, new value). Values are stored as JSON.

The schema is versioned with `PRAGMA user_version`; `MIGRATIONS` lists the steps in order and a
database of any earlier version is brought up to date when it is opened.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import secrets
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Literal

import platformdirs

from ..errors import SupplycheckError
from ..privacy import DESCRIPTIONS, value_kind
from ..core.result import Result

DB_ENV = "SUPPLYCHECK_DB"
APP_NAME = "supplycheck"
BUSY_TIMEOUT_MS = 15_000

Kind = Literal["screen", "intake"]
KINDS: tuple[str, ...] = ("screen", "intake")

REF_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")


# --------------------------------------------------------------------------- errors


class StoreError(SupplycheckError):
    """A problem with the saved intakes database."""


class InvalidRefError(StoreError):
    """A reference code that cannot be used; `reason` says why."""

    def __init__(self, ref: str, reason: str):
        self.ref = ref
        self.reason = reason
        super().__init__(f"reference code {ref!r} cannot be used: {reason}")


class UnknownRefError(StoreError):
    def __init__(self, ref: str, path: Path | None = None):
        self.ref = ref
        self.path = path
        where = f" in {path}" if path else ""
        super().__init__(f"no saved intake with reference code {ref!r}{where}")


class DuplicateRefError(StoreError):
    def __init__(self, ref: str, kind: str):
        self.ref = ref
        self.kind = kind
        super().__init__(f"reference code {ref!r} is already used (by a saved {kind})")


class SchemaTooNewError(StoreError):
    """The database was written by a newer supplycheck."""

    def __init__(self, path: Path, found: int, supported: int):
        self.path = path
        self.found = found
        self.supported = supported
        super().__init__(f"{path}: database schema version {found} is newer than this supplycheck "
                         f"understands ({supported}); upgrade supplycheck")


class DatabaseError(StoreError):
    """SQLite could not open or write the database file."""

    def __init__(self, path: Path, detail: str):
        self.path = path
        self.detail = detail
        super().__init__(f"{path}: {detail}")


WAY_OUT = ("Run `supplycheck intake doctor` to check it, or use another database with --db "
           f"(or ${DB_ENV})")


class StoreDamagedError(DatabaseError):
    """The database failed SQLite's integrity check: nothing is written to it."""

    def __init__(self, path: Path, detail: str):
        DatabaseError.__init__(self, path, detail)
        self.args = (f"{path}: the intakes database is damaged ({detail}); nothing was changed. {WAY_OUT}.",)


class StoreReadOnlyError(DatabaseError):
    """The database file (or its folder) cannot be written."""

    def __init__(self, path: Path, detail: str = "read-only"):
        DatabaseError.__init__(self, path, detail)
        self.args = (f"{path}: the intakes database cannot be written ({detail}); nothing was changed. "
                     f"Check the permissions of the file and its folder, or {WAY_OUT}.",)


# --------------------------------------------------------------------------- reference codes


def check_ref(ref: str) -> str:
    """A valid reference code, stripped; raises InvalidRefError.

    Letters, digits, `-` and `_` (at most 40), starting with a letter or digit, and at least one
    digit: an intake is identified by a code, never by a person's name.
    """
    if not isinstance(ref, str):
        raise InvalidRefError(str(ref), "it must be text")
    code = ref.strip()
    if not code:
        raise InvalidRefError(ref, "it is empty")
    if not REF_PATTERN.match(code):
        raise InvalidRefError(ref, "use only letters, digits, '-' and '_' (at most 40, no spaces)")
    if not any(c.isdigit() for c in code):
        raise InvalidRefError(
            ref, "it must contain at least one digit (for example LC-0042), so that it cannot be a "
                 "person's name")
    kind = value_kind(code, strict=True)
    if kind is not None:
        raise InvalidRefError("(not shown)", f"it looks like {DESCRIPTIONS[kind]}; choose a code that "
                                             "identifies no one, for example LC-0042")
    return code


def new_ref(kind: Kind = "screen") -> str:
    """A fresh random reference code, e.g. `S-260314-K7Q2` (screen) or `I-...` (intake).

    Drawn again until `check_ref` accepts it: an all-digit tail such as `S-261202-5287` reads as
    a phone number, and the store would refuse the code it made itself (1 draw in 300).
    """
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    while True:
        tail = "".join(secrets.choice(alphabet) for _ in range(4))
        ref = f"{'S' if kind == 'screen' else 'I'}-{datetime.now().strftime('%y%m%d')}-{tail}"
        if value_kind(ref, strict=True) is None:
            return ref


def default_db_path() -> Path:
    """$SUPPLYCHECK_DB, or `supplycheck.db` in the platform's user data folder."""
    env = os.environ.get(DB_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "supplycheck.db"


def now() -> str:
    """UTC time with microseconds, ISO 8601 with its offset, `+00:00` (sorts as text)."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def current_user() -> str:
    """The operating-system user running supplycheck ('' when it cannot be told)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name for this uid, e.g. in some containers
        return ""


# --------------------------------------------------------------------------- schema

# Version 1: the first schema. Kept verbatim: tests build a v1 file from it and migrate it.
SCHEMA_V1 = """
CREATE TABLE intake (
    ref              TEXT PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('screen', 'intake')),
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    finished_at      TEXT,
    rulebase_name    TEXT NOT NULL,
    rulebase_version TEXT NOT NULL,
    rulebase_hash    TEXT NOT NULL
);
CREATE TABLE answer (
    ref         TEXT NOT NULL REFERENCES intake(ref) ON DELETE CASCADE,
    field       TEXT NOT NULL,
    value       TEXT NOT NULL,            -- JSON; 'null' = asked, not known
    seq         INTEGER NOT NULL,         -- order in which fields were first answered
    answered_at TEXT NOT NULL,
    PRIMARY KEY (ref, field)
);
CREATE TABLE audit (
    id    INTEGER PRIMARY KEY AUTOINCREMENT,
    ref   TEXT NOT NULL REFERENCES intake(ref) ON DELETE CASCADE,
    at    TEXT NOT NULL,
    field TEXT NOT NULL,
    old   TEXT,                           -- JSON, SQL NULL = no value before
    new   TEXT                            -- JSON, SQL NULL = value removed
);
CREATE TABLE result (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    ref              TEXT NOT NULL REFERENCES intake(ref) ON DELETE CASCADE,
    at               TEXT NOT NULL,
    rulebase_name    TEXT NOT NULL,
    rulebase_version TEXT NOT NULL,
    rulebase_hash    TEXT NOT NULL,
    urgency          TEXT,
    result           TEXT NOT NULL        -- JSON of the Result (contract + explanations)
);
"""

# Version 2: notes (per question and per intake), and audit rows say what changed.
SCHEMA_V2 = """
CREATE TABLE note (
    ref        TEXT NOT NULL REFERENCES intake(ref) ON DELETE CASCADE,
    field      TEXT NOT NULL,             -- '' = a note on the whole intake
    text       TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (ref, field)
);
ALTER TABLE audit ADD COLUMN what TEXT NOT NULL DEFAULT 'answer'
    CHECK (what IN ('answer', 'note', 'status'));
"""

# Version 3: indexes for listing and for the result history.
SCHEMA_V3 = """
CREATE INDEX result_by_ref ON result (ref, id);
CREATE INDEX audit_by_ref ON audit (ref, id);
CREATE INDEX intake_by_kind ON intake (kind, updated_at);
"""

# Version 4: the language the intake was made in (its letter's default language).
SCHEMA_V4 = """
ALTER TABLE intake ADD COLUMN lang TEXT NOT NULL DEFAULT 'en';
"""

# Version 5: who made each change (the OS user, or the name given with --by); '' before.
SCHEMA_V5 = """
ALTER TABLE audit ADD COLUMN author TEXT NOT NULL DEFAULT '';
"""

MIGRATIONS: tuple[str, ...] = (SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4, SCHEMA_V5)
SCHEMA_VERSION = len(MIGRATIONS)

AuditWhat = Literal["answer", "note", "status"]
INTAKE_NOTE = ""  # the `field` of a note on the whole intake


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class IntakeRecord:
    ref: str
    kind: str
    created_at: str
    updated_at: str
    finished_at: str | None
    rulebase_name: str
    rulebase_version: str
    rulebase_hash: str
    lang: str = "en"
    answered: int = 0
    urgency: str | None = None  # of the latest stored result
    result_rulebase_version: str | None = None

    @property
    def finished(self) -> bool:
        return self.finished_at is not None


class _Absent:
    """No value: before the first answer, or after an answer was cleared."""

    def __repr__(self) -> str:
        return "ABSENT"

    def __bool__(self) -> bool:
        return False


ABSENT: Any = _Absent()


@dataclass(frozen=True)
class AuditEntry:
    at: str  # UTC, ISO 8601 with its offset (+00:00)
    what: str  # answer | note | status
    field: str | None  # None: the whole intake (intake note, status)
    old: Any  # ABSENT when there was none
    new: Any  # ABSENT when removed
    author: str = ""  # who made the change ('' in entries from before authors were kept)


@dataclass(frozen=True)
class StoredResult:
    id: int
    at: str
    rulebase_name: str
    rulebase_version: str
    rulebase_hash: str
    result: Result


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _load(text: str | None) -> Any:
    return ABSENT if text is None else json.loads(text)


def _rulebase_ref(rulebase: Any) -> tuple[str, str, str]:
    """(name, version, hash) of a RuleBase or a result's RuleBaseRef."""
    digest = getattr(rulebase, "content_hash", None) or getattr(rulebase, "hash")
    return rulebase.name, rulebase.version, digest


# --------------------------------------------------------------------------- the store


class Store:
    """The saved intakes in one SQLite file (created, and migrated, when opened)."""

    def __init__(self, path: Path | str | None = None, *, author: str | None = None):
        self.path = Path(path).expanduser() if path else default_db_path()
        # who the audit trail names for every change made through this store
        self.author = (author or "").strip() or current_user()
        self.conn, self.read_only = _connect_private(self.path)
        self.conn.row_factory = sqlite3.Row
        self.damaged: str | None = None
        try:
            self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self.conn.execute("PRAGMA secure_delete = ON")  # deleted intakes are overwritten
            self.damaged = quick_check(self.conn)
            if not self.read_only and self.damaged is None:
                self._retry(lambda: self.conn.execute("PRAGMA journal_mode = WAL"))
                self.conn.execute("PRAGMA synchronous = FULL")
            self.conn.execute("PRAGMA foreign_keys = ON")
            if self.damaged is None and not self.read_only:
                self.migrate()
                _make_private(self.path)
            elif self.schema_version != SCHEMA_VERSION:
                self._writable()  # an old schema cannot be brought up to date: say why
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            if "malformed" in str(exc) or "not a database" in str(exc):
                raise StoreDamagedError(self.path, str(exc)) from exc
            if "readonly" in str(exc):
                raise StoreReadOnlyError(self.path, str(exc)) from exc
            raise DatabaseError(self.path, str(exc)) from exc
        except StoreError:
            self.conn.close()
            raise

    # -- plumbing

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @staticmethod
    def _retry(step: Any, attempts: int = 50) -> Any:
        """Run `step`, retrying while another process holds a lock SQLite's busy handler does not
        wait for (switching to WAL, a deadlock-avoiding upgrade)."""
        for attempt in range(attempts):
            try:
                return step()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc) or attempt == attempts - 1:
                    raise
                time.sleep(0.05 + 0.01 * attempt)

    def _writable(self) -> None:
        """Refuse to write to a store that failed the integrity check or cannot be written."""
        if self.damaged is not None:
            raise StoreDamagedError(self.path, self.damaged)
        if self.read_only:
            raise StoreReadOnlyError(self.path)

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taking the write lock up front (no upgrade deadlocks)."""
        self._writable()
        self._retry(lambda: self.conn.execute("BEGIN IMMEDIATE"))
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    @property
    def schema_version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self) -> int:
        """Bring the schema up to date, one step per transaction; returns the version."""
        while True:
            with self._write() as db:
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise SchemaTooNewError(self.path, version, SCHEMA_VERSION)
                if version == SCHEMA_VERSION:
                    return version
                for statement in _statements(MIGRATIONS[version]):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {version + 1}")

    def _touch(self, db: sqlite3.Connection, ref: str, at: str) -> None:
        db.execute("UPDATE intake SET updated_at = ? WHERE ref = ?", (at, ref))

    def _require(self, db: sqlite3.Connection, ref: str) -> None:
        if db.execute("SELECT 1 FROM intake WHERE ref = ?", (ref,)).fetchone() is None:
            raise UnknownRefError(ref, self.path)

    def _audit(self, db: sqlite3.Connection, ref: str, at: str, what: str, field: str,
               old: str | None, new: str | None) -> None:
        db.execute("INSERT INTO audit (ref, at, field, old, new, what, author) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)", (ref, at, field, old, new, what, self.author))

    # -- intakes

    def create(self, ref: str, kind: Kind = "intake", rulebase: Any = None) -> IntakeRecord:
        """A new, empty intake under `ref`; records the rule base it starts with, and its language."""
        code = check_ref(ref)
        if kind not in KINDS:
            raise StoreError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
        if rulebase is None:
            raise StoreError("create() needs the rule base the intake starts with")
        name, version, digest = _rulebase_ref(rulebase)
        at = now()
        with self._write() as db:
            row = db.execute("SELECT kind FROM intake WHERE ref = ? COLLATE NOCASE",
                             (code,)).fetchone()
            if row is not None:
                raise DuplicateRefError(code, row["kind"])
            db.execute("INSERT INTO intake (ref, kind, created_at, updated_at, rulebase_name, "
                       "rulebase_version, rulebase_hash, lang) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (code, kind, at, at, name, version, digest, getattr(rulebase, "lang", "en")))
            self._audit(db, code, at, "status", "status", None, _dump("created"))
        record = self.get(code)
        assert record is not None
        return record

    _SELECT = """
        SELECT i.*,
               (SELECT count(*) FROM answer a WHERE a.ref = i.ref) AS answered,
               r.urgency AS urgency, r.rulebase_version AS result_rulebase_version
        FROM intake i
        LEFT JOIN result r ON r.id = (SELECT max(id) FROM result WHERE ref = i.ref)
    """

    @staticmethod
    def _record(row: sqlite3.Row) -> IntakeRecord:
        return IntakeRecord(**{k: row[k] for k in row.keys()})

    def get(self, ref: str) -> IntakeRecord | None:
        """The intake saved under `ref` (None when there is none)."""
        row = self.conn.execute(self._SELECT + " WHERE i.ref = ?", (ref,)).fetchone()
        return None if row is None else self._record(row)

    def require(self, ref: str) -> IntakeRecord:
        """Like `get`, but raises UnknownRefError."""
        record = self.get(ref)
        if record is None:
            raise UnknownRefError(ref, self.path)
        return record

    def list(self, kind: Kind | None = None) -> list[IntakeRecord]:
        """Saved intakes, most recently changed first, each with its latest urgency."""
        where, args = (" WHERE i.kind = ?", (kind,)) if kind else ("", ())
        rows = self.conn.execute(self._SELECT + where + " ORDER BY i.updated_at DESC, i.ref",
                                 args).fetchall()
        return [self._record(r) for r in rows]

    def latest_unfinished(self, kind: Kind) -> str | None:
        """The reference code of the most recently changed unfinished intake of this kind."""
        row = self.conn.execute(
            "SELECT ref FROM intake WHERE kind = ? AND finished_at IS NULL "
            "ORDER BY updated_at DESC LIMIT 1", (kind,)).fetchone()
        return None if row is None else row["ref"]

    def finish(self, ref: str, *, not_asked: int = 0) -> None:
        """Mark the intake finished (it can still be changed; it is no longer "unfinished").
        `not_asked`: questions that apply and were not asked; the audit trail then says the
        intake was finished early."""
        at = now()
        status = f"finished early ({not_asked} not asked)" if not_asked else "finished"
        with self._write() as db:
            self._require(db, ref)
            cur = db.execute("UPDATE intake SET finished_at = ?, updated_at = ? "
                             "WHERE ref = ? AND finished_at IS NULL", (at, at, ref))
            if cur.rowcount:
                self._audit(db, ref, at, "status", "status", _dump("open"), _dump(status))

    def reopen(self, ref: str) -> None:
        at = now()
        with self._write() as db:
            self._require(db, ref)
            cur = db.execute("UPDATE intake SET finished_at = NULL, updated_at = ? "
                             "WHERE ref = ? AND finished_at IS NOT NULL", (at, ref))
            if cur.rowcount:
                self._audit(db, ref, at, "status", "status", _dump("finished"), _dump("open"))

    def delete(self, ref: str) -> None:
        """Remove the intake with its answers, notes, results and audit trail."""
        with self._write() as db:
            self._require(db, ref)
            db.execute("DELETE FROM intake WHERE ref = ?", (ref,))

    # -- answers

    def answers(self, ref: str) -> dict[str, Any]:
        """field -> value, in the order first answered (None = asked, not known)."""
        rows = self.conn.execute("SELECT field, value FROM answer WHERE ref = ? ORDER BY seq",
                                 (ref,)).fetchall()
        return {r["field"]: json.loads(r["value"]) for r in rows}

    def history(self, ref: str) -> list[str]:
        """The answered fields in the order first answered."""
        return list(self.answers(ref))

    def set_answer(self, ref: str, field: str, value: Any) -> bool:
        """Save one answer (committed before returning). Returns False when unchanged."""
        new = _dump(value)
        at = now()
        with self._write() as db:
            self._require(db, ref)
            row = db.execute("SELECT value FROM answer WHERE ref = ? AND field = ?",
                             (ref, field)).fetchone()
            if row is not None and row["value"] == new:
                return False
            if row is None:
                seq = db.execute("SELECT coalesce(max(seq), 0) + 1 FROM answer WHERE ref = ?",
                                 (ref,)).fetchone()[0]
                db.execute("INSERT INTO answer (ref, field, value, seq, answered_at) "
                           "VALUES (?, ?, ?, ?, ?)", (ref, field, new, seq, at))
            else:
                db.execute("UPDATE answer SET value = ?, answered_at = ? WHERE ref = ? AND field = ?",
                           (new, at, ref, field))
            self._audit(db, ref, at, "answer", field, row["value"] if row else None, new)
            self._touch(db, ref, at)
        return True

    def clear_answer(self, ref: str, field: str) -> bool:
        """Remove an answer (the question becomes unasked). Returns False when there was none."""
        at = now()
        with self._write() as db:
            self._require(db, ref)
            row = db.execute("SELECT value FROM answer WHERE ref = ? AND field = ?",
                             (ref, field)).fetchone()
            if row is None:
                return False
            db.execute("DELETE FROM answer WHERE ref = ? AND field = ?", (ref, field))
            self._audit(db, ref, at, "answer", field, row["value"], None)
            self._touch(db, ref, at)
        return True

    # -- notes

    def set_note(self, ref: str, field: str | None, text: str) -> bool:
        """The note on one question (`field`) or on the whole intake (None); empty text removes
        it. Returns False when unchanged."""
        key = field or INTAKE_NOTE
        text = text.strip()
        at = now()
        with self._write() as db:
            self._require(db, ref)
            row = db.execute("SELECT text FROM note WHERE ref = ? AND field = ?",
                             (ref, key)).fetchone()
            old = row["text"] if row else None
            if (old or "") == text:
                return False
            if text:
                db.execute("INSERT INTO note (ref, field, text, updated_at) VALUES (?, ?, ?, ?) "
                           "ON CONFLICT (ref, field) DO UPDATE SET text = excluded.text, "
                           "updated_at = excluded.updated_at", (ref, key, text, at))
            else:
                db.execute("DELETE FROM note WHERE ref = ? AND field = ?", (ref, key))
            self._audit(db, ref, at, "note", key, None if old is None else _dump(old),
                        _dump(text) if text else None)
            self._touch(db, ref, at)
        return True

    def notes(self, ref: str) -> dict[str | None, str]:
        """field -> note; the key None holds the note on the whole intake."""
        rows = self.conn.execute("SELECT field, text FROM note WHERE ref = ? ORDER BY field",
                                 (ref,)).fetchall()
        return {(r["field"] or None): r["text"] for r in rows}

    # -- results

    def save_result(self, ref: str, result: Result) -> int:
        """Keep a result (with the rule base name, version and hash it came from); returns its
        id. Earlier results are kept: `results(ref)` is the history."""
        name, version, digest = _rulebase_ref(result.rulebase)
        at = now()
        with self._write() as db:
            self._require(db, ref)
            cur = db.execute(
                "INSERT INTO result (ref, at, rulebase_name, rulebase_version, rulebase_hash, "
                "urgency, result) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (ref, at, name, version, digest, result.urgency.value if result.urgency else None,
                 result.model_dump_json()))
            return int(cur.lastrowid)

    def results(self, ref: str) -> list[StoredResult]:
        """Every stored result of the intake, oldest first."""
        rows = self.conn.execute("SELECT * FROM result WHERE ref = ? ORDER BY id", (ref,)).fetchall()
        return [StoredResult(r["id"], r["at"], r["rulebase_name"], r["rulebase_version"],
                             r["rulebase_hash"], Result.model_validate_json(r["result"]))
                for r in rows]

    def latest_stored_result(self, ref: str) -> StoredResult | None:
        row = self.conn.execute("SELECT * FROM result WHERE ref = ? ORDER BY id DESC LIMIT 1",
                                (ref,)).fetchone()
        if row is None:
            return None
        return StoredResult(row["id"], row["at"], row["rulebase_name"], row["rulebase_version"],
                            row["rulebase_hash"], Result.model_validate_json(row["result"]))

    def latest_result(self, ref: str) -> Result | None:
        stored = self.latest_stored_result(ref)
        return None if stored is None else stored.result

    # -- audit

    def audit(self, ref: str) -> list[AuditEntry]:
        """Every change to the intake, oldest first."""
        rows = self.conn.execute("SELECT * FROM audit WHERE ref = ? ORDER BY id", (ref,)).fetchall()
        return [AuditEntry(r["at"], r["what"],
                           None if r["what"] == "status" or r["field"] == INTAKE_NOTE else r["field"],
                           _load(r["old"]), _load(r["new"]), r["author"])
                for r in rows]


# --------------------------------------------------------------------------- privacy and integrity

FOLDER_MODE = 0o700
FILE_MODE = 0o600
SIDE_FILES = ("", "-wal", "-shm", "-journal")


def _make_private(path: Path) -> None:
    """The database and its WAL, SHM and journal files readable by their owner only (they hold
    health information), whatever the umask was when they were made."""
    for suffix in SIDE_FILES:
        side = Path(f"{path}{suffix}")
        try:
            st = side.stat()
            if st.st_uid == os.getuid() and st.st_mode & 0o777 != FILE_MODE:
                os.chmod(side, FILE_MODE)
        except (OSError, AttributeError):
            pass


def _private_app_folder(folder: Path) -> None:
    """supplycheck's own data folder (made 0755 by earlier versions) made owner-only. Any other
    folder (a --db elsewhere) is the user's to set."""
    try:
        own = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
        st = folder.stat()
        if folder.resolve() == own.resolve() and st.st_uid == os.getuid() and st.st_mode & 0o077:
            os.chmod(folder, FOLDER_MODE)
    except OSError:
        pass


def _connect_private(path: Path) -> tuple[sqlite3.Connection, bool]:
    """Open (creating when missing) the database: a new folder is made 0700, a new file 0600
    before SQLite writes anything to it; a file that cannot be written is opened read-only.
    Returns (connection, read_only)."""
    try:
        if not path.parent.exists():
            old = os.umask(0o077)
            try:
                path.parent.mkdir(parents=True, mode=FOLDER_MODE)
            finally:
                os.umask(old)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
            os.chmod(path, FILE_MODE)
        _private_app_folder(path.parent)
        read_only = not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK)
        if read_only:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                                   timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        else:
            old = os.umask(0o077)  # the WAL and SHM files SQLite makes next
            try:
                conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            finally:
                os.umask(old)
        return conn, read_only
    except FileExistsError:
        return _connect_private(path)  # another process made it first
    except (OSError, sqlite3.Error) as exc:
        raise DatabaseError(path, str(getattr(exc, "strerror", None) or exc)) from exc


def quick_check(conn: sqlite3.Connection) -> str | None:
    """SQLite's quick integrity check: None when the database is sound, else what is wrong."""
    try:
        rows = [r[0] for r in conn.execute("PRAGMA quick_check(5)").fetchall()]
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return None if rows == ["ok"] else " ".join(" ".join(str(r).split()) for r in rows)


@dataclass(frozen=True)
class Diagnosis:
    """What `supplycheck intake doctor` found: integrity problems and file modes fixed."""

    path: Path
    problems: list[str]
    modes_fixed: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def diagnose(path: Path) -> Diagnosis:
    """Run SQLite's full integrity check on the database at `path` (read-only) and make its
    files private; never writes to the database itself."""
    fixed = []
    for suffix in SIDE_FILES:
        side = Path(f"{path}{suffix}")
        try:
            mode = side.stat().st_mode & 0o777
            if mode != FILE_MODE and side.stat().st_uid == os.getuid():
                os.chmod(side, FILE_MODE)
                fixed.append(f"{side.name}: {oct(mode)[2:]} -> 600")
        except OSError:
            pass
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        return Diagnosis(path, [str(exc)], fixed)
    try:
        rows = [r[0] for r in conn.execute("PRAGMA integrity_check(20)").fetchall()]
        problems = [] if rows == ["ok"] else [str(r) for r in rows]
    except sqlite3.DatabaseError as exc:
        problems = [str(exc)]
    finally:
        conn.close()
    return Diagnosis(path, problems, fixed)


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (no `;` inside literals in our DDL)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


__all__ = [
    "ABSENT", "AuditEntry", "DB_ENV", "DatabaseError", "DuplicateRefError", "IntakeRecord",
    "InvalidRefError", "MIGRATIONS", "SCHEMA_V1", "SCHEMA_VERSION", "SchemaTooNewError", "Store",
    "StoreError", "StoredResult", "UnknownRefError", "check_ref", "default_db_path", "new_ref",
]
