"""What every command shares: the --rules option, the console, and turning errors into messages
and exit codes (one place: `run_guarded`).

Exit codes (README "Exit codes" and `supplycheck --help` list them):

    0    done (with `batch`: every intake read, scored or error); output closed early (`| head`)
    1    findings: error intakes under `batch --strict`, errors from `rules lint`
    2    misuse, or an input that cannot be read at all
    3    refused for privacy: identifying columns or values in the input
    4    the output cannot be written (disk full, read-only, missing folder, an input's path)
    5    the intakes database is damaged, read-only or from a newer version (`intake doctor`)
    70   an internal error (a bug: please report it; SUPPLYCHECK_DEBUG=1 shows the traceback)
    130  interrupted (Ctrl-C, SIGTERM)
"""

from __future__ import annotations

import errno
import functools
import os
import sqlite3
import sys
import traceback
from pathlib import Path
from typing import Any, Callable

import click
from rich.console import Console

from ..errors import RuleBaseError, SupplycheckError
from ..i18n import tr
from ..present.text import printable
from ..rulebase import RuleBase, default_rules_dir, load_rulebase
from .language import use_environment_language

EXIT_OK = 0
EXIT_FINDINGS = 1  # the command ran and found problems (lint errors, --strict batch errors)
EXIT_USAGE = 2  # misuse, or input that cannot be read at all
EXIT_PRIVACY = 3  # refused: the input holds identifying data
EXIT_OUTPUT = 4  # the output cannot be written
EXIT_STORE = 5  # the intakes database cannot be used
EXIT_INTERNAL = 70  # a bug (EX_SOFTWARE)
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = (
    "Exit codes: 0 done; 1 findings (batch --strict error intakes, lint errors); 2 misuse or "
    "unreadable input; 3 refused for privacy; 4 output cannot be written; 5 intakes database "
    "damaged or read-only; 70 internal error; 130 interrupted."
)
DEBUG_ENV = "SUPPLYCHECK_DEBUG"
_DISK_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO, errno.EACCES, errno.EPERM}

RULES_ENV = "SUPPLYCHECK_RULES"


class PipeClosed(Exception):
    """Standard output was closed by its reader (`| head`): the command stops quietly."""


class _Console(Console):
    def on_broken_pipe(self) -> None:
        raise PipeClosed()  # rich would exit 1; a closed pipe is a quiet success


def console(stderr: bool = False) -> Console:
    """A rich console that honours NO_COLOR and plain pipes."""
    return _Console(stderr=stderr, highlight=False, soft_wrap=False)


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


class GuardedGroup(click.Group):
    """The root command group: a closed standard output is turned into PipeClosed before click
    sees it (click would exit 1 for it)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise PipeClosed() from None
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                raise PipeClosed() from None
            raise


def exit_code_of(exc: BaseException) -> int:
    """The one mapping from an error to its exit code."""
    from ..channels.batch.writers import OutputError
    from ..privacy import PrivacyError
    from ..storage.store import DatabaseError, SchemaTooNewError

    if isinstance(exc, PrivacyError):
        return EXIT_PRIVACY
    if isinstance(exc, OutputError):
        return EXIT_OUTPUT
    if isinstance(exc, (DatabaseError, SchemaTooNewError)):
        return EXIT_STORE
    if isinstance(exc, SupplycheckError):
        return EXIT_USAGE
    if isinstance(exc, OSError) and exc.errno in _DISK_ERRORS:
        return EXIT_OUTPUT
    return EXIT_INTERNAL


def _say(message: str) -> None:
    try:
        sys.stderr.write(printable(message) + "\n")
        sys.stderr.flush()
    except OSError:
        pass


def _quiet_stdout() -> None:
    """Standard output is gone (a closed pipe, a full disk): point it at /dev/null so the
    interpreter's last flush does not print an error."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def run_guarded(main: Callable[[], Any]) -> None:
    """Run the CLI; every error becomes a one-line message and its exit code (see the module
    docstring). A click command runs with click's own handling off, so that these rules hold
    for every command. No traceback reaches a user unless $SUPPLYCHECK_DEBUG is set."""
    use_environment_language()
    code = EXIT_OK
    try:
        if isinstance(main, click.Command):
            result = main.main(standalone_mode=False)
            code = result if isinstance(result, int) else EXIT_OK
        else:
            main()
        sys.stdout.flush()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_USAGE)
        if isinstance(exc.code, str):
            _say(exc.code)
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            _quiet_stdout()
        except OSError as exc2:
            _quiet_stdout()
            _say(f"supplycheck: cannot write to standard output: {exc2.strerror or exc2}")
            code = code or EXIT_OUTPUT
    except click.exceptions.Abort:
        _say(tr("Interrupted."))
        code = EXIT_INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except (KeyboardInterrupt, EOFError):
        _say("\n" + tr("Interrupted."))
        code = EXIT_INTERRUPTED
    except (BrokenPipeError, PipeClosed):
        # Output piped into a command that stopped reading (e.g. `| head`): not an error.
        _quiet_stdout()
        code = EXIT_OK
    except SupplycheckError as exc:
        _say(f"supplycheck: {exc}")
        code = exit_code_of(exc)
    except sqlite3.DatabaseError as exc:  # a store that went bad after it was opened
        from ..storage.store import WAY_OUT

        what = "cannot be written" if "readonly" in str(exc) else "cannot be read"
        _say(f"supplycheck: the intakes database {what} ({exc}); nothing was changed. {WAY_OUT}.")
        code = EXIT_STORE
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            _quiet_stdout()
            code = EXIT_OK
        else:
            code = exit_code_of(exc)
            where = f" {exc.filename}" if exc.filename else " standard output"
            if code == EXIT_OUTPUT:
                _quiet_stdout()
                _say(f"supplycheck: cannot write{where}: {exc.strerror or exc}")
            else:
                _say(f"supplycheck: internal error: {exc}. Please report it ({DEBUG_ENV}=1 shows details).")
    except Exception as exc:  # a bug: say so briefly, with its own exit code
        if os.environ.get(DEBUG_ENV):
            traceback.print_exc()
        _say(f"supplycheck: internal error ({type(exc).__name__}): {exc}. Please report it "
             f"({DEBUG_ENV}=1 shows the traceback).")
        code = EXIT_INTERNAL
    sys.exit(code)
