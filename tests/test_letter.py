"""The referral letter: checked structurally (HTML, Markdown, JSON), and rendered once in
headless Chromium to a PNG and a PDF a person can look at.

Set SUPPLYCHECK_WRITE_EXAMPLES=1 to also refresh examples/letter/ (letter.html, .md, .json,
.png, .pdf) from this test's intake."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest

from supplycheck.channels.consult import records
from supplycheck.storage.store import Store

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "letter"
LETTER_DATE = date(2026, 11, 25)

ANSWERS = {
    "infant_age_days": 5, "gestational_age_weeks": 39, "multiple_birth": "no",
    "birth_weight_g": 3400, "current_weight_g": 3000, "weight_age_days": 5,
    "baby_hard_to_wake": "no", "baby_fever": "no", "wet_diapers_per_day": 3, "stools_per_day": 1,
    "feeding_method": "breast_only", "feeds_per_day": 6, "feeding_schedule": "scheduled",
    "latch_pain": "yes", "breast_surgery": ["reduction"], "concerns": ["breasts_soft"],
}
INTAKE_NOTE = ("Home visit, day 5. Observed a full left-breast feed: shallow latch, audible "
               "swallowing for the first 3 minutes only. Parents keen to keep breastfeeding.")
WEIGHT_NOTE = "Clinic scales, naked weight, this morning."


@pytest.fixture
def store(tmp_path, rulebase):
    with Store(tmp_path / "letters.db") as s:
        s.create("LC-0042", "intake", rulebase)
        for field, value in ANSWERS.items():
            s.set_answer("LC-0042", field, value)
        s.set_note("LC-0042", None, INTAKE_NOTE)
        s.set_note("LC-0042", "current_weight_g", WEIGHT_NOTE)
        yield s


def export(store, rulebase, fmt, to="baby_doctor", paper="auto"):
    text, _ = records.export(store, rulebase, "LC-0042", fmt, to, paper=paper, letter_date=LETTER_DATE)
    return text


class Structure(HTMLParser):
    """Element ids in document order, tags seen, URLs referenced, and balance of elements."""

    VOID = {"meta", "br", "hr", "img", "link", "input", "col", "wbr", "source", "area", "base"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.tags: list[str] = []
        self.urls: list[str] = []
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name == "id":
                self.ids.append(value)
            if name in ("href", "src", "action", "srcset") and value:
                self.urls.append(value)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> (open: {self.stack[-3:]})")
            return
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> Structure:
    s = Structure()
    s.feed(html)
    s.close()
    return s


def test_the_html_letter_is_one_self_contained_file(store, rulebase):
    html = export(store, rulebase, "html")
    doc = parse(html)
    assert html.startswith("<!DOCTYPE html>")
    assert doc.errors == [] and doc.stack == []
    assert doc.tags.count("style") == 1
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(doc.tags)
    assert doc.urls == []
    assert not re.search(r"https?://|url\(|@import|//[a-z]", html, re.IGNORECASE)
    assert '<meta charset="utf-8">' in html


def test_the_html_letter_leads_with_urgency_and_reason(store, rulebase):
    html = export(store, rulebase, "html")
    doc = parse(html)
    order = ["recipient", "urgency", "reason", "findings", "notes", "signature", "disclaimer",
             "answers", "sources"]
    positions = [doc.ids.index(i) for i in order]
    assert positions == sorted(positions), doc.ids
    urgency_part = html[html.index('id="urgency"'):html.index('id="findings"')]
    assert "same day" in urgency_part.lower()
    assert "Weight loss &gt;10% of birth weight" in urgency_part
    assert 'data-urgency="same_day"' in html


def test_the_html_letter_carries_the_record_details(store, rulebase):
    html = export(store, rulebase, "html", to="mothers_doctor")
    doc = parse(html)
    text = " ".join(" ".join(doc.text).split())
    assert "LC-0042" in html[html.index('id="reference"'):][:80]
    assert f"{rulebase.name} {rulebase.version} ({rulebase.content_hash[:12]})" in text
    assert "25 November 2026" in text
    assert 'data-recipient="mothers_doctor"' in html
    assert rulebase.codes.referral_targets["mothers_doctor"].clinical in text
    # The findings carry the answers behind them.
    findings = html[html.index('id="findings"'):html.index('id="notes"')]
    assert "Weight change from birth (% lost): <b>11.8 %</b>" in findings
    assert "Breast surgery or chest radiation: <b>Reduction mammoplasty</b>" in findings
    # An answer already shown under a finding is counted, not repeated, further down.
    assert findings.count("Infant age (completed days): <b>5 days</b>") == 1
    assert "listed above" in findings
    # The consultant's notes.
    assert " ".join(INTAKE_NOTE.split()) in text
    assert WEIGHT_NOTE in text
    # Space to sign, and the disclaimer.
    signature = html[html.index('id="signature"'):html.index('id="answers"')]
    assert "Signature" in signature and "Date" in signature
    assert " ".join(rulebase.meta.disclaimer.clinical.split()) in text


def test_notes_are_text_never_markup(store, rulebase):
    store.set_note("LC-0042", "latch_pain", "<b>not bold</b> & <script>x</script> *nor* | this")
    html = export(store, rulebase, "html")
    assert "&lt;b&gt;not bold&lt;/b&gt; &amp; &lt;script&gt;" in html
    assert "<b>not bold</b>" not in html and "<script>" not in html
    md = export(store, rulebase, "md")
    assert "\\<b\\>not bold\\</b\\> & \\<script\\>x\\</script\\> \\*nor\\* \\| this" in md


@pytest.mark.parametrize("paper, size", [("auto", "auto"), ("a4", "A4"), ("letter", "letter")])
def test_the_html_letter_prints_on_a4_and_letter(store, rulebase, paper, size):
    html = export(store, rulebase, "html", paper=paper)
    assert re.search(r"@page\s*\{\s*size:\s*" + size + ";", html)
    assert "@media print" in html
    # The sheet fits the narrower of the two papers (A4: 210 mm) with the page margins.
    assert "max-width: 182mm" in html


def test_the_markdown_letter_has_the_same_order(store, rulebase):
    md = export(store, rulebase, "md")
    heads = [line for line in md.splitlines() if line.startswith("## ")]
    assert heads[0].startswith("## Urgency: same day")
    assert heads[1:] == ["## Findings", "## Consultant's notes", "## Signature",
                         "## Appendix: answers given", "## Sources"]
    assert "**Reference code:** LC-0042" in md
    assert f"{rulebase.name} {rulebase.version}" in md
    assert md.index("**Reason:**") < md.index("## Findings")
    assert md.index("## Signature") < md.index(" ".join(rulebase.meta.disclaimer.clinical.split())[:40])


def test_the_json_letter_is_the_contract_result_plus_answers_and_notes(store, rulebase):
    data = json.loads(export(store, rulebase, "json"))
    assert data["id"] == "LC-0042" and data["status"] == "scored"
    assert data["urgency"] == "same_day"
    assert data["rulebase"] == {"name": rulebase.name, "version": rulebase.version,
                                "hash": rulebase.content_hash}
    for key in ("supply_picture", "red_flags", "factors", "perceived_signs", "referrals", "next_steps"):
        assert key in data
    assert "explanations" not in data
    assert data["answers"] == ANSWERS
    assert data["notes"] == {"intake": INTAKE_NOTE, "questions": {"current_weight_g": WEIGHT_NOTE}}


CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)


def chromium(*args: str, profile: Path) -> None:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run",
           f"--user-data-dir={profile}", *args]
    subprocess.run(cmd, check=True, timeout=180, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed")
def test_the_letter_renders_in_chromium_to_png_and_pdf(store, rulebase, tmp_path):
    page = tmp_path / "letter.html"
    page.write_text(export(store, rulebase, "html"), encoding="utf-8")
    png, pdf = tmp_path / "letter.png", tmp_path / "letter.pdf"
    chromium(f"--screenshot={png}", "--window-size=900,1300", page.as_uri(), profile=tmp_path / "p1")
    chromium(f"--print-to-pdf={pdf}", "--no-pdf-header-footer", page.as_uri(), profile=tmp_path / "p2")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 20_000  # a page of text, not a blank
    head = pdf.read_bytes()
    assert head[:5] == b"%PDF-"
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", head))
    assert 1 <= pages <= 4, pages
    if os.environ.get("SUPPLYCHECK_WRITE_EXAMPLES") == "1":
        EXAMPLES.mkdir(parents=True, exist_ok=True)
        for src in (page, png, pdf):
            shutil.copyfile(src, EXAMPLES / src.name)
        (EXAMPLES / "letter.md").write_text(export(store, rulebase, "md"), encoding="utf-8")
        (EXAMPLES / "letter.json").write_text(export(store, rulebase, "json"), encoding="utf-8")


def test_an_unknown_that_alone_could_make_it_an_emergency_is_in_the_letter(tmp_path, rulebase):
    with Store(tmp_path / "unknown.db") as s:
        s.create("LC-0043", "intake", rulebase)
        for field, value in ANSWERS.items():
            if field != "baby_fever":
                s.set_answer("LC-0043", field, value)
        text, _ = records.export(s, rulebase, "LC-0043", "md", "baby_doctor", letter_date=LETTER_DATE)
    unknowns = text.split("### Not yet known (could change the urgency)", 1)[1].split("##", 1)[0]
    assert rulebase.questions["baby_fever"].clinical in unknowns
