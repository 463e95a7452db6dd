"""How fast the screening feels, measured as a parent meets it: the installed `supplycheck` in a
real pseudo-terminal.

    .venv/bin/python benchmarks/screen_bench.py [--runs 5] [--scenario soft_breasts_10_weeks]

Prints:
- launch to first question: from spawning the command until the first question's text is on
  the screen (median and worst of --runs launches);
- answer to next question: from sending an answer's keys until the next question's text is on
  the screen, over a whole scripted screening (median, p95, worst).

Targets (2-core machine): first question within 1.0 s; next question within 50 ms.
prompt_toolkit's cursor-position request is switched off (PROMPT_TOOLKIT_NO_CPR=1) because
pexpect does not answer it; a real terminal answers it at once.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import yaml  # noqa: E402

from screen_driver import CTRL_C, ENTER, Pty, plan, question_pattern  # noqa: E402
from supplycheck import load_rulebase  # noqa: E402

FIRST_QUESTION_TARGET = 1.0
NEXT_QUESTION_TARGET = 0.050


def launch_times(runs: int, steps) -> list[float]:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            term = Pty(db=Path(tmp) / "bench.db")
            term.child.delaybeforesend = None
            term.expect(question_pattern(steps[0]))
            times.append(time.perf_counter() - start)
            term.send(CTRL_C)
            term.finish()
    return times


def answer_latencies(steps) -> list[float]:
    latencies = []
    with tempfile.TemporaryDirectory() as tmp:
        term = Pty(db=Path(tmp) / "bench.db")
        term.child.delaybeforesend = None
        term.expect(question_pattern(steps[0]))
        for step, following in zip(steps, steps[1:]):
            start = time.perf_counter()
            term.send(step.keys)
            if step.red_flags:  # a red-flag panel and its question come first: not measured
                term.expect("arry on with the questions")
                term.send(ENTER)
                term.expect(question_pattern(following))
                continue
            term.expect(question_pattern(following))
            latencies.append(time.perf_counter() - start)
        term.send(steps[-1].keys)
        term.expect("ave this summary")
        term.send(ENTER)
        term.finish()
    return latencies


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scenario", default="soft_breasts_10_weeks")
    args = parser.parse_args()

    rulebase = load_rulebase()
    scenario = yaml.safe_load((ROOT / "examples" / "answers" / f"{args.scenario}.yaml").read_text())
    steps = plan(rulebase, scenario)

    launches = launch_times(args.runs, steps)
    latencies = answer_latencies(steps)
    ms = lambda s: f"{s * 1000:.0f} ms"  # noqa: E731
    first_ok = statistics.median(launches) <= FIRST_QUESTION_TARGET
    next_ok = statistics.median(latencies) <= NEXT_QUESTION_TARGET
    print(f"launch to first question ({len(launches)} launches): median {statistics.median(launches):.2f} s, "
          f"worst {max(launches):.2f} s  [target {FIRST_QUESTION_TARGET:.1f} s: {'ok' if first_ok else 'MISSED'}]")
    print(f"answer to next question ({len(latencies)} answers, {args.scenario}): "
          f"median {ms(statistics.median(latencies))}, p95 {ms(p95(latencies))}, worst {ms(max(latencies))}  "
          f"[target {ms(NEXT_QUESTION_TARGET)}: {'ok' if next_ok else 'MISSED'}]")
    return 0 if first_ok and next_ok else 1


if __name__ == "__main__":
    sys.exit(main())
