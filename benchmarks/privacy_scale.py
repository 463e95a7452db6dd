"""The adversarial trial at scale (too slow for a test): a large file with one e-mail address
hidden near its end, in an unknown column, scored to standard output.

    .venv/bin/python benchmarks/privacy_scale.py [--rows 1000000]

Checks and prints: the exit code (3), that standard output stayed empty and no file was written,
that the message names the column and line but not the value, the time to the refusal and the
peak memory of the process tree (sampled from /proc), which must stay flat with the row count.
It then times the same file without the e-mail address, to show what the value checks cost.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SECRET = "jane.doe@example.org"
SUPPLYCHECK = Path(sys.executable).with_name("supplycheck")


def tree_rss_kb(pid: int) -> int:
    """Resident memory of `pid` and its children, in KiB."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def run(args: list[str], cwd: Path) -> tuple[int, bytes, bytes, float, int]:
    started = time.perf_counter()
    proc = subprocess.Popen([str(SUPPLYCHECK), *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = 0
    out_chunks = []
    os.set_blocking(proc.stdout.fileno(), False)
    while proc.poll() is None:
        peak = max(peak, tree_rss_kb(proc.pid))
        chunk = proc.stdout.read()
        if chunk:
            out_chunks.append(chunk)
        time.sleep(0.2)
    rest = proc.stdout.read() or b""
    return proc.returncode, b"".join(out_chunks) + rest, proc.stderr.read(), time.perf_counter() - started, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "big.csv"
        hidden = args.rows - 10
        with open(path, "w") as f:
            f.write("id,infant_age_days,feeds_per_day,concerns,misc\n")
            for i in range(args.rows):
                f.write(f"r{i},{i % 300},8,breasts_soft,{SECRET if i == hidden else 'ok'}\n")
        code, out, err, seconds, peak = run(["batch", "big.csv", "-o", "-", "-q"], folder)
        message = err.decode("utf-8", "replace")
        print(f"{args.rows:,} rows, e-mail at line {hidden + 2:,}: exit {code} in {seconds:.1f} s, "
              f"peak memory {peak / 1024:.0f} MiB, {len(out)} bytes on standard output")
        assert code == 3, message
        assert out == b"" and sorted(p.name for p in folder.iterdir()) == ["big.csv"]
        assert f"line {hidden + 2}" in message and "'misc'" in message and SECRET not in message
        with open(path, "w") as f:
            f.write("id,infant_age_days,feeds_per_day,concerns\n")
            for i in range(args.rows):
                f.write(f"r{i},{i % 300},8,breasts_soft\n")
        code, out, err, seconds, peak = run(["batch", "big.csv", "-o", "out.jsonl", "-q"], folder)
        print(f"{args.rows:,} clean rows: exit {code} in {seconds:.1f} s ({args.rows / seconds:,.0f} intakes/s), "
              f"peak memory {peak / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
