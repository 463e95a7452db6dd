"""Shared fixtures: the shipped rule base, loaded once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from supplycheck import load_rulebase

ROOT = Path(__file__).resolve().parents[1]
RULES_DIR = ROOT / "rules"
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session")
def rulebase():
    return load_rulebase(RULES_DIR)
