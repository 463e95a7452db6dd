"""A stored result's words in another language: the codes decide, the rule base words them.

A result keeps the text it was scored with (next steps, what each rule says). Shown or exported
in another language, those texts are taken afresh from the rule base in that language; codes,
urgencies and evidence stay exactly as stored.
"""

from __future__ import annotations

from ..core.result import Result
from ..rulebase.loader import RuleBase


def in_language(result: Result, rulebase: RuleBase) -> Result:
    """`result` with its human-readable texts from `rulebase` (codes it no longer has keep
    their stored text)."""
    steps = rulebase.codes.next_steps
    rules = rulebase.rules_by_id
    return result.model_copy(update={
        "next_steps": [s.model_copy(update={"text": steps[s.code].parent}) if s.code in steps else s
                       for s in result.next_steps],
        "explanations": [ex.model_copy(update={"says": rules[ex.rule].model.says.parent,
                                               "clinical": rules[ex.rule].model.says.clinical})
                         if ex.rule in rules else ex for ex in result.explanations],
    })


def without_text(result: Result) -> dict:
    """A result's data without its human-readable texts: equal in every language."""
    data = result.model_dump(mode="json")
    data["next_steps"] = [s["code"] for s in data["next_steps"]]
    data["safety_net"] = [s["code"] for s in data["safety_net"]]
    for ex in data.get("explanations", []):
        ex.pop("says", None)
        ex.pop("clinical", None)
    return data
