"""Saved intakes as records: score them, keep their results up to date, rescore them with a new
rule base and say what changed, and export them. No input or output here (the session and the
CLI do that); every function takes an open `Store` and the rule base to use."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from ...core import interview
from ...core.evaluate import evaluate
from ...core.result import Explanation, Result
from ...present import formats
from ...present.language import in_language, without_text
from ...present.letter import LetterData
from ...rulebase.loader import RuleBase
from ...rulebase.models import ReferralTarget, Urgency
from ...present.completeness import Completeness, assess
from ...storage.store import IntakeRecord, Store, StoredResult, StoreError

LetterFormat = Literal["html", "md", "json"]
RECIPIENTS: tuple[ReferralTarget, ...] = (
    ReferralTarget.baby_doctor, ReferralTarget.mothers_doctor, ReferralTarget.lactation_consultant)


class StaleResultError(StoreError):
    """The stored result came from another rule base than the one loaded, and cannot be shown
    with it (a code it uses is gone)."""

    def __init__(self, ref: str, stored_version: str, current_version: str, missing: str):
        self.ref = ref
        self.stored_version = stored_version
        self.current_version = current_version
        self.missing = missing
        super().__init__(
            f"{ref}: the stored result comes from rule base {stored_version}, which used "
            f"{missing!r}; the current rule base ({current_version}) has no such code. Run "
            f"`supplycheck intake rescore {ref}` first.")


# --------------------------------------------------------------------------- scoring


def score(rulebase: RuleBase, ref: str, answers: dict[str, Any], *, explain: bool = True) -> Result:
    """The result of the answers that apply (answers to questions skipped after a change left
    out), with the reference code as the contract's `id`."""
    return evaluate(rulebase, {**interview.relevant_answers(rulebase, answers), "id": ref},
                    explain=explain)


@dataclass(frozen=True)
class Listed:
    """One saved record as a list shows it: scored now, finished or not, with what it covers."""

    record: IntakeRecord
    result: Result
    completeness: Completeness


def listing(store: Store, rulebase: RuleBase, kind: str | None = "intake") -> list[Listed]:
    """Every saved record of `kind` (None: all), most recently changed first, each scored from
    its answers with `rulebase`: a paused screening shows its emergency like a finished one."""
    out = []
    for record in store.list(kind):  # type: ignore[arg-type]
        answers = store.answers(record.ref)
        stored = store.latest_stored_result(record.ref)
        if stored is not None and stored.rulebase_hash != rulebase.content_hash:
            result = stored.result  # scored with another rule base: shown as `show` shows it
        else:
            result = score(rulebase, record.ref, answers, explain=False)
        out.append(Listed(record, result, assess(rulebase, answers, finished=record.finished)))
    return out


def same_result(a: Result | None, b: Result | None) -> bool:
    return a is not None and b is not None and without_text(a) == without_text(b)  # in any language


def refresh(store: Store, rulebase: RuleBase, ref: str) -> Result:
    """Score the intake's current answers and keep the result when it differs from the last one
    stored (so the stored result always matches the answers)."""
    result = score(rulebase, ref, store.answers(ref))
    if not same_result(store.latest_result(ref), result):
        store.save_result(ref, result)
    return result


@dataclass(frozen=True)
class Current:
    """What an intake says now: its record, answers, notes, and the result to show."""

    record: IntakeRecord
    answers: dict[str, Any]
    notes: dict[str | None, str]
    stored: StoredResult
    rulebase_changed: bool  # the stored result came from another rule base than the loaded one
    completeness: Completeness

    @property
    def result(self) -> Result:
        return self.stored.result


def current(store: Store, rulebase: RuleBase, ref: str) -> Current:
    """The intake with its latest result. When the loaded rule base is the one the result came
    from, the result is first brought up to date with the answers (an interrupted session may
    have saved an answer but not its result). With another rule base the stored result is kept
    as it is (`rescore` updates it) and `rulebase_changed` is set."""
    store.require(ref)  # a clear error for an unknown reference
    stored = store.latest_stored_result(ref)
    if stored is None or stored.rulebase_hash == rulebase.content_hash:
        refresh(store, rulebase, ref)
        stored = store.latest_stored_result(ref)
        assert stored is not None
    record, answers = store.require(ref), store.answers(ref)
    return Current(record, answers, store.notes(ref), stored, stored.rulebase_hash != rulebase.content_hash,
                   assess(rulebase, answers, finished=record.finished))


def check_codes(rulebase: RuleBase, ref: str, stored: StoredResult) -> None:
    """Raise StaleResultError when the stored result uses a code the rule base lacks."""
    codes = rulebase.codes
    r = stored.result
    wanted = ([(c, codes.red_flags) for c in r.red_flags] + [(f.id, codes.factors) for f in r.factors]
              + [(c, codes.perceived_signs) for c in r.perceived_signs]
              + [(s.code, codes.next_steps) for s in r.next_steps])
    for code, table in wanted:
        if code not in table:
            raise StaleResultError(ref, stored.rulebase_version, rulebase.version, code)
    for ex in r.explanations:
        for f in ex.evidence:
            if f not in rulebase.symbols:
                raise StaleResultError(ref, stored.rulebase_version, rulebase.version, f)


# --------------------------------------------------------------------------- rescoring


