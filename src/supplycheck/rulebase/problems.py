"""Every problem that loading and linting a rule base can report: one catalogue of stable codes.

A clinician who sees `rules/rules/10_red_flags.yaml:42: error RB305: ...` can search for RB305
(docs/rulebase-errors.md says what to do); the wording of each message lives here, once, as a
template with named fields, and `Problem`s are made only through `ProblemCode.X.at(...)`.

Codes are grouped by what they are about; the number never changes once released:

    RB1xx  files and YAML syntax
    RB2xx  structure: keys and values the schema refuses, duplicate ids, question and
           derived-value settings
    RB3xx  conditions (when, ask_when, shown_when, definitions)
    RB4xx  references to codes and sources that do not exist
    RB5xx  lint: the rule base loads but cannot work as its author meant
    RB6xx  the rule engine cannot compile it
    RB7xx  the hazard log (rules/hazards.yaml) and what it references
    RB8xx  translations (rules/locales/*.yaml)

To add a problem: add a member below with the next free code of its group (or open a new
hundred for a new area), a template whose `{fields}` the caller passes by name, the severity,
and what to do; then regenerate the docs (the command is in docs/rulebase-errors.md).
tests/test_rulebase_errors.py checks that codes are unique, every entry is used and the docs
are current.
"""

from __future__ import annotations

import string
from enum import Enum
from typing import Any

from ..errors import Problem, Severity

REGENERATE = ("python -c 'from supplycheck.rulebase.problems import catalogue_markdown as m; "
              "print(m(), end=\"\")' > docs/rulebase-errors.md")


