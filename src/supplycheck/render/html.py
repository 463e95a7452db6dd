"""The parents' summary as one self-contained, printable HTML file (for `--save summary.html`).

Inline CSS with print styles; no scripts, fonts, images or links to anything outside the file.
Urgency is always written as a text tag ("URGENT — TODAY"), so a black-and-white printout says
the same as the screen. Lays out a `Summary`; decides nothing.
"""

from __future__ import annotations

import html
from datetime import date

from ..i18n import current as current_language, format_date, tr
from ..present.summary import Finding, Summary
from .labels import CATEGORY_HEADINGS, HEADINGS, tag

CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
       color: #111; background: #fff; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin: 0 0 1rem; }
h2 { font-size: 1.2rem; margin: 1.8rem 0 .6rem; border-bottom: 1px solid #999; padding-bottom: .2rem; }
h3 { font-size: 1rem; margin: 1rem 0 .4rem; }
ul, ol { padding-left: 1.4rem; }
li { margin: .35rem 0; }
.tag { display: inline-block; font-weight: 700; font-size: .85rem; letter-spacing: .02em;
       border: 2px solid currentColor; border-radius: 4px; padding: 0 .35rem; margin-right: .3rem; }
.headline { border: 3px solid #444; border-radius: 8px; padding: .8rem 1rem; margin: 1rem 0; }
.headline .tag { font-size: 1.1rem; }
.headline p.when { font-weight: 600; font-size: 1.1rem; margin: .5rem 0; }
.u-emergency { color: #9b0000; } .u-same_day { color: #b00020; } .u-within_2_days { color: #8a5300; }
.u-routine { color: #00576b; } .u-none { color: #1b5e20; }
.headline.u-emergency, .headline.u-same_day { border-color: #b00020; }
.because { font-size: .92rem; color: #333; margin: .2rem 0 .4rem; }
.because ul { margin: .1rem 0; }
.answer { font-weight: 600; }
.worry { font-weight: 600; }
.sources { font-size: .85rem; color: #333; }
.about { border-left: 4px solid #999; padding: .4rem .8rem; background: #f4f4f4; }
footer { font-size: .8rem; color: #555; margin-top: 1.5rem; }
@media print {
  body { margin: 0; max-width: none; font-size: 11pt; }
  h2 { break-after: avoid; }
  li, .headline, .about { break-inside: avoid; }
  .about { background: none; }
  a { color: inherit; text-decoration: none; }
}
@page { margin: 18mm 16mm; }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _tag(urgency: object) -> str:
    if not urgency:
        return ""
    value = getattr(urgency, "value", urgency)
    return f'<span class="tag u-{_e(value)}">{_e(tag(urgency))}</span>'


def _evidence(f: Finding) -> str:
    if not f.evidence:
        return ""
    items = "".join(f'<li>{_e(e.label)} → <span class="answer">{_e(e.answer)}</span></li>' for e in f.evidence)
    return f'<div class="because"><em>{_e(HEADINGS["because"])}:</em><ul>{items}</ul></div>'


def to_html(summary: Summary, *, made: date | None = None) -> str:
    """The page; `made` (default today) is printed at the foot, for whoever reads it later."""
    u = summary.urgency.value
    parts: list[str] = [f"<h1>{_e(HEADINGS['title'])}</h1>"]
    contacts = "".join(f"<li>{_tag(c.urgency)} {_e(c.who)}</li>" for c in summary.contacts)
    parts.append(
        f'<section class="headline u-{_e(u)}">{_tag(summary.urgency)}'
        f'<p class="when">{_e(summary.urgency_text)}</p>'
        + (f"<h3>{_e(HEADINGS['contact'])}</h3><ul>{contacts}</ul>" if contacts else "")
        + "</section>")
    if summary.check_now:
        items = "".join(f"<li>{_tag(urgency)} {_e(label)}</li>" for label, urgency in summary.check_now)
        parts.append(f"<h2>{_e(HEADINGS['check_now'])}</h2><ul>{items}</ul>")
    if summary.red_flags:
        items = "".join(f"<li>{_tag(f.urgency)} {_e(f.text)}{_evidence(f)}</li>" for f in summary.red_flags)
        parts.append(f"<h2>{_e(HEADINGS['red_flags'])}</h2><ul>{items}</ul>")
    parts.append(f"<h2>{_e(HEADINGS['supply'])}</h2><p>{_e(summary.supply_text)}</p>")
    if summary.factors:
        parts.append(f"<h2>{_e(HEADINGS['factors'])}</h2>")
        for category in ("primary", "secondary"):
            found = [f for f in summary.factors if f.category == category]
            if found:
                items = "".join(f"<li>{_e(f.text)}{_evidence(f)}</li>" for f in found)
                parts.append(f"<h3>{_e(CATEGORY_HEADINGS[category])}</h3><ul>{items}</ul>")
    if summary.perceived:
        items = []
        for f in summary.perceived:
            worry, _, why = f.text.partition(": ")
            items.append(f'<li><span class="worry">{_e(worry)}</span>{": " + _e(why) if why else ""}</li>')
        parts.append(f"<h2>{_e(HEADINGS['perceived'])}</h2><ul>{''.join(items)}</ul>")
    if summary.next_steps:
        items = "".join(f"<li>{_e(s)}</li>" for s in summary.next_steps)
        parts.append(f"<h2>{_e(HEADINGS['steps'])}</h2><ol>{items}</ol>")
    if summary.safety_net:
        items = "".join(f"<li>{_e(item)}</li>" for item in summary.safety_net)
        parts.append(f'<h2>{_e(HEADINGS["safety_net"])}</h2><ul class="safety-net">{items}</ul>')
    if summary.open_questions:
        items = "".join(f"<li>{_e(q)}</li>" for q in summary.open_questions)
        parts.append(f"<h2>{_e(HEADINGS['open'])}</h2><ul>{items}</ul>")
    if summary.sources:
        items = "".join(f"<li><strong>{_e(t)}</strong>: {_e(c)}</li>" for t, c in summary.sources)
        parts.append(f'<h2>{_e(HEADINGS["sources"])}</h2><ul class="sources">{items}</ul>')
    parts.append(f'<h2>{_e(HEADINGS["about"])}</h2><p class="about">{_e(summary.disclaimer)}</p>')
    made = made or date.today()
    # no version line for parents: it stays in the consultant's letter and in the JSON
    parts.append(f"<footer>{_e(tr('Made on {date}').format(date=format_date(made)))}</footer>")
    body = "\n".join(parts)
    return (
        f"<!DOCTYPE html>\n<html lang=\"{current_language()}\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{_e(HEADINGS['title'])} — {_e(tag(summary.urgency))}</title>\n"
        f"<style>{CSS}</style>\n</head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n")
