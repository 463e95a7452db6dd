"""`supplycheck intake ...`: guided intakes for lactation consultants."""

from __future__ import annotations

import click


@click.group("intake")
def intake_group() -> None:
    """Saved, resumable intakes with explanations and referral letters."""
