"""A real form client: the exported FHIR Questionnaire rendered by LHC-Forms in headless Chromium,
filled in as a person would (typing numbers, clicking radio buttons and check boxes), its
QuestionnaireResponse taken from the form and scored. The result must equal the result of the same
golden case scored from its contract dict, and the form must show exactly the questions the
terminal interview asks at every step.

Needs Debian's `chromium`, Playwright for Python, and `npm ci` in tests/browser (see .ci/run).
"""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading
from pathlib import Path

import pytest
import yaml

from supplycheck import evaluate, load_rulebase
from supplycheck.channels.forms import fhir
from supplycheck.core import interview

ROOT = Path(__file__).resolve().parents[1]
BROWSER_DIR = ROOT / "tests" / "browser"
LFORMS = BROWSER_DIR / "node_modules" / "lforms" / "dist" / "lforms"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

# Cases chosen for their skip logic: breast only with lists (feeding questions shown), formula
# only (17 questions hidden), age unknown (age-gated questions stay shown), weights known (the
# weighing age shown), the emergency first step answered "none of these" (the separate danger-sign
# questions it answered are hidden), a previous weighing and a measured temperature (a decimal;
# contract 1.1). Few, to keep the test near a minute.
CASES = ["029_likely_low_supply_igt_6_weeks", "053_relactation_8_weeks", "002_fever_age_unknown_emergency",
         "022_weight_loss_12pct_day_4_poor_latch", "119_first_step_none_thriving_10_weeks",
         "087_lighter_than_previous_weighing", "080_low_temperature_35_6"]

playwright_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed (pip install '.[forms]')")
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)"),
    pytest.mark.skipif(not (LFORMS / "webcomponent" / "main.js").exists(),
                       reason="LHC-Forms is not installed: run `npm ci` in tests/browser (node and npm needed)"),
]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def rulebase():
    return load_rulebase()


@pytest.fixture(scope="module")
def page(rulebase):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(BROWSER_DIR)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{server.server_port}/form.html")
        page.wait_for_function("() => !!(window.LForms && LForms.Util && LForms.Util.getFormFHIRData)")
        yield page
        browser.close()
    server.shutdown()


def _show(page, questionnaire: dict) -> None:
    error = page.evaluate("""async q => {
        try { await LForms.Util.addFormToPage(q, "form", {fhirVersion: "R4"}); return null }
        catch (e) { return String(e) } }""", questionnaire)
    assert error is None, error
    page.wait_for_selector('[id="item-infant_age_days/1/1"]')


def _visible(page, rulebase) -> set[str]:
    shown = page.evaluate("""() => Array.from(document.querySelectorAll('lhc-item[id^="item-"]'))
        .map(e => e.id.slice(5).split('/')[0])""")
    return set(shown) & set(rulebase.questions)


def _option(field: str, code: str) -> str:
    return f'[id="{field}/1/1|{fhir.ANSWERS_SYSTEM}|{code}"]'


def _fill(page, q, value) -> None:
    """Answer one question the way a person does: type a number, or click the answers."""
    if q.is_numeric:
        box = page.locator(f'[id="{q.id}/1/1"]')
        box.click()
        box.fill(str(value))
        box.press("Tab")
        return
    codes = ["none"] if value == "none" else value if isinstance(value, list) else [value]
    for code in codes:
        page.locator(_option(q.id, code)).check()


def _scored(rulebase, intake: dict) -> dict:
    result = evaluate(rulebase, intake).contract_dict()
    result.pop("id", None)
    return result


@pytest.mark.parametrize("case", CASES)
def test_lhc_forms_fills_and_scores_like_the_contract(page, rulebase, case):
    intake = yaml.safe_load((ROOT / "examples" / "golden" / f"{case}.yaml").read_text(encoding="utf-8"))["intake"]
    _show(page, fhir.questionnaire(rulebase))
    answered: dict = {}
    assert _visible(page, rulebase) == {q.id for q in interview.questions_to_ask(rulebase, answered)}
    for q in rulebase.questions.values():
        if q.id not in intake:
            continue
        assert q.id in _visible(page, rulebase), f"{q.id} is hidden in the form but asked by the interview"
        _fill(page, q, intake[q.id])
        answered[q.id] = intake[q.id]
        # The form shows exactly what the terminal interview would ask next.
        assert _visible(page, rulebase) == {x.id for x in interview.questions_to_ask(rulebase, answered)}, q.id
    hidden = set(rulebase.questions) - _visible(page, rulebase)
    if case.startswith("053"):
        assert {"feeds_per_day", "latch_pain", "night_feeds"} <= hidden  # formula only
    if case.startswith("002"):
        assert {"solids_or_water_before_6_months", "pregnant_again"}.isdisjoint(hidden)  # age unknown
    if case.startswith("119"):
        assert {"baby_breathing_difficulty", "baby_seizure", "rash_does_not_fade"} <= hidden  # answered: none

    response = page.evaluate('() => LForms.Util.getFormFHIRData("QuestionnaireResponse", "R4")')
    from_form, unknown = fhir.from_response(rulebase, response)
    assert unknown == []
    expected = {k: (["none"] if v == "none" else v) for k, v in intake.items()}
    assert from_form == expected
    scored = _scored(rulebase, from_form)
    assert scored == _scored(rulebase, intake)  # urgency, red flags, referrals, safety net: all of it
    assert scored["safety_net"]


def test_unsure_keeps_questions_shown(page, rulebase):
    """'Not sure' counts as not known: it never hides a question (milk came in: unsure keeps the
    hour question; feeding method left blank keeps every feeding question)."""
    _show(page, fhir.questionnaire(rulebase))
    q = rulebase.questions
    _fill(page, q["milk_came_in"], "no")
    assert "milk_came_in_hours" not in _visible(page, rulebase)
    page.locator(_option("milk_came_in", "unsure")).check()
    assert "milk_came_in_hours" in _visible(page, rulebase)
    assert {"feeds_per_day", "latch_pain", "pump_sessions_per_day"} <= _visible(page, rulebase)
    response = page.evaluate('() => LForms.Util.getFormFHIRData("QuestionnaireResponse", "R4")')
    assert fhir.from_response(rulebase, response)[0] == {"milk_came_in": "unsure"}
    json.dumps(response)  # plain JSON, as a FHIR server would receive it
