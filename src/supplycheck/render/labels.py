"""Short UI labels shared by the parents' summary renderers (terminal, Markdown, HTML).

These are interface words, so that meaning never rests on colour alone: a tag such as
"URGENT — TODAY" next to the rule base's own wording of the urgency. Nothing clinical here:
what to do, and why, always comes from the rule base through `summary.Summary`.
"""

from __future__ import annotations

from ..i18n import Words
from ..rulebase.models import Urgency

URGENCY_TAGS: dict[Urgency, str] = Words({
    Urgency.emergency: "EMERGENCY — NOW",
    Urgency.same_day: "URGENT — TODAY",
    Urgency.within_2_days: "SOON — WITHIN 2 DAYS",
    Urgency.routine: "ROUTINE — WITHIN A WEEK",
    Urgency.none: "NO RUSH",
})

# rich styles by urgency; the tag above always carries the same meaning without colour
URGENCY_STYLES: dict[Urgency, str] = {
    Urgency.emergency: "bold white on red",
    Urgency.same_day: "bold red",
    Urgency.within_2_days: "bold yellow",
    Urgency.routine: "bold cyan",
    Urgency.none: "bold green",
}

CATEGORY_HEADINGS = Words({
    "primary": "About your body and health",
    "secondary": "About how often and how well milk is removed",
})

HEADINGS = Words({
    "title": "Your supplycheck summary",
    "contact": "Who to contact, and how soon",
    "red_flags": "Why this needs attention",
    "supply": "What your answers suggest",
    "factors": "What may be affecting your supply",
    "because": "Because you said",
    "perceived": "Worries that are usually normal",
    "steps": "What to try now",
    "open": "Answering these could change the advice",
    "safety_net": "Get help at once if",
    "check_now": "Not known yet: check these now, each could make it urgent",
    "sources": "Sources",
    "about": "About this summary",
})


def tag(urgency: Urgency | str | None) -> str:
    return URGENCY_TAGS[Urgency(urgency)] if urgency else ""
