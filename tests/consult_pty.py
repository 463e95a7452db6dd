"""Drive `supplycheck intake ...` in a real pseudo-terminal (pexpect), as a consultant would."""

from __future__ import annotations

import time
from pathlib import Path

from pty_session import DOWN, ENTER, LEFT, SUPPLYCHECK, UP, PtySession

__all__ = ["DOWN", "ENTER", "LEFT", "SUPPLYCHECK", "UP", "Terminal"]


class Terminal(PtySession):
    """One `supplycheck` process in a pseudo-terminal, 110 columns wide."""

    def __init__(self, *args: str, db: Path, timeout: float = 20):
        super().__init__(*args, db=db, timeout=timeout, columns=110, lines=40, env={"TERM": "xterm"})

    def wait(self, pattern: str) -> None:
        """Wait for `pattern` (a regular expression), then let the prompt settle."""
        self.expect(pattern)
        time.sleep(0.15)

    def pause(self) -> None:
        """Ctrl-C, then "Save and quit" (the first choice of the menu every prompt offers)."""
        self.send("\x03")
        self.wait("What now")
        self.send(ENTER)

    def answer(self, field: str, keys: str) -> None:
        """Wait for the question with this field id and answer it."""
        self.wait(rf"\[{field}\]")
        self.send(keys)
