"""A result as JSON (for `--save summary.json`): the Result model as it is, contract fields
plus the reasoning behind them. Nothing is recomputed."""

from __future__ import annotations

import json

from ..core.result import Result


def to_json(result: Result) -> str:
    return json.dumps(result.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
