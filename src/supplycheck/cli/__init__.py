"""The command line: parses arguments, calls the library, prints. No clinical logic here."""

from __future__ import annotations

import click

from .. import __version__
from .common import EXIT_CODES_HELP, GuardedGroup, run_guarded
from .language import LocalisedGroup, lang_option
from .screen import screen_command


def _batch() -> click.Command:
    from .batch import batch_command
    return batch_command


def _export() -> click.Command:
    from .export import export_group
    return export_group


def _intake() -> click.Command:
    from .export import intake_import_command
    from .intake import intake_group
    intake_group.add_command(intake_import_command, "import")
    return intake_group


def _rules() -> click.Command:
    from .rules import rules_group
    return rules_group


# Imported when used: a batch run need not load the consultant's store, the letters or the
# form exports (a third of the start-up time).
_LATER = {"batch": _batch, "export": _export, "intake": _intake, "rules": _rules}


class LocalisedGuardedGroup(LocalisedGroup, GuardedGroup):
    """The root group: help in the user's language; a closed pipe is a quiet success; its
    commands (but the screening) imported when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *_LATER})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in _LATER:
            self.add_command(_LATER[cmd_name](), cmd_name)
        return super().get_command(ctx, cmd_name)

    def get_help(self, ctx: click.Context) -> str:
        for name in self.list_commands(ctx):  # every command's one-line help, translated
            self.get_command(ctx, name)
        return super().get_help(ctx)


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


def main() -> None:
    run_guarded(cli)
