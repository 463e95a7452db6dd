"""The referral letter as JSON: the intake contract's result, plus the answers and the notes."""

from __future__ import annotations

import json

from ..present.letter import LetterData


def to_json(data: LetterData) -> str:
    """The contract's result, plus `answers` (every answer given, by field) and `notes`."""
    out = data.result.contract_dict()
    out["answers"] = data.answers
    out["notes"] = {"intake": data.notes.get(None, ""),
                    "questions": {k: v for k, v in data.notes.items() if k is not None}}
    return json.dumps(out, indent=2, ensure_ascii=False) + "\n"
