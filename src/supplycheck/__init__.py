"""supplycheck: screening for suspected low breast-milk supply.

The public API::

    from supplycheck import load_rulebase, evaluate, evaluate_many

    rulebase = load_rulebase()                 # or load_rulebase("path/to/rules")
    result = evaluate(rulebase, {"infant_age_days": 5, "wet_diapers_per_day": 2})
    result.urgency, result.red_flags, result.supply_picture

Every channel (interactive screening, consultant intakes, batch scoring) uses `evaluate`.
Batch scoring as a generator: `score_records(rulebase, read_intakes("intakes.csv", rulebase))`.

Where things live: `rulebase/` (the YAML rule base: load, check, lint), `core/` (the evaluator),
`present/` (view models), `render/` (terminal, Markdown, HTML, JSON), `storage/` (SQLite,
atomic files), `privacy.py`, `channels/` (parent screening, consultant intake, batch) and `cli/`.
"""

from .errors import FieldError, IntakeError, RuleBaseError, SupplycheckError
from .core.evaluate import evaluate, evaluate_many
from .core.intake import intake_json_schema
from .core.result import Result
from .rulebase import RuleBase, load_rulebase

__version__ = "0.1.0"


def result_json_schema() -> dict:
    """JSON Schema of a result."""
    return Result.model_json_schema()


# Batch scoring pulls in multiprocessing and the readers: imported on first use, so that the
# interactive screening starts fast.
_BATCH_NAMES = ("read_intakes", "score_files", "score_records")


def __getattr__(name: str):
    if name in _BATCH_NAMES:
        from .channels import batch
        return getattr(batch, name)
    raise AttributeError(f"module 'supplycheck' has no attribute {name!r}")


__all__ = [
    "FieldError", "IntakeError", "Result", "RuleBase", "RuleBaseError", "SupplycheckError",
    "evaluate", "evaluate_many", "intake_json_schema", "load_rulebase", "read_intakes",
    "result_json_schema", "score_files", "score_records",
]
