"""Identifying data, by column name and by value, in every column (`id` and unknown ones too):
refused naming column and line, the value nowhere in any output, message or file."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supplycheck import privacy
from supplycheck.privacy import identifying_kind, nhs_check_digit_ok, value_kind


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_wide_row_of_numbers_with_one_identifying_value_is_refused_at_once(trial, secrets, fmt):
    """The whole-row shortcut once backtracked through every way of reading each number (twice as
    long for each extra cell: a 60-column row never finished). Now the refusal comes at once."""
    columns = ["infant_age_days"] + [f"x{i}" for i in range(59)]
    if fmt == "csv":
        trial.write("in.csv", "id," + ",".join(columns) + ",extra\n" + "A1," + ",".join(["12"] * 60)
                    + f",{secrets['email']}\n")
    else:
        trial.write("in.jsonl", json.dumps({"id": "A1", **dict.fromkeys(columns, 12), "extra": secrets["email"]}) + "\n")
    run = trial.run("batch", f"in.{fmt}", "-o", "-", timeout=60)
    assert run.code == 3 and "'extra' (an e-mail address) at line" in run.stderr
    trial.assert_no_secret(run, keep=[f"in.{fmt}"])


@pytest.mark.parametrize("column", ["contact", "id", "feeding_method", "infant_age_days", "clinic_site"])
def test_an_identifying_value_in_any_column_is_recognised(column, secrets):
    strict = column in ("id", "contact", "clinic_site")
    for kind, secret in secrets.items():
        assert value_kind(secret, strict=strict, numeric=column == "infant_age_days") is not None or (
            kind == "name" and not strict)  # a name in a coded field is an error that is never echoed


def test_a_csv_with_identifying_values_is_refused_naming_column_and_line_and_nothing_is_written(trial, secrets):
    rows = ["id,infant_age_days,feeding_method,contact,clinic_site,feeds_per_day",
            "A1,3,,,north,8",
            f"A2,4,,{secrets['email']},north,8",
            f"A3,5,{secrets['postcode']},,south,8",
            f"{secrets['nhs'].replace(' ', '')},6,,,north,8",
            f"A5,{secrets['dob']},,,north,8",
            f"A6,7,,,{secrets['name']},8",
            f"A7,7,,call {secrets['phone']} after 5,,8"]
    trial.write("in.csv", "\n".join(rows) + "\n")
    run = trial.run("batch", "in.csv", "-o", "-", "--summary", "summary.json")
    assert run.code == 3
    for where in ("'contact' (an e-mail address) at lines 3, 8", "'feeding_method' (a postcode) at line 4",
                  "'id' (an NHS number) at line 5", "'infant_age_days' (a date of birth) at line 6",
                  "'clinic_site' (a name or free text) at line 7"):
        assert where in run.stderr
    assert run.stdout == "" and trial.files() == ["in.csv"]
    trial.assert_no_secret(run, keep=["in.csv"])
    # Dropping the columns lets the rest through, and nothing identifying reaches any output.
    run = trial.run("batch", "in.csv", "-o", "out.csv", "--summary", "summary.json",
                    "--drop-columns", "contact,feeding_method,id", "--drop-columns", "infant_age_days,clinic_site")
    assert run.code == 0
    assert len(trial.results_csv("out.csv")) == 7
    trial.assert_no_secret(run, keep=["in.csv"])


def test_a_late_identifying_value_on_standard_output_writes_nothing(trial, secrets):
    lines = [json.dumps({"id": f"r{i}", "infant_age_days": i % 300, "misc": "ok"}) for i in range(2600)]
    lines[2500] = json.dumps({"id": "r2500", "infant_age_days": 4, "misc": secrets["email"]})
    trial.write("late.jsonl", "\n".join(lines) + "\n")
    run = trial.run("batch", "late.jsonl", "-o", "-", "-w", "2")
    assert run.code == 3 and run.stdout == ""
    assert "'misc' (an e-mail address) at line 2501" in run.stderr
    trial.assert_no_secret(run, keep=["late.jsonl"])
    run = trial.run("batch", "-", "-o", "-", input="\n".join(lines) + "\n")
    assert run.code == 3 and run.stdout == ""


@pytest.mark.parametrize("column", ["nhsnum", "addr1", "city", "town", "patient", "insurance_id", "id_number",
                                    "delivery_date", "ｎａｍｅ", "nаme", "Ｅ－ｍａｉｌ", "n\u200bame", "ＤＯＢ", "post_code"])
def test_column_name_gaps_are_closed(column):
    assert identifying_kind(column) is not None


@pytest.mark.parametrize("column", ["clinic_site", "visit", "site_code", "birth_weight_g", "feeds_per_day",
                                    "ｆｅｅｄｓ＿ｐｅｒ＿ｄａｙ"])
def test_ordinary_columns_stay_ordinary(column):
    assert identifying_kind(column) is None


def test_look_alike_column_names_are_refused_and_full_width_field_names_used(trial):
    trial.write("in.csv", "id,ｉｎｆａｎｔ＿ａｇｅ＿ｄａｙｓ,nаme\nA1,3,x\n")
    run = trial.run("batch", "in.csv", "-o", "out.jsonl")
    assert run.code == 3 and "'nаme' (name)" in run.stderr
    run = trial.run("batch", "in.csv", "-o", "out.jsonl", "--drop-columns", "name", "-q")
    assert run.code == 0 and trial.results(trial.folder / "out.jsonl")[0]["status"] == "scored"


@pytest.mark.parametrize("value, kind", [
    ("4010232137", "nhs_number"), ("401 023 2137", "nhs_number"), ("123-45-6789", "record_number"),
    ("MRN 12345678", "record_number"), ("+44 20 7946 0958", "phone"), ("(555) 123-4567", "phone"),
    ("jane@example.org", "email"), ("SW1A 1AA", "postcode"), ("sw1a1aa", "postcode"), ("EC1A 1BB", "postcode"),
    ("Springfield, IL 62704", "zip_code"), ("90210-1234", "zip_code"), ("3 March 2024", "date_of_birth"),
    ("12/03/1990", "date_of_birth"), ("Jane Smith", "name"), ("lives at 1 Example Street", "name"),
])
def test_identifying_values_in_an_id(value, kind):
    assert value_kind(value, strict=True) == kind


@pytest.mark.parametrize("value", ["C-002", "r00001", "LC-0042", "S-260314-K7Q2", "12345", "1234567", "a1b2c3",
                                   "breasts_soft;feeds_more_often", "38.5", "3400", "bench-0000001", "site_0042137",
                                   "uuid:6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b", "0e7591f3-1234-4567-8901-234567890123",
                                   "urn:uuid:0E7591F3-1234-4567-8901-234567890123"])
def test_opaque_ids_and_clinical_values_pass(value):
    assert value_kind(value, strict=True) is None


def test_nhs_check_digit():
    assert nhs_check_digit_ok("9434765919") and nhs_check_digit_ok("4010232137")
    assert not nhs_check_digit_ok("9434765918") and not nhs_check_digit_ok("123456789")


def test_bad_coded_values_are_never_echoed_and_say_what_is_allowed(trial):
    trial.write("in.jsonl", json.dumps({"id": "a", "feeding_method": "Smith", "infant_age_days": "soon"}) + "\n")
    run = trial.run("batch", "in.jsonl", "-o", "out.jsonl", "--summary", "s.json")
    assert run.code == 0
    messages = {e["field"]: e["message"] for e in trial.results(trial.folder / "out.jsonl")[0]["errors"]}
    assert messages["feeding_method"].startswith("feeding_method: the value given is not allowed (it is not shown); "
                                                 "expected one of: ")
    assert messages["infant_age_days"] == "infant_age_days: 'soon' is not allowed; expected a whole number from 0 to 1095"
    trial.assert_no_secret(run, keep=["in.jsonl"], secrets=["Smith"])


def test_reference_codes_that_identify_are_refused(trial):
    for ref in ("4010232137", "SW1A1AA", "07700900123"):
        run = trial.run("intake", "new", ref)
        assert run.code == 2 and "cannot be used" in run.stderr and ref not in run.text


# The shortcut: a value that fits _PLAIN (one regex per cell, the answer remembered) is not looked at
# again. It must never let through what the full check would find.
@settings(max_examples=3000, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=st.from_regex(privacy._PLAIN_CODE, fullmatch=True).map(str.strip).filter(bool),
       strict=st.booleans(), numeric=st.booleans())
def test_a_value_the_shortcut_calls_plain_holds_nothing_the_full_check_finds(text, strict, numeric):
    assert privacy.text_kind(text, strict=strict, numeric=numeric) is None


@pytest.mark.parametrize("code", ["fewer_stools_after_6_weeks", "slower_growth_after_3_months", "high_dose_b6"])
def test_intake_codes_with_a_digit_are_plain_and_identifying_lookalikes_are_not(code):
    assert privacy.plain_values([code, 12, ["none", code]])
    for lookalike in ["call_07700900123", "m1_1ae", "dob_1990_01_01", "a_12_34_56_78", "555.1234"]:
        assert not privacy.plain_values([code, lookalike])


# plain_values looks at each value once (and remembers each text); it must say what all_plain,
# the row check of CSV files, says of the same cells.
_cell = st.one_of(st.from_regex(privacy._PLAIN_TEXT, fullmatch=True), st.text(max_size=14),
                  st.sampled_from(["555.1234", "07700900123", "a@b.co", "SW1A 1AA", "1990-01-01", "x\x1fy"]))
_value = st.one_of(_cell, st.integers(-10**9, 10**9), st.floats(allow_nan=False, allow_infinity=False),
                   st.lists(_cell, max_size=3))


@settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck))
@given(values=st.lists(_value, max_size=6))
def test_plain_values_agrees_with_the_row_check(values):
    cells = [c for v in values for c in (v if isinstance(v, list) else [v if isinstance(v, str) else repr(v)])]
    assert privacy.plain_values(values) == (not cells or privacy.all_plain(cells))  # no cells: nothing to look at
