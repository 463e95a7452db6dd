"""Errors that carry data: the message is built from the fields, callers decide how to show them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Severity = Literal["error", "warning"]


class SupplycheckError(Exception):
    """Base of every error supplycheck reports to a person (never a traceback)."""


@dataclass(frozen=True)
class Problem:
    """One problem in a rule-base file: where it is, its code and what is wrong. Made by
    `rulebase.problems.ProblemCode.X.at(...)`, which holds every code and its wording."""

    file: str
    line: int | None
    code: str  # e.g. "RB308"; docs/rulebase-errors.md says what to do
    severity: Severity
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.severity} {self.code}: {self.message}"


class RuleBaseError(SupplycheckError):
    """The rule base cannot be used; `problems` says where and why."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        super().__init__("\n".join(str(p) for p in errors) or "invalid rule base")


@dataclass
class FieldError:
    """One bad value in an intake: the field, the value given, and what is allowed."""

    field: str
    value: Any
    allowed: str

    @property
    def message(self) -> str:
        return f"{self.field}: {self.value!r} is not allowed; expected {self.allowed}"

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class IntakeError(SupplycheckError):
    """An intake with one or more bad values; every bad field is listed."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(e.message for e in errors))


class EngineError(SupplycheckError):
    """The rule engine misbehaved; raised instead of returning a silently wrong result."""


def display_path(path: Path | str) -> str:
    """A path as short as is still unambiguous for messages."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)
