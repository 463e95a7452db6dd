"""The referral letter as one self-contained printable HTML file (templates/letter.html and
letter.css: inline CSS, no scripts, fonts, images or links to anything outside it), laid out for
A4 and US Letter (`paper="auto"` lets the print dialog choose; "a4" or "letter" fix the page
size). Lays out a `LetterView`; decides nothing."""

from __future__ import annotations

from ..i18n import tr
from ..present.letter import LetterView
from .templating import render

PAPERS = {"auto": "auto", "a4": "A4", "letter": "letter"}

URGENCY_COLOURS = {
    "emergency": "#b00020",
    "same_day": "#c62828",
    "within_2_days": "#b26a00",
    "routine": "#1f5f99",
    "none": "#2e7d32",
}


def to_html(v: LetterView, *, paper: str = "auto") -> str:
    """One self-contained HTML file: inline CSS, nothing loaded from elsewhere."""
    if paper not in PAPERS:
        raise ValueError(f"paper must be one of {', '.join(PAPERS)}")
    return render("letter.html", v=v, size=PAPERS[paper], colours=URGENCY_COLOURS,
                  footer=f"{tr('Referral letter')} · {v.ref} · {v.letter_date}")
