"""Writing files so that nothing is ever half-written under the name a user gave: a reader sees
the old file or the whole new one, whatever happens (an error, Ctrl-C, kill -9, a full disk).

`AtomicFile` streams (batch results, however many); `write_atomic` writes one text at once.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import IO, Any

from ..errors import SupplycheckError


class OutputError(SupplycheckError, OSError):
    """An output that cannot be written where asked (a missing folder, no permission, a full
    disk, an input in the way), said in one sentence naming the path. It is an OSError too, so
    code that catches OSError around a write keeps doing so."""

    def __init__(self, message: str, reason: str | None = None):
        super().__init__(message)
        self.strerror = reason  # the system's own words, for code that reads OSError.strerror

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class AtomicFile:
    """A file that appears under its name only once it is complete: it is written to a hidden
    temporary file in the same folder (`temp`), which replaces the target at the end; on any
    error or interruption the temporary file is removed and the target is left untouched. A
    temporary file left by a process that was killed is removed by the next write.

    Text (UTF-8, newlines as written) unless `binary`; `mode` is the new file's permissions
    before the umask (0o600: only its owner may read it)."""

    def __init__(self, path: str | Path, *, binary: bool = False, mode: int = 0o666,
                 make_folder: bool = False, newline: str = ""):
        self.path = Path(path)
        self.binary = binary
        self.mode = mode
        self.make_folder = make_folder
        self.newline = newline
        self.temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.partial")
        self.file: IO[Any] | None = None

    def _remove_stale(self) -> None:
        """Remove temporary files left by a run that was killed (kill -9 leaves no time to)."""
        for stale in self.path.parent.glob(f".{self.path.name}.*.partial"):
            pid = stale.name[len(self.path.name) + 2:-len(".partial")]
            if pid.isdigit() and not _alive(int(pid)):
                with contextlib.suppress(OSError):
                    stale.unlink()

    def __enter__(self) -> IO[Any]:
        if self.make_folder:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise OutputError(f"{self.path}: cannot make its folder: {exc.strerror or exc}", exc.strerror) from None
        elif not self.path.parent.is_dir():
            raise OutputError(f"{self.path}: the folder {str(self.path.parent)!r} does not exist")
        self._remove_stale()
        try:
            fd = os.open(self.temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, self.mode)
        except OSError as exc:
            raise OutputError(f"{self.path}: cannot write: {exc.strerror or exc}", exc.strerror) from None
        self.file = open(fd, "wb") if self.binary else open(fd, "w", encoding="utf-8", newline=self.newline)
        return self.file

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        assert self.file is not None
        done = False
        try:
            if exc_type is None:
                self.file.flush()
                os.fsync(self.file.fileno())
                self.file.close()
                os.replace(self.temp, self.path)
                done = True
        finally:
            if not done:
                self.file.close()
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.temp)


def write_atomic(path: Path | str, text: str) -> None:
    """Write `text` to `path` (its folder made if needed, readable by its owner only) so that a
    reader sees the old file or the whole new one: a crash or Ctrl-C never leaves a partial
    file under that name."""
    with AtomicFile(path, mode=0o600, make_folder=True, newline="\n") as f:
        f.write(text)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
