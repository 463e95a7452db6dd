"""`supplycheck rules ...`: lint the rule base, print the data dictionary, the hazard log and
JSON Schemas."""

from __future__ import annotations

import json

import click
from rich.table import Table
from rich.text import Text

from ..core.engine import compile_problems
from ..core.intake import intake_json_schema
from ..core.result import Result
from ..rulebase import RuleBase
from ..rulebase import locales
from ..rulebase.hazards import (
    HazardLog, check_hazards, hazard_rows, load_hazards, risk_label, short_reference, to_markdown,
)
from ..rulebase.lint import lint
from ..rulebase.models import FieldType
from .common import EXIT_FINDINGS, console, rules_option


@click.group("rules")
def rules_group() -> None:
    """Check and document the rule base."""


@rules_group.command("lint")
@click.option("--release", is_flag=True,
              help="Also fail on missing or outdated translations of a shipped language.")
@rules_option
def lint_command(rulebase: RuleBase, release: bool = False) -> None:
    """Check the rule base and its translations; exit 1 if there is any error."""
    problems = (lint(rulebase) + compile_problems(rulebase)
                + locales.lint_locales(rulebase.directory, release=release))
    for p in problems:  # one line each, never wrapped: editors and CI read file:line
        click.echo(str(p))
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    click.echo(f"{rulebase.name} {rulebase.version}: {len(rulebase.rules)} rules, "
               f"{len(rulebase.questions)} questions; {errors} error(s), {warnings} warning(s)")
    for lang in locales.available_languages(rulebase.directory)[1:]:
        tag = f"[{lang}] "
        mine = [p for p in problems if p.message.startswith(tag)]
        counts = {kind: sum(p.message.startswith(f"{tag}{kind}:") for p in mine)
                  for kind in ("missing", "outdated", "unknown")}
        click.echo(f"  {lang}: " + ", ".join(f"{n} {kind}" for kind, n in counts.items())
                   + f", {len(mine) - sum(counts.values())} other")
    if errors:
        raise SystemExit(EXIT_FINDINGS)


@rules_group.command("translate")
@click.argument("lang")
@click.option("--update", is_flag=True,
              help="Write rules/locales/LANG.yaml: add new texts (empty), drop texts that are gone, "
                   "refresh the English comments. Translations are kept.")
@click.option("--accept", "accept", multiple=True, metavar="KEY",
              help="Mark the translation of KEY (a pattern such as 'question.*' works) as checked "
                   "against the current English. Implies --update. Repeatable.")
@rules_option
def translate_command(rulebase: RuleBase, lang: str, update: bool = False, accept: tuple[str, ...] = ()) -> None:
    """Start or catch up a translation: show what LANG lacks, or (--update) write its skeleton."""
    if lang == locales.SOURCE_LANGUAGE:
        raise click.BadParameter("English is the rule base itself", param_hint="LANG")
    if not (update or accept):
        path = locales.overlay_path(rulebase.directory, lang)
        if not path.is_file():
            raise click.UsageError(f"no {path}; run `supplycheck rules translate {lang} --update` to start one")
        for p in locales.lint_locales(rulebase.directory, languages=[lang]):
            click.echo(str(p))
        return
    report = locales.update_overlay(rulebase.directory, lang, accept=accept)
    click.echo(f"Wrote {report.path}: {len(report.added)} new, {len(report.removed)} removed, "
               f"{len(report.accepted)} accepted; still to translate: {len(report.missing)} missing, "
               f"{len(report.outdated)} outdated.")


def data_dictionary(rulebase: RuleBase) -> list[dict]:
    """Every field: id, section, type, allowed values or range, wording and skip condition."""
    rows = []
    for section in rulebase.sections:
        for q in section.questions:
            rows.append({
                "field": q.id, "section": section.id, "type": q.type.value,
                "values": q.values if not q.is_numeric else None,
                "min": q.min, "max": q.max, "unit": q.unit or None,
                "question": q.parent, "clinical": q.clinical, "help": q.help or None,
                "asked_when": q.ask_when,
            })
    return rows


def _values_cell(row: dict) -> str:
    if row["values"] is None:
        unit = f" {row['unit']}" if row["unit"] else ""
        return f"{row['min']:g}–{row['max']:g}{unit}"
    text = ", ".join(f"`{v}`" for v in row["values"])
    return f"list of {text}; `none`" if row["type"] == FieldType.multi.value else text


@rules_group.command("fields")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@rules_option
def fields_command(rulebase: RuleBase, as_json: bool) -> None:
    """Print the data dictionary (Markdown, or JSON with --json)."""
    rows = data_dictionary(rulebase)
    if as_json:
        click.echo(json.dumps({"rulebase": {"name": rulebase.name, "version": rulebase.version},
                               "fields": rows}, indent=2, ensure_ascii=False))
        return
    lines = [f"# {rulebase.name} {rulebase.version}: intake fields", "",
             "Every field is optional; missing, empty or `unsure` means not known.", ""]
    for section in rulebase.sections:
        lines += [f"## {section.title.clinical}", "",
                  "| field | values | question | asked when |", "|---|---|---|---|"]
        for row in (r for r in rows if r["section"] == section.id):
            when = json.dumps(row["asked_when"]) if row["asked_when"] else "always"
            lines.append(f"| `{row['field']}` | {_values_cell(row)} | {row['question']} | {when} |")
        lines.append("")
    click.echo("\n".join(lines))


@rules_group.command("schema")
@click.argument("which", type=click.Choice(["intake", "result", "batch-result"]))
@rules_option
def schema_command(rulebase: RuleBase, which: str) -> None:
    """Print the JSON Schema of an intake record, of a result, or of one line of batch output."""
    if which == "batch-result":
        from ..channels.batch.writers import result_json_schema
        schema = result_json_schema(rulebase.codes)
    else:
        schema = intake_json_schema(rulebase) if which == "intake" else Result.model_json_schema()
    click.echo(json.dumps(schema, indent=2, ensure_ascii=False))


@rules_group.command("hazards")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table",
              show_default=True, help="json: for machines; markdown: docs/safety-case.md.")
@rules_option
def hazards_command(rulebase: RuleBase, fmt: str) -> None:
    """Print the clinical hazard log (rules/hazards.yaml); exit 1 if a control or verification
    names something that does not exist."""
    log, _ = load_hazards(rulebase)
    problems = check_hazards(rulebase)
    if log is not None:
        if fmt == "json":
            click.echo(json.dumps(hazard_rows(log), indent=2, ensure_ascii=False))
        elif fmt == "markdown":
            click.echo(to_markdown(log, rulebase), nl=False)
        else:
            _print_hazard_table(log)
    for p in problems:
        click.echo(str(p), err=True)
    if any(p.severity == "error" for p in problems):
        raise SystemExit(EXIT_FINDINGS)


def _print_hazard_table(log: HazardLog) -> None:
    table = Table(title="Clinical hazard log", show_lines=True, expand=True)
    for name, ratio in (("hazard", 2), ("risk before", 1), ("risk after", 1), ("controls", 2), ("verified by", 3)):
        table.add_column(name, overflow="fold", ratio=ratio)
    for h in log.hazards:
        controls = [f"{c.kind} {c.target}" for c in h.controls]
        controls += [f"(pending) {c.kind} {c.target}" for c in h.pending_controls]
        cells = (f"{h.id}\n{h.title}", risk_label(log, h.before), risk_label(log, h.after),
                 "\n".join(controls), "\n".join(map(short_reference, h.verified_by)))
        table.add_row(*(Text(cell) for cell in cells))  # Text: no rich markup in the log's words
    console().print(table)