@dataclass(frozen=True)
class Change:
    """One difference between two results of the same intake."""

    what: Literal["urgency", "supply_picture", "red_flag", "factor", "perceived", "referral", "status"]
    code: str | None  # the red flag, factor, sign or referral target; None for urgency/supply
    before: Any  # None: absent before
    after: Any  # None: absent after


@dataclass(frozen=True)
class ResultDiff:
    changes: tuple[Change, ...]
    rules_now_firing: tuple[Explanation, ...]  # why: rules that fire now and did not before
    rules_no_longer_firing: tuple[Explanation, ...]  # ... and those that stopped firing

    @property
    def changed(self) -> bool:
        return bool(self.changes or self.rules_now_firing or self.rules_no_longer_firing)


def diff_results(before: Result | None, after: Result) -> ResultDiff:
    """What changed from `before` to `after`, finding by finding, and the rules behind it."""
    changes: list[Change] = []
    if before is None:
        return ResultDiff((Change("status", None, None, after.status),), tuple(after.explanations), ())
    if before.status != after.status:
        changes.append(Change("status", None, before.status, after.status))
    if before.urgency != after.urgency:
        changes.append(Change("urgency", None, before.urgency, after.urgency))
    if before.supply_picture != after.supply_picture:
        changes.append(Change("supply_picture", None, before.supply_picture, after.supply_picture))

    def sets(kind: Any, old: list[str], new: list[str]) -> None:
        changes.extend(Change(kind, c, c, None) for c in old if c not in new)
        changes.extend(Change(kind, c, None, c) for c in new if c not in old)

    sets("red_flag", before.red_flags, after.red_flags)
    old_factors = {f.id: f.category for f in before.factors}
    new_factors = {f.id: f.category for f in after.factors}
    sets("factor", list(old_factors), list(new_factors))
    sets("perceived", before.perceived_signs, after.perceived_signs)
    old_refs = {r.to: r.urgency for r in before.referrals}
    new_refs = {r.to: r.urgency for r in after.referrals}
    for to in [*old_refs, *(t for t in new_refs if t not in old_refs)]:
        if old_refs.get(to) != new_refs.get(to):
            changes.append(Change("referral", to.value, old_refs.get(to), new_refs.get(to)))
    old_rules = {e.rule: e for e in before.explanations}
    new_rules = {e.rule: e for e in after.explanations}
    return ResultDiff(
        tuple(changes),
        tuple(e for r, e in new_rules.items() if r not in old_rules),
        tuple(e for r, e in old_rules.items() if r not in new_rules))


@dataclass(frozen=True)
class Rescored:
    """One intake rescored: the stored result before, the new one, and what changed."""

    ref: str
    before: StoredResult | None
    after: Result
    diff: ResultDiff
    saved: bool

    @property
    def version_before(self) -> str | None:
        return self.before.rulebase_version if self.before else None

    @property
    def version_after(self) -> str:
        return self.after.rulebase.version

    @property
    def rulebase_changed(self) -> bool:
        return self.before is None or self.before.rulebase_hash != self.after.rulebase.hash


def rescore(store: Store, rulebase: RuleBase, refs: list[str] | None = None, *,
            kind: str | None = "intake", save: bool = True) -> list[Rescored]:
    """Score saved intakes (all of `kind` when `refs` is None) with `rulebase`; keep each new
    result that differs from the stored one (unless `save` is False)."""
    if refs is None:
        refs = [r.ref for r in store.list(kind)]  # type: ignore[arg-type]
    out: list[Rescored] = []
    for ref in refs:
        store.require(ref)
        before = store.latest_stored_result(ref)
        after = score(rulebase, ref, store.answers(ref))
        diff = diff_results(before.result if before else None, after)
        saved = False
        if save and not same_result(before.result if before else None, after):
            store.save_result(ref, after)
            saved = True
        out.append(Rescored(ref, before, after, diff, saved))
    return out


# --------------------------------------------------------------------------- exporting


def letter_data(store: Store, rulebase: RuleBase, ref: str, recipient: ReferralTarget | str, *,
                letter_date: date | None = None) -> tuple[LetterData, Current]:
    target = ReferralTarget(recipient)
    if target not in RECIPIENTS:
        raise StoreError(f"a letter can be addressed to {', '.join(r.value for r in RECIPIENTS)}; "
                         f"not {target.value}")
    now = current(store, rulebase, ref)
    check_codes(rulebase, ref, now.stored)
    relevant = interview.relevant_answers(rulebase, now.answers)
    data = LetterData(ref, target, in_language(now.result, rulebase), relevant, now.notes, now.record.created_at,
                      letter_date or date.today(), now.completeness)
    return data, now


def export(store: Store, rulebase: RuleBase, ref: str, fmt: LetterFormat, recipient: str, *,
           paper: str = "auto", letter_date: date | None = None) -> tuple[str, Current]:
    """The referral letter of one intake as text in `fmt` (html, md or json)."""
    try:
        output = formats.by_name(fmt)
    except ValueError as exc:
        raise StoreError(str(exc)) from None
    data, now = letter_data(store, rulebase, ref, recipient, letter_date=letter_date)
    return output.letter(rulebase, data, paper=paper), now


def urgency_rank(value: str | Urgency | None) -> int:
    return Urgency(value).rank if value else len(Urgency)


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
