"""`supplycheck rules ...`: lint the rule base, print the data dictionary and JSON Schemas."""

from __future__ import annotations

import json

import click

from ..core.intake import intake_json_schema
from ..core.result import Result
from ..rulebase import RuleBase
from ..rulebase.lint import lint
from ..rulebase.models import FieldType
from .common import EXIT_FINDINGS, rules_option


@click.group("rules")
def rules_group() -> None:
    """Check and document the rule base."""


@rules_group.command("lint")
@rules_option
def lint_command(rulebase: RuleBase) -> None:
    """Check the rule base; exit 1 if there is any error."""
    problems = lint(rulebase)
    for p in problems:  # one line each, never wrapped: editors and CI read file:line
        click.echo(str(p))
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    click.echo(f"{rulebase.name} {rulebase.version}: {len(rulebase.rules)} rules, "
               f"{len(rulebase.questions)} questions; {errors} error(s), {warnings} warning(s)")
    if errors:
        raise SystemExit(EXIT_FINDINGS)


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
