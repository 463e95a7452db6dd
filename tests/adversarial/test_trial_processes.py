"""Processes: workers end with the main process even after kill -9; SIGTERM is a clean stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time



def children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(")")[-1].split()[0] != "Z"


def start(tmp_path, program, rules_dir, n: int = 30000) -> subprocess.Popen:
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps({"id": f"r{i}", "infant_age_days": i % 300}) + "\n" for i in range(n)))
    env = {**os.environ, "SUPPLYCHECK_RULES": str(rules_dir)}
    return subprocess.Popen([str(program), "batch", str(path), "-o", str(tmp_path / "out.jsonl"), "-w", "2", "-q"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for_workers(proc: subprocess.Popen, timeout: float = 30) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        workers = children(proc.pid)
        if len(workers) >= 2:
            return workers
        time.sleep(0.1)
    raise AssertionError("the workers did not start")


def test_workers_die_with_their_parent_after_kill_9(tmp_path, supplycheck_program, rules_dir):
    proc = start(tmp_path, supplycheck_program, rules_dir)
    workers = wait_for_workers(proc)
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 10
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(w) for w in workers)
    assert not (tmp_path / "out.jsonl").exists()


def test_sigterm_stops_cleanly_with_nothing_written(tmp_path, supplycheck_program, rules_dir):
    proc = start(tmp_path, supplycheck_program, rules_dir)
    workers = wait_for_workers(proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and b"Traceback" not in err and b"no output was written" in err
    assert not any(alive(w) for w in workers)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]
