"""Batch at scale on real files: Parquet in and out, Arrow in memory, a Dask cluster, what is kept
of records that cannot be read, ids, sources and empty inputs. See supplycheck.channels.batch.arrow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_batch import invoke, make_records, read_jsonl, run_cli, write_csv, write_jsonl

from supplycheck.channels.batch import score_records
from supplycheck.core.intake import ID_FIELD

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from supplycheck.channels.batch.arrow import (  # noqa: E402
    RESULT_SCHEMA, empty_results_frame, intake_schema, score_batch, score_frame,
)

RULES = str(Path(__file__).resolve().parents[1] / "rules")


def write_parquet(path: Path, rulebase, records: list[dict], row_group_size: int = 100) -> Path:
    pq.write_table(pa.Table.from_pylist(records, schema=intake_schema(rulebase)), path, row_group_size=row_group_size)
    return path


def typed_records(rulebase, n: int, seed: int, bad_every: int) -> list[dict]:
    """Intakes whose values fit a typed (Parquet) column, a value out of range in every
    `bad_every`-th one."""
    records = make_records(rulebase, n, seed=seed)
    for i in range(bad_every - 1, n, bad_every):
        records[i]["infant_age_days"] = 5000 if i % 2 else -1
    return records


def as_jsonl_result(row: dict) -> dict:
    """A Parquet result row as its JSONL result: a field that does not apply is absent, except id."""
    return {k: v for k, v in row.items() if v is not None or k == ID_FIELD}


# ----------------------------------------------------------------------------- Parquet and Arrow

def test_parquet_in_and_out_give_the_jsonl_results(rulebase, tmp_path):
    records = typed_records(rulebase, 400, 11, 23)
    write_jsonl(tmp_path / "in.jsonl", records)
    write_parquet(tmp_path / "in.parquet", rulebase, records, row_group_size=64)
    for args in (("in.jsonl", "out.jsonl"), ("in.parquet", "from_parquet.jsonl"), ("in.parquet", "out.parquet")):
        result = invoke(str(tmp_path / args[0]), "-o", str(tmp_path / args[1]), "-w", "2")
        assert result.exit_code == 0, result.output
    expected = read_jsonl(tmp_path / "out.jsonl")
    assert len(expected) == 400 and sum(r["status"] == "error" for r in expected) == 400 // 23
    assert read_jsonl(tmp_path / "from_parquet.jsonl") == expected
    table = pq.read_table(tmp_path / "out.parquet")
    assert table.schema == RESULT_SCHEMA
    assert [as_jsonl_result(r) for r in table.to_pylist()] == expected


def test_parquet_output_of_no_results_still_has_the_schema(rulebase, tmp_path):
    write_parquet(tmp_path / "in.parquet", rulebase, [])
    proc = run_cli("batch", str(tmp_path / "in.parquet"), "-o", str(tmp_path / "out.parquet"), "--strict")
    assert proc.returncode == 1, proc.stderr  # an input without intakes fails a strict run
    assert "no intakes: a header and no rows" in proc.stderr
    assert pq.read_table(tmp_path / "out.parquet").schema == RESULT_SCHEMA


def test_parquet_identifying_column_is_refused_and_nothing_written(rulebase, tmp_path):
    table = pa.table({"id": ["a"], "infant_age_days": [3], "email": ["someone@example.org"]})
    pq.write_table(table, tmp_path / "in.parquet")
    proc = run_cli("batch", str(tmp_path / "in.parquet"), "-o", str(tmp_path / "out.parquet"))
    assert proc.returncode == 3 and "'email'" in proc.stderr and "someone@example.org" not in proc.stderr  # 3: privacy
    assert not (tmp_path / "out.parquet").exists()


def test_parquet_identifying_values_in_any_column_are_refused_naming_column_and_row(rulebase, tmp_path):
    """Every Parquet column not dropped is read and checked by value, where the rows are scored
    (worker processes): the refusal names column and rows, the values appear nowhere."""
    email, nhs = "jo.bloggs@example.org", "9434765919"
    rows = [{"id": f"p{i}", "infant_age_days": i % 300, "contact": "ok"} for i in range(1500)]
    rows[1200]["contact"] = f"write to {email}"
    rows[1300]["id"] = nhs
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "in.parquet", row_group_size=500)
    proc = run_cli("batch", str(tmp_path / "in.parquet"), "-o", str(tmp_path / "out.parquet"), "-w", "2")
    assert proc.returncode == 3, proc.stderr
    assert "'contact' (an e-mail address) at row 1201" in proc.stderr
    assert "'id' (an NHS number) at row 1301" in proc.stderr
    assert email not in proc.stderr + proc.stdout and nhs not in proc.stderr + proc.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.parquet"]
    # Dropped, the columns are never read: the rest is scored.
    proc = run_cli("batch", str(tmp_path / "in.parquet"), "-o", str(tmp_path / "out.jsonl"), "-w", "2",
                   "--drop-columns", "contact,id")
    assert proc.returncode == 0, proc.stderr
    assert len(read_jsonl(tmp_path / "out.jsonl")) == 1500


def test_jsonl_identifying_values_found_in_the_workers_are_all_named(tmp_path):
    """JSON lines are parsed and checked in the worker processes: findings of several chunks are
    put together, in order, and nothing of the file is written."""
    email = "someone@example.org"
    lines = [{"id": f"r{i}", "infant_age_days": i % 300, "contact": "-"} for i in range(3000)]
    for i in (700, 1700, 2900):
        lines[i]["contact"] = email
    lines[2100]["id"] = "0161 496 0123"
    write_jsonl(tmp_path / "in.jsonl", lines)
    proc = run_cli("batch", str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "out.csv"), "-w", "2")
    assert proc.returncode == 3, proc.stderr
    assert "'contact' (an e-mail address) at lines 701, 1701, 2901" in proc.stderr
    assert "'id' (a phone number) at line 2101" in proc.stderr
    assert email not in proc.stderr and "496 0123" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


def test_score_batch_refuses_identifying_values(rulebase):
    from supplycheck.channels.batch import IdentifyingValuesError
    batch = pa.RecordBatch.from_pylist([{"id": "a", "infant_age_days": 3, "site_code": "x"},
                                        {"id": "b", "infant_age_days": 4, "site_code": "SW1A 1AA"}])
    with pytest.raises(IdentifyingValuesError, match=r"column 'site_code' \(a postcode\) at row 2") as caught:
        score_batch(rulebase, batch)
    assert "SW1A" not in str(caught.value)


def test_score_batch_from_pandas_equals_scoring_the_records(rulebase):
    pd = pytest.importorskip("pandas")
    records = typed_records(rulebase, 120, 12, 9)
    table = pa.Table.from_pylist(records, schema=intake_schema(rulebase))
    frame = table.to_pandas(types_mapper=pd.ArrowDtype)
    batch = score_batch(rulebase, pa.RecordBatch.from_pandas(frame, preserve_index=False))
    assert isinstance(batch, pa.RecordBatch) and batch.schema == RESULT_SCHEMA
    assert [as_jsonl_result(r) for r in batch.to_pylist()] == list(score_records(rulebase, records))


# ----------------------------------------------------------------------------- Dask

def test_dask_cluster_scores_a_partitioned_dataset_as_the_cli_does(rulebase, tmp_path):
    """The README's recipe: a LocalCluster with two workers, a dataset in five partitions;
    the results equal the single-process CLI's, in order, none lost, errors kept."""
    dd = pytest.importorskip("dask.dataframe")
    distributed = pytest.importorskip("distributed")
    records = typed_records(rulebase, 500, 13, 31)
    write_parquet(tmp_path / "all.parquet", rulebase, records)
    dataset = tmp_path / "dataset"
    dataset.mkdir()
    table = pa.Table.from_pylist(records, schema=intake_schema(rulebase))
    for i in range(5):
        pq.write_table(table.slice(i * 100, 100), dataset / f"part-{i:03d}.parquet")
    proc = run_cli("batch", str(tmp_path / "all.parquet"), "-o", str(tmp_path / "cli.parquet"), "-w", "1")
    assert proc.returncode == 0, proc.stderr

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        intakes = dd.read_parquet(str(dataset), dtype_backend="pyarrow")
        assert intakes.npartitions == 5
        results = intakes.map_partitions(score_frame, RULES, meta=empty_results_frame())
        results.to_parquet(str(tmp_path / "scored"), schema=RESULT_SCHEMA, write_index=False,
                           name_function=lambda i: f"part-{i:03d}.parquet")

    from_dask = pq.read_table(tmp_path / "scored").to_pylist()
    from_cli = pq.read_table(tmp_path / "cli.parquet").to_pylist()
    assert len(from_dask) == 500 and [r["id"] for r in from_dask] == [r["id"] for r in records]
    assert sum(r["status"] == "error" for r in from_dask) == 500 // 31
    assert from_dask == from_cli


