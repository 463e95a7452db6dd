"""Form tools' exports scored by `supplycheck batch` as they come (real files, the real command):
QuestionnaireResponses (one resource, a Bundle, NDJSON), REDCap raw CSV, ODK Central and
KoboToolbox CSV; FHIR results; a saved intake exported as a QuestionnaireResponse and imported."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import pytest

from supplycheck import evaluate, load_rulebase
from supplycheck.channels.forms import fhir, redcap, xlsform
from supplycheck.storage.store import Store

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "forms"
SUPPLYCHECK = Path(__import__("sys").executable).with_name("supplycheck")
RB = load_rulebase()


def run(*args: str, db: Path | None = None) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "COLUMNS": "120",
           "PYTHONPATH": str(ROOT / "src"), **({"SUPPLYCHECK_DB": str(db)} if db else {})}
    return subprocess.run([str(SUPPLYCHECK), *args], capture_output=True, text=True, env=env, timeout=120, check=False)


def results(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def findings(rows: list[dict]) -> list[dict]:
    """Whole results (urgency, red flags, referrals, safety net...), without the id (each tool has its own)."""
    return [{k: v for k, v in r.items() if k != "id"} for r in rows]


@pytest.fixture(scope="module")
def expected(tmp_path_factory) -> list[tuple]:
    out = tmp_path_factory.mktemp("contract") / "out.jsonl"
    proc = run("batch", str(EXAMPLES / "intakes.jsonl"), "-o", str(out), "-q", "-w", "1")
    assert proc.returncode == 0, proc.stderr
    rows = results(out)
    assert len(rows) == 4 and all(r["status"] == "scored" for r in rows)
    return findings(rows)


@pytest.mark.parametrize("example", ["responses.ndjson", "redcap_export.csv", "odk_export.csv"])
def test_each_example_export_scores_like_the_contract_file(tmp_path, expected, example):
    out = tmp_path / "out.jsonl"
    proc = run("batch", str(EXAMPLES / example), "-o", str(out), "-q", "-w", "1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # REDCap's and ODK's own columns are known, not "unknown columns"
    assert findings(results(out)) == expected


def test_a_bundle_and_a_single_response_are_read_by_content(tmp_path, expected):
    responses = [json.loads(line) for line in (EXAMPLES / "responses.ndjson").read_text().splitlines()]
    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps({"resourceType": "Bundle", "type": "collection",
                                  "entry": [{"resource": r} for r in responses]}))
    single = tmp_path / "one.json"
    single.write_text(json.dumps(responses[0], indent=2))
    out = tmp_path / "out.jsonl"
    assert run("batch", str(bundle), str(single), "-o", str(out), "-q", "-w", "1").returncode == 0
    rows = results(out)
    assert findings(rows) == expected + expected[:1]
    assert [r["id"] for r in rows] == ["A-029", "A-053", "A-002", "A-119", "A-029"]


def test_a_json_array_of_responses_is_read_as_responses_streamed(tmp_path, expected):
    """As a FHIR server's search results are often saved. It used to be read as an array of
    contract intakes, and refused for free text in a column called 'item'."""
    responses = [json.loads(line) for line in (EXAMPLES / "responses.ndjson").read_text().splitlines()]
    array = tmp_path / "responses.json"
    array.write_text(json.dumps(responses, indent=1))
    out = tmp_path / "out.jsonl"
    proc = run("batch", str(array), "-o", str(out), "-q", "-w", "1")
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert findings(results(out)) == expected

    out.unlink()
    array.write_text(json.dumps([*responses[:2], {"resourceType": "Observation"}, "text"])[:-1] + ", }]")
    proc = run("batch", str(array), "-o", str(out), "-q", "-w", "1")
    assert proc.returncode == 2 and "not valid JSON after item 4" in proc.stderr, proc.stderr
    assert not out.exists()  # a file that cannot be read whole gives no results at all

    array.write_text(json.dumps([*responses[:2], {"resourceType": "Observation"}, "text"]))
    assert run("batch", str(array), "-o", str(out), "-q", "-w", "1").returncode == 0  # one result a record
    rows = results(out)
    assert findings(rows[:2]) == expected[:2]
    assert [(r["status"], r["errors"][0]["message"].split(" item ")[1]) for r in rows[2:]] == [
        ("error", "3: a Observation resource, not a QuestionnaireResponse"),
        ("error", "4: not a FHIR resource, not a QuestionnaireResponse")]


def test_a_kobo_export_with_slash_groups_and_split_columns(tmp_path):
    header = ["start", "end", "baby/infant_age_days", "danger_signs/baby_fever", "worries/concerns/breasts_soft",
              "worries/concerns/feeds_more_often", "_id", "_uuid", "_submission_time", "__version__"]
    path = tmp_path / "kobo.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerow(["2026-11-30", "2026-11-30", "20", "yes", "1", "0", "17", "a1b2", "2026-11-30", "v1"])
    roles = xlsform.column_roles(header, RB)
    row = dict(zip(header, ["", "", "20", "yes", "1", "0", "", "a1b2", "", ""]))
    assert xlsform.from_row(RB, row, roles) == {"infant_age_days": 20, "baby_fever": "yes",
                                                "concerns": ["breasts_soft"], "id": "a1b2"}
    out = tmp_path / "out.jsonl"
    proc = run("batch", str(path), "-o", str(out), "-q", "-w", "1")
    assert proc.returncode == 0, proc.stderr
    (r,) = results(out)
    assert (r["id"], r["urgency"]) == ("a1b2", "emergency") and "fever_young_infant" in r["red_flags"]


def test_bad_values_are_per_record_errors(tmp_path):
    good = fhir.to_response(RB, {"id": "ok", "infant_age_days": 10})
    bad = fhir.to_response(RB, {"id": "bad", "infant_age_days": 10})
    bad["item"][0]["item"][0]["answer"] = [{"valueInteger": 5000}]
    path = tmp_path / "r.ndjson"
    path.write_text("\n".join(json.dumps(x) for x in (good, bad, {"resourceType": "Observation"})) + "\n")
    out = tmp_path / "out.jsonl"
    assert run("batch", str(path), "-o", str(out), "-q", "-w", "1").returncode == 0
    ok, err, other = results(out)
    assert ok["status"] == "scored"
    assert err["status"] == "error" and err["errors"][0]["field"] == "infant_age_days"
    assert "5000" in err["errors"][0]["message"] and "0 to 1095" in err["errors"][0]["message"]
    assert other["status"] == "error" and "Observation resource, not a QuestionnaireResponse" in other["errors"][0]["message"]

    rows = tmp_path / "redcap.csv"
    with rows.open("w", newline="") as f:
        w = csv.DictWriter(f, redcap.export_columns(RB))
        w.writeheader()
        w.writerow({**redcap.to_row(RB, {"id": "1", "jaundice": "mild"}), "jaundice": "orange"})
    assert run("batch", str(rows), "-o", str(out), "-q", "-w", "1").returncode == 0
    (r,) = results(out)
    assert r["errors"][0]["field"] == "jaundice" and "no, mild, worsening, unsure" in r["errors"][0]["message"]


@pytest.mark.parametrize("what", ["subject", "encounter", "patient_in_bundle", "named_item", "redcap_name_column",
                                  "odk_phone"])
def test_identifying_data_is_refused_and_nothing_is_written(tmp_path, what):
    qr = fhir.to_response(RB, {"id": "x1", "infant_age_days": 10})
    path = tmp_path / "in.json"
    if what in ("subject", "encounter"):
        path.write_text(json.dumps({**qr, what: {"reference": f"{what.title()}/123"}}))
    elif what == "patient_in_bundle":
        path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [
            {"resource": qr}, {"resource": {"resourceType": "Patient", "name": [{"family": "X"}]}}]}))
    elif what == "named_item":
        qr["item"].append({"linkId": "mothers_name", "text": "Name", "answer": [{"valueString": "Jane"}]})
        path.write_text(json.dumps(qr))
    else:
        path = tmp_path / "in.csv"
        extra = "first_name" if what == "redcap_name_column" else "phonenumber"
        row = redcap.to_row(RB, {"id": "1"}) if what == "redcap_name_column" else xlsform.to_row(RB, {"id": "u1"})
        with path.open("w", newline="") as f:
            w = csv.DictWriter(f, [*row, extra])
            w.writeheader()
            w.writerow({**row, extra: "Jane Doe 0612345678"})
    out = tmp_path / "out.jsonl"
    proc = run("batch", str(path), "-o", str(out), "-q", "-w", "1")
    assert proc.returncode == 3  # refused for privacy
    assert "refusing a file with identifying columns" in proc.stderr
    assert "Jane" not in proc.stderr and "0612345678" not in proc.stderr and "123" not in proc.stderr
    assert not out.exists()


NHS_NUMBER = "943 476 5919"  # a valid check digit, as the privacy check requires


@pytest.mark.parametrize("what, named", [
    ("fhir_item", "'concerns' (an e-mail address)"),
    ("fhir_identifier", "'id' (an NHS number)"),
    ("fhir_unknown_item", "'visit_code' (a name or free text)"),
    ("redcap_record_id", "'record_id' (an NHS number)"),
    ("redcap_survey_identifier", "'redcap_survey_identifier' (an e-mail address)"),
    ("odk_unknown_column", "'interviewer' (a name or free text)"),
])
def test_identifying_values_are_refused_by_value_naming_field_and_record(tmp_path, what, named):
    """Privacy by value, as for plain batch files: in any item or column, the id included; the
    refusal names field and record and never echoes the value; nothing is written."""
    secret = {"fhir_item": "jane.doe@example.org", "fhir_identifier": NHS_NUMBER, "fhir_unknown_item": "Jane Doe",
              "redcap_record_id": NHS_NUMBER, "redcap_survey_identifier": "jane.doe@example.org",
              "odk_unknown_column": "Jane Doe"}[what]
    clean = {"id": "c1", "infant_age_days": 10}
    if what.startswith("fhir"):
        path = tmp_path / "in.ndjson"
        bad = fhir.to_response(RB, {"id": secret if what == "fhir_identifier" else "c2", "infant_age_days": 12})
        if what == "fhir_item":
            bad["item"][0]["item"].append({"linkId": "concerns", "answer": [{"valueString": secret}]})
        elif what == "fhir_unknown_item":
            bad["item"].append({"linkId": "visit_code", "answer": [{"valueString": secret}]})
        path.write_text(json.dumps(fhir.to_response(RB, clean)) + "\n" + json.dumps(bad) + "\n")
        where = "line 2"
    else:
        path = tmp_path / "in.csv"
        module = redcap if what.startswith("redcap") else xlsform
        rows = [module.to_row(RB, clean), module.to_row(RB, {**clean, "id": "c2"})]
        extra = {"redcap_record_id": None, "redcap_survey_identifier": "redcap_survey_identifier",
                 "odk_unknown_column": "interviewer"}[what]
        with path.open("w", newline="") as f:
            w = csv.DictWriter(f, [*rows[0], *([extra] if extra else [])])
            w.writeheader()
            w.writerow({**rows[0], **({extra: "ok"} if extra else {})})
            w.writerow({**rows[1], **({extra: secret} if extra else {redcap.RECORD_ID: secret})})
        where = "line 3"
    out = tmp_path / "out.jsonl"
    proc = run("batch", str(path), "-o", str(out), "-q", "-w", "1")
    assert proc.returncode == 3, proc.stderr
    assert "refusing a file with identifying values" in proc.stderr
    assert f"column {named} at {where}" in proc.stderr
    assert secret not in proc.stderr and "jane" not in proc.stderr.lower() and "5919" not in proc.stderr
    assert not out.exists()


def test_the_tools_own_ids_are_not_taken_for_phone_numbers(tmp_path):
    """ODK's `uuid:` instance ids (random; some have digit runs a phone number check matches)."""
    path = tmp_path / "odk.csv"
    rows = [xlsform.to_row(RB, {"id": f"uuid:0000000{i}-5c1e-4a2b-9d3e-1f2a3b4c5d6e", "infant_age_days": 10})
            for i in range(1, 4)]
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    out = tmp_path / "out.jsonl"
    proc = run("batch", str(path), "-o", str(out), "-q", "-w", "1")
    assert proc.returncode == 0, proc.stderr
    assert [r["id"] for r in results(out)] == [r["meta-instanceID"] for r in rows]


