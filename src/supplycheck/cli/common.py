"""What every command shares: the --rules option, the console, and turning errors into messages
and exit codes (one place: `run_guarded`)."""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path
from typing import Any, Callable

import click
from rich.console import Console

from ..errors import RuleBaseError, SupplycheckError
from ..i18n import tr
from .language import use_environment_language
from ..rulebase import RuleBase, default_rules_dir, load_rulebase

EXIT_OK = 0
EXIT_FINDINGS = 1  # the command ran and found problems (lint errors, --strict batch errors)
EXIT_USAGE = 2  # misuse, or input that cannot be read at all
EXIT_INTERRUPTED = 130

RULES_ENV = "SUPPLYCHECK_RULES"


def console(stderr: bool = False) -> Console:
    """A rich console that honours NO_COLOR and plain pipes."""
    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def rules_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """Adds `--rules DIR` (or $SUPPLYCHECK_RULES) and passes the loaded rule base as `rulebase`."""

    @click.option("--rules", "rules_dir", type=click.Path(file_okay=False, path_type=Path),
                  envvar=RULES_ENV, help="Rule base folder (default: the one shipped with supplycheck).")
    @functools.wraps(func)
    def wrapper(*args: Any, rules_dir: Path | None, **kwargs: Any) -> Any:
        return func(*args, rulebase=load_rules(rules_dir), **kwargs)

    return wrapper


def load_rules(rules_dir: Path | None) -> RuleBase:
    """The rule base, with its text in the chosen language where it has that translation."""
    from .. import i18n
    from ..rulebase import locales

    lang = i18n.current()
    folder = rules_dir or default_rules_dir()
    if lang != i18n.SOURCE and not locales.overlay_path(folder, lang).is_file():
        click.echo(f"supplycheck: the rule base in {folder} has no translation for {lang!r}; "
                   "its text stays in English.", err=True)
        lang = i18n.SOURCE
    try:
        return load_rulebase(rules_dir, lang=lang)
    except RuleBaseError as exc:
        click.echo("The rule base has errors:", err=True)
        for problem in exc.problems:
            if problem.severity == "error":
                click.echo(str(problem), err=True)
        raise SystemExit(EXIT_USAGE)


def run_guarded(main: Callable[[], Any]) -> None:
    """Run the CLI: a SupplycheckError becomes its message and exit 2; Ctrl-C exits 130.
    No traceback reaches a user."""
    use_environment_language()
    try:
        main()
    except SupplycheckError as exc:
        console(stderr=True).print(f"supplycheck: {exc}", markup=False)
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        console(stderr=True).print("\n" + tr("Interrupted."))
        sys.exit(EXIT_INTERRUPTED)
    except BrokenPipeError:
        # Output piped into a command that stopped reading (e.g. `| head`): not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(EXIT_OK)
