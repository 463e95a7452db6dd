"""The consultant's intake as records: privacy warnings on notes, keeping results in step with
answers, the reasoning behind findings, and rescoring after a rule change. Real SQLite files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from supplycheck.storage.atomic import write_atomic
from supplycheck import load_rulebase
from supplycheck.channels.consult import records
from supplycheck.present.explain import explain
from supplycheck.privacy import identifying_details, warning_text
from supplycheck.rulebase.models import Urgency
from supplycheck.storage.store import Store

ROOT = Path(__file__).resolve().parents[1]
# The shipped rule base's version, and the one `changed_rules` gives its changed copy.
VERSION = load_rulebase(ROOT / "rules").version
BUMPED = ".".join([*VERSION.split(".")[:2], str(int(VERSION.split(".")[2]) + 1)])

# A 5-day-old who has lost 11.8% of birth weight, feeding 6 times a day on a schedule.
WEIGHT_LOSS = {
    "infant_age_days": 5, "birth_weight_g": 3400, "current_weight_g": 3000, "weight_age_days": 5,
    "feeds_per_day": 6, "feeding_schedule": "scheduled",
}


def changed_rules(tmp_path: Path) -> Path:
    """A copy of the rule base where weight loss counts as over the limit only above 12%."""
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    red = rules / "rules" / "10_red_flags.yaml"
    text = red.read_text()
    assert text.count("{field: weight_loss_pct, gt: 10}") == 1
    assert text.count("{field: weight_loss_pct, lte: 10}") == 1
    text = text.replace("{field: weight_loss_pct, gt: 10}", "{field: weight_loss_pct, gt: 12}")
    text = text.replace("{field: weight_loss_pct, lte: 10}", "{field: weight_loss_pct, lte: 12}")
    red.write_text(text)
    meta = rules / "rulebase.yaml"
    meta.write_text(meta.read_text().replace(f'version: "{VERSION}"', f'version: "{BUMPED}"', 1))
    return rules


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "clinic.db") as s:
        yield s


def intake(store, rulebase, ref, answers):
    store.create(ref, "intake", rulebase)
    for field, value in answers.items():
        store.set_answer(ref, field, value)
    return records.refresh(store, rulebase, ref)


# ------------------------------------------------------------------ notes that identify


@pytest.mark.parametrize("note, kinds", [
    ("call her on 0612 345 678 after five", ["phone"]),
    ("tel +44 (0)20 7946 0958", ["phone"]),
    ("mum prefers e-mail: j.doe+lc@example.org", ["email"]),
    ("DOB 12/03/1990", ["date_of_birth"]),
    ("baby born on 3 March 2026", ["date_of_birth"]),
    ("mother's date of birth in the file", ["date_of_birth"]),
    ("seen 2026-03-12, phone 06-12345678", ["phone", "date_of_birth"]),
])
def test_notes_that_look_identifying_are_flagged(note, kinds):
    found = identifying_details(note)
    assert sorted({d.kind for d in found}) == sorted(kinds)
    message = warning_text(found)
    for d in found:
        assert d.text in message
    assert "identifies the client" in message


@pytest.mark.parametrize("note", [
    "weight 3400 g at birth, 3000 g on day 5 (11.8% loss)",
    "8-12 feeds advised, 2-3 hourly, 38.5 C last night",
    "pumps 3x per day, 120 ml, 10-15 min each side",
    "follow up in 2 days; weigh again on day 7",
    "",
])
def test_clinical_notes_are_not_flagged(note):
    assert identifying_details(note) == []


# ------------------------------------------------------------------ results follow the answers


def test_a_result_is_kept_only_when_it_changes(store, rulebase):
    first = intake(store, rulebase, "LC-1", {"infant_age_days": 20})
    assert first.id == "LC-1"
    count = len(store.results("LC-1"))
    records.refresh(store, rulebase, "LC-1")  # nothing new
    assert len(store.results("LC-1")) == count
    store.set_answer("LC-1", "baby_fever", "yes")
    result = records.refresh(store, rulebase, "LC-1")
    assert result.urgency is Urgency.emergency
    assert len(store.results("LC-1")) == count + 1
    assert store.list()[0].urgency == "emergency"


def test_the_current_result_catches_up_with_answers_saved_without_one(store, rulebase):
    intake(store, rulebase, "LC-2", {"infant_age_days": 20})
    store.set_answer("LC-2", "baby_fever", "yes")  # as if the process died before scoring
    assert store.latest_result("LC-2").urgency is not Urgency.emergency
    now = records.current(store, rulebase, "LC-2")
    assert now.result.urgency is Urgency.emergency
    assert not now.rulebase_changed
    assert store.latest_result("LC-2").urgency is Urgency.emergency


def test_answers_to_questions_that_no_longer_apply_are_left_out(store, rulebase):
    intake(store, rulebase, "LC-3", {"current_weight_g": 3000, "weight_age_days": 5})
    store.clear_answer("LC-3", "current_weight_g")  # weight_age_days is now not asked
    result = records.refresh(store, rulebase, "LC-3")
    assert result.status == "scored"
    assert "weight_age_days" in store.answers("LC-3")  # kept in the record, not used


# ------------------------------------------------------------------ explanation


def test_every_finding_is_explained_with_answers_derived_values_and_sources(store, rulebase):
    result = intake(store, rulebase, "LC-4", WEIGHT_LOSS)
    why = explain(rulebase, result)
    [flag] = why.of("red_flag")
    assert flag.code == "weight_loss_over_10_percent"
    assert flag.detail == "same_day"
    [rule] = flag.because
    assert rule.rule == "weight_loss_over_10_percent"
    assert rule.location.startswith("rules/rules/10_red_flags.yaml:")
    loss, *answers = rule.evidence  # the derived value, then the answers it comes from
    assert loss.field == "weight_loss_pct" and loss.derived
    assert {e.field for e in answers} == {"birth_weight_g", "current_weight_g"}
    assert {"Birth weight (g)", "Most recent weight (g)"} <= set(loss.derived_from)
    assert [tag for tag, _ in rule.sources] == ["NICE-NG75", "AAP-visit"]
    assert all(citation for _, citation in rule.sources)

    factors = {f.code: f for f in why.of("factor")}
    assert {"infrequent_feeds", "scheduled_feeds"} <= set(factors)
    schedule = factors["scheduled_feeds"].because[0].evidence
    assert [(e.field, e.answer, e.derived) for e in schedule] == [("feeding_schedule", "Scheduled", False)]

    referrals = {r.code: r for r in why.of("referral")}
    assert referrals["baby_doctor"].detail == "same_day"
    assert "weight_loss_over_10_percent" in referrals["baby_doctor"].reasons
    assert [b.rule for b in referrals["baby_doctor"].because] == ["weight_loss_over_10_percent"]

    [supply] = why.of("supply")
    assert supply.code == result.supply_picture.value

    # Danger signs not yet asked could make it an emergency.
    raising = {o.field: o.could_raise_to for o in why.open_questions}
    assert raising.get("baby_fever") == "emergency"


# ------------------------------------------------------------------ rescoring


def test_rescore_after_a_rule_change_says_what_changed_and_why(store, rulebase, tmp_path):
    intake(store, rulebase, "LC-5", WEIGHT_LOSS)
    intake(store, rulebase, "LC-6", {"infant_age_days": 40, "baby_fever": "yes"})
    new_rules = load_rulebase(changed_rules(tmp_path))
    assert new_rules.version == BUMPED and new_rules.content_hash != rulebase.content_hash

    preview = records.rescore(store, new_rules, save=False)
    assert all(not r.saved for r in preview)
    assert store.latest_result("LC-5").rulebase.version == VERSION

    reports = {r.ref: r for r in records.rescore(store, new_rules)}
    five = reports["LC-5"]
    assert (five.version_before, five.version_after) == (VERSION, BUMPED)
    assert five.saved and five.diff.changed
    changes = {(c.what, c.code): (c.before, c.after) for c in five.diff.changes}
    assert changes[("urgency", None)] == (Urgency.same_day, Urgency.within_2_days)
    assert changes[("red_flag", "weight_loss_over_10_percent")] == ("weight_loss_over_10_percent", None)
    assert changes[("red_flag", "weight_loss_over_7_percent")] == (None, "weight_loss_over_7_percent")
    assert [e.rule for e in five.diff.rules_no_longer_firing] == ["weight_loss_over_10_percent"]
    assert "weight_loss_over_7_percent" in [e.rule for e in five.diff.rules_now_firing]

    six = reports["LC-6"]
    assert six.rulebase_changed and not six.diff.changed  # a fever is still an emergency

    stored = store.latest_stored_result("LC-5")
    assert (stored.rulebase_version, stored.rulebase_hash) == (BUMPED, new_rules.content_hash)
    assert [s.rulebase_version for s in store.results("LC-5")][-2:] == [VERSION, BUMPED]
    # Rescoring again with the same rule base changes nothing.
    again = records.rescore(store, new_rules, ["LC-5"])
    assert not again[0].diff.changed and not again[0].saved


def test_a_stored_result_from_another_rule_base_is_shown_as_it_is(store, rulebase, tmp_path):
    intake(store, rulebase, "LC-7", WEIGHT_LOSS)
    new_rules = load_rulebase(changed_rules(tmp_path))
    now = records.current(store, new_rules, "LC-7")
    assert now.rulebase_changed
    assert now.result.rulebase.version == VERSION
    assert now.result.red_flags == ["weight_loss_over_10_percent"]


def test_letters_go_to_doctors_or_consultants_only(store, rulebase):
    intake(store, rulebase, "LC-8", WEIGHT_LOSS)
    with pytest.raises(records.StoreError):
        records.export(store, rulebase, "LC-8", "md", "peer_support")


def test_write_atomic_replaces_the_whole_file(tmp_path):
    target = tmp_path / "out" / "letter.html"
    write_atomic(target, "first")
    write_atomic(target, "second")
    assert target.read_text() == "second"
    assert [p.name for p in target.parent.iterdir()] == ["letter.html"]