class ProblemCode(Enum):
    """(code, severity, message template, what to do)."""

    # ---------------------------------------------------------------- RB1xx files and YAML
    FOLDER_NOT_FOUND = (
        "RB100", "error", "rule base folder not found",
        "Check the path given to `--rules` or `SUPPLYCHECK_RULES`.")
    FILE_UNREADABLE = (
        "RB101", "error", "cannot read file: {reason}",
        "Check the file's permissions, and save it as UTF-8.")
    YAML_INVALID = (
        "RB102", "error", "invalid YAML: {reason}",
        ("Fix the YAML syntax at that line (often indentation, a missing `:` or an unclosed "
         "bracket or quote)."))
    YAML_DUPLICATE_KEY = (
        "RB103", "error", "invalid YAML: duplicate key {key!r}",
        "Remove or rename one of the two keys: YAML would otherwise keep only the last silently.")
    FILE_MISSING = (
        "RB104", "error", "file is missing",
        ("Every rule base has rulebase.yaml, questions.yaml, derived.yaml, codes.yaml and "
         "definitions.yaml; copy the missing one from the shipped rules/."))
    NO_RULE_FILES = (
        "RB105", "error", "no rule files (rules/*.yaml)",
        "Put the rules in one or more `rules/*.yaml` files inside the rule base folder.")
    YAML_TOO_MANY_ALIASES = (
        "RB106", "error",
        "too many aliases: the file expands to {size} nodes or more (limit {limit})",
        "Write the content out instead of repeating aliases (a rule file is a few thousand nodes).")
    YAML_TOO_DEEP = (
        "RB107", "error", "invalid YAML: nested too deeply",
        "Flatten the structure: a rule file never needs hundreds of levels.")

    # ---------------------------------------------------------------- RB2xx structure
    KEY_MISSING = (
        "RB201", "error", "{where}: required, but missing",
        "Add the key; rules/README.md lists what each entry needs.")
    KEY_UNKNOWN = (
        "RB202", "error", "{where}: unknown key, not allowed here{given}",
        "Check the spelling of the key, or remove it.")
    VALUE_INVALID = (
        "RB203", "error", "{where}: {detail}{given}",
        "Use one of the values or the type the message names.")
    ID_NOT_SNAKE_CASE = (
        "RB204", "error", "{where}: must be lower_snake_case{given}",
        "Ids are lower-case letters, digits and `_`, starting with a letter (e.g. `few_wet_diapers`).")
    DUPLICATE_RULE_ID = (
        "RB205", "error", "duplicate rule id {rule!r} (first at {first})",
        "Give one of the two rules another id.")
    DUPLICATE_QUESTION_ID = (
        "RB206", "error", "duplicate question id {question!r}",
        "Give one of the questions another id (`id` is reserved for the intake's own id).")
    NUMBER_RANGE = (
        "RB207", "error", "numbers need min <= max",
        "Give the number question both `min` and `max`, with min <= max.")
    NUMBER_WITH_OPTIONS = (
        "RB208", "error", "numbers take no options",
        "Remove `options`, or make the question a `choice`.")
    TOO_FEW_OPTIONS = (
        "RB209", "error", "needs at least two options",
        "Add options, or make the question `yes_no` or `yes_no_unsure`.")
    DUPLICATE_OPTION = (
        "RB210", "error", "duplicate option values",
        "Each option's `value` must differ from the others'.")
    NONE_OPTION_RESERVED = (
        "RB211", "error", "'none' is reserved for 'none of these'",
        "Rename the option: every list question already offers `none`.")
    YES_NO_WITH_OPTIONS = (
        "RB212", "error", "yes/no questions take no options or range",
        "Remove `options`, `min` and `max`, or change the question's type.")
    DERIVED_UNKNOWN_FUNCTION = (
        "RB213", "error", "unknown function {function!r}; known: {known}",
        "Use one of the functions listed (they are in core/derive.py).")
    DERIVED_NAME_TAKEN = (
        "RB214", "error", "name already used",
        "Give the derived value an id no question or other derived value has.")
    DERIVED_PARAMS = (
        "RB215", "error", "params must be exactly: {params}",
        "Give the derived value exactly the settings its function takes.")
    DERIVED_INPUT_UNKNOWN = (
        "RB216", "error", "input {name!r} is not a question or an earlier derived value",
        "Add the question, or move the derived value it needs above this one in derived.yaml.")

    # ---------------------------------------------------------------- RB3xx conditions
    CONDITION_NOT_MAPPING = (
        "RB301", "error", "a condition must be a mapping such as {{field: x, eq: y}}",
        "Write the condition as `{field: ..., <test>: ...}` or with all/any/not/unless/at_least/def.")
    CONDITION_UNKNOWN = (
        "RB302", "error", "unknown condition {keys}; use field/op, or one of {combinators}",
        "Check the spelling; a combinator stands alone in its mapping.")
    UNKNOWN_DEFINITION = (
        "RB303", "error", "unknown definition {name!r}",
        "Define it in definitions.yaml (above any definition that uses it), or fix the name.")
    AT_LEAST_SHAPE = (
        "RB304", "error", "at_least takes {{n: <count>, of: [conditions]}}",
        "Give `at_least` exactly the keys `n` and `of`.")
    AT_LEAST_COUNT = (
        "RB305", "error", "at_least.n must be a whole number from 1 to {most}",
        "`n` counts conditions in `of`: at least 1, at most how many there are.")
    EMPTY_CONDITION_LIST = (
        "RB306", "error", "{combinator} takes a non-empty list of conditions",
        "Give it a YAML list with at least one condition.")
    TEST_NEEDS_ONE_OP = (
        "RB307", "error", "a test of {field!r} needs exactly one of: {ops} (got {got})",
        "Split two tests of one field into `all: [...]`; check the operator's spelling.")
    UNKNOWN_FIELD = (
        "RB308", "error", "unknown field {field!r}",
        ("Use a question id (questions.yaml) or a derived value (derived.yaml); "
         "`supplycheck rules fields` lists them."))
    WRONG_TYPE = (
        "RB309", "error", "{field} {op}: {value!r} is the wrong type; expected {expected}",
        "Write the value as the message says (a number without quotes; a list in brackets).")
    UNSURE_NEVER_MATCHES = (
        "RB310", "error", "{field} {op}: 'unsure' counts as not known and can never match; use known: false",
        "Test `{field: x, known: false}` to catch an unknown or unsure answer.")
    UNKNOWN_VALUE = (
        "RB311", "error", "{field} {op}: unknown value {value!r}; allowed: {allowed}",
        "Use one of the allowed values (the question's options).")
    LIST_ONLY_OP = (
        "RB312", "error", "{field}: '{op}' only applies to lists",
        "Use eq, ne or in for a single answer.")
    LIST_COMPARED = (
        "RB313", "error", "{field} is a list; use contains, contains_any, empty or known",
        "A list answer holds several codes: test whether it contains one.")
    NOT_A_NUMBER = (
        "RB314", "error", "{field} {op}: {field} is not a number",
        "Compare answers that are codes with eq, ne or in.")
    DEFINITION_CYCLE = (
        "RB315", "error", "definitions form a cycle: {cycle}",
        "A definition may not use itself, directly or through others: break the cycle.")
    DEFINITION_BELOW = (
        "RB316", "error", "uses definition {used!r}, which is written below it; move {used!r} above {name!r}",
        "Definitions are read top to bottom: move the one used above the one that uses it.")

    # ---------------------------------------------------------------- RB4xx references
    UNKNOWN_CODE = (
        "RB401", "error", "unknown {table} code {code!r}",
        "Add the code to codes.yaml with its wording, or fix the spelling.")
    UNKNOWN_SOURCE = (
        "RB402", "error", "unknown source {tag!r} (add it to rulebase.yaml sources)",
        "Every source tag must be listed, with its reference, under `sources` in rulebase.yaml.")
    UNKNOWN_SUPERSEDED_STEP = (
        "RB403", "error", "supersedes unknown step {step!r}",
        "Name a next step that exists in codes.yaml.")

    # ---------------------------------------------------------------- RB5xx lint
    OPTION_NEVER_SHOWN = (
        "RB501", "error", "option {option} can never be shown: its shown_when can never be true",
        "Loosen the shown_when: no answers make it true.")
    QUESTION_NEVER_ASKED = (
        "RB502", "error", "question {question} can never be asked: its ask_when can never be true",
        "Loosen the ask_when: no answers make it true.")
    ASK_WHEN_USES_LATER = (
        "RB503", "warning",
        ("question {question} ask_when uses {later}, asked at the same time or later "
         "(unknown then, so the question is always asked)"),
        "Move the question after the ones its ask_when uses, or test only earlier answers.")
    RULE_NEVER_FIRES = (
        "RB504", "error", "rule {rule} can never fire: its condition can never be true",
        "Check the thresholds: no answers make the condition true (e.g. lt 3 and gt 5).")
    CONCLUSION_WITHOUT_REFERRAL = (
        "RB505", "error", "rule {rule} concludes something but refers no one (add refer:)",
        "Every finding tells the parent who to see: add `refer: {to: ..., urgency: ...}`.")
    RED_FLAG_WITHOUT_URGENCY = (
        "RB506", "error", "rule {rule} raises red flag {red_flag} without urgency",
        "A red flag always refers with an urgency other than `none`.")
    RULE_CONCLUDES_NOTHING = (
        "RB507", "error", "rule {rule} concludes nothing",
        "Give the rule a red_flag, factor, perceived, supply, refer or next_steps, or remove it.")
    CODE_NEVER_CONCLUDED = (
        "RB508", "warning", "{table} code {code!r} is never concluded by any rule",
        "Use the code in a rule, or remove it from codes.yaml.")
    SOURCE_NOT_CITED = (
        "RB509", "warning", "source {tag!r} is not cited by any rule",
        "Cite it in a rule's `source`, or remove it from rulebase.yaml.")
    DEFINITION_UNUSED = (
        "RB510", "warning", "definition {name!r} is never used",
        "Use it with `{def: name}`, or remove it from definitions.yaml.")

    # ---------------------------------------------------------------- RB6xx the engine
    RULE_NOT_COMPILABLE = (
        "RB601", "error", "rule {rule} cannot be compiled: {reason}",
        ("Simplify the condition (durable_rules takes at most 31 tests in one conjunction); "
         "split the rule in two."))
    RULEBASE_NOT_COMPILABLE = (
        "RB602", "error", "the rule base cannot be compiled: {reason}",
        "Too many or too wide rules for durable_rules: simplify the widest conditions.")

    # ---------------------------------------------------------------- RB7xx the hazard log
    HAZARD_LOG_MISSING = (
        "RB700", "warning", "no hazard log: every clinical hazard should be written down here",
        "Add rules/hazards.yaml (see the shipped one for its form).")
    HAZARD_INVALID = (
        "RB701", "error", "{where}: {reason}",
        "Fix the entry as the message says; the hazard log's form is described at its top.")
    HAZARD_TESTS_NOT_CHECKED = (
        "RB702", "warning", "verifications not checked: no tests/ folder in {root}",
        "Run the check from a checkout that has the tests, or ignore this for an installed copy.")
    HAZARD_DUPLICATE_ID = (
        "RB703", "error", "duplicate hazard id {id} (first at line {first})",
        "Give each hazard its own id; never reuse the id of a retired hazard.")
    HAZARD_REFERENCE_BROKEN = (
        "RB704", "error", "{reason}",
        ("A control names a rule, definition, question, file, test or golden case that does not "
         "exist: correct the name, or move the control to pending_controls until it exists."))
    HAZARD_PENDING_BROKEN = (
        "RB705", "warning", "pending: {reason}",
        "A pending control still names something that does not exist yet: build it, then move it.")
    HAZARD_PENDING_EXISTS = (
        "RB706", "warning",
        "pending control {kind} {target!r} now exists: move it to controls once its verifications exist",
        "Move the control from pending_controls to controls.")
    HAZARD_VERIFIED_BY_XFAIL = (
        "RB707", "warning", "{reason}",
        "A test marked xfail verifies nothing yet: fix what it finds, then remove the mark.")
    HAZARD_BAD_SCALE = (
        "RB708", "error", "{when}.{what}: {value!r} is not one of: {allowed}",
        "Use a severity and likelihood from the scale at the top of the hazard log.")
    HAZARD_RISK_INCREASED = (
        "RB709", "error", "the risk after controls is higher than before",
        "Controls can only lower a risk: check the before and after ratings.")
    HAZARD_RESIDUAL_HIGH = (
        "RB710", "warning", "residual risk rated {rating}: needs more controls",
        "Add controls (and their tests) until the risk after controls is acceptable.")

    # ---------------------------------------------------------------- RB8xx translations
    LOCALE_NOT_AVAILABLE = (
        "RB800", "error", "no translation for language {lang!r}; available: {available}",
        "Choose one of the available languages, or add rules/locales/<lang>.yaml (rules/README.md).")
    LOCALE_INVALID = (
        "RB801", "error", "{reason}",
        "Fix the translation file's form as the message says (see rules/README.md, Translations).")
    LOCALE_MISSING = (
        "RB802", "warning", "[{lang}] missing: {key} (English at {where})",
        ("Translate it (`supplycheck rules translate LANG --update` writes a skeleton). An error "
         "with `rules lint --release` for a shipped language."))
    LOCALE_UNKNOWN = (
        "RB803", "warning", "[{lang}] unknown: {key} is no longer in the rule base",
        "Remove the entry, or move its text to the id that replaced it.")
    LOCALE_OUTDATED = (
        "RB804", "warning",
        "[{lang}] outdated: {key}: the English changed since it was translated (now: {now!r}; {where})",
        ("Check the translation against the new English, then accept it "
         "(`rules translate LANG --accept KEY`). Until then the English is shown. An error with "
         "`rules lint --release` for a shipped language."))
    LOCALE_MISMATCH = (
        "RB805", "error", "[{lang}] {key}: {reason}",
        "Make the translation carry the same numbers and {placeholders} as the English.")

    def __init__(self, code: str, severity: Severity, template: str, action: str):
        self.code = code
        self.severity: Severity = severity
        self.template = template
        self.action = action

    def format(self, **fields: Any) -> str:
        return self.template.format(**fields)

    def at(self, file: str, line: int | None, *, within: str = "", severity: Severity | None = None,
           **fields: Any) -> Problem:
        """This problem at file:line; `within` names the rule, question or definition it is in.
        `severity` overrides the catalogue's only where a mode raises it (say so in the action)."""
        message = self.format(**fields)
        return Problem(file, line, self.code, severity or self.severity,
                       f"{within}: {message}" if within else message)

    @property
    def fields(self) -> list[str]:
        """The names the template needs, in order."""
        return [name for _, name, _, _ in string.Formatter().parse(self.template) if name]


