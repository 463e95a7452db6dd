"""The result of one intake: the contract's format, plus the reasoning behind it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..rulebase.models import Category, ReferralTarget, SupplyPicture, Urgency

CONTRACT_FIELDS = ("id", "status", "errors", "urgency", "supply_picture", "red_flags", "factors",
                   "perceived_signs", "referrals", "next_steps", "rulebase", "safety_net")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, use_enum_values=False)


class ErrorItem(_Model):
    field: str
    message: str


class Factor(_Model):
    id: str
    category: Category
    evidence: list[str] = Field(description="the input fields behind it")


class Referral(_Model):
    to: ReferralTarget
    urgency: Urgency
    reasons: list[str] = Field(description="codes of the findings that lead to this referral")


class NextStep(_Model):
    code: str
    text: str


class RuleBaseRef(_Model):
    name: str
    version: str
    hash: str = Field(description="SHA-256 of the rule base content")


class Explanation(_Model):
    """Why one rule fired: the answers and derived values behind it, and its source."""

    rule: str
    concludes: list[str]
    evidence: dict[str, Any]
    source: list[str]
    says: str
    clinical: str


class OpenQuestion(_Model):
    """An unanswered question whose answer could make the result more urgent."""

    field: str
    could_raise_to: Urgency
    rules: list[str]
    alone_could_raise_to: Urgency | None = Field(
        None, description="the urgency this answer alone could bring (the only unknown of a rule)")


class Result(_Model):
    """One intake's result (see the intake contract)."""

    id: str | None = None
    status: Literal["scored", "error"]
    errors: list[ErrorItem] = []
    urgency: Urgency | None = None
    supply_picture: SupplyPicture | None = None
    red_flags: list[str] = []
    factors: list[Factor] = []
    perceived_signs: list[str] = []
    referrals: list[Referral] = []
    next_steps: list[NextStep] = []
    rulebase: RuleBaseRef
    safety_net: list[NextStep] = Field([], description="signs to call now or get same-day help for (contract 1.1)")
    explanations: list[Explanation] = []
    open_questions: list[OpenQuestion] = []
    warnings: list[str] = []

    def contract_dict(self) -> dict[str, Any]:
        """Only the contract's fields, JSON-ready (what batch output carries)."""
        data = self.model_dump(mode="json", include=set(CONTRACT_FIELDS))
        if self.status == "error":
            return {k: data[k] for k in ("id", "status", "errors", "rulebase")}
        del data["errors"]
        return data
