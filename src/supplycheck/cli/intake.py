"""`supplycheck intake ...`: guided intakes for lactation consultants, saved in a database.

Parses options, calls `supplycheck.storage.store` and `supplycheck.channels.consult`, prints. Nothing decided here.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any, Callable

import click
from rich.text import Text

from ..channels.consult import records, session, views
from ..present.explain import explain
from ..present import formats
from ..render.table import FORMATS, plain
from ..storage.atomic import write_atomic
from ..rulebase import RuleBase
from ..storage.store import DB_ENV, DuplicateRefError, Store, check_ref, default_db_path
from .. import i18n
from .common import EXIT_STORE, EXIT_USAGE, console, printable, rules_option
from .language import lang_option
from .screen import with_options

_CREATES_DB = {"new_command"}  # the only command that may start a new database file


def db_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """Adds `--db PATH` (or $SUPPLYCHECK_DB; default: the user data folder) and passes an open
    `store`."""

    @click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), envvar=DB_ENV,
                  help="Database file (default: supplycheck.db in your user data folder; "
                       f"${DB_ENV} overrides).")
    @click.option("--by", "author", metavar="NAME", default=None,
                  help="Who makes the changes, for the audit trail (default: your user name).")
    @functools.wraps(func)
    def wrapper(*args: Any, db_path: Path | None, author: str | None, **kwargs: Any) -> Any:
        path = db_path or default_db_path()
        if func.__name__ not in _CREATES_DB and not path.exists():
            # Reading a database that is not there: say so, rather than create an empty one.
            click.echo(f"No intakes database at {path} yet: start one with `supplycheck intake new "
                       f"REF`, or check --db / ${DB_ENV}.", err=True)
            raise SystemExit(EXIT_USAGE)
        click.get_current_context().meta["supplycheck.db"] = db_path
        with Store(path, author=author) as store:
            if store.damaged is not None:  # reading what can be read; every write is refused
                click.echo(f"Warning: {path}: the intakes database is damaged ({store.damaged}); "
                           "run `supplycheck intake doctor`.", err=True)
            return func(*args, store=store, **kwargs)

    return wrapper


@click.group("intake")
def intake_group() -> None:
    """Saved, resumable intakes with explanations and referral letters.

    An intake is known by a reference code you choose (letters, digits, - and _, with at least
    one digit, e.g. LC-0042), never by a name.
    """


def _command(rulebase: RuleBase) -> str:
    """`supplycheck intake` with the --db and --rules this command was given, for hints."""
    return with_options("supplycheck intake", click.get_current_context().meta.get("supplycheck.db"),
                        rulebase)


def _interview(store: Store, rulebase: RuleBase, ref: str) -> None:
    session.run(store, rulebase, ref, console(), command=_command(rulebase))


@intake_group.command("new")
@click.argument("ref")
@db_option
@lang_option
@rules_option
def new_command(ref: str, store: Store, rulebase: RuleBase) -> None:
    """Start a new intake under the reference code REF."""
    ref = check_ref(ref)
    _need_terminal()
    try:
        record = store.create(ref, "intake", rulebase)
    except DuplicateRefError as exc:
        hint = (f"to carry on with it: {_command(rulebase)} resume {exc.ref}" if exc.kind == "intake"
                else "choose another reference code")
        raise click.ClickException(f"{exc}; {hint}") from None
    _interview(store, rulebase, record.ref)


@intake_group.command("resume")
@click.argument("ref", required=False)
@db_option
@lang_option
@rules_option
def resume_command(ref: str | None, store: Store, rulebase: RuleBase) -> None:
    """Go on with intake REF (default: the most recently changed unfinished one)."""
    if ref is None:
        ref = store.latest_unfinished("intake")
        if ref is None:
            raise click.ClickException(f"no unfinished intake to resume in {store.path}; give a "
                                       "reference code, or the --db FILE the intake was saved in")
    store.require(ref)
    _need_terminal()
    _interview(store, rulebase, ref)


def _need_terminal() -> None:
    """The interview needs a terminal; without one, say so before anything is created."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        click.echo("The guided intake needs a terminal to ask its questions: run it in a terminal "
                   "window. (list, show, export and rescore work without one.)", err=True)
        raise SystemExit(EXIT_USAGE)


@intake_group.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include parents' screenings saved here.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
              help="table: a table on a terminal, tab-separated text when piped; csv; json.")
@db_option
@rules_option
def list_command(show_all: bool, fmt: str, store: Store, rulebase: RuleBase) -> None:
    """Saved intakes, most recently changed first: each scored now from its answers (finished
    or not), with how complete it is."""
    listed = records.listing(store, rulebase, None if show_all else "intake")
    out = console()
    if fmt == "table" and out.is_terminal:
        if not listed:
            out.print(f"No saved intakes in {store.path}.")
            return
        out.print(views.intake_table(listed, out.width))
        return
    click.echo(plain(views.LIST_COLUMNS, views.list_rows(listed), "tsv" if fmt == "table" else fmt),
               nl=False)


@intake_group.command("show")
@click.argument("ref")
@click.option("--explain", "with_explain", is_flag=True,
              help="The rule, answers, derived values and source behind every finding, and the "
                   "unanswered questions that could raise the urgency.")
