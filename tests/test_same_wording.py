"""One finding reads the same in every channel: the consultant's findings panel, the parents'
summary (terminal, Markdown, HTML) and the referral letter (Markdown, HTML) show a red flag and
a factor in the rule base's own words, and where a headline is shortened, it is shortened the
same way everywhere (present.text.short). Drift between channels is a clinical risk."""

from __future__ import annotations

import re
from datetime import date

import pytest
from test_letter import ANSWERS as LETTER_ANSWERS

from supplycheck.channels.consult.views import findings_panel
from supplycheck.core.evaluate import evaluate
from supplycheck.present import summary
from supplycheck.present.letter import LetterData, build
from supplycheck.present.text import escape_html, escape_markdown, short
from supplycheck.render.html import to_html as summary_html
from supplycheck.render.letter_html import to_html as letter_html
from supplycheck.render.letter_markdown import to_markdown as letter_markdown
from supplycheck.render.markdown import to_markdown as summary_markdown
from supplycheck.render.terminal import summary_renderable, to_text
from supplycheck.rulebase.models import ReferralTarget

# The letter's case (day 5, 12% below birth weight, few nappies, a breast reduction: red flags
# and factors), with no night feeds.
ANSWERS = {**LETTER_ANSWERS, "night_feeds": "no"}
FLAG = "weight_loss_over_10_percent"
# no_night_feeds is worded "...; ...": a headline cut only at a colon or parenthesis (as the
# panel once did) would keep the clause after the semicolon, and read differently.
FACTORS = ("breast_surgery", "no_night_feeds")


def words(text: str) -> str:
    """Text as read: box-drawing borders gone, line breaks and runs of spaces as one space."""
    return " ".join(re.sub(r"[│╭╮╰╯─┃━┏┓┗┛╔╗╚╝║═]", " ", text).split())


def panel_lines(rulebase, result) -> list[str]:
    """The findings panel's rows, one a line (wide enough never to wrap), without borders."""
    text = to_text(findings_panel(rulebase, result), width=2000)
    return [" ".join(line.strip("│ ").split()) for line in text.splitlines() if line.strip("│ ╭╮╰╯─")]


@pytest.fixture(scope="module")
def result(rulebase):
    found = evaluate(rulebase, ANSWERS)
    assert FLAG in found.red_flags and set(FACTORS) <= {f.id for f in found.factors}
    return found


@pytest.fixture(scope="module")
def letter(rulebase, result):
    data = LetterData("LC-7", ReferralTarget.lactation_consultant, result, ANSWERS, {},
                      "2026-11-25T09:00:00+00:00", date(2026, 11, 25))
    view = build(rulebase, data)
    return {"md": letter_markdown(view), "html": letter_html(view)}


def test_the_headline_is_shorter_than_the_wording(rulebase):
    """Else the shortening checks below could not fail."""
    for text in (rulebase.codes.red_flags[FLAG].clinical, *(rulebase.codes.factors[f].clinical for f in FACTORS)):
        assert short(text) and len(short(text)) < len(text) and text.startswith(short(text))


@pytest.mark.parametrize("factor_code", FACTORS)
def test_a_red_flag_and_a_factor_read_the_same_in_panel_summary_and_letter(rulebase, result, letter, factor_code):
    codes = rulebase.codes
    flag, factor = codes.red_flags[FLAG].clinical, codes.factors[factor_code].clinical
    panel = words(to_text(findings_panel(rulebase, result), width=2000))
    clinical = summary.build(rulebase, result, "clinical")
    shown = {
        "summary (terminal)": (words(to_text(summary_renderable(clinical), width=2000)), words),
        "summary (Markdown)": (summary_markdown(clinical), escape_markdown),
        "summary (HTML)": (summary_html(clinical), escape_html),
        "letter (Markdown)": (letter["md"], escape_markdown),
        "letter (HTML)": (letter["html"], escape_html),
    }
    # The panel: the red flag in full; the factors as their headlines, nothing more.
    assert words(flag) in panel
    assert words(short(factor)) in panel
    rows = {line.split()[0]: line.split(None, 1)[1] for line in panel_lines(rulebase, result)}
    for category, row in (("primary", "Primary"), ("secondary", "Secondary")):
        listed = rows[row].split("; ")
        assert listed == [short(codes.factors[f.id].clinical) for f in result.factors
                          if f.category.value == category]
    # Every document: both in full, the rule base's wording, escaped as the format needs.
    for where, (text, escaped) in shown.items():
        assert escaped(flag) in text, where
        assert escaped(factor) in text, where
    # The letter's reasons shorten as the panel does: the same headline, character for character.
    for where, escaped in (("md", escape_markdown), ("html", escape_html)):
        reasons = letter[where].split("Referral to you:", 1)[1].split("\n", 1)[0]
        assert escaped(short(factor)) in reasons and escaped(short(flag)) in reasons, where


def test_the_parents_read_the_same_words_on_screen_on_paper_and_in_a_file(rulebase, result):
    codes = rulebase.codes
    parent = summary.build(rulebase, result, "parent")
    screen = words(to_text(summary_renderable(parent), width=2000))
    markdown, html = summary_markdown(parent), summary_html(parent)
    for text in (codes.red_flags[FLAG].parent, *(codes.factors[f].parent for f in FACTORS)):
        assert words(text) in screen
        assert escape_markdown(text) in markdown
        assert escape_html(text) in html
