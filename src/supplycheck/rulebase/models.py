"""The rule base as typed data. Conditions stay raw here; `conditions.py` parses and checks them."""

from __future__ import annotations

import re
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from .problems import ProblemCode

CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


def _code(value: str) -> str:
    if not CODE_PATTERN.match(value):
        # The loader words it from the catalogue: the error's type is the problem's name.
        raise PydanticCustomError(ProblemCode.ID_NOT_SNAKE_CASE.name, "must be lower_snake_case")
    return value


Code = Annotated[str, AfterValidator(_code)]  # an id: also a durable_rules rule name, so no quotes


class Urgency(str, Enum):
    """How soon someone should be seen, most urgent first."""

    emergency = "emergency"
    same_day = "same_day"
    within_2_days = "within_2_days"
    routine = "routine"
    none = "none"

    @property
    def rank(self) -> int:
        """0 is the most urgent."""
        return _URGENCY_ORDER.index(self)


_URGENCY_ORDER = list(Urgency)


class SupplyPicture(str, Enum):
    likely_low_supply = "likely_low_supply"
    possible_low_supply = "possible_low_supply"
    possible_oversupply = "possible_oversupply"
    reassuring = "reassuring"
    unclear = "unclear"


class ReferralTarget(str, Enum):
    emergency_services = "emergency_services"
    baby_doctor = "baby_doctor"
    lactation_consultant = "lactation_consultant"
    mothers_doctor = "mothers_doctor"
    peer_support = "peer_support"


class Category(str, Enum):
    primary = "primary"
    secondary = "secondary"


class FieldType(str, Enum):
    integer = "integer"
    number = "number"
    yes_no_unsure = "yes_no_unsure"
    yes_no = "yes_no"
    choice = "choice"
    multi = "multi"


UNSURE = "unsure"
NONE_OF_THESE = "none"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Wording(_Strict):
    parent: str
    clinical: str


class Option(_Strict):
    value: str
    parent: str
    clinical: str
    shown_when: dict[str, Any] | None = None  # offered unless definitely false (like ask_when)


class Question(_Strict):
    id: Code
    type: FieldType
    parent: str
    clinical: str
    help: str = ""
    unit: str = ""
    min: float | None = None
    max: float | None = None
    options: list[Option] = []
    ask_when: dict[str, Any] | None = None

    @property
    def values(self) -> list[str]:
        """Every value the field accepts (`unsure` included where it is allowed)."""
        if self.type is FieldType.yes_no_unsure:
            return ["yes", "no", UNSURE]
        if self.type is FieldType.yes_no:
            return ["yes", "no"]
        return [o.value for o in self.options]

    @property
    def is_numeric(self) -> bool:
        return self.type in (FieldType.integer, FieldType.number)

    def allowed(self) -> str:
        """What is allowed, in words, for error messages."""
        if self.is_numeric:
            kind = "a whole number" if self.type is FieldType.integer else "a number"
            return f"{kind} from {_num(self.min)} to {_num(self.max)}"
        listing = ", ".join(self.values)
        if self.type is FieldType.multi:
            return f"a list of: {listing} (or {NONE_OF_THESE})"
        return f"one of: {listing}"


def _num(x: float | None) -> str:
    if x is None:
        return "any"
    return str(int(x)) if float(x).is_integer() else str(x)


class Section(_Strict):
    id: str
    title: Wording
    questions: list[Question]


class QuestionsFile(_Strict):
    sections: list[Section]


class Derived(_Strict):
    id: str
    type: Literal["integer", "number", "choice"]
    function: str
    label: Wording
    description: str
    params: dict[str, Any] = {}
    unit: str = ""
    values: list[str] = []
    source: list[str] = []


class DerivedFile(_Strict):
    derived: list[Derived]


class DefinitionsFile(_Strict):
    definitions: dict[Code, dict[str, Any]]


class Referral(_Strict):
    to: ReferralTarget
    urgency: Urgency


class Rule(_Strict):
    id: Code
    when: dict[str, Any]
    red_flag: str | None = None
    factor: str | None = None
    perceived: str | None = None
    supply: SupplyPicture | None = None
    refer: list[Referral] = []
    next_steps: list[str] = []
    says: Wording
    source: list[str] = Field(min_length=1)
    note: str = ""

    @field_validator("refer", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, dict) else v

    @field_validator("source", mode="before")
    @classmethod
    def _str_or_list(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @property
    def urgency(self) -> Urgency:
        """The most urgent of the rule's referrals (`none` without any)."""
        return min((r.urgency for r in self.refer), key=lambda u: u.rank, default=Urgency.none)


class RulesFile(_Strict):
    rules: list[Rule]


class RedFlagEntry(_Strict):
    subject: Literal["baby", "mother"]
    parent: str
    clinical: str


class FactorEntry(_Strict):
    category: Category
    parent: str
    clinical: str


class PerceivedEntry(_Strict):
    parent: str
    explanation: str
    clinical: str


class NextStepEntry(_Strict):
    parent: str
    clinical: str
    supersedes: list[str] = []  # steps this one makes redundant (e.g. "call now" over "weigh soon")
    given_when: dict[str, Any] | None = None  # left out when definitely false (a condition)


class SafetyNetEntry(_Strict):
    parent: str
    clinical: str
    shown_when: dict[str, Any] | None = None  # left out when definitely false (a condition)


class CodesFile(_Strict):
    urgencies: dict[Urgency, Wording]
    referral_targets: dict[ReferralTarget, Wording]
    supply_pictures: dict[SupplyPicture, Wording]
    red_flags: dict[str, RedFlagEntry]
    factors: dict[str, FactorEntry]
    perceived_signs: dict[str, PerceivedEntry]
    next_steps: dict[str, NextStepEntry]
    safety_net: dict[str, SafetyNetEntry] = Field(min_length=1)


class MetaFile(_Strict):
    name: str
    version: str
    description: str = ""
    disclaimer: Wording
    supply_precedence: list[SupplyPicture]
    sources: dict[str, str]
