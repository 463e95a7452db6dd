"""A whole run: read every input, score, write, summarise.

A refused or failed run writes nothing anywhere: results go to a temporary file that becomes
the output only at the end (for standard output, an unnamed temporary file copied out at the
end, so memory stays flat), and the summary file is written only after the results.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator, Sequence

from ...rulebase import RuleBase
from .problems import DEFAULT_CHUNK_SIZE, STDIN, STDIN_NAME, UnreadableInput
from .readers import IntakeReader
from .summary import IdCheck, Summary
from .workers import _chunks, _score_chunks, default_workers
from .writers import AtomicFile, OutputError, csv_header, output_format

Progress = Callable[[int, int, "int | None"], None]  # (records done, bytes done, total bytes)


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file: the same path once symbolic links are resolved, or
    the same file on disk (a hard link)."""
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_paths(inputs: Sequence[str | Path], outputs: dict[str, str | Path | None]) -> None:
    """Every path a run writes (`outputs`: what -> path, and their temporary files) differs
    from every input and from each other; raises OutputError naming the clash."""
    written: list[tuple[str, Path]] = []
    for what, path in outputs.items():
        if path is None or str(path) == STDIN:
            continue
        p = Path(path)
        written += [(what, p), (f"{what}'s temporary file", AtomicFile(p).temp)]
    for what, path in written:
        for source in inputs:
            if str(source) != STDIN and _same_file(path, Path(source)):
                raise OutputError(f"{path}: the {what} would overwrite the input {source}")
    for i, (what, path) in enumerate(written):
        for other, path2 in written[i + 1:]:
            if _same_file(path, path2):
                raise OutputError(f"{path}: the {what} and the {other} would be the same file")


class _StdoutAtEnd:
    """Standard output written only when the run succeeds: results go to an unnamed temporary
    file (mode 0600, removed by the system whatever happens), copied out at the end."""

    def __init__(self, stream: IO[str] | None):
        self.stream = stream
        self.file: IO[bytes] | None = None

    def __enter__(self) -> IO[bytes]:
        try:
            self.file = tempfile.TemporaryFile("w+b")
        except OSError as exc:
            raise OutputError(f"cannot create a temporary file for standard output: {exc.strerror or exc}") from None
        return self.file

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        assert self.file is not None
        with self.file:
            if exc_type is not None:
                return
            self.file.flush()
            self.file.seek(0)
            out = self.stream or sys.stdout
            out.flush()
            target = getattr(out, "buffer", None)
            if target is not None:
                shutil.copyfileobj(self.file, target, 1 << 16)
                target.flush()
            else:  # a text stream only (a test's)
                shutil.copyfileobj(io.TextIOWrapper(self.file, encoding="utf-8", newline=""), out, 1 << 16)
            out.flush()


def score_files(inputs: Sequence[str | Path], output: str | Path, rulebase: RuleBase, *,
                workers: int | None = None, drop_columns: Iterable[str] = (),
                chunk_size: int = DEFAULT_CHUNK_SIZE, on_warning: Callable[[str], None] | None = None,
                on_progress: Progress | None = None, stdin: IO[bytes] | None = None,
                stdout: IO[str] | None = None, summary_path: str | Path | None = None,
                with_source: bool = False, fmt: str | None = None) -> Summary:
    """Score every record of `inputs` into `output` (`.jsonl`, `.csv`, `.parquet`, or `-` for
    JSONL on standard output), one result per record, in order, and return the summary (also
    written as JSON to `summary_path` when given). With `with_source`, each result has a
    `source`: the file and line it comes from.

    `fmt` overrides the output's extension: `fhir` writes one FHIR resource a line.
    Every input is checked first (readable, no identifying columns), and every value as it is
    read: a refused run writes nothing. The output appears only when complete. Ids used more
    than once, records without an id and files without any intake are warned about.
    """
    if not inputs:
        raise UnreadableInput("(no input)", "give at least one input file")
    fmt = fmt or output_format(output)
    if sum(str(p) == STDIN for p in inputs) > 1:
        raise UnreadableInput(STDIN_NAME, "standard input can be read only once")
    check_paths(inputs, {"output": output, "summary": summary_path})
    if summary_path is not None and not Path(summary_path).parent.is_dir():
        raise OutputError(f"{summary_path}: the folder {str(Path(summary_path).parent)!r} does not exist")
    drop = tuple(drop_columns)
    readers = [IntakeReader(p, rulebase, drop_columns=drop, on_warning=on_warning, stdin=stdin)
               for p in inputs]
    for reader in readers:
        reader.check()
    total = None if any(r.is_stdin for r in readers) else sum(r.size or 0 for r in readers)
    workers = default_workers() if workers is None else max(1, workers)

    def chunks() -> Iterator[tuple[str, Any, tuple[IntakeReader, int, int]]]:
        before = 0
        for reader in readers:
            if reader.format == "jsonl" and reader.form is None:  # parsed by the workers
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
    sink = _StdoutAtEnd(stdout) if str(output) == STDIN else AtomicFile(output, binary=True)
    with _writing(output), sink as out, \
            contextlib.closing(_score_chunks(rulebase, chunks(), fmt, workers, with_source)) as scored:
        if fmt == "parquet":
            from .arrow import ParquetOutput
            parquet = ParquetOutput(out, with_source)
            write: Callable[[Any], Any] = parquet.write
        else:
            write = out.write
        if fmt == "csv":
            out.write(csv_header(with_source))
        done = 0
        current: IntakeReader | None = None
        for (reader, last_line, position), n, rendered, part, seen in scored:
            if reader is not current:
                if current is not None and current.findings:
                    current.finish()  # refuses the file: identifying values were found in it
                current = reader
            if seen is not None:
                reader.saw(seen, last_line)
            if reader.findings:  # refused at the end of the file; nothing of it is written
                continue
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
    if summary_path is not None:
        data = {"inputs": [str(p) for p in inputs], "output": str(output),
                "rulebase": {"name": rulebase.name, "version": rulebase.version}, **summary.to_dict()}
        with _writing(summary_path), AtomicFile(summary_path, binary=True) as f:
            # A lone surrogate (read from a JSON escape) is written back as that escape.
            f.write((json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8", "backslashreplace"))
    return summary


@contextlib.contextmanager
def _writing(path: str | Path) -> Iterator[None]:
    """A disk that is full or read-only while writing `path` becomes an OutputError (a closed
    pipe stays a BrokenPipeError: the reader stopped, nothing is wrong)."""
    try:
        yield
    except (BrokenPipeError, OutputError):
        raise
    except OSError as exc:
        if exc.filename is not None and not str(exc.filename).endswith(".partial") and exc.filename != str(path):
            raise  # not the output: an input that cannot be read
        name = "standard output" if str(path) == STDIN else str(path)
        raise OutputError(f"{name}: cannot write: {exc.strerror or exc}; nothing was written") from None