def test_fhir_output_is_risk_assessments(tmp_path):
    from fhir.resources.R4B.operationoutcome import OperationOutcome
    from fhir.resources.R4B.riskassessment import RiskAssessment

    inp = tmp_path / "in.jsonl"
    inp.write_text((EXAMPLES / "intakes.jsonl").read_text() + json.dumps({"id": "bad", "jaundice": "x"}) + "\n")
    out = tmp_path / "out.ndjson"
    proc = run("batch", str(inp), "-o", str(out), "--format", "fhir", "-q", "-w", "1")
    assert proc.returncode == 0, proc.stderr
    lines = results(out)
    for ra in lines[:4]:
        RiskAssessment.model_validate(ra)
        assert ra["method"]["coding"][0]["version"] == RB.version
    assert lines[0]["identifier"][0]["value"] == "A-029"
    codes = [p["outcome"]["coding"][0]["code"] for p in lines[0]["prediction"]]
    assert codes[-1] == "likely_low_supply"  # after any red flag and the urgency
    assert all(ra["note"][0]["text"].startswith("Safety net") for ra in lines[:4])
    OperationOutcome.model_validate(lines[4])
    assert lines[4]["issue"][0]["expression"] == ["jaundice"]


def test_intake_export_and_import_as_questionnaire_response(tmp_path):
    db = tmp_path / "clinic.db"
    answers = {"infant_age_days": 42, "birth_weight_g": 3400, "current_weight_g": 3900, "feeding_method": "breast_only",
               "swallowing_heard": "yes", "breast_features": ["widely_spaced", "tubular"], "infant_conditions": ["none"],
               "multiple_birth": None}
    with Store(db) as store:
        store.create("LC-0042", "intake", RB)
        for k, v in answers.items():
            store.set_answer("LC-0042", k, v)
    qr_path = tmp_path / "LC-0042.json"
    proc = run("intake", "export", "LC-0042", "--format", "fhir", "-o", str(qr_path), db=db)
    assert proc.returncode == 0, proc.stderr
    qr = json.loads(qr_path.read_text())
    assert qr["identifier"]["value"] == "LC-0042" and "subject" not in qr
    exported = {i["linkId"] for g in qr["item"] for i in g["item"]}
    assert exported == {k for k, v in answers.items() if v is not None}  # "not sure" is not an answer

    proc = run("intake", "import", str(qr_path), "LC-0043", db=db)
    assert proc.returncode == 0, proc.stderr
    assert "Imported LC-0043" in proc.stdout
    with Store(db) as store:
        assert store.answers("LC-0043") == {k: v for k, v in answers.items() if v is not None}
        imported = store.latest_result("LC-0043")
        assert store.get("LC-0043").finished
    direct = evaluate(RB, {k: v for k, v in answers.items() if v is not None})
    assert (imported.urgency, imported.supply_picture, imported.red_flags) == (
        direct.urgency, direct.supply_picture, direct.red_flags)
    refused = tmp_path / "with_subject.json"
    refused.write_text(json.dumps({**qr, "subject": {"reference": "Patient/9"}}))
    proc = run("intake", "import", str(refused), "LC-0044", db=db)
    assert proc.returncode == 3 and "identifying" in proc.stderr
    by_value = tmp_path / "with_an_email.json"
    qr["item"][-1]["item"].append({"linkId": "concerns", "answer": [{"valueString": "jane.doe@example.org"}]})
    by_value.write_text(json.dumps(qr))
    proc = run("intake", "import", str(by_value), "LC-0045", db=db)
    assert proc.returncode == 3, proc.stderr
    assert "'concerns' (an e-mail address)" in proc.stderr and "jane" not in proc.stderr
    with Store(db) as store:
        assert store.get("LC-0044") is None and store.get("LC-0045") is None


