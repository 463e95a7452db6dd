"""Malformed inputs: every record read gives exactly one result (rows in = rows out), a file that
cannot be read is said to be unreadable with a non-zero exit, never "0 results, exit 0"."""

from __future__ import annotations

import json

import pytest

HEADER = "id,infant_age_days,feeds_per_day,concerns\n"


@pytest.mark.parametrize("name, content, says", [
    ("stray.csv", 'id,"infant_age_days,feeds_per_day\nA,1,2\nB,3,4\n', "header row (line 1) cannot be read"),
    ("random.csv", bytes(range(256)) * 8, "binary data"),
    ("utf16.csv", (HEADER + "a,3,8,\n").encode("utf-16-le"), "UTF-16 without a byte-order mark"),
    ("bom16.csv", (HEADER + "a,3,8,\n").encode("utf-16"), "UTF-16"),
    ("nonsense.csv", "hello,world\n1,2\n", "no column of the header row is an intake field"),
    ("object.json", '{"id": "a"}', "expected a JSON array"),
    ("broken.json", '[{"id": "a", "infant_age_days": 3}, {"id": "b", "infant_age_days": }]', "not valid JSON after item 1"),
    ("nan.json", '[{"id": "a", "infant_age_days": NaN}]', "not valid JSON after item 0"),
])
def test_a_file_that_cannot_be_read_is_refused_with_nothing_written(trial, name, content, says):
    trial.write(name, content)
    run = trial.run("batch", name, "-o", "out.jsonl", "--summary", "summary.json")
    assert run.code == 2 and says in run.stderr
    assert trial.files() == [name]


def test_csv_records_follow_the_csv_modules_boundaries_and_recover_per_record(trial):
    trial.write("in.csv", HEADER
                + '"C-\n002",4,7,\n'                          # a quoted line break in the id: withheld
                + 'C-003,5,8,"breasts_soft;\nnot_a_worry"\n'   # a quoted line break in a list
                + 'C-004,"5,8,\n'                             # a stray quote ...
                + "C-005,6,8,\n"                              # ... spoils its own record only
                + 'C-006,7",8,\n'                             # a literal quote in an unquoted cell
                + "C-007,8,8,none\n")
    run = trial.run("batch", "in.csv", "-o", "out.jsonl", "-q")
    assert run.code == 0
    results = trial.results(trial.folder / "out.jsonl")
    assert [(r["id"], r["status"]) for r in results] == [
        (None, "error"), ("C-003", "error"), (None, "error"), ("C-005", "scored"), ("C-006", "error"),
        ("C-007", "scored")]
    assert results[0]["errors"][0]["message"].startswith("id: withheld, it is text with control characters")
    # The second line of the quoted list is read as part of that cell (and refused as a worry):
    # the record's only error is the list, whose bad code is not echoed.
    assert [e["field"] for e in results[1]["errors"]] == ["concerns"]
    assert "not_a_worry" not in results[1]["errors"][0]["message"]
    assert results[2]["errors"][0]["message"] == "in.csv line 6: unbalanced quote (a quoted cell is not closed)"


@pytest.mark.parametrize("output", ["out.jsonl", "out.csv", "out.parquet", "out.ndjson"])
def test_an_id_with_a_lone_surrogate_is_withheld_and_every_output_is_written(trial, output):
    """A JSON escape can make text that is not Unicode ("\\ud800"); no output file can hold it.
    It used to stop the whole run with an internal error."""
    trial.write("in.jsonl", '{"id": "a\\ud800", "infant_age_days": 3}\n{"id": "b", "infant_age_days": 3}\n')
    extra = ["--format", "fhir"] if output.endswith(".ndjson") else []
    run = trial.run("batch", "in.jsonl", "-o", output, "--summary", "summary.json", "-q", *extra)
    assert run.code == 0, run.stderr
    assert json.loads((trial.folder / "summary.json").read_text())["records"] == 2
    if output == "out.jsonl":
        results = trial.results(trial.folder / output)
        assert [(r["id"], r["status"]) for r in results] == [(None, "error"), ("b", "scored")]
        assert results[0]["errors"][0]["message"].startswith("id: withheld, it is not valid Unicode text")


def test_huge_numbers_huge_fields_nan_and_object_ids_are_clean_per_record_errors(trial):
    big = "9" * 5000
    trial.write("in.json", "[" + ",".join([
        '{"id": "a", "infant_age_days": 3}',
        f'{{"id": "b", "infant_age_days": {big}}}',
        '{"id": {"nested": 1}, "infant_age_days": 3}',
        json.dumps({"id": "d", "infant_age_days": "x" * (10 << 20)}),
        '{"id": "e", "birth_weight_g": 3400.5}',
    ]) + "]")
    trial.write("in.jsonl", f'{{"id": "a", "infant_age_days": 3}}\n{{"id": "b", "infant_age_days": {big}}}\n'
                            '{"id": "n", "infant_age_days": NaN}\n')
    trial.write("in.csv", "id,infant_age_days\nn1,NaN\nbig," + "x" * (10 << 20) + "\nn2,3\n")
    run = trial.run("batch", "in.json", "in.jsonl", "in.csv", "-o", "out.jsonl", "-q")
    assert run.code == 0
    results = trial.results(trial.folder / "out.jsonl")
    assert [(r["id"], r["status"]) for r in results] == [
        ("a", "scored"), ("b", "error"), (None, "error"), (None, "error"), ("e", "scored"),
        ("a", "scored"), (None, "error"), ("n", "scored"),       # NaN is "not known" in JSONL ...
        ("n1", "scored"), (None, "error"), ("n2", "scored")]     # ... and in CSV
    messages = [e["message"] for r in results if r["status"] == "error" for e in r["errors"]]
    assert messages[0] == ("infant_age_days: the value given is not allowed (it is not shown); "
                           "expected a whole number from 0 to 1095")
    assert messages[1].startswith("id: withheld, it is not text or a whole number")
    assert "over the limit of 1,048,576" in messages[2] and "in.json item 4" in messages[2]
    assert messages[3] == "in.jsonl line 2: not valid JSON (a number with too many digits)"
    assert "in.csv line 3" in messages[4] and "over the limit" in messages[4]


def test_an_empty_file_is_said_to_be_empty(trial):
    trial.write("empty.csv", "")
    run = trial.run("batch", "empty.csv", "-o", "out.jsonl", "-q")
    assert run.code == 0 and "empty file" in run.stderr


def test_deeply_nested_records_are_error_records_not_a_crash(trial):
    deep = "[" * 100_000 + "]" * 100_000
    trial.write("deep.json", '[{"id": "a", "infant_age_days": 3}, ' + deep + ', {"id": "b", "concerns": '
                + "[" * 500 + "]" * 500 + "}]")
    lines = [json.dumps({"id": f"r{i}", "infant_age_days": 3}) for i in range(1200)]  # workers start
    lines += [deep, '{"id": "c", "concerns": ' + "[" * 900 + "]" * 900 + "}"]
    trial.write("deep.jsonl", "\n".join(lines) + "\n")
    run = trial.run("batch", "deep.json", "deep.jsonl", "-o", "out.jsonl", "-q", "-w", "2")
    assert run.code == 0
    results = trial.results(trial.folder / "out.jsonl")
    assert len(results) == 3 + 1202
    assert [r["status"] for r in results[:3]] == ["scored", "error", "error"]
    assert results[1]["errors"][0]["message"] == "deep.json item 2: nested more than 16 levels deep"
    assert [r["errors"][0]["message"] for r in results[-2:]] == [
        "deep.jsonl line 1201: nested too deeply", "deep.jsonl line 1202: nested more than 16 levels deep"]
