"""`supplycheck batch`: score anonymised intake files (see supplycheck.batch)."""

from __future__ import annotations

import click


@click.command("batch")
def batch_command() -> None:
    """Score CSV/JSONL intake files, one result per record."""
    raise click.ClickException("batch scoring is not built yet")
