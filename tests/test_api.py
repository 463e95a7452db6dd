"""The public Python API: load, evaluate one, evaluate many, JSON Schemas."""

import json

import supplycheck
from supplycheck import evaluate, evaluate_many, intake_json_schema, result_json_schema


def test_result_carries_rulebase_identity(rulebase):
    result = evaluate(rulebase, {"infant_age_days": 20})
    assert result.rulebase.name == rulebase.name == "supplycheck-core"
    assert result.rulebase.version == rulebase.version
    assert result.rulebase.hash == rulebase.content_hash and len(result.rulebase.hash) == 64


def test_contract_dict_has_exactly_the_contract_fields(rulebase):
    data = evaluate(rulebase, {"id": "a", "baby_fever": "yes", "infant_age_days": 10}).contract_dict()
    assert list(data) == ["id", "status", "urgency", "supply_picture", "red_flags", "factors",
                          "perceived_signs", "referrals", "next_steps", "rulebase", "safety_net"]
    assert data["urgency"] == "emergency" and data["red_flags"][0] == "fever_young_infant"
    json.dumps(data)


def test_evaluate_many_is_lazy_and_ordered(rulebase):
    records = ({"id": str(i), "infant_age_days": i} for i in range(5))
    results = evaluate_many(rulebase, records)
    assert next(results).id == "0"
    assert [r.id for r in results] == ["1", "2", "3", "4"]


def test_schemas_export(rulebase):
    schema = intake_json_schema(rulebase)
    assert set(schema["properties"]) == {"id", *rulebase.questions}
    assert schema["properties"]["jaundice"]["enum"] == ["no", "mild", "worsening", "unsure", None]
    assert "urgency" in result_json_schema()["properties"]


def test_public_names():
    assert {"load_rulebase", "evaluate", "evaluate_many", "Result"} <= set(supplycheck.__all__)
