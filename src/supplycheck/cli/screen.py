"""`supplycheck screen`: the interactive screening for parents (see supplycheck.screen)."""

from __future__ import annotations

import click

from ..rulebase import RuleBase
from .common import rules_option


@click.command("screen")
@rules_option
def screen_command(rulebase: RuleBase) -> None:
    """Answer a few questions and get a summary: who to see, how soon, what to try now."""
    raise click.ClickException("the interactive screening is not built yet")