@click.option("--audit", "with_audit", is_flag=True, help="Every change, with its time.")
@db_option
@rules_option
def show_command(ref: str, with_explain: bool, with_audit: bool, store: Store, rulebase: RuleBase) -> None:
    """Show intake REF: findings, answers and notes."""
    now = records.current(store, rulebase, ref)
    out = console()
    out.print(views.header(now))
    if now.rulebase_changed:
        out.print(Text(f"The loaded rule base is {rulebase.name} {rulebase.version} "
                       f"({rulebase.content_hash[:12]}): run `supplycheck intake rescore {ref}` to "
                       "score this intake with it.", style="yellow"))
    records.check_codes(rulebase, ref, now.stored)
    out.print(views.findings_panel(rulebase, now.result, title="Findings", completeness=now.completeness))
    out.print(views.answers_view(rulebase, now.answers, now.notes))
    if with_explain:
        out.print()
        out.rule(Text("Why", style="bold"), align="left")
        out.print(views.explanation_view(explain(rulebase, now.result), completeness=now.completeness,
                                         rulebase=rulebase, show_rulebase=False))
    if with_audit:
        out.print()
        out.rule(Text("Changes", style="bold"), align="left")
        out.print(views.audit_table(rulebase, store.audit(ref)))


@intake_group.command("export")
@click.argument("ref")
@click.option("--format", "fmt", type=click.Choice(formats.NAMES), default="html", show_default=True)
@click.option("--to", "recipient", type=click.Choice([r.value for r in records.RECIPIENTS]),
              default="baby_doctor", show_default=True, help="Who the letter is addressed to.")
@click.option("--paper", type=click.Choice(["auto", "a4", "letter"]), default="auto", show_default=True,
              help="HTML page size when printed (auto: the print dialog decides).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file (atomically) instead of standard output.")
@db_option
@lang_option(pass_lang=True, help="Language of the letter (for example es); default: the intake's own.")
@rules_option
def export_command(ref: str, fmt: str, recipient: str, paper: str, output: Path | None,
                   store: Store, rulebase: RuleBase, lang: str | None = None) -> None:
    """A referral letter for intake REF (HTML to print, Markdown, or JSON)."""
    lang = lang or store.require(ref).lang
    with i18n.using(lang):
        text, now = records.export(store, rulebase.localised(lang), ref, fmt, recipient, paper=paper)  # type: ignore[arg-type]
    err = console(stderr=True)
    if now.rulebase_changed:
        err.print(f"note: {ref} was scored with rule base {now.stored.rulebase_version}; the loaded "
                  f"one is {rulebase.version}. The letter shows the stored result; "
                  f"`supplycheck intake rescore {ref}` updates it.", markup=False)
    if output is None:
        click.echo(text, nl=False)
        return
    write_atomic(output, text)
    err.print(f"Wrote {output}", markup=False)


@intake_group.command("rescore")
@click.argument("refs", nargs=-1)
@click.option("--dry-run", is_flag=True, help="Show what would change; keep the stored results.")
@db_option
@rules_option
def rescore_command(refs: tuple[str, ...], dry_run: bool, store: Store, rulebase: RuleBase) -> None:
    """Score saved intakes (default: all) with the current rule base and show what changed."""
    reports = records.rescore(store, rulebase, list(refs) or None, save=not dry_run)
    out = console()
    out.print(views.rescore_view(rulebase, reports))
    changed = sum(1 for r in reports if r.diff.changed)
    out.print(Text(f"\n{len(reports)} intake{'s' * (len(reports) != 1)} rescored with "
                   f"{rulebase.name} {rulebase.version}; {changed} changed"
                   + (" (dry run: nothing saved)" if dry_run else "") + ".", style="bold"))


@intake_group.command("delete")
@click.argument("ref")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@db_option
def delete_command(ref: str, yes: bool, store: Store) -> None:
    """Delete intake REF with its answers, notes, results and audit trail."""
    record = store.require(ref)
    if not yes:
        click.confirm(f"Delete intake {record.ref} ({record.answered} answers) and its history? "
                      "This cannot be undone", abort=True)
    store.delete(record.ref)
    console().print(f"Deleted {record.ref}.")


@intake_group.command("doctor")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), envvar=DB_ENV,
              help=f"Database file (default: supplycheck.db in your user data folder; ${DB_ENV} overrides).")
def doctor_command(db_path: Path | None) -> None:
    """Check the intakes database: SQLite's full integrity check (read-only, nothing written to
    the database) and its files' permissions (made owner-only). Exit 5 when it is damaged."""
    from ..storage.store import diagnose

    path = db_path or default_db_path()
    if not path.is_file():
        click.echo(f"No intakes database at {path}.", err=True)
        raise SystemExit(EXIT_USAGE)
    found = diagnose(path)
    for fixed in found.modes_fixed:
        click.echo(f"Made owner-only: {fixed}")
    if found.ok:
        click.echo(f"{path}: integrity check passed.")
        return
    click.echo(f"{path}: the database is damaged:")
    for problem in found.problems:
        click.echo(f"  {printable(problem)}")
    click.echo("Nothing was changed. Keep a copy of the file, then either restore your last backup, or "
               f"recover what can be read (`sqlite3 {path} .recover | sqlite3 recovered.db`) and use it "
               "with --db. supplycheck does not write to a database that fails this check.")
    raise SystemExit(EXIT_STORE)
