"""Drive `supplycheck intake ...` in a real pseudo-terminal (pexpect), as a consultant would."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pexpect

SUPPLYCHECK = str(Path(sys.executable).with_name("supplycheck"))
DOWN, UP, LEFT, ENTER = "\x1b[B", "\x1b[A", "\x1b[D", "\r"


class Terminal:
    """One `supplycheck` process in a pseudo-terminal, 110 columns wide."""

    def __init__(self, *args: str, db: Path, timeout: float = 20):
        # pexpect does not answer cursor-position requests: without NO_CPR prompt_toolkit waits
        # a second for the answer after every prompt.
        env = dict(os.environ, SUPPLYCHECK_DB=str(db), TERM="xterm", COLUMNS="110", LINES="40",
                   PROMPT_TOOLKIT_NO_CPR="1")
        env.pop("NO_COLOR", None)
        self.child = pexpect.spawn(SUPPLYCHECK, list(args), env=env, encoding="utf-8",
                                   dimensions=(40, 110), timeout=timeout)
        self.transcript: list[str] = []
        self.child.logfile_read = _Collect(self.transcript)

    def wait(self, pattern: str) -> None:
        """Wait for `pattern` (a regular expression), then let the prompt settle."""
        self.child.expect(pattern)
        time.sleep(0.15)

    def send(self, keys: str) -> None:
        self.child.send(keys)

    def answer(self, field: str, keys: str) -> None:
        """Wait for the question with this field id and answer it."""
        self.wait(rf"\[{field}\]")
        self.send(keys)

    def finish(self) -> int:
        self.child.expect(pexpect.EOF)
        self.child.close()
        return self.child.exitstatus

    @property
    def text(self) -> str:
        return "".join(self.transcript)


class _Collect:
    def __init__(self, into: list[str]):
        self.into = into

    def write(self, data: str) -> None:
        self.into.append(data)

    def flush(self) -> None:
        pass
