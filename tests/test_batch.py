"""Batch scoring on real files: readers, privacy, ordered parallel scoring, atomic output,
the CLI through its real entry point. See supplycheck.channels.batch and spec/intake-contract.md."""

from __future__ import annotations

import csv
import io
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import RULES_DIR

from supplycheck import evaluate
from supplycheck.channels.batch import (
    CSV_COLUMNS,
    AtomicFile,
    IdentifyingColumnsError,
    OutputError,
    Record,
    Scorer,
    Summary,
    UnreadableInput,
    flatten,
    read_intakes,
    score_files,
    score_records,
)
from supplycheck.cli import cli
from supplycheck.privacy import identifying_kind
from supplycheck.rulebase.models import FieldType

ROOT = Path(__file__).resolve().parents[1]
SUPPLYCHECK = Path(sys.executable).with_name("supplycheck")  # the venv running the tests
EXAMPLES = ROOT / "examples" / "batch"


# ----------------------------------------------------------------------------- data

def make_records(rulebase, n: int, seed: int = 7, bad_every: int = 0) -> list[dict]:
    """Contract-valid intakes (every field drawn from its own values or range), with a bad
    value in every `bad_every`-th one."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        rec: dict = {"id": f"r{i:05d}"}
        for q in rulebase.questions.values():
            if rng.random() < 0.4:
                continue
            if q.is_numeric:
                v = rng.uniform(q.min, q.min + (q.max - q.min) / 4)
                rec[q.id] = int(v) if q.type is FieldType.integer else round(v, 1)
            elif q.type is FieldType.multi:
                rec[q.id] = rng.sample(q.values, rng.randint(1, 2)) if rng.random() < 0.6 else ["none"]
            else:
                rec[q.id] = rng.choice(q.values)
        if rec.get("weight_age_days", 0) > rec.get("infant_age_days", 1095):
            rec["weight_age_days"] = rec["infant_age_days"]  # a weight is not taken after today
        last = rec.get("weight_age_days", rec.get("infant_age_days", 1095))
        if rec.get("previous_weight_age_days", 0) > last:
            rec["previous_weight_age_days"] = last  # the earlier weighing comes first
        if bad_every and i % bad_every == bad_every - 1:
            rec["infant_age_days"] = rng.choice([-1, 5000, "soon", 2.5])
        out.append(rec)
    return out


def csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(value)
    return str(value)


def write_csv(path: Path, records: list[dict], columns: list[str] | None = None, *, bom: bool = False,
              newline: str = "\r\n") -> Path:
    columns = columns or sorted({k for r in records for k in r})
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=newline, quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    for r in records:
        writer.writerow([csv_cell(r.get(c)) for c in columns])
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + buf.getvalue().encode("utf-8"))
    return path


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def run_cli(*args: str, input: str | None = None, cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """The real entry point, in a subprocess (exit codes as a user sees them)."""
    env = {**os.environ, "NO_COLOR": "1", "SUPPLYCHECK_RULES": str(RULES_DIR)}
    return subprocess.run([str(SUPPLYCHECK), *args], input=input, capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout)


def invoke(*args: str):
    """The CLI in-process (fast); --rules is the shipped rule base."""
    return CliRunner().invoke(cli, ["batch", "--rules", str(RULES_DIR), *args], catch_exceptions=False)


# ----------------------------------------------------------------------------- scoring = evaluate

def test_scores_are_exactly_evaluate(rulebase):
    """The batch path (the result built in one pass, no pydantic model) gives the same result
    dict as evaluate(..., explain=False).contract_dict() for every record."""
    scorer = Scorer(rulebase)
    for record in make_records(rulebase, 300, seed=1, bad_every=10):
        expected = evaluate(rulebase, record, explain=False).contract_dict()
        assert scorer.score(record) == expected


def test_library_generator_is_lazy_and_ordered(rulebase):
    records = make_records(rulebase, 30, seed=2)
    results = score_records(rulebase, iter(records))
    first = next(results)
    assert first["id"] == "r00000"
    assert [r["id"] for r in results] == [f"r{i:05d}" for i in range(1, 30)]


def test_library_generator_with_worker_processes(rulebase):
    records = make_records(rulebase, 1200, seed=3, bad_every=50)
    one = list(score_records(rulebase, records, workers=1, chunk_size=100))
    two = list(score_records(rulebase, records, workers=2, chunk_size=100))
    assert one == two
    assert [r["id"] for r in two] == [r["id"] for r in records]


# ----------------------------------------------------------------------------- formats

def test_csv_jsonl_and_json_give_the_same_results(rulebase, tmp_path):
    records = make_records(rulebase, 200, seed=4, bad_every=17)
    write_csv(tmp_path / "in.csv", records)
    write_jsonl(tmp_path / "in.jsonl", records)
    (tmp_path / "in.json").write_text(json.dumps(records, indent=2))
    outputs = []
    for name in ("in.csv", "in.jsonl", "in.json"):
        out = tmp_path / f"{name}.out.jsonl"
        result = invoke(str(tmp_path / name), "-o", str(out), "-w", "1")
        assert result.exit_code == 0, result.output
        outputs.append(read_jsonl(out))
    assert outputs[1] == outputs[2]
    assert len(outputs[0]) == len(outputs[1]) == 200
    for from_csv, from_json in zip(*outputs[:2]):
        if from_json["status"] == "scored":
            assert from_csv == from_json
        else:  # an echoed bad value is text in CSV ('5000' rather than 5000)
            assert [e["field"] for e in from_csv["errors"]] == [e["field"] for e in from_json["errors"]]
            assert from_csv["id"] == from_json["id"]
    expected = [evaluate(rulebase, r, explain=False).contract_dict() for r in records]
    # CSV cells are text, so an echoed bad value may be quoted; everything else is identical.
    assert [r for r in outputs[1] if r["status"] == "scored"] == [e for e in expected if e["status"] == "scored"]
    assert [r["id"] for r in outputs[0]] == [r["id"] for r in records]


def test_csv_output_columns_and_flattening(rulebase, tmp_path):
    records = make_records(rulebase, 40, seed=5, bad_every=8)
    write_jsonl(tmp_path / "in.jsonl", records)
    assert invoke(str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "out.csv"), "-w", "1").exit_code == 0
    assert invoke(str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "out.jsonl"), "-w", "1").exit_code == 0
    with open(tmp_path / "out.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == CSV_COLUMNS
    results = read_jsonl(tmp_path / "out.jsonl")
    assert len(rows) == len(results) == 40
    for row, result in zip(rows, results):
        assert row == flatten(result)
        if result["status"] == "scored":
            assert row["red_flags"].split(";") == (result["red_flags"] or [""])
            assert row["referrals"] == ";".join(f"{r['to']}:{r['urgency']}" for r in result["referrals"])
        else:
            assert row["error_fields"] == ";".join(e["field"] for e in result["errors"])


def test_csv_with_bom_quotes_crlf_and_multiline_cells(rulebase, tmp_path):
    raw = ('\ufeff"id", Infant_Age_Days ,"concerns",breast_surgery,wet_diapers_per_day\r\n'
           'q1,"5","breasts_soft;feeds_more_often",none,"3"\r\n'
           '"q,2",12,"breasts_soft",,\r\n'
           '\r\n'
           'q3,"4","feeds_more_often\r\n",,6,\r\n'  # a quoted cell over two lines; an empty trailing cell
           'q4,2,,,,\r\n')
    path = tmp_path / "in.csv"
    path.write_bytes(raw.encode("utf-8"))
    records = list(read_intakes(path, rulebase))
    assert all(isinstance(r, Record) for r in records)
    assert [(r.line, r.fields and r.fields.get("id")) for r in records] == [(2, "q1"), (3, "q,2"), (5, "q3"), (7, "q4")]
    assert records[0].fields == {"id": "q1", "infant_age_days": "5", "concerns": "breasts_soft;feeds_more_often",
                                 "breast_surgery": "none", "wet_diapers_per_day": "3"}
    assert "breast_surgery" not in records[1].fields  # an empty cell is unknown
    results = list(score_records(rulebase, records))
    assert [r["status"] for r in results] == ["scored"] * 4
    assert results[0] == evaluate(rulebase, {"id": "q1", "infant_age_days": 5, "wet_diapers_per_day": 3,
                                             "concerns": ["breasts_soft", "feeds_more_often"],
                                             "breast_surgery": ["none"]}, explain=False).contract_dict()


def test_stdin_is_jsonl_and_output_can_be_stdout(rulebase, tmp_path):
    records = make_records(rulebase, 5, seed=6)
    text = "".join(json.dumps(r) + "\n" for r in records)
    proc = run_cli("batch", "-", "-o", str(tmp_path / "out.jsonl"), "-w", "1", input=text)
    assert proc.returncode == 0, proc.stderr
    assert [r["id"] for r in read_jsonl(tmp_path / "out.jsonl")] == [r["id"] for r in records]
    proc = run_cli("batch", "-", "-o", "-", "-w", "1", input=text)
    assert proc.returncode == 0
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["id"] for r in lines] == [r["id"] for r in records]
    assert "intakes" in proc.stderr  # the summary goes to stderr when stdout is the output
    assert "Exception" not in proc.stderr and "Traceback" not in proc.stderr


def test_several_files_in_one_run_keep_their_order(rulebase, tmp_path):
    a = make_records(rulebase, 30, seed=8)
    b = [dict(r, id=f"b{i}") for i, r in enumerate(make_records(rulebase, 20, seed=9))]
    write_csv(tmp_path / "a.csv", a)
    write_jsonl(tmp_path / "b.jsonl", b)
    summary_path = tmp_path / "summary.json"
    result = invoke(str(tmp_path / "a.csv"), str(tmp_path / "b.jsonl"), "-o", str(tmp_path / "out.jsonl"),
                    "-w", "1", "--summary", str(summary_path))
    assert result.exit_code == 0
    assert [r["id"] for r in read_jsonl(tmp_path / "out.jsonl")] == [r["id"] for r in a + b]
    summary = json.loads(summary_path.read_text())
    assert [(f["records"], f["errors"]) for f in summary["files"]] == [(30, 0), (20, 0)]


# ----------------------------------------------------------------------------- bad records

def test_every_kind_of_bad_record_becomes_one_error_result(rulebase, tmp_path):
    lines = [
        '{"id": "ok1", "infant_age_days": 10}',
        '{"id": "range", "infant_age_days": 5000, "wet_diapers_per_day": -1}',
        '{"id": "fraction", "feeds_per_day": 7.5}',
        '{"id": "choice", "stool_colour": "purple", "baby_fever": "maybe"}',
        '{"id": "code", "concerns": ["breasts_soft", "not_a_code"]}',
        '{"id": "nested", "concerns": {"a": 1}, "birth_weight_g": true}',
        '{"id": "broken", "infant_age_days": 3,',
        '[1, 2, 3]',
        '"just a string"',
        '',
        '{"id": "ok2", "concerns": "none", "baby_fever": null, "jaundice": ""}',
    ]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out.jsonl"
    result = invoke(str(path), "-o", str(out), "-w", "1")
    assert result.exit_code == 0
    results = read_jsonl(out)
    assert len(results) == 10  # the blank line is not a record
    assert [r["status"] for r in results] == ["scored"] + ["error"] * 8 + ["scored"]
    by_id = {r["id"]: r for r in results if r["id"]}
    assert [e["field"] for e in by_id["range"]["errors"]] == ["infant_age_days", "wet_diapers_per_day"]
    assert "5000 is not allowed; expected a whole number from 0 to 1095" in by_id["range"]["errors"][0]["message"]
    assert "one of: " in by_id["choice"]["errors"][0]["message"]
    assert {e["field"] for e in by_id["nested"]["errors"]} == {"concerns", "birth_weight_g"}
    unreadable = [r["errors"][0]["message"] for r in results if r.get("errors") and r["errors"][0]["field"] == "record"]
    assert unreadable == [
        f"{path} line 7: not valid JSON (Expecting property name enclosed in double quotes at the end of the line)",
        f"{path} line 8: an array, not an intake object",
        f"{path} line 9: a string, not an intake object",
    ]
    assert "8 errors" in result.output and "line 7" in result.output


def test_broken_csv_rows_are_explained_and_the_rest_scored(rulebase, tmp_path):
    raw = ("id,infant_age_days,wet_diapers_per_day,concerns\n"
           "a,5,6,breasts_soft\n"
           "b,5,6\n"                         # too few cells
           "c,5,6,breasts_soft,x,y\n"        # too many (not blank)
           'd,"5,6,breasts_soft\n'           # a quote that is never closed
           "e,7,6,feeds_more_often\n"
           'f,8",6,none\n'                   # a literal quote in an unquoted cell
           "g,9,six,none\n")
    path = tmp_path / "in.csv"
    path.write_text(raw)
    out = tmp_path / "out.csv"
    result = invoke(str(path), "-o", str(out), "-w", "1")
    assert result.exit_code == 0
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    # A row that cannot be read keeps its id where it is sure: the first column of a row of the
    # wrong width; after a stray quote no cell is sure.
    assert [(r["id"], r["status"]) for r in rows] == [
        ("a", "scored"), ("b", "error"), ("c", "error"), ("", "error"), ("e", "scored"), ("f", "error"), ("g", "error")]
    assert rows[1]["error_messages"] == f"{path} line 3: 3 cells where the header has 4"
    assert rows[2]["error_messages"] == f"{path} line 4: 6 cells where the header has 4"
    assert rows[3]["error_messages"] == f"{path} line 5: unbalanced quote (a quoted cell is not closed)"
    assert rows[6]["error_fields"] == "wet_diapers_per_day"
    assert "line 3" in result.output and "line 5" in result.output


def test_json_array_items_are_numbered_and_a_syntax_error_refuses_the_file(rulebase, tmp_path):
    path = tmp_path / "in.json"
    path.write_text('[\n  {"id": "a", "infant_age_days": 3},\n  {"id": "b", "birth_weight_g": 3400.5},\n'
                    '  {"id": "d"},\n  7, null\n]\n')
    records = list(read_intakes(path, rulebase))
    assert [(r.line, r.fields and r.fields["id"], r.problem and r.problem.reason) for r in records] == [
        (1, "a", None), (2, "b", None), (3, "d", None), (4, None, "a number, not an intake object"),
        (5, None, "null, not an intake object")]
    assert records[1].fields["birth_weight_g"] == 3400.5  # a float, as json.loads gives it
    path.write_text('[\n  {"id": "a", "infant_age_days": 3},\n  {"id": "b", "infant_age_days": },\n]')
    with pytest.raises(UnreadableInput, match="not valid JSON after item 1"):
        list(read_intakes(path, rulebase))
    (tmp_path / "object.json").write_text('{"id": "a"}')
    with pytest.raises(UnreadableInput, match="expected a JSON array"):
        list(read_intakes(tmp_path / "object.json", rulebase))


def test_unknown_columns_warn_once_per_file_and_are_not_used(rulebase, tmp_path):
    path = tmp_path / "in.jsonl"
    write_jsonl(path, [{"id": str(i), "infant_age_days": 3, "clinic_site": "north", "visit": i} for i in range(5)])
    warnings: list[str] = []
    records = list(read_intakes(path, rulebase, on_warning=warnings.append))
    assert warnings == [f"{path}: unknown columns 'clinic_site', 'visit' not used (each value is checked for "
                        "identifying data; drop the column with --drop-columns)"]
    assert all(set(r.fields) == {"id", "infant_age_days"} for r in records)
    proc = run_cli("batch", str(path), "-o", str(tmp_path / "out.jsonl"), "-w", "1")
    assert proc.returncode == 0
    assert proc.stderr.count("unknown columns") == 1
    assert "north" not in (tmp_path / "out.jsonl").read_text()


def test_unnamed_index_column_is_ignored_and_drop_columns_wins(rulebase, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text(",id,infant_age_days,concerns\n0,a,3,breasts_soft\n1,b,4,nonsense\n")  # as pandas writes it
    warnings: list[str] = []
    records = list(read_intakes(path, rulebase, drop_columns=["Concerns"], on_warning=warnings.append))
    assert [r.fields for r in records] == [{"id": "a", "infant_age_days": "3"}, {"id": "b", "infant_age_days": "4"}]
    assert warnings == [f"{path}: unknown column '(column 1, no name)' not used (each value is checked for "
                        "identifying data; drop the column with --drop-columns)"]


def test_exit_status(rulebase, tmp_path):
    good = write_jsonl(tmp_path / "good.jsonl", [{"id": "a", "infant_age_days": 3}])
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"id": "a", "infant_age_days": "x"}])
    out = tmp_path / "out.jsonl"
    assert run_cli("batch", str(bad), "-o", str(out)).returncode == 0  # an error record is still read
    assert run_cli("batch", str(good), "-o", str(out), "--strict").returncode == 0
    assert run_cli("batch", str(bad), "-o", str(out), "--strict").returncode == 1
    missing = run_cli("batch", str(tmp_path / "nope.csv"), "-o", str(out))
    assert missing.returncode == 2 and "nope.csv" in missing.stderr and "Traceback" not in missing.stderr
    assert run_cli("batch", str(good), "-o", str(tmp_path / "out.xlsx")).returncode == 2
    assert run_cli("batch", str(tmp_path / "good.txt"), "-o", str(out)).returncode == 2
    assert run_cli("batch", str(good), "-o", str(tmp_path / "no" / "such" / "dir.jsonl")).returncode == 4
    assert run_cli("batch", str(good), "-o", str(good)).returncode == 4  # would overwrite an input
    assert run_cli("batch", str(good)).returncode == 2  # no --output
    semi = tmp_path / "semi.csv"
    semi.write_text("id;infant_age_days\na;3\n")
    proc = run_cli("batch", str(semi), "-o", str(out))
    assert proc.returncode == 2 and "semicolons" in proc.stderr


# ----------------------------------------------------------------------------- privacy

@pytest.mark.parametrize("column, kind", [
    ("name", "name"), ("First Name", "name"), ("surname", "name"), ("mother_name", "name"),
    ("email", "email"), ("E-mail", "email"), ("emailAddress", "email"),
    ("phone", "phone"), ("Mobile", "phone"), ("tel", "phone"), ("phone_number", "phone"),
    ("address", "address"), ("Street", "address"), ("address_line_1", "address"),
    ("postcode", "postcode"), ("Post Code", "postcode"), ("zip", "postcode"), ("ZIP_code", "postcode"),
    ("dob", "date of birth"), ("Date of Birth", "date of birth"), ("DateOfBirth", "date of birth"),
    ("birth_date", "date of birth"),
    ("nhs_number", "health-service or record number"), ("NHS No", "health-service or record number"),
    ("MRN", "health-service or record number"), ("hospital_number", "health-service or record number"),
    ("patient_id", "health-service or record number"), ("medical_record_number", "health-service or record number"),
    ("notes", "free text"), ("Comments", "free text"), ("free_text", "free text"),
])
def test_identifying_column_names(column, kind):
    assert identifying_kind(column) == kind


@pytest.mark.parametrize("column", ["id", "infant_age_days", "birth_weight_g", "clinic_site", "visit",
                                    "gestational_age_weeks", "site_code"])
def test_ordinary_column_names_are_not_identifying(column):
    assert identifying_kind(column) is None


SECRET = ["Jane Example", "jane@example.org", "07700 900123", "1 Example Street", "AB1 2CD", "1990-02-03",
          "943 476 5919", "Mother said she is exhausted"]
IDENTIFYING_COLUMNS = ["Name", "E-mail", "Phone", "Address", "Postcode", "DOB", "NHS number", "Notes"]


def test_file_with_identifying_columns_is_refused(rulebase, tmp_path):
    columns = ["id", "infant_age_days", *IDENTIFYING_COLUMNS]
    path = tmp_path / "in.csv"
    write_csv(path, [dict(zip(columns, ["a", 3, *SECRET]))], columns)
    out = tmp_path / "out.jsonl"
    proc = run_cli("batch", str(path), "-o", str(out), "--summary", str(tmp_path / "s.json"))
    assert proc.returncode == 3
    for column in IDENTIFYING_COLUMNS:
        assert repr(column) in proc.stderr
    assert "--drop-columns" in proc.stderr
    assert not any(secret in proc.stderr + proc.stdout for secret in SECRET)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]  # nothing written


def test_dropped_identifying_columns_never_reach_any_output(rulebase, tmp_path):
    columns = ["id", "infant_age_days", "concerns", *IDENTIFYING_COLUMNS]
    records = [dict(zip(columns, [f"a{i}", i, "breasts_soft", *SECRET])) for i in range(5)]
    path = write_csv(tmp_path / "in.csv", records, columns)
    drop = ",".join(IDENTIFYING_COLUMNS[:4])
    for out in (tmp_path / "out.csv", tmp_path / "out.jsonl"):
        proc = run_cli("batch", str(path), "-o", str(out), "--drop-columns", drop,
                       "--drop-columns", ",".join(IDENTIFYING_COLUMNS[4:]), "--summary", str(tmp_path / "s.json"))
        assert proc.returncode == 0, proc.stderr
        texts = [out.read_text(), (tmp_path / "s.json").read_text(), proc.stdout, proc.stderr]
        assert not any(secret in text for secret in SECRET for text in texts)
    assert [r["status"] for r in read_jsonl(tmp_path / "out.jsonl")] == ["scored"] * 5


def test_library_refusal_carries_the_columns_and_drop_lets_the_file_through(rulebase, tmp_path):
    path = write_csv(tmp_path / "in.csv", [{"id": "a", "Email": SECRET[1], "infant_age_days": 3}],
                     ["id", "Email", "infant_age_days"])
    with pytest.raises(IdentifyingColumnsError) as refused:
        read_intakes(path, rulebase)
    assert refused.value.columns == [("Email", "email")] and SECRET[1] not in str(refused.value)
    summary = score_files([path], tmp_path / "out.jsonl", rulebase, drop_columns=["email"], workers=1)
    assert (summary.records, summary.scored) == (1, 1)
    assert SECRET[1] not in (tmp_path / "out.jsonl").read_text()


def test_jsonl_identifying_key_on_a_later_line_refuses_the_run(rulebase, tmp_path):
    records = [{"id": str(i), "infant_age_days": 3} for i in range(700)]
    records[650]["email"] = SECRET[1]
    path = write_jsonl(tmp_path / "in.jsonl", records)
    out = tmp_path / "out.jsonl"
    proc = run_cli("batch", str(path), "-o", str(out), "-w", "1")
    assert proc.returncode == 3
    assert "line 651" in proc.stderr and "'email'" in proc.stderr and SECRET[1] not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


def test_personal_looking_values_refuse_the_file_and_bad_coded_values_are_never_echoed(rulebase, tmp_path):
    records = [{"id": "a", "stool_colour": SECRET[1], "wet_diapers_per_day": SECRET[2],
                "infant_age_days": "12/03/2024", "feeds_per_day": "lots"}]
    path = write_jsonl(tmp_path / "in.jsonl", records)
    out = tmp_path / "out.jsonl"
    proc = run_cli("batch", str(path), "-o", str(out), "--summary", str(tmp_path / "s.json"))
    assert proc.returncode == 3
    assert "'stool_colour' (an e-mail address) at line 1" in proc.stderr
    assert "'wet_diapers_per_day' (a phone number) at line 1" in proc.stderr
    assert "'infant_age_days' (a date of birth) at line 1" in proc.stderr
    assert not any(secret in proc.stdout + proc.stderr for secret in (*SECRET, "12/03/2024"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]
    write_jsonl(path, [{"id": "a", "stool_colour": "Jane", "jaundice": SECRET[7] * 3, "feeds_per_day": "lots"}])
    proc = run_cli("batch", str(path), "-o", str(out), "--summary", str(tmp_path / "s.json"))
    assert proc.returncode == 0, proc.stderr
    texts = out.read_text() + proc.stdout + proc.stderr + (tmp_path / "s.json").read_text()
    assert "Jane" not in texts and SECRET[7] not in texts
    errors = {e["field"]: e["message"] for e in read_jsonl(out)[0]["errors"]}
    assert errors["stool_colour"].startswith("stool_colour: the value given is not allowed (it is not shown); expected one of: ")
    assert errors["feeds_per_day"] == "feeds_per_day: 'lots' is not allowed; expected a whole number from 0 to 30"


def test_csv_output_neutralises_formulas(rulebase, tmp_path):
    ids = ["=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "plain"]
    path = write_jsonl(tmp_path / "in.jsonl", [{"id": i, "infant_age_days": 3} for i in ids]
                       + [{"id": "=bad", "infant_age_days": "=1+1"}])
    out = tmp_path / "out.csv"
    assert invoke(str(path), "-o", str(out), "-w", "1").exit_code == 0
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["id"] for r in rows] == ["'" + i for i in ids[:4]] + ["plain", "'=bad"]
    for row in rows:
        assert not any(cell[:1] in ("=", "+", "-", "@", "\t", "\r") for cell in row.values())
    jsonl = tmp_path / "out.jsonl"
    assert invoke(str(path), "-o", str(jsonl), "-w", "1").exit_code == 0
    assert [r["id"] for r in read_jsonl(jsonl)] == ids + ["=bad"]  # JSON is never run as a formula


# ----------------------------------------------------------------------------- scale

def test_order_is_preserved_with_several_workers(rulebase, tmp_path):
    records = make_records(rulebase, 1600, seed=11, bad_every=97)  # four chunks of 500
    path = write_csv(tmp_path / "in.csv", records)
    outs = {}
    for workers in ("1", "2", "3"):
        out = tmp_path / f"out{workers}.jsonl"
        result = invoke(str(path), "-o", str(out), "-w", workers)
        assert result.exit_code == 0
        outs[workers] = out.read_bytes()
    assert outs["1"] == outs["2"] == outs["3"]
    assert [r["id"] for r in read_jsonl(tmp_path / "out2.jsonl")] == [r["id"] for r in records]


def test_summary_counts(rulebase, tmp_path):
    records = make_records(rulebase, 120, seed=12, bad_every=30)
    path = write_jsonl(tmp_path / "in.jsonl", records)
    with open(path, "a") as f:
        f.write("{broken\n")
    summary_path = tmp_path / "s.json"
    result = invoke(str(path), "-o", str(tmp_path / "out.jsonl"), "-w", "1", "--summary", str(summary_path))
    assert result.exit_code == 0
    data = json.loads(summary_path.read_text())
    results = read_jsonl(tmp_path / "out.jsonl")
    scored = [r for r in results if r["status"] == "scored"]
    assert data["records"] == 121 and data["errors"] == 5 and data["unreadable_lines"] == 1
    assert data["scored"] == len(scored) == 116
    assert sum(data["urgency"].values()) == sum(data["supply_picture"].values()) == 116
    assert list(data["urgency"]) == ["emergency", "same_day", "within_2_days", "routine", "none"]
    assert data["factors"] == dict(Counter(f["id"] for r in scored for f in r["factors"]))
    assert list(data["factors"].values()) == sorted(data["factors"].values(), reverse=True)
    assert [(e["line"], e["id"]) for e in data["error_examples"]] == [(30, "r00029"), (60, "r00059"), (90, "r00089"),
                                                                       (120, "r00119"), (121, None)]
    assert "Errors: 5 intakes" in result.output and "supply picture" in result.output


def test_summary_merges(rulebase):
    scorer = Scorer(rulebase)
    records = make_records(rulebase, 40, seed=13, bad_every=7)
    whole, a, b = Summary(), Summary(), Summary()
    for i, r in enumerate(records):
        result = scorer.score(r)
        whole.add(result, "x", i + 1)
        (a if i < 25 else b).add(result, "x", i + 1)
    a.merge(b)
    assert a.to_dict() == whole.to_dict()


# ----------------------------------------------------------------------------- atomic output

def test_atomic_file_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "out.jsonl"
    target.write_text("old\n")
    with pytest.raises(RuntimeError):
        with AtomicFile(target) as f:
            f.write("new, half written")
            raise RuntimeError("crash")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]
    with AtomicFile(target) as f:
        f.write("new\n")
    assert target.read_text() == "new\n"
    assert oct(target.stat().st_mode & 0o777) != "0o600"  # ordinary permissions, not a temp file's
    with pytest.raises(OutputError):
        with AtomicFile(tmp_path / "missing" / "out.jsonl"):
            pass


def _as_in_a_terminal() -> None:
    """A foreground command gets Ctrl-C: whatever the test runner's own process ignores or
    blocks (both are inherited through exec) is not passed on to the command."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_interrupted_run_leaves_no_partial_output(rulebase, tmp_path, how):
    records = make_records(rulebase, 4000, seed=14)
    path = write_jsonl(tmp_path / "in.jsonl", records * 5)
    out = tmp_path / "out.jsonl"
    env = {**os.environ, "NO_COLOR": "1", "SUPPLYCHECK_RULES": str(RULES_DIR)}
    proc = subprocess.Popen([str(SUPPLYCHECK), "batch", str(path), "-o", str(out), "-w", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True,  # its own process group, as in a terminal
                            preexec_fn=_as_in_a_terminal)
    deadline = time.monotonic() + 30
    partial = []
    while time.monotonic() < deadline and proc.poll() is None:
        partial = [p for p in tmp_path.iterdir() if p.name.endswith(".partial") and p.stat().st_size > 0]
        if partial:
            break
        time.sleep(0.05)
    assert partial, "the run never started writing"
    time.sleep(0.3)
    assert proc.poll() is None, "the run finished before it could be interrupted"
    if how == "ctrl-c":
        os.killpg(proc.pid, signal.SIGINT)  # what the terminal does: the whole group gets it
    else:
        proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130, (proc.returncode, stdout, stderr)  # CI saw 0 once (2 Dec 2026)
    assert "Interrupted" in stderr and "Traceback" not in stderr
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


# ----------------------------------------------------------------------------- examples

def test_examples_score_with_their_deliberate_errors(rulebase, tmp_path):
    for name in ("intakes.csv", "intakes.jsonl"):
        out = tmp_path / f"{name}.jsonl"
        proc = run_cli("batch", str(EXAMPLES / name), "-o", str(out))
        assert proc.returncode == 0, proc.stderr
        results = read_jsonl(out)
        assert len(results) == 10
        assert [r["status"] for r in results].count("error") == 2
        assert "Errors: 2 intakes" in proc.stdout


# ----------------------------------------------------------------------------- terminal

def test_progress_bar_on_a_terminal_and_quiet_in_a_pipe(rulebase, tmp_path):
    import pexpect

    path = write_jsonl(tmp_path / "in.jsonl", make_records(rulebase, 800, seed=15))
    env = {**os.environ, "SUPPLYCHECK_RULES": str(RULES_DIR), "COLUMNS": "120", "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    child = pexpect.spawn(str(SUPPLYCHECK), ["batch", str(path), "-o", str(tmp_path / "tty.jsonl"), "-w", "1"],
                          env=env, encoding="utf-8", timeout=60, dimensions=(40, 120))
    child.expect(r"Scoring.*intakes.*/s")
    child.expect(r"Read 800 intakes")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    piped = run_cli("batch", str(path), "-o", str(tmp_path / "pipe.jsonl"), "-w", "1")
    assert piped.returncode == 0
    assert piped.stderr == ""  # no progress bar, no escape codes, when stderr is not a terminal
    assert "\x1b" not in piped.stdout and piped.stdout.startswith("Read 800 intakes")
    quiet = run_cli("batch", str(path), "-o", str(tmp_path / "quiet.jsonl"), "-w", "1", "--quiet")
    assert quiet.returncode == 0 and quiet.stdout == quiet.stderr == ""


def test_an_intake_the_engine_fails_on_does_not_stop_the_run(tmp_path):
    """durable_rules can fail on some intakes of a rule base that loads (a 64-entry stack in its
    alpha network walk; tests/test_engine_pitfalls.py). Batch scoring reports that intake as an
    error and scores the others."""
    import shutil

    import yaml

    rules = tmp_path / "rules"
    shutil.copytree(RULES_DIR, rules)
    for path in (rules / "rules").glob("*.yaml"):
        path.unlink()
    many = [{"id": f"wet_any_{j}", "when": {"any": [{"field": "wet_diapers_per_day", "gte": i + j / 100} for i in range(20)]},
             "refer": [{"to": "peer_support", "urgency": "routine"}], "says": {"parent": "p", "clinical": "c"},
             "source": [next(iter(yaml.safe_load((RULES_DIR / "rulebase.yaml").read_text())["sources"]))]}
            for j in range(4)]
    (rules / "rules" / "10_test.yaml").write_text(yaml.safe_dump({"rules": many}, sort_keys=False))
    path = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "wet_diapers_per_day": 30}, {"id": "b", "wet_diapers_per_day": 0}])
    out = tmp_path / "out.jsonl"
    proc = run_cli("batch", str(path), "-o", str(out), "--rules", str(rules), "-w", "1")
    assert proc.returncode == 0, proc.stderr[-500:]
    first, second = read_jsonl(out)
    assert second["status"] == "scored"
    assert first["status"] == "scored" or [e["field"] for e in first["errors"]] == ["record"]
