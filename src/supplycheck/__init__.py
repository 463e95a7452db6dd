"""supplycheck: screening for suspected low breast-milk supply.

The public API::

    from supplycheck import load_rulebase, evaluate, evaluate_many

    rulebase = load_rulebase()                 # or load_rulebase("path/to/rules")
    result = evaluate(rulebase, {"infant_age_days": 5, "wet_diapers_per_day": 2})
    result.urgency, result.red_flags, result.supply_picture

Every channel (interactive screening, consultant intakes, batch scoring) uses `evaluate`.
"""

from .errors import FieldError, IntakeError, RuleBaseError, SupplycheckError
from .evaluate import evaluate, evaluate_many
from .intake import intake_json_schema
from .result import Result
from .rulebase import RuleBase, load_rulebase

__version__ = "0.1.0"


def result_json_schema() -> dict:
    """JSON Schema of a result."""
    return Result.model_json_schema()


__all__ = [
    "FieldError", "IntakeError", "Result", "RuleBase", "RuleBaseError", "SupplycheckError",
    "evaluate", "evaluate_many", "intake_json_schema", "load_rulebase", "result_json_schema",
]
