"""Score a partitioned Parquet dataset on a Dask cluster (the README's recipe), and optionally
check the results against the single-process CLI's.

    python benchmarks/dask_score.py /tmp/parts /tmp/scored                       # a LocalCluster
    python benchmarks/dask_score.py /tmp/parts /tmp/scored --compare cli.parquet
    python benchmarks/dask_score.py /tmp/parts /tmp/scored --scheduler tcp://host:8786

Needs `pip install 'supplycheck[dask]'`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import dask.dataframe as dd
import pyarrow.parquet as pq
from distributed import Client, LocalCluster

from supplycheck.channels.batch.arrow import RESULT_SCHEMA, empty_results_frame, score_frame


def score_dataset(dataset: str, out: str, rules: str | None = None) -> int:
    """The recipe: read by partition (Arrow-backed columns keep integers integers), score each
    partition where it lives, write one result file per partition, in order."""
    intakes = dd.read_parquet(dataset, dtype_backend="pyarrow")
    results = intakes.map_partitions(score_frame, rules, meta=empty_results_frame())
    results.to_parquet(out, schema=RESULT_SCHEMA, write_index=False,
                       name_function=lambda i: f"part-{i:05d}.parquet")
    return intakes.npartitions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset")
    parser.add_argument("out")
    parser.add_argument("--rules", help="the rule base folder (default: the shipped one)")
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes (default 2)")
    parser.add_argument("--scheduler", help="address of a running cluster instead of a LocalCluster")
    parser.add_argument("--compare", type=Path, help="results of `supplycheck batch` (.parquet) to compare with")
    args = parser.parse_args()

    started = time.perf_counter()
    if args.scheduler:
        with Client(args.scheduler):
            partitions = score_dataset(args.dataset, args.out, args.rules)
    else:
        with LocalCluster(n_workers=args.workers, threads_per_worker=1, dashboard_address=None) as cluster, \
                Client(cluster):
            partitions = score_dataset(args.dataset, args.out, args.rules)
    seconds = time.perf_counter() - started
    rows = pq.ParquetDataset(args.out).read().num_rows
    print(f"{rows:,} results from {partitions} partitions in {seconds:.1f} s ({rows / seconds:,.0f} intakes/s)")
    if args.compare:
        same = identical(Path(args.out), args.compare)
        print(f"identical to {args.compare}, row by row and in order: {'yes' if same else 'NO'}")
        if not same:
            raise SystemExit(1)


def identical(folder: Path, single: Path) -> bool:
    """Whether the partition files of `folder`, in order, hold the rows of `single` (read a
    partition at a time, so memory stays small)."""
    import pyarrow as pa

    theirs = pq.ParquetFile(single).iter_batches(batch_size=1 << 16)
    buffer = pa.Table.from_batches([], schema=pq.ParquetFile(single).schema_arrow)
    rows = 0
    for part in sorted(folder.glob("*.parquet")):
        ours = pq.read_table(part)
        while buffer.num_rows < ours.num_rows:
            batch = next(theirs, None)
            if batch is None:
                return False
            buffer = pa.concat_tables([buffer, pa.Table.from_batches([batch])])
        if not ours.equals(buffer.slice(0, ours.num_rows).cast(ours.schema)):
            return False
        buffer = buffer.slice(ours.num_rows)
        rows += ours.num_rows
    return buffer.num_rows == 0 and next(theirs, None) is None and rows == pq.ParquetFile(single).metadata.num_rows


if __name__ == "__main__":
    main()
