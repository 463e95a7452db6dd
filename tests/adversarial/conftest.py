"""The adversarial trial's tools: the real `supplycheck` command in a subprocess, and checks that
hold for every case (no traceback, the exit code, no identifying value anywhere).

Each case is a real file and a real process. Fixtures rather than imports, so the suite needs
nothing but pytest's own discovery.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import pytest

import supplycheck.cli  # noqa: F401  (imported once here: forked runs start at once)

ROOT = Path(__file__).resolve().parents[2]
RULES_DIR = ROOT / "rules"
SUPPLYCHECK = Path(sys.executable).with_name("supplycheck")

# Values that must never be seen again once they are in an input file.
SECRETS = {
    "email": "jane.doe@example.org",
    "phone": "07700 900123",
    "nhs": "943 476 5919",
    "ssn": "123-45-6789",
    "postcode": "SW1A 1AA",
    "zip": "90210-1234",
    "dob": "1990-02-03",
    "name": "Jane Example",
}


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def text(self) -> str:
        return self.stdout + self.stderr


class Trial:
    """Runs the command as a user would, in `folder`, and checks what every case must hold."""

    def __init__(self, folder: Path):
        self.folder = folder

    def run(self, *args: str, input: bytes | str | None = None, timeout: float = 60,
            env: dict[str, str] | None = None, exec: bool = False, stdout: int | None = None) -> Run:
        """The command in a process of its own: forked from this one (the same code, without
        paying for start-up again) or, with `exec`, the installed `supplycheck` program.
        `stdout`: a file descriptor to give it instead of a pipe (e.g. /dev/full)."""
        full_env = {**os.environ, "NO_COLOR": "1", "SUPPLYCHECK_RULES": str(RULES_DIR),
                    "SUPPLYCHECK_DB": str(self.folder / "store" / "intakes.db"), "COLUMNS": "100",
                    **(env or {})}
        full_env.pop("SUPPLYCHECK_DEBUG", None)
        data = input.encode() if isinstance(input, str) else (input or b"")
        if exec:
            proc = subprocess.run([str(SUPPLYCHECK), *args], input=data, capture_output=stdout is None,
                                  stdout=stdout, stderr=subprocess.PIPE if stdout is not None else None,
                                  cwd=self.folder, env=full_env, timeout=timeout)
            run = Run(proc.returncode, (proc.stdout or b"").decode("utf-8", "replace"),
                      proc.stderr.decode("utf-8", "replace"))
        else:
            run = _forked(list(args), data, full_env, self.folder, timeout, stdout)
        assert "Traceback" not in run.text and "Exception ignored" not in run.text, run.stderr
        return run

    def write(self, name: str, content: str | bytes) -> Path:
        path = self.folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")
        return path

    def files(self) -> list[str]:
        return sorted(p.name for p in self.folder.iterdir() if p.name != "store")

    def everything_written(self, run: Run, keep: Iterable[str] = ()) -> str:
        """Every output and message of a run: its stdout and stderr, and every file in the
        folder except the inputs named in `keep`."""
        texts = [run.stdout, run.stderr]
        for path in self.folder.rglob("*"):
            if path.is_file() and path.name not in keep:
                texts.append(path.read_bytes().decode("utf-8", "replace"))
        return "\n".join(texts)

    def assert_no_secret(self, run: Run, keep: Iterable[str], secrets: Iterable[str] = SECRETS.values()) -> None:
        written = self.everything_written(run, keep)
        for secret in secrets:
            assert secret not in written, secret

    def results_csv(self, name: str) -> list[dict]:
        with open(self.folder / name, newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))

    @staticmethod
    def results(path: Path) -> list[dict]:
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _forked(args: list[str], data: bytes, env: dict[str, str], cwd: Path, timeout: float,
            stdout_fd: int | None) -> Run:
    """`supplycheck ARGS` in a forked child with real standard streams (pipes), as `main()`
    runs it; returns its exit code and what it printed."""
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 70
        try:
            os.chdir(cwd)
            os.environ.clear()
            os.environ.update(env)
            os.dup2(in_r, 0)
            os.dup2(stdout_fd if stdout_fd is not None else out_w, 1)
            os.dup2(err_w, 2)
            for fd in (in_r, in_w, out_r, out_w, err_r, err_w):
                os.close(fd)
            sys.stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)))
            sys.stdout = io.TextIOWrapper(io.BufferedWriter(io.FileIO(1, "w", closefd=False)), line_buffering=False)
            sys.stderr = io.TextIOWrapper(io.BufferedWriter(io.FileIO(2, "w", closefd=False)), write_through=True)
            sys.argv = ["supplycheck", *args]
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            from supplycheck.cli import main

            try:
                main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
        finally:
            os._exit(code)
    for fd in (in_r, out_w, err_w):
        os.close(fd)
    chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}

    def drain(fd: int) -> None:
        while block := os.read(fd, 1 << 16):
            chunks[fd].append(block)

    readers = [threading.Thread(target=drain, args=(fd,), daemon=True) for fd in (out_r, err_r)]
    for t in readers:
        t.start()
    try:
        os.write(in_w, data) if data else None
    except BrokenPipeError:
        pass
    os.close(in_w)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise TimeoutError(f"supplycheck {' '.join(args)} did not finish in {timeout} s")
        time.sleep(0.01)
    for t in readers:
        t.join(timeout)
    os.close(out_r)
    os.close(err_r)
    code = os.waitstatus_to_exitcode(status)
    return Run(code, b"".join(chunks[out_r]).decode("utf-8", "replace"),
               b"".join(chunks[err_r]).decode("utf-8", "replace"))


@pytest.fixture
def secrets() -> dict[str, str]:
    return dict(SECRETS)


@pytest.fixture
def rules_dir() -> Path:
    return RULES_DIR


@pytest.fixture
def supplycheck_program() -> Path:
    return SUPPLYCHECK


@pytest.fixture
def trial(tmp_path) -> Trial:
    return Trial(tmp_path)
