"""Parquet and Arrow: intakes read row group by row group, results written with a stable
schema, and a RecordBatch scored in memory (so a pandas or polars frame can be scored too).

Needs pyarrow (`pip install 'supplycheck[parquet]'`); nothing else in supplycheck imports it.

Input columns are matched to intake fields as a CSV header is (identifying columns refused,
unknown ones warned about and ignored, `--drop-columns` honoured), and every value of every
column not dropped is checked for identifying data, as in a CSV file (a file with one is
refused, naming column and row). List fields are Arrow lists of strings (a `a;b` string works
too); numbers are Arrow integers or floats; null is not known. The "line" of a Parquet record
is its row number, 1 for the first row.

Results (`RESULT_SCHEMA`; a field that does not apply is null, as it is absent in JSONL)::

    id               string
    status           string                "scored" or "error"
    urgency          string                null for an error
    supply_picture   string                null for an error
    red_flags        list<string>          most urgent first
    factors          list<struct<id: string, category: string, evidence: list<string>>>
    perceived_signs  list<string>
    referrals        list<struct<to: string, urgency: string, reasons: list<string>>>
    next_steps       list<struct<code: string, text: string>>
    errors           list<struct<field: string, message: string>>   null when scored
    rulebase         struct<name: string, version: string, hash: string>
    safety_net       list<struct<code: string, text: string>>   null for an error (contract 1.1)
    source           struct<file: string, line: int64>   only with --with-source
"""

from __future__ import annotations

import itertools
from typing import IO, Any, Iterable, Iterator, NamedTuple

from ...errors import SupplycheckError
from ...privacy import all_plain
from ...rulebase import RuleBase
from .columns import ColumnPlan, merge_findings
from .problems import ARROW_SOURCE, IdentifyingColumnsError, IdentifyingValuesError, UnreadableInput
from .readers import LinesSeen, Record

try:
    import pyarrow as pa
    import pyarrow.parquet as pq
except ImportError:  # pragma: no cover - the [parquet] extra is not installed
    pa = pq = None  # type: ignore[assignment]

ROW_GROUP_ROWS = 20_000  # results per row group written: bounded memory, sensible file layout


def require_pyarrow(what: str) -> None:
    if pa is None:
        raise SupplycheckError(f"{what}: Parquet needs pyarrow; install it with pip install 'supplycheck[parquet]'")


def _schema(with_source: bool = False) -> "pa.Schema":
    text = pa.string()
    fields = [
        ("id", text), ("status", text), ("urgency", text), ("supply_picture", text),
        ("red_flags", pa.list_(text)),
        ("factors", pa.list_(pa.struct([("id", text), ("category", text), ("evidence", pa.list_(text))]))),
        ("perceived_signs", pa.list_(text)),
        ("referrals", pa.list_(pa.struct([("to", text), ("urgency", text), ("reasons", pa.list_(text))]))),
        ("next_steps", pa.list_(pa.struct([("code", text), ("text", text)]))),
        ("errors", pa.list_(pa.struct([("field", text), ("message", text)]))),
        ("rulebase", pa.struct([("name", text), ("version", text), ("hash", text)])),
        ("safety_net", pa.list_(pa.struct([("code", text), ("text", text)]))),
    ]
    if with_source:
        fields.append(("source", pa.struct([("file", text), ("line", pa.int64())])))
    return pa.schema(fields)


RESULT_SCHEMA = _schema() if pa is not None else None
RESULT_SCHEMA_WITH_SOURCE = _schema(True) if pa is not None else None


def results_batch(results: list[dict[str, Any]]) -> "pa.RecordBatch":
    """Result dicts (the contract's, as in JSONL) as a RecordBatch of RESULT_SCHEMA (with
    `source` when the results carry it)."""
    schema = RESULT_SCHEMA_WITH_SOURCE if results and "source" in results[0] else RESULT_SCHEMA
    return pa.RecordBatch.from_pylist(results, schema=schema)