@pytest.mark.parametrize("fmt", ["fhir", "xlsform"])  # text and bytes
def test_an_export_that_cannot_be_written_says_so_with_exit_4(tmp_path, fmt):
    blocked = tmp_path / "file"
    blocked.write_text("")
    target = blocked / "intake.out"  # a folder that is a file
    proc = run("export", "questionnaire", "--format", fmt, "-o", str(target))
    assert proc.returncode == 4, proc.stderr
    assert f"{target}: cannot write" in proc.stderr and "Traceback" not in proc.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def test_drop_columns_drops_a_form_export_column_before_it_is_read(tmp_path):
    path = tmp_path / "redcap.csv"
    row = redcap.to_row(RB, {"id": "1", "infant_age_days": 10})
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, [*row, "interviewer"])
        w.writeheader()
        w.writerow({**row, redcap.RECORD_ID: NHS_NUMBER, "interviewer": "Jane Doe"})
    out = tmp_path / "out.jsonl"
    assert run("batch", str(path), "-o", str(out), "-q", "-w", "1").returncode == 3
    proc = run("batch", str(path), "-o", str(out), "-q", "-w", "1", "--drop-columns", "record_id,interviewer")
    assert proc.returncode == 0, proc.stderr
    (result,) = results(out)
    assert result["id"] is None and result["status"] == "scored"
