"""The installed `supplycheck` in a real pseudo-terminal (pexpect): what the screening and the
intake end-to-end tests share."""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pexpect

SUPPLYCHECK = str(Path(sys.executable).with_name("supplycheck"))  # the venv running the tests
ENTER, DOWN, UP, LEFT, SPACE = "\r", "\x1b[B", "\x1b[A", "\x1b[D", " "
CTRL_C, CTRL_D = "\x03", "\x04"


class PtySession:
    """One `supplycheck` process in a pseudo-terminal of the given size."""

    def __init__(self, *args: str, db: Path, timeout: float = 20, columns: int = 80, lines: int = 30,
                 env: dict | None = None):
        # pexpect does not answer cursor-position requests: without NO_CPR prompt_toolkit would
        # wait for the answer after every prompt.
        full_env = dict(os.environ, SUPPLYCHECK_DB=str(db), TERM="xterm-256color",
                        COLUMNS=str(columns), LINES=str(lines), PROMPT_TOOLKIT_NO_CPR="1")
        full_env.pop("NO_COLOR", None)
        for name in ("LC_ALL", "LC_MESSAGES"):  # English unless a test asks for a language
            full_env.pop(name, None)
        full_env["LANG"] = "C.UTF-8"
        full_env.update(env or {})
        self.started = time.perf_counter()
        self.child = pexpect.spawn(SUPPLYCHECK, list(args), env=full_env, encoding="utf-8",
                                   dimensions=(lines, columns), timeout=timeout)
        self.transcript: list[str] = []
        self.child.logfile_read = _Collect(self.transcript)

    def expect(self, pattern: str) -> float:
        """Wait for `pattern` (a regular expression); the time it took."""
        start = time.perf_counter()
        self.child.expect(pattern)
        return time.perf_counter() - start

    def send(self, keys: str) -> None:
        self.child.send(keys)

    def finish(self) -> int:
        self.child.expect(pexpect.EOF)
        self.child.close()
        return self.child.exitstatus

    @property
    def text(self) -> str:
        return "".join(self.transcript)

    @property
    def plain(self) -> str:
        """The transcript without terminal escape sequences."""
        return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]|\r", "", self.text)


class _Collect:
    def __init__(self, into: list[str]):
        self.into = into

    def write(self, data: str) -> None:
        self.into.append(data)

    def flush(self) -> None:
        pass