def intake_schema(rulebase: RuleBase) -> "pa.Schema":
    """The Arrow schema of an intake table for this rule base: `id` and every field, integers
    as int64, numbers as float64, list fields as lists of strings, the rest strings."""
    from ...rulebase.models import FieldType

    types = {FieldType.integer: pa.int64(), FieldType.number: pa.float64(), FieldType.multi: pa.list_(pa.string())}
    return pa.schema([("id", pa.string())] + [(q.id, types.get(q.type, pa.string())) for q in rulebase.questions.values()])


class ArrowRows(NamedTuple):
    """A batch of intake rows as read (every column not dropped), for a worker to check and score."""

    first_row: int
    batch: "pa.RecordBatch"
    drop_columns: tuple[str, ...]


def plan_columns(source: str, names: list[str], rulebase: RuleBase, drop: Iterable[str]) -> tuple[ColumnPlan, list[str]]:
    """(plan, the columns to read: every one not dropped) for a table's column names; raises
    for identifying columns and for two columns that are the same field."""
    plan = ColumnPlan.for_rulebase(rulebase, drop)
    refused = plan.resolve(names)
    if refused:
        raise IdentifyingColumnsError(source, refused)
    seen: dict[str, str] = {}
    for name in names:
        target = plan.fields[name]
        if target is None:
            continue
        if target in seen:
            raise UnreadableInput(source, f"columns {seen[target]!r} and {name!r} are both {target!r}")
        seen[target] = name
    return plan, [name for name in names if plan.fields[name] is not None or name in plan.scan]


def rows(plan: ColumnPlan, source: str, chunk: ArrowRows) -> tuple[list[Record], LinesSeen]:
    """The Records of a batch of rows (nulls are unknown), and what the file's reader should
    report: every value is checked (into `plan.findings`, handed on and started again)."""
    batch = chunk.batch
    names = batch.schema.names
    known = len(plan.fields)
    refused = plan.resolve(names)
    if refused:
        raise IdentifyingColumnsError(source, refused)
    first = chunk.first_row
    used = []
    for i, name in enumerate(names):
        values = batch.column(i).to_pylist()
        if name in plan.scan:
            _check_column(plan, name, values, first)
        if plan.fields[name] is not None:
            used.append((plan.fields[name], values))
    fields = [field for field, _ in used]
    # A null stays in the record as None, as a JSON null does: the validator reads it as unknown.
    row_values = zip(*(values for _, values in used)) if used else itertools.repeat((), batch.num_rows)
    records = [Record(source, first + n, dict(zip(fields, row))) for n, row in enumerate(row_values)]
    findings, plan.findings = plan.findings, {}
    return records, LinesSeen(list(plan.fields)[known:], findings)


def _check_column(plan: ColumnPlan, name: str, values: list[Any], first: int) -> None:
    """Every value of one column checked for identifying data; a column of numbers in a number
    field cannot hold any, and a column whose text is all plain codes is cleared in one go."""
    strict, numeric = plan.scan[name]
    present = [v for v in values if v is not None and v != ""]
    if not present:
        return
    if numeric and all(type(v) in (int, float) for v in present):
        return
    if all(type(v) is str for v in present) and all_plain(present):
        return
    if all(type(v) is list for v in present):
        items = [item for v in present for item in v]
        if all(type(item) is str for item in items) and all_plain(items):
            return
    check = plan.check_value
    for n, value in enumerate(values):
        if value is not None and value != "":
            check(name, value, first + n)


class ParquetInput:
    """One Parquet file, read one row group at a time (memory stays flat)."""

    def __init__(self, path: str, source: str, rulebase: RuleBase, drop: Iterable[str]):
        require_pyarrow(source)
        try:
            self.file = pq.ParquetFile(path)
        except (pa.ArrowException, OSError) as exc:
            raise UnreadableInput(source, f"not a readable Parquet file ({exc})") from None
        self.source = source
        self.drop = tuple(drop)
        self.rows = self.file.metadata.num_rows
        self.plan, self.read = plan_columns(source, self.file.schema_arrow.names, rulebase, drop)
        self.done = 0

    def chunks(self, size: int) -> Iterator[ArrowRows]:
        if not self.read:  # no column to read at all: each row is still one (empty) intake
            for start in range(0, self.rows, size):
                n = min(size, self.rows - start)
                self.done = start + n
                yield ArrowRows(start + 1, pa.RecordBatch.from_pylist([{}] * n), self.drop)
            return
        for batch in self.file.iter_batches(batch_size=size, columns=self.read):
            first = self.done + 1
            self.done += batch.num_rows
            yield ArrowRows(first, batch, self.drop)


