"""`supplycheck batch`: score anonymised intake files (see supplycheck.channels.batch). This module only
parses options, shows progress and prints the summary; supplycheck.channels.batch does the work."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from types import FrameType
from typing import Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn, Progress, SpinnerColumn, TaskProgressColumn, TextColumn, TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from ..channels.batch import Summary, score_files
from ..channels.batch.problems import unit_of
from ..privacy import PrivacyError
from ..rulebase import RuleBase
from .common import EXIT_CODES_HELP, EXIT_FINDINGS, EXIT_INTERRUPTED, EXIT_PRIVACY, console, printable, rules_option
from .language import lang_option

TOP = 8  # factors and red flags listed in the summary
EXAMPLES = 10  # error records listed in the summary


class ProgressBar:
    """A rich progress bar on a terminal (records, records/s, ETA), nothing otherwise.
    Refreshed on each finished chunk rather than from a timer thread, so no thread is running
    when the worker processes are started."""

    def __init__(self, err: Console, enabled: bool):
        self.err = err
        self.progress: Progress | None = None
        if enabled:
            self.progress = Progress(
                SpinnerColumn(), TextColumn("Scoring"), BarColumn(), TaskProgressColumn(),
                TextColumn("{task.fields[records]:>9,} intakes"), TextColumn("{task.fields[rate]:>7,.0f}/s"),
                TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                console=err, auto_refresh=False, transient=False)
        self.task = None
        self.started = time.perf_counter()

    def __enter__(self) -> "ProgressBar":
        if self.progress is not None:
            self.progress.start()
            self.task = self.progress.add_task("scoring", total=None, records=0, rate=0.0)
            self.progress.refresh()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.progress is not None:
            self.progress.stop()

    def update(self, records: int, position: int, total: int | None) -> None:
        if self.progress is None:
            return
        rate = records / max(time.perf_counter() - self.started, 1e-9)
        self.progress.update(self.task, completed=position, total=total, records=records, rate=rate)
        self.progress.refresh()

    def warn(self, message: str) -> None:
        self.err.print(printable(f"warning: {message}"), markup=False, soft_wrap=True)


def _split(values: tuple[str, ...]) -> list[str]:
    return [c.strip() for v in values for c in v.split(",") if c.strip()]


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@click.command("batch", epilog=EXIT_CODES_HELP)
@click.argument("inputs", nargs=-1, required=True, metavar="INPUT...")
@click.option("-o", "--output", required=True, metavar="OUTPUT",
              help="Results: .jsonl (one result a line), .csv (flat columns) or .parquet; - for JSONL on standard output.")
@click.option("-w", "--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: the number of cores).")
@click.option("--drop-columns", "drop", multiple=True, metavar="COLUMN[,COLUMN...]",
              help="Drop these columns before anything is read from them (for example identifying ones). Repeatable.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "fhir"]), default=None,
              help="Output format (default: from OUTPUT's extension). fhir: one RiskAssessment a line "
                   "(an OperationOutcome for an error record).")
@click.option("--strict", is_flag=True, help="Exit with status 1 when any intake is an error or an input has no intakes.")
@click.option("--with-source", is_flag=True,
              help="Add to each result the file and line it comes from (`source`; source.file and source.line in CSV).")
@click.option("--summary", "summary_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the summary as JSON to this file.")
@click.option("--progress/--no-progress", default=None,
              help="Show a progress bar (default: when standard error is a terminal).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary; warnings still go to standard error.")
@lang_option(environment=False, help="Language of the human-readable `text` fields (codes never change); default English.")
@rules_option
def batch_command(rulebase: RuleBase, inputs: tuple[str, ...], output: str, workers: int | None,
                  drop: tuple[str, ...], strict: bool, with_source: bool, summary_path: Path | None,
                  progress: bool | None, quiet: bool, fmt: str | None) -> None:
    """Score anonymised intake files: one result per intake, in input order.

    INPUT is a .csv (header row, any column order, lists as a;b), .jsonl (one object a line),
    .json (an array) or .parquet (lists as Arrow lists) file, or - for JSONL on standard input.
    Exports of form tools are recognised by their content: FHIR QuestionnaireResponses (.json:
    one resource or a Bundle; .ndjson/.jsonl: one a line), REDCap raw CSV exports and
    ODK/KoboToolbox CSV exports of the forms `supplycheck export questionnaire` writes. A record
    with bad values, or a line that cannot be parsed, becomes an error result that says why
    (with its id where it can be read); the rest are still scored.

    Identifying data is refused: columns named for it (name, e-mail, phone, address, postcode,
    dates, health-service or record numbers, free text), and values that look like it in any
    column, id and unknown columns included (e-mail, phone, NHS or record number, postcode, ZIP
    code, full date; in id and unknown columns also names and free text). The refusal names
    column and line, never the value; remove them, or name the columns in --drop-columns. A
    refused run writes nothing, not even to standard output.

    Ids used twice and records without an id are warned about.

    Exit status: 0 every intake read (scored or error), 1 with --strict when any intake is an
    error or an input has no intakes, 2 a file cannot be read or the command is misused, 3
    refused for privacy, 4 the output cannot be written, 130 interrupted.

    CSV output has one row per intake; lists are joined with ';', and cells a spreadsheet would
    run as a formula start with a quote:

    \b
      id, status, urgency, supply_picture, red_flags, primary_factors, secondary_factors,
      factor_evidence (factor:field,field;...), perceived_signs, referrals (to:urgency;...),
      referral_reasons (to:reason,reason;...), next_steps (codes), safety_net (codes),
      error_fields, error_messages (joined with ' | '), rulebase.name, rulebase.version,
      rulebase.hash (with --with-source: source.file, source.line)

    Parquet output has the same fields as JSONL, with lists as Arrow lists (schema in
    docs/batch-results.md).
    """
    err = console(stderr=True)
    show = (err.is_terminal and not quiet) if progress is None else progress
    previous = signal.signal(signal.SIGTERM, _interrupt)  # clean up on `kill` as on Ctrl-C
    try:
        with ProgressBar(err, show) as bar:
            summary = score_files(list(inputs), output, rulebase, workers=workers,
                                  drop_columns=_split(drop), on_warning=bar.warn,
                                  on_progress=bar.update, summary_path=summary_path,
                                  with_source=with_source, fmt=fmt)
    except PrivacyError as exc:
        err.print(printable(f"supplycheck: {exc}"), markup=False, soft_wrap=True)
        names = ",".join(name for name, _ in getattr(exc, "columns", []) if not name.startswith("("))
        drop = f", or drop the columns with --drop-columns {names!r}" if names else ""
        err.print(printable(f"Remove them from the file{drop}. Nothing was written."), markup=False, soft_wrap=True)
        raise SystemExit(EXIT_PRIVACY)
    except KeyboardInterrupt:
        err.print("\nInterrupted: no output was written.")
        raise SystemExit(EXIT_INTERRUPTED)
    finally:
        signal.signal(signal.SIGTERM, previous)

    if not quiet:
        print_summary(console(stderr=output == "-"), summary, rulebase, output)
    if strict and (summary.errors or summary.empty_inputs):
        raise SystemExit(EXIT_FINDINGS)


def _pct(n: int, of: int) -> str:
    return f"{100 * n / of:.1f}%" if of else "-"


def _counts(title: str, counts: dict[str, int], of: int, label: Any = str) -> Table:
    table = Table(box=None, show_header=True, pad_edge=False, padding=(0, 2, 0, 0))
    table.add_column(title)
    table.add_column("intakes", justify="right")
    table.add_column("%", justify="right")
    for key, n in counts.items():
        table.add_row(label(key), f"{n:,}", _pct(n, of))
    return table


def print_summary(out: Console, summary: Summary, rulebase: RuleBase, output: str) -> None:
    """The summary for a person: counts, the commonest findings, and the errors explained."""
    s = summary
    rate = f"{s.records_per_second:,.0f} intakes/s"
    out.print(printable(f"Read {s.records:,} intakes in {s.seconds:.1f} s ({rate}): {s.scored:,} scored, "
                        f"{s.errors:,} error{'s' if s.errors != 1 else ''}. Results: {output}"), markup=False, soft_wrap=True)
    if s.empty_inputs:
        out.print(printable(f"No intakes in: {', '.join(s.empty_inputs)}"), markup=False, soft_wrap=True)
    if s.scored:
        data = s.to_dict()
        out.print()
        out.print(_counts("urgency", data["urgency"], s.scored))
        out.print()
        out.print(_counts("supply picture", data["supply_picture"], s.scored))
        factors = dict(list(data["factors"].items())[:TOP])
        if factors:
            def factor(code: str) -> str:
                entry = rulebase.codes.factors.get(code)
                return f"{code} ({entry.category.value})" if entry else code
            out.print()
            out.print(_counts("most common factors", factors, s.scored, factor))
        flags = dict(list(data["red_flags"].items())[:TOP])
        if flags:
            out.print()
            out.print(_counts("most common red flags", flags, s.scored))
    if s.errors:
        out.print()
        unreadable = f", {s.unreadable:,} of them lines that could not be read" if s.unreadable else ""
        shown = min(EXAMPLES, len(s.examples))
        out.print(f"Errors: {s.errors:,} intakes{unreadable}. "
                  f"{'The first ' + str(shown) if shown < s.errors else 'All'}:", markup=False)
        for example in s.examples[:EXAMPLES]:
            for item in example["errors"]:
                if item["field"] == "record":  # the message already says where
                    out.print(printable(f"  {item['message']}"), markup=False, soft_wrap=True)
                else:
                    who = f", id {example['id']}" if example.get("id") else ""
                    where = f"{example['source']} {unit_of(example['source'])} {example['line']}"
                    out.print(printable(f"  {where}{who}: {item['message']}"), markup=False, soft_wrap=True)
        if s.errors > shown:
            fields = ", ".join(f"{f} {n:,}" for f, n in s.error_fields.most_common(TOP))
            out.print(f"Errors by field: {fields}", markup=False, soft_wrap=True)

