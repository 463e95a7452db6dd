"""The parents' summary as one self-contained, printable HTML file (for `--save summary.html`),
through templates/summary.html and summary.css: inline CSS with print styles; no scripts, fonts,
images or links to anything outside the file. Urgency is always written as a text tag ("URGENT —
TODAY"), so a black-and-white printout says the same as the screen. Lays out a `Summary`;
decides nothing.
"""

from __future__ import annotations

from datetime import date

from ..i18n import format_date, tr
from ..present.summary import Summary
from .labels import CATEGORY_HEADINGS, HEADINGS, URGENCY_TAGS
from .templating import render


def to_html(summary: Summary, *, made: date | None = None) -> str:
    """The page; `made` (default today) is printed at the foot, for whoever reads it later."""
    return render("summary.html", s=summary, headings=HEADINGS, category_headings=CATEGORY_HEADINGS,
                  tags=URGENCY_TAGS, made=tr("Made on {date}").format(date=format_date(made or date.today())))