# ----------------------------------------------------------------------------- what records keep

def test_unreadable_records_keep_their_line_and_readable_id(rulebase, tmp_path):
    (tmp_path / "in.jsonl").write_text(
        '{"id": "ok1", "infant_age_days": 4}\n'
        '{"id": "broken-7", "infant_age_days": 4,\n'
        '\n'
        '[1, 2]\n'
        '{"infant_age_days": 4, "id": 42, "baby_fever": }\n', encoding="utf-8")
    write_csv(tmp_path / "in.csv", [{"id": "c1", "infant_age_days": 3}], ["id", "infant_age_days"])
    with open(tmp_path / "in.csv", "a", encoding="utf-8") as f:
        f.write('c2,3,"x\r\nc3,5,extra\r\n')
    out = tmp_path / "out.jsonl"
    assert invoke(str(tmp_path / "in.jsonl"), str(tmp_path / "in.csv"), "-o", str(out)).exit_code == 0
    results = read_jsonl(out)
    assert [(r["id"], r["status"]) for r in results] == [
        ("ok1", "scored"), ("broken-7", "error"), (None, "error"), ("42", "error"),
        ("c1", "scored"), (None, "error"), ("c3", "error")]  # after a stray quote, no cell is sure
    messages = [r["errors"][0]["message"] for r in results if r["status"] == "error"]
    assert messages[0].endswith("in.jsonl line 2: not valid JSON (Expecting property name enclosed in double quotes at the end of the line)")
    assert "in.jsonl line 4: an array" in messages[1] and "in.jsonl line 5: not valid JSON" in messages[2]
    assert "in.csv line 3: unbalanced quote" in messages[3] and "in.csv line 4: 3 cells" in messages[4]


