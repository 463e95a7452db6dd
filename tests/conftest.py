"""Shared fixtures: the shipped rule base, loaded once per test session."""

from __future__ import annotations

from pathlib import Path

import os

import pytest
from hypothesis import settings

from supplycheck import load_rulebase

# The suite is the gate on main: the same examples on every run, so that a red CI names a change,
# not a lucky draw. To explore beyond them: HYPOTHESIS_PROFILE=explore pytest
settings.register_profile("gate", derandomize=True)
settings.register_profile("explore", derandomize=False, max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "gate"))

ROOT = Path(__file__).resolve().parents[1]
RULES_DIR = ROOT / "rules"
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session")
def rulebase():
    return load_rulebase(RULES_DIR)
