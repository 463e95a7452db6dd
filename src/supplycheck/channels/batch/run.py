"""A whole run: read every input, score, write, summarise."""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator, Sequence

from ...rulebase import RuleBase
from .problems import DEFAULT_CHUNK_SIZE, STDIN, STDIN_NAME, InputError
from .readers import IntakeReader
from .summary import IdCheck, Summary
from .workers import _chunks, _score_chunks, default_workers
from .writers import AtomicFile, OutputError, _Unclosed, csv_header, output_format

Progress = Callable[[int, int, "int | None"], None]  # (records done, bytes done, total bytes)


def score_files(inputs: Sequence[str | Path], output: str | Path, rulebase: RuleBase, *,
                workers: int | None = None, drop_columns: Iterable[str] = (),
                chunk_size: int = DEFAULT_CHUNK_SIZE, on_warning: Callable[[str], None] | None = None,
                on_progress: Progress | None = None, stdin: IO[bytes] | None = None,
                stdout: IO[str] | None = None, with_source: bool = False) -> Summary:
    """Score every record of `inputs` into `output` (`.jsonl`, `.csv`, `.parquet`, or `-` for
    JSONL on standard output), one result per record, in order, and return the summary.
    With `with_source`, each result has a `source`: the file and line it comes from.

    Every input is checked first (readable, no identifying columns): a refused run writes
    nothing. The output file appears only when complete (see AtomicFile). Ids used more than
    once, records without an id and files without any intake are warned about.
    """
    if not inputs:
        raise InputError("(no input)", "give at least one input file")
    fmt = output_format(output)
    if sum(str(p) == STDIN for p in inputs) > 1:
        raise InputError(STDIN_NAME, "standard input can be read only once")
    drop = tuple(drop_columns)
    readers = [IntakeReader(p, rulebase, drop_columns=drop, on_warning=on_warning, stdin=stdin)
               for p in inputs]
    if str(output) != STDIN:
        target = Path(output).resolve()
        for reader in readers:
            if not reader.is_stdin and Path(reader.path).resolve() == target:
                raise OutputError(f"{output}: the output would overwrite an input")
    for reader in readers:
        reader.check()
    total = None if any(r.is_stdin for r in readers) else sum(r.size or 0 for r in readers)
    workers = default_workers() if workers is None else max(1, workers)

    def chunks() -> Iterator[tuple[str, Any, tuple[IntakeReader, int, int]]]:
        before = 0
        for reader in readers:
            if reader.format == "jsonl":  # parsed by the workers
                for lines in reader.line_chunks(chunk_size):
                    yield reader.source, lines, (reader, lines.lines[-1][0], before + reader.position())
            elif reader.format == "parquet":  # Arrow batches, converted by the workers
                for rows in reader.arrow_chunks(chunk_size):
                    yield reader.source, rows, (reader, rows.first_row, before + reader.position())
            else:
                for source, items in _chunks(reader, chunk_size):
                    yield source, items, (reader, items[-1][0], before + reader.position())
            before += reader.size or 0

    summary = Summary()
    ids = IdCheck()
    started = time.perf_counter()
    if str(output) == STDIN:
        sink = _Unclosed(stdout or sys.stdout)
    else:
        sink = AtomicFile(output, binary=fmt == "parquet")
    with sink as out, contextlib.closing(_score_chunks(rulebase, chunks(), fmt, workers, with_source)) as scored:
        if fmt == "parquet":
            from .arrow import ParquetOutput
            parquet = ParquetOutput(out, with_source)  # type: ignore[arg-type]
            write: Callable[[Any], Any] = parquet.write
        else:
            write = out.write
        if fmt == "csv":
            out.write(csv_header(with_source))
        done = 0
        for (reader, last_line, position), n, rendered, part, seen in scored:
            if seen is not None:
                reader.saw(seen, last_line)
            write(rendered)
            ids.add(reader.source, part.ids)
            part.ids = []
            summary.merge(part)
            reader.records += n
            done += n
            if on_progress is not None:
                on_progress(done, position, total)
        for reader in readers:
            reader.finish()
        if fmt == "parquet":
            parquet.close()
        summary.seconds = time.perf_counter() - started
    summary.warnings = [w for r in readers for w in r.warnings]
    for warning in ids.warnings():
        summary.warnings.append(warning)
        if on_warning is not None:
            on_warning(warning)
    summary.empty_inputs = [r.source for r in readers if r.records == 0]
    return summary