def test_repeated_and_missing_ids_are_warnings_not_errors(rulebase, tmp_path):
    records = [{"id": "a", "infant_age_days": 3}, {"infant_age_days": 4}, {"id": "a", "infant_age_days": 5},
               {"id": " ", "infant_age_days": 6}, {"id": "b", "infant_age_days": 7}]
    write_jsonl(tmp_path / "in.jsonl", records)
    proc = run_cli("batch", str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "out.jsonl"), "--strict")
    assert proc.returncode == 0, proc.stderr
    assert "1 record repeats an id used earlier (first at" in proc.stderr and "in.jsonl line 3)" in proc.stderr
    assert "2 records have no id (first at" in proc.stderr and "in.jsonl line 2)" in proc.stderr
    assert [r["status"] for r in read_jsonl(tmp_path / "out.jsonl")] == ["scored"] * 5


@pytest.mark.parametrize("out_name", ["out.jsonl", "out.csv", "out.parquet"])
def test_with_source_names_file_and_line(rulebase, tmp_path, out_name):
    write_jsonl(tmp_path / "a.jsonl", [{"id": "a1", "infant_age_days": 3}, {"id": "a2", "infant_age_days": "x"}])
    write_csv(tmp_path / "b.csv", [{"id": "b1", "infant_age_days": 9}], ["id", "infant_age_days"])
    out = tmp_path / out_name
    result = invoke(str(tmp_path / "a.jsonl"), str(tmp_path / "b.csv"), "-o", str(out), "--with-source")
    assert result.exit_code == 0, result.output
    expected = [(str(tmp_path / "a.jsonl"), 1), (str(tmp_path / "a.jsonl"), 2), (str(tmp_path / "b.csv"), 2)]
    if out_name.endswith(".jsonl"):
        got = [(r["source"]["file"], r["source"]["line"]) for r in read_jsonl(out)]
    elif out_name.endswith(".csv"):
        import csv
        with open(out, newline="", encoding="utf-8") as f:
            got = [(row["source.file"], int(row["source.line"])) for row in csv.DictReader(f)]
    else:
        got = [(r["source"]["file"], r["source"]["line"]) for r in pq.read_table(out).to_pylist()]
    assert got == expected


@pytest.mark.parametrize("content, message", [
    ("", "no intakes: the file is empty"),
    ("\n\n", "no intakes: the file is empty"),
])
def test_an_empty_jsonl_is_reported_and_fails_strict(tmp_path, content, message):
    (tmp_path / "in.jsonl").write_text(content)
    proc = run_cli("batch", str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "out.jsonl"))
    assert proc.returncode == 0 and message in proc.stderr
    assert run_cli("batch", str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "out.jsonl"), "--strict").returncode == 1


def test_a_csv_header_without_rows_is_reported_and_fails_strict(tmp_path):
    (tmp_path / "in.csv").write_text("id,infant_age_days\r\n")
    proc = run_cli("batch", str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.jsonl"), "--strict",
                   "--summary", str(tmp_path / "s.json"))
    assert proc.returncode == 1 and "no intakes: a header and no rows" in proc.stderr
    assert json.loads((tmp_path / "s.json").read_text())["empty_inputs"] == [str(tmp_path / "in.csv")]


def test_batch_results_follow_their_json_schema(rulebase, tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    proc = run_cli("rules", "schema", "batch-result")
    assert proc.returncode == 0, proc.stderr
    validator = jsonschema.Draft202012Validator(json.loads(proc.stdout))
    records = make_records(rulebase, 300, seed=14, bad_every=7)
    write_jsonl(tmp_path / "in.jsonl", records)
    with open(tmp_path / "in.jsonl", "a") as f:
        f.write('{"id": "x", broken\n')
    assert invoke(str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "out.jsonl"), "--with-source").exit_code == 0
    results = read_jsonl(tmp_path / "out.jsonl")
    assert {r["status"] for r in results} == {"scored", "error"}
    for result in results:
        validator.validate(result)
    bad = dict(results[0], urgency="soon")
    assert not validator.is_valid(bad)


def test_the_documented_json_schema_is_the_one_in_the_code():
    from supplycheck.channels.batch.writers import result_json_schema
    documented = json.loads((Path(__file__).resolve().parents[1] / "docs" / "batch-result.schema.json").read_text())
    assert documented == result_json_schema()