def score_batch(rulebase: RuleBase, data: "pa.RecordBatch | pa.Table", *, drop_columns: Iterable[str] = (),
                with_source: str | None = None) -> "pa.RecordBatch":
    """Score every row of a RecordBatch (or Table) of intakes in this process: a RecordBatch of
    RESULT_SCHEMA, one row per intake, in order. Columns are matched to fields as in a file;
    identifying columns are refused unless dropped, and a table with identifying values
    (IdentifyingValuesError, naming column and row, never the value). A pandas frame: `pa.RecordBatch.from_pandas(df,
    preserve_index=False)`; a polars frame: `df.to_arrow()`. With `with_source` (a name), each
    result's `source` is that name and the row number."""
    from .scoring import Scorer

    require_pyarrow("score_batch")
    source = with_source or ARROW_SOURCE
    drop = tuple(drop_columns)
    plan, read = plan_columns(source, list(data.schema.names), rulebase, drop)
    table = data if isinstance(data, pa.Table) else pa.Table.from_batches([data])
    records: list[Record] = []
    findings: dict = {}
    if read:
        for batch in table.select(read).to_batches():
            part, seen = rows(plan, source, ArrowRows(len(records) + 1, batch, drop))
            merge_findings(findings, seen.findings)
            records.extend(part)
    else:
        records = [Record(source, n + 1, {}) for n in range(table.num_rows)]
    if findings:
        raise IdentifyingValuesError(source, findings.values())
    results = Scorer(rulebase).score_many([(r.fields, r.problem) for r in records])
    if with_source:
        for record, result in zip(records, results):
            result["source"] = {"file": source, "line": record.line}
    schema = RESULT_SCHEMA_WITH_SOURCE if with_source else RESULT_SCHEMA
    return pa.RecordBatch.from_pylist(results, schema=schema)


def score_frame(frame: Any, rules: str | None = None, drop_columns: Iterable[str] = ()) -> Any:
    """Score a pandas DataFrame of intakes: a DataFrame of results with Arrow-backed columns
    (RESULT_SCHEMA), one row per intake, in order, with the frame's index. For
    `dask.dataframe.map_partitions` (see the README's Dask recipe); the rule base is loaded
    once per process from `rules` (default: the shipped one)."""
    import pandas as pd

    from ...rulebase import load_rulebase

    rulebase = _rulebases.get(rules)
    if rulebase is None:
        rulebase = _rulebases[rules] = load_rulebase(rules)
    batch = score_batch(rulebase, pa.Table.from_pandas(frame, preserve_index=False), drop_columns=drop_columns)
    out = batch.to_pandas(types_mapper=pd.ArrowDtype)
    out.index = frame.index
    return out


_rulebases: dict[str | None, RuleBase] = {}


def empty_results_frame() -> Any:
    """A zero-row DataFrame of results: the `meta` Dask needs for score_frame."""
    import pandas as pd

    return RESULT_SCHEMA.empty_table().to_pandas(types_mapper=pd.ArrowDtype)


class ParquetOutput:
    """Results written to a binary file as Parquet, ROW_GROUP_ROWS rows per row group."""

    def __init__(self, file: IO[bytes], with_source: bool = False):
        require_pyarrow("Parquet output")
        self.file = file
        self.schema = RESULT_SCHEMA_WITH_SOURCE if with_source else RESULT_SCHEMA
        self.writer: Any = None
        self.pending: list[pa.RecordBatch] = []
        self.rows = 0

    def write(self, batch: "pa.RecordBatch") -> None:
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.file, self.schema)
        self.pending.append(batch)
        self.rows += batch.num_rows
        if self.rows >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self.pending:
            self.writer.write_table(pa.Table.from_batches(self.pending), row_group_size=max(self.rows, 1))
        self.pending, self.rows = [], 0

    def close(self) -> None:
        if self.writer is None:  # no results: still a valid file, with the schema
            self.writer = pq.ParquetWriter(self.file, self.schema)
        self._flush()
        self.writer.close()