def catalogue_markdown() -> str:
    """docs/rulebase-errors.md: every code, its severity, message and what to do."""
    lines = [
        "# Rule-base problems",
        "",
        "Every problem `supplycheck rules lint` (and any command loading a rule base) reports has",
        "a stable code, shown after its file, line and severity:",
        "",
        "    rules/rules/10_red_flags.yaml:42: error RB308: rule fever_young: unknown field 'temp'",
        "",
        "An error stops the rule base from being used (or fails `rules lint`); a warning does not.",
        "The severity below is the usual one; where a mode makes a warning an error, the action says so.",
        "In the messages below, `<name>` stands for what the problem is about; a message may start",
        "with the rule, question or definition it lies in.",
        "",
        "Generated from `src/supplycheck/rulebase/problems.py` by",
        "",
        f"    {REGENERATE}",
        "",
        "| code | severity | message | what to do |",
        "|---|---|---|---|",
    ]
    for kind in ProblemCode:
        lines.append(f"| {kind.code} | {kind.severity} | `{_shown(kind.template)}` | {_cell(kind.action)} |")
    return "\n".join(lines) + "\n"


def _shown(template: str) -> str:
    """A template for people: `{field!r}` becomes `<field>`."""
    out = []
    for literal, name, _, _ in string.Formatter().parse(template):
        out.append(literal)
        if name:
            out.append(f"<{name}>")
    return _cell("".join(out))


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
