"""Benchmark `supplycheck batch` end to end, next to the durable_rules engine alone and the
plain-Python oracle, on the same generated intakes.

    python benchmarks/batch_bench.py                       # 20k, 50k and 200k intakes (JSONL)
    python benchmarks/batch_bench.py --sizes 50000 --workers 2
    python benchmarks/batch_bench.py --make 1000000 --out /tmp/intakes.parquet          # a file to try
    python benchmarks/batch_bench.py --make 1000000 --out /tmp/parts --partitions 8     # a dataset
    python benchmarks/batch_bench.py --make 200000 --broken 5 --out trial.csv

Intakes are contract-valid and as fully answered as a clinic's export: about 95% of the fields
that apply are answered (plausible values: most babies thriving, a minority with warning signs).
For each size the real command (`supplycheck batch FILE.jsonl -o OUT.jsonl --quiet`) runs in a
subprocess; the benchmark reports intakes/s, the peak memory of the whole process tree (the
main process and its workers, sampled from /proc) and the CPU time per intake of all those
processes (which, unlike intakes/s, hardly changes when other work shares the machine). Then,
in this process on one core and on the same intakes: the durable_rules engine alone on
pre-validated facts (`engine.matching_rules_many`), and the plain-Python oracle
(tests/oracle.py). "end to end / engine alone" compares CPU time per intake.

Targets (2 cores): at least 6,000 intakes/s end to end for 50,000 intakes (aim: 10,000);
peak memory for 200,000 intakes within 1.3 times that for 20,000.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules"
SUPPLYCHECK = Path(sys.executable).parent / "supplycheck"

ANSWERED = 0.95  # a field that applies is answered this often (real exports are nearly complete)
YN = {"no": 90, "yes": 7, "unsure": 3}
CONCERNS = ["breasts_soft", "no_leaking", "feeds_more_often", "feeds_shorter", "fussy_or_unsettled",
            "takes_bottle_after_feeds", "little_milk_when_pumping", "no_letdown_sensation",
            "slower_growth_after_3_months", "wakes_at_night", "wants_to_suck_after_feeds",
            "fewer_stools_after_6_weeks", "baby_not_gaining", "few_wet_diapers"]
LIST_FIELDS = ("infant_conditions", "breast_features", "breast_surgery", "medications", "herbs",
               "conditions", "concerns")


def _pick(rng: random.Random, weights: dict) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


def _one_or_none(rng: random.Random, p_none: float, codes: list[str]) -> list[str]:
    return ["none"] if rng.random() < p_none else [rng.choice(codes)]


def make_intake(rng: random.Random, i: int) -> dict:
    """One contract-valid intake (field names and values from the intake contract)."""
    r: dict = {"id": f"b-{i:07d}"}  # an opaque code (a long run of digits would look like a phone number)

    def maybe(p: float, name: str, value) -> None:
        if rng.random() < max(p, ANSWERED):
            r[name] = value() if callable(value) else value

    band = rng.random()
    age = rng.randint(0, 13) if band < .3 else rng.randint(14, 89) if band < .7 else rng.randint(90, 365)
    maybe(.97, "infant_age_days", age)
    maybe(.8, "gestational_age_weeks", lambda: rng.randint(37, 41) if rng.random() < .9 else rng.randint(30, 36))
    maybe(.8, "multiple_birth", lambda: _pick(rng, {"no": 97, "yes": 2, "unsure": 1}))
    birth = int(min(5000, max(1500, rng.gauss(3400, 500))))
    maybe(.85, "birth_weight_g", birth)
    if age < 14:
        current = birth * (1 - rng.uniform(0, .11)) + max(0, age - 5) * rng.uniform(10, 40)
    else:
        current = birth + (age - 10) * rng.uniform(10, 35)
    maybe(.7, "current_weight_g", round(min(current, 24000)))
    if "current_weight_g" in r:
        maybe(.5, "weight_age_days", age - rng.randint(0, min(age, 7)))
    maybe(.3, "regained_birth_weight", lambda: _pick(rng, {"yes": 80, "no": 10, "unsure": 10}))
    maybe(.6, "professional_growth_concern", lambda: _pick(rng, YN))
    maybe(.85, "wet_diapers_per_day", lambda: rng.randint(5, 10) if rng.random() < .9 else rng.randint(0, 4))
    maybe(.5, "hours_since_wet_diaper", lambda: round(rng.uniform(.5, 6) if rng.random() < .95 else rng.uniform(6, 12), 1))
    maybe(.8, "stools_per_day", lambda: rng.randint(0, 8))
    maybe(.7, "stool_colour", lambda: _pick(rng, {"yellow": 75, "green_brown": 10, "black_tarry": 3,
                                                  "green_frothy": 5, "pale_chalky": 1, "other": 6}))
    for name in ("dark_urine_or_crystals", "baby_hard_to_wake", "baby_dry_mouth_or_sunken_soft_spot", "baby_fever"):
        maybe(.85, name, lambda: _pick(rng, {"no": 96, "yes": 2, "unsure": 2}))
    maybe(.7, "jaundice", lambda: _pick(rng, {"no": 85, "mild": 11, "worsening": 1.5, "unsure": 2.5}))
    maybe(.7, "swallowing_heard", lambda: _pick(rng, {"yes": 80, "no": 10, "unsure": 10}))
    maybe(.7, "settled_after_feeds", lambda: _pick(rng, {"mostly": 60, "sometimes": 30, "rarely": 10}))
    method = _pick(rng, {"breast_only": 60, "breast_and_formula": 25, "breast_and_expressed": 8,
                         "expressed_only": 4, "formula_only": 3})
    maybe(.95, "feeding_method", method)
    maybe(.85, "feeds_per_day", lambda: rng.randint(6, 12) if rng.random() < .9 else rng.randint(3, 6))
    maybe(.8, "feeding_schedule", lambda: _pick(rng, {"on_demand": 80, "scheduled": 8, "mixed": 12}))
    maybe(.7, "feed_length_limited", lambda: _pick(rng, {"no": 85, "yes": 10, "unsure": 5}))
    maybe(.6, "longest_gap_hours", lambda: round(rng.uniform(2, 6), 1))
    maybe(.8, "night_feeds", lambda: _pick(rng, {"yes": 85, "no": 15}))
    maybe(.7, "pacifier_use", lambda: _pick(rng, {"none": 50, "occasional": 40, "frequent": 10}))
    if "formula" in method:
        maybe(.9, "formula_feeds_per_day", lambda: rng.randint(1, 6))
        maybe(.7, "supplement_timing", lambda: _pick(rng, {"after_breastfeeds": 70, "instead_of_breastfeeds": 30}))
        maybe(.7, "supplement_reason", lambda: _pick(rng, {"medical_advice": 40, "own_choice": 60}))
    else:
        maybe(.2, "formula_feeds_per_day", 0)
    for name in ("latch_pain", "latch_difficulty", "sleepy_at_breast"):
        maybe(.8, name, lambda: _pick(rng, {"no": 75, "yes": 18, "unsure": 7}))
    maybe(.6, "tongue_tie", lambda: _pick(rng, {"no": 85, "suspected": 7, "diagnosed": 4, "unsure": 4}))
    maybe(.6, "infant_conditions", lambda: _one_or_none(rng, .92, [
        "heart_condition", "down_syndrome", "cleft_lip_or_palate", "low_muscle_tone", "neurological", "other"]))
    maybe(.7, "separated_from_baby", lambda: _pick(rng, {"no": 90, "yes": 10}))
    if "expressed" in method or rng.random() < .2:
        maybe(.8, "pump_sessions_per_day", lambda: rng.randint(1, 10))
        maybe(.6, "pumping_pain", lambda: _pick(rng, {"no": 85, "yes": 10, "unsure": 5}))
    maybe(.6, "solids_or_water_before_6_months", lambda: _pick(rng, {"no": 90, "yes": 10}))
    maybe(.6, "baby_chokes_at_letdown", lambda: _pick(rng, {"no": 85, "yes": 10, "unsure": 5}))
    maybe(.6, "breasts_often_overfull", lambda: _pick(rng, {"no": 85, "yes": 10, "unsure": 5}))
    maybe(.8, "milk_came_in", lambda: _pick(rng, {"yes": 85, "no": 5, "unsure": 10}))
    if r.get("milk_came_in") == "yes":
        maybe(.5, "milk_came_in_hours", lambda: rng.randint(36, 100))
    maybe(.6, "breast_growth_in_pregnancy", lambda: _pick(rng, {"yes": 85, "no": 5, "unsure": 10}))
    maybe(.5, "breast_features", lambda: _one_or_none(rng, .92, ["widely_spaced", "tubular", "very_asymmetric"]))
    maybe(.6, "breast_surgery", lambda: _one_or_none(rng, .93, [
        "reduction", "augmentation", "lumpectomy_or_biopsy", "nipple_surgery", "chest_radiation", "other"]))
    maybe(.8, "heavy_bleeding_now", lambda: _pick(rng, {"no": 97, "yes": 1.5, "unsure": 1.5}))
    maybe(.7, "severe_blood_loss_at_birth", lambda: _pick(rng, {"no": 95, "yes": 3, "unsure": 2}))
    maybe(.6, "hormonal_contraception", lambda: _pick(rng, {"none": 70, "progestin_only": 20,
                                                            "estrogen_containing": 5, "unsure": 5}))
    maybe(.6, "medications", lambda: _one_or_none(rng, .85, [
        "pseudoephedrine", "cabergoline", "bromocriptine", "estrogen", "methylergonovine", "diuretic",
        "high_dose_b6", "other"]))
    maybe(.5, "herbs", lambda: _one_or_none(rng, .9, ["sage", "peppermint", "parsley", "other"]))
    maybe(.7, "cigarettes_per_day", lambda: 0 if rng.random() < .9 else rng.randint(1, 20))
    maybe(.6, "alcohol_drinks_per_week", lambda: 0 if rng.random() < .7 else rng.randint(1, 7))
    maybe(.6, "conditions", lambda: ["none"] if rng.random() < .7 else rng.sample([
        "pcos", "hypothyroidism", "hyperthyroidism", "diabetes", "gestational_diabetes", "obesity",
        "infertility_treatment", "anaemia", "postnatal_depression"], rng.randint(1, 2)))
    maybe(.7, "pregnant_again", lambda: _pick(rng, {"no": 97, "yes": 1, "unsure": 2}))
    maybe(.6, "stress_or_pain_affects_letdown", lambda: _pick(rng, {"no": 80, "yes": 12, "unsure": 8}))
    if method == "formula_only":
        maybe(.8, "relactation_goal", lambda: _pick(rng, {"yes": 60, "no": 40}))
        maybe(.6, "weeks_since_stopped", lambda: rng.randint(0, 12))
    maybe(.9, "concerns", lambda: rng.sample(CONCERNS, rng.randint(1, 3)))
    return r


def intakes(n: int, seed: int = 2026):
    rng = random.Random(seed)
    for i in range(n):
        yield make_intake(rng, i)


def columns() -> list[str]:
    sample = list(intakes(2000, seed=1))
    seen: dict[str, None] = {"id": None}
    for record in sample:
        seen.update(dict.fromkeys(record))
    return list(seen)


def write_csv(path: Path, n: int, broken: int = 0, seed: int = 2026) -> None:
    """n intakes as CSV; with `broken`, that many rows are damaged (a cell missing, an
    unclosed quote, a value out of range), spread through the file."""
    cols = columns()
    damage = {int((k + 0.5) * n / broken): k % 3 for k in range(broken)} if broken else {}
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(cols)
        for i, record in enumerate(intakes(n, seed)):
            row = [";".join(v) if isinstance(v, list) else "" if v is None else str(v)
                   for v in (record.get(c) for c in cols)]
            kind = damage.get(i)
            if kind == 0:
                row = row[:-3]  # a short row
            elif kind == 1:
                f.write(",".join(row[:2]) + ',"' + ",".join(row[2:]) + "\n")  # an unclosed quote
                continue
            elif kind == 2:
                row[1] = "3 weeks"  # infant_age_days
            writer.writerow(row)


def write_jsonl(path: Path, n: int, seed: int = 2026) -> None:
    import orjson
    with open(path, "wb") as f:
        for record in intakes(n, seed):
            f.write(orjson.dumps(record) + b"\n")


def write_parquet(path: Path, n: int, partitions: int = 1, seed: int = 2026, row_group: int = 50_000) -> None:
    """n intakes as one Parquet file, or as a folder of `partitions` files (a dataset)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from supplycheck import load_rulebase
    from supplycheck.channels.batch.arrow import intake_schema

    schema = intake_schema(load_rulebase(RULES))
    if partitions > 1:
        path.mkdir(parents=True, exist_ok=True)
    per_part = -(-n // partitions)
    records = intakes(n, seed)
    for part in range(partitions):
        target = path / f"part-{part:03d}.parquet" if partitions > 1 else path
        with pq.ParquetWriter(target, schema) as writer:
            left = min(per_part, n - part * per_part)
            while left > 0:
                rows = [next(records) for _ in range(min(row_group, left))]
                writer.write_table(pa.Table.from_pylist(rows, schema=schema))
                left -= len(rows)


def check_valid(sample: int = 2000) -> None:
    """The generator must give contract-valid intakes only."""
    from supplycheck import evaluate, load_rulebase
    rulebase = load_rulebase(RULES)
    bad = [r for r in intakes(sample, seed=3) if evaluate(rulebase, r, explain=False).status != "scored"]
    if bad:
        raise SystemExit(f"the generator made {len(bad)} invalid intakes, e.g. "
                         f"{evaluate(rulebase, bad[0], explain=False).errors}")


def _tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and all its descendants, in kB (Linux /proc). Only the
    tree itself is read (each process's `children`), so sampling takes little of the CPU the
    measured run is using."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    stack.extend(int(c) for c in f.read().split())
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except (OSError, ValueError):
            pass
    return total


def run_batch(path: Path, out: Path, workers: int | None) -> tuple[float, int, float]:
    """(seconds, peak kB of the process tree, CPU seconds of all its processes) of one real
    `supplycheck batch` run."""
    args = [str(SUPPLYCHECK), "batch", str(path), "-o", str(out), "--quiet", "--rules", str(RULES)]
    if workers:
        args += ["--workers", str(workers)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_kb(proc.pid))
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    stderr = proc.stderr.read() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"supplycheck batch failed ({proc.returncode}): {stderr}")
    return seconds, peak, cpu


def count_lines(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))


