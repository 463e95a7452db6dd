"""`supplycheck screen`: the interactive screening for parents (see supplycheck.channels.parent).

Parses options, calls `supplycheck.channels.parent.screen` (the terminal) and `.screening`, prints. No clinical logic here.
"""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

import click

from ..rulebase import RuleBase
from ..i18n import tr
from .common import EXIT_USAGE, console, rules_option
from .language import LocalisedCommand, lang_option

MAX_WIDTH = 80

NO_TERMINAL = (
    "supplycheck screen asks its questions in an interactive terminal, and none is attached here.\n"
    "To screen from a file of answers instead, run:\n"
    "    supplycheck screen --answers FILE.yaml\n"
    "(examples are in examples/answers/; `supplycheck rules fields` lists every question id)."
)


def with_options(command: str, db_path: Path | None, rulebase: RuleBase) -> str:
    """`command` with the --db and --rules it was given, for hints that say how to go on: a
    hint that drops them would resume from another database, or score with other rules."""
    from ..rulebase.loader import default_rules_dir

    parts = [command]
    if db_path is not None:
        parts.append(f"--db {shlex.quote(str(db_path))}")
    if Path(rulebase.directory).resolve() != default_rules_dir().resolve():
        parts.append(f"--rules {shlex.quote(str(rulebase.directory))}")
    return " ".join(parts)


def _console():
    out = console()
    out.width = min(shutil.get_terminal_size((MAX_WIDTH, 24)).columns, MAX_WIDTH)
    return out


@click.command("screen", cls=LocalisedCommand)
@click.option("--resume", is_flag=True, help="Continue the most recent unfinished screening.")
@click.option("--answers", "answers_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Answer the questions from a YAML or JSON file instead of asking (no terminal needed).")
@click.option("--save", "save_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the summary to FILE: .md (Markdown), .html (printable page) or .json.")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Database of saved screenings (default: $SUPPLYCHECK_DB, or your user data folder).")
@lang_option
@rules_option
def screen_command(rulebase: RuleBase, resume: bool = False, answers_file: Path | None = None,
                   save_file: Path | None = None, db_path: Path | None = None) -> None:
    """Answer a few questions and get a summary: who to see, how soon, what to try now."""
    from ..channels.parent import screen, screening

    if save_file is not None:
        _check_save_format(save_file)
    out = _console()
    if answers_file is not None:
        if resume:
            raise click.UsageError(tr("--answers and --resume cannot be used together"))
        done = screen.run_replay(rulebase, screening.load_answers(answers_file), out)
        if save_file is not None:
            screening.save_summary(save_file, rulebase, done.result)
            out.print(tr("Saved the summary to {file}.").format(file=save_file), markup=False)
        return
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        console(stderr=True).print(tr(NO_TERMINAL), markup=False, highlight=False)
        raise SystemExit(EXIT_USAGE)
    from ..storage.store import Store

    with Store(db_path) as store:
        term = screen.Terminal(out, command=with_options("supplycheck screen", db_path, rulebase))
        outcome = screen.run(rulebase, store, term, resume=resume)
        if outcome.result is None:
            return
        if save_file is not None:
            screening.save_summary(save_file, rulebase, outcome.result)
            out.print(tr("Saved the summary to {file}.").format(file=save_file), markup=False)
        else:
            out.print()
            screen.offer_to_save(rulebase, outcome.result, term)


def _check_save_format(path: Path) -> None:
    from ..present import formats

    if formats.for_path(path) is None:
        raise click.BadParameter(tr("use a file name ending in .md, .html or .json"), param_hint="--save")
