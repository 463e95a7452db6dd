"""Where results go: never over an input or each other, nothing from a refused run, a full disk
and a closed pipe each with their own exit code, control characters never reaching a terminal."""

from __future__ import annotations

import json
import os

import pytest

GOOD = "id,infant_age_days,feeds_per_day\nA1,3,8\nA2,4,8\n"


@pytest.mark.parametrize("args, says", [
    (["-o", "out.jsonl", "--summary", "in.csv"], "the summary would overwrite the input in.csv"),
    (["-o", "out.jsonl", "--summary", "out.jsonl"], "the output and the summary would be the same file"),
    (["-o", "in.csv"], "the output would overwrite the input in.csv"),
    (["-o", "link.csv"], "the output would overwrite the input in.csv"),
    (["-o", "hard.csv"], "the output would overwrite the input in.csv"),
    (["-o", "out.jsonl", "--summary", ".out.jsonl.1.partial"], None),
])
def test_no_written_path_is_an_input_or_another_output(trial, args, says):
    trial.write("in.csv", GOOD)
    os.symlink("in.csv", trial.folder / "link.csv")
    os.link(trial.folder / "in.csv", trial.folder / "hard.csv")
    run = trial.run("batch", "in.csv", *args, "-q")
    if says is None:
        assert run.code == 0
        return
    assert run.code == 4 and says in run.stderr
    assert (trial.folder / "in.csv").read_text() == GOOD
    assert trial.files() == ["hard.csv", "in.csv", "link.csv"]


def test_exit_codes_are_distinct_and_documented(trial):
    trial.write("good.jsonl", '{"id": "a", "infant_age_days": 3}\n')
    trial.write("bad.jsonl", '{"id": "a", "infant_age_days": "x"}\n')
    trial.write("private.jsonl", '{"id": "a", "email": "x@example.org"}\n')
    assert trial.run("batch", "bad.jsonl", "-o", "o.jsonl", "-q").code == 0
    assert trial.run("batch", "bad.jsonl", "-o", "o.jsonl", "-q", "--strict").code == 1
    assert trial.run("batch", "nope.csv", "-o", "o.jsonl").code == 2
    assert trial.run("batch", "good.jsonl", "-o", "o.xlsx").code == 2
    assert trial.run("batch", "private.jsonl", "-o", "o.jsonl").code == 3
    assert trial.run("batch", "good.jsonl", "-o", "no/such/o.jsonl").code == 4
    help_text = trial.run("batch", "--help").stdout + trial.run("--help").stdout
    for text in ("3 refused for privacy", "4 output cannot be written", "130 interrupted"):
        assert text in " ".join(help_text.split())


def test_a_full_disk_is_exit_4_with_nothing_left_behind(trial):
    trial.write("in.jsonl", "".join(json.dumps({"id": f"r{i}", "infant_age_days": 3}) + "\n" for i in range(50)))
    with open("/dev/full", "wb") as full:
        run = trial.run("batch", "in.jsonl", "-o", "-", "-q", stdout=full.fileno())
        assert run.code == 4 and "No space left on device" in run.stderr
        run = trial.run("batch", "in.jsonl", "-o", "out.jsonl", stdout=full.fileno())
        assert run.code == 4  # the summary could not be printed
        run = trial.run("--help", stdout=full.fileno())
        assert run.code == 4
    assert trial.files() == ["in.jsonl", "out.jsonl"]


def test_a_closed_pipe_is_a_quiet_success(trial):
    trial.write("in.jsonl", "".join(json.dumps({"id": f"r{i}", "infant_age_days": 3}) + "\n" for i in range(3000)))
    read_end, write_end = os.pipe()
    os.close(read_end)  # `| head` that has already stopped reading
    try:
        run = trial.run("batch", "in.jsonl", "-o", "-", "-q", stdout=write_end)
        assert run.code == 0 and run.stderr == ""
        run = trial.run("batch", "in.jsonl", "-o", "out.jsonl", stdout=write_end)
        assert run.code == 0
    finally:
        os.close(write_end)


def test_escape_codes_in_ids_never_reach_the_terminal(trial):
    trial.write("in.jsonl", json.dumps({"id": "\x1b[2J\x1b]0;pwned\x07x", "infant_age_days": "\x1b[31mred"}) + "\n"
                + json.dumps({"id": "\u202egnp.exe", "infant_age_days": 3}) + "\n")
    run = trial.run("batch", "in.jsonl", "-o", "out.csv")
    assert run.code == 0
    for raw in ("\x1b", "\x07", "\u202e"):
        assert raw not in run.text and raw not in (trial.folder / "out.csv").read_text()
    assert "\\x1b[31mred" in run.text  # a short number-field value is shown, escaped