def in_process_rates(n: int) -> float:
    """One core, in this process, on the same intakes: the engine alone on pre-validated facts,
    and the oracle. Returns the engine's CPU time per intake (seconds)."""
    from supplycheck import load_rulebase
    from supplycheck.core import engine
    from supplycheck.core.evaluate import facts_of
    from supplycheck.core.intake import parse_intake
    rulebase = load_rulebase(RULES)
    records = list(intakes(n, seed=2026))
    facts = [facts_of(rulebase, parse_intake(rulebase, r)) for r in records]
    engine.matching_rules_many(rulebase, facts[:200])  # compile the ruleset first
    started = time.process_time()
    engine.matching_rules_many(rulebase, facts)
    engine_cpu = (time.process_time() - started) / n
    print(f"durable_rules alone (pre-validated facts), one core: {1 / engine_cpu:>9,.0f} intakes/s of CPU time "
          f"({engine_cpu * 1e6:.0f} us/intake; {n:,} intakes)")
    sys.path.insert(0, str(ROOT / "tests"))
    from oracle import Oracle  # type: ignore[import-not-found]
    oracle = Oracle(RULES)
    started = time.process_time()
    for record in records:
        oracle.fired(record)
    oracle_cpu = (time.process_time() - started) / n
    print(f"oracle (plain Python), one core:                      {1 / oracle_cpu:>9,.0f} intakes/s of CPU time "
          f"({oracle_cpu * 1e6:.0f} us/intake)")
    return engine_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[20_000, 50_000, 200_000],
                        help="comma-separated numbers of intakes (default: 20000,50000,200000)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: the command's default)")
    parser.add_argument("--engine-sample", type=int, default=10_000, help="intakes for the one-core comparison")
    parser.add_argument("--keep", type=Path, help="keep the generated files in this folder")
    parser.add_argument("--make", type=int, help="only write this many intakes to --out (.csv, .jsonl, .parquet or a folder), and stop")
    parser.add_argument("--partitions", type=int, default=1, help="with --make: a folder of this many Parquet files")
    parser.add_argument("--broken", type=int, default=0, help="with --make of a CSV: damage this many rows")
    parser.add_argument("--out", type=Path, default=Path("intakes.csv"), help="with --make: where to write")
    args = parser.parse_args()

    if args.make:
        if args.partitions > 1 or args.out.suffix == ".parquet":
            write_parquet(args.out, args.make, args.partitions)
        elif args.out.suffix == ".jsonl":
            write_jsonl(args.out, args.make)
        else:
            write_csv(args.out, args.make, args.broken)
        print(f"wrote {args.make:,} intakes to {args.out}")
        return

    check_valid()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="supplycheck-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    load = os.getloadavg()[0]
    print(f"{platform.processor() or platform.machine()}, {len(os.sched_getaffinity(0))} cores, Python "
          f"{platform.python_version()}; workers: {args.workers or 'default'}; load average {load:.2f}"
          + ("  (other work is running: rates are lower than on an idle machine)" if load > 0.5 else ""))
    peaks: dict[int, int] = {}
    cpus: dict[int, float] = {}
    for n in args.sizes:
        path = folder / f"intakes_{n}.jsonl"
        if not path.exists():
            write_jsonl(path, n)
        out = folder / f"results_{n}.jsonl"
        seconds, peak, cpu = run_batch(path, out, args.workers)
        results = count_lines(out)
        assert results == n, f"{results} results for {n} intakes"
        peaks[n], cpus[n] = peak, cpu / n
        print(f"batch {n:>9,} intakes (JSONL -> JSONL), end to end: {seconds:6.1f} s  {n / seconds:>7,.0f} intakes/s  "
              f"peak memory {peak / 1024:6.1f} MB (all processes)  CPU {cpu / n * 1e6:4.0f} us/intake")
    if len(peaks) > 1:
        small, large = min(peaks), max(peaks)
        print(f"peak memory {large:,} vs {small:,} intakes: {peaks[large] / peaks[small]:.2f}x (target: at most 1.3x)")
    engine_cpu = in_process_rates(args.engine_sample)
    n = 50_000 if 50_000 in cpus else max(cpus)
    print(f"end to end / engine alone (CPU time per intake, {n:,} intakes): {cpus[n] / engine_cpu:.2f}")
    if not args.keep:
        for p in folder.iterdir():
            p.unlink()
        folder.rmdir()


if __name__ == "__main__":
    main()
