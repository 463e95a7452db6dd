"""The command line: parses arguments, calls the library, prints. No clinical logic here."""

from __future__ import annotations

import click

from .. import __version__
from .batch import batch_command
from .common import EXIT_CODES_HELP, GuardedGroup, run_guarded
from .language import LocalisedGroup, lang_option
from .intake import intake_group
from .rules import rules_group
from .screen import screen_command


class LocalisedGuardedGroup(LocalisedGroup, GuardedGroup):
    """The root group: help in the user's language; a closed pipe is a quiet success."""


@click.group(cls=LocalisedGuardedGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]},
             epilog=EXIT_CODES_HELP)
@click.version_option(__version__, prog_name="supplycheck")
@lang_option
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Screening for suspected low breast-milk supply.

    Without a command, starts the interactive screening (same as `supplycheck screen`).
    """
    if ctx.invoked_subcommand is None:
        # A context of its own, so the screening's options read their environment variables.
        with screen_command.make_context("screen", [], parent=ctx) as screen_ctx:
            screen_command.invoke(screen_ctx)


cli.add_command(screen_command)
cli.add_command(intake_group)
cli.add_command(batch_command)
cli.add_command(rules_group)


def main() -> None:
    run_guarded(cli)
