"""Load a rule base folder: parse YAML, validate with pydantic, type-check conditions.

Every problem is collected with its file and line; a rule base with errors is never returned.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel, ValidationError

from ..core import derive
from ..errors import Problem, RuleBaseError, display_path
from . import conditions as C
from .models import (
    CodesFile, DefinitionsFile, Derived, DerivedFile, FieldType, MetaFile, Question, QuestionsFile,
    Rule, RulesFile, Section,
)
from .yamlsource import line_at, read_yaml

CONTRACT_ONLY_FIELDS = ("id",)


def default_rules_dir() -> Path:
    """The rule base shipped with supplycheck: the repository's `rules/`, or the installed copy."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[3] / "rules", Path(sys.prefix) / "share" / "supplycheck" / "rules"):
        if (candidate / "rulebase.yaml").is_file():
            return candidate
    return here.parents[3] / "rules"


@dataclass
class CompiledRule:
    """A rule with its parsed condition."""

    model: Rule
    condition: C.Condition
    file: str
    line: int | None

    @property
    def id(self) -> str:
        return self.model.id


@dataclass
class RuleBase:
    """A loaded, validated rule base. Immutable in use; build one with `load_rulebase`."""

    directory: Path
    meta: MetaFile
    sections: list[Section]
    derived: list[Derived]
    codes: CodesFile
    definitions: dict[str, C.Condition]
    rules: list[CompiledRule]
    ask_when: dict[str, C.Condition]
    symbols: dict[str, C.Symbol]
    content_hash: str
    warnings: list[Problem] = field(default_factory=list)
    locations: dict[str, tuple[str, int | None]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.meta.name

    @property
    def version(self) -> str:
        return self.meta.version

    @cached_property
    def questions(self) -> dict[str, Question]:
        """Every question in interview order, by field id."""
        return {q.id: q for s in self.sections for q in s.questions}

    @cached_property
    def section_of(self) -> dict[str, Section]:
        return {q.id: s for s in self.sections for q in s.questions}

    @cached_property
    def derive_functions(self) -> list[tuple[str, Callable[..., Any]]]:
        """(name, function bound to its settings) for every derived value, in order."""
        return [(d.id, functools.wraps(derive.FUNCTIONS[d.function])(
                    functools.partial(derive.FUNCTIONS[d.function], **d.params)))
                 for d in self.derived]

    @cached_property
    def rules_by_id(self) -> dict[str, CompiledRule]:
        return {r.id: r for r in self.rules}

    @cached_property
    def rule_order(self) -> dict[str, int]:
        return {r.id: i for i, r in enumerate(self.rules)}

    def answers_behind(self, name: str) -> tuple[str, ...]:
        """The answers a field or derived value comes from (itself, for an answer)."""
        return self.symbols[name].inputs or (name,)


def load_rulebase(directory: Path | str | None = None) -> RuleBase:
    """Load and check the rule base in `directory` (default: the shipped one).

    Raises RuleBaseError listing every problem with its file and line.
    """
    directory = Path(directory) if directory else default_rules_dir()
    loader = _Loader(directory)
    rulebase = loader.load()
    if rulebase is None:
        raise RuleBaseError(loader.problems)
    return rulebase


class _Loader:
    def __init__(self, directory: Path):
        self.directory = directory
        self.problems: list[Problem] = []
        self.locations: dict[str, tuple[str, int | None]] = {}

    def problem(self, file: str, line: int | None, message: str, severity: str = "error") -> None:
        self.problems.append(Problem(file, line, message, severity))

    @property
    def has_errors(self) -> bool:
        return any(p.severity == "error" for p in self.problems)

    def read(self, path: Path, model: type[BaseModel]) -> tuple[Any, Any]:
        name = display_path(path)
        if not path.is_file():
            self.problem(name, None, "file is missing")
            return None, None
        raw, problems = read_yaml(path)
        self.problems.extend(problems)
        if problems:
            return None, None
        if raw is None:
            raw = {}
        try:
            return model.model_validate(raw), raw
        except ValidationError as exc:
            for err in exc.errors():
                loc = [p for p in err["loc"] if not isinstance(p, str) or not p.startswith("function-")]
                where = ".".join(str(p) for p in loc) or "(top level)"
                owner = _owner(raw, loc)
                value = err.get("input")
                shown = repr(value)
                given = f" (got {shown})" if (err["type"] != "missing" and len(shown) <= 60
                                              and not isinstance(value, (dict, list))) else ""
                self.problem(name, line_at(raw, loc), f"{owner}{where}: {err['msg']}{given}")
            return None, None

    def load(self) -> RuleBase | None:
        d = self.directory
        if not d.is_dir():
            self.problem(display_path(d), None, "rule base folder not found")
            return None
        meta, _ = self.read(d / "rulebase.yaml", MetaFile)
        questions, q_raw = self.read(d / "questions.yaml", QuestionsFile)
        derived, d_raw = self.read(d / "derived.yaml", DerivedFile)
        codes, _ = self.read(d / "codes.yaml", CodesFile)
        definitions, def_raw = self.read(d / "definitions.yaml", DefinitionsFile)
        rule_files = sorted((d / "rules").glob("*.yaml"))
        if not rule_files:
            self.problem(display_path(d / "rules"), None, "no rule files (rules/*.yaml)")
        rules_read = [(p, *self.read(p, RulesFile)) for p in rule_files]
        if self.has_errors:
            return None
        for code, step in codes.next_steps.items():
            for other in step.supersedes:
                if other not in codes.next_steps:
                    self.problem(display_path(d / "codes.yaml"), None,
                                 f"next step {code}: supersedes unknown step {other!r}")

        symbols = self.build_symbols(questions, q_raw, derived, d_raw)
        sources = set(meta.sources)
        defs = self.parse_definitions(definitions, def_raw, symbols)
        ask_when = self.parse_ask_when(questions, q_raw, symbols, defs)
        rules = []
        seen: dict[str, str] = {}
        for path, model, raw in rules_read:
            name = display_path(path)
            for i, rule in enumerate(model.rules):
                line = raw["rules"].item_lines[i]
                where = f"{name}:{line}"
                if rule.id in seen:
                    self.problem(name, line, f"duplicate rule id {rule.id!r} (first at {seen[rule.id]})")
                    continue
                seen[rule.id] = where
                self.locations[rule.id] = (name, line)
                self.check_codes(rule, codes, sources, name, line)
                try:
                    cond = C.parse(raw["rules"][i]["when"], symbols, defs, line)
                except C.ConditionError as exc:
                    self.problem(name, exc.line or line, f"rule {rule.id}: {exc.message}")
                    continue
                rules.append(CompiledRule(rule, cond, name, line))
        for tag_holder in derived.derived:
            for tag in tag_holder.source:
                if tag not in sources:
                    self.problem(display_path(d / "derived.yaml"), None,
                                 f"derived {tag_holder.id}: unknown source {tag!r}")
        if self.has_errors:
            return None
        return RuleBase(
            directory=d, meta=meta, sections=questions.sections, derived=derived.derived, codes=codes,
            definitions=defs, rules=rules, ask_when=ask_when, symbols=symbols,
            content_hash=content_hash(d), warnings=[p for p in self.problems if p.severity != "error"],
            locations=self.locations,
        )

    def build_symbols(self, questions: QuestionsFile, q_raw, derived: DerivedFile, d_raw) -> dict[str, C.Symbol]:
        qfile = display_path(self.directory / "questions.yaml")
        symbols: dict[str, C.Symbol] = {}
        for si, section in enumerate(questions.sections):
            for qi, q in enumerate(section.questions):
                line = line_at(q_raw, ["sections", si, "questions", qi])
                if q.id in symbols or q.id in CONTRACT_ONLY_FIELDS:
                    self.problem(qfile, line, f"duplicate question id {q.id!r}")
                    continue
                self.locations[q.id] = (qfile, line)
                self.check_question(q, qfile, line)
                kind = {FieldType.integer: "integer", FieldType.number: "number",
                        FieldType.multi: "multi"}.get(q.type, "choice")
                values = tuple(v for v in q.values if v != "unsure")
                symbols[q.id] = C.Symbol(q.id, kind, values, q.min, q.max)
        dfile = display_path(self.directory / "derived.yaml")
        for i, dv in enumerate(derived.derived):
            line = line_at(d_raw, ["derived", i])
            function = derive.FUNCTIONS.get(dv.function)
            if function is None:
                self.problem(dfile, line, f"derived {dv.id}: unknown function {dv.function!r}; "
                                          f"known: {', '.join(derive.FUNCTIONS)}")
                continue
            if dv.id in symbols:
                self.problem(dfile, line, f"derived {dv.id}: name already used")
                continue
            settings = {p.name for p in inspect.signature(function).parameters.values() if p.kind is p.KEYWORD_ONLY}
            if set(dv.params) != settings:
                self.problem(dfile, line, f"derived {dv.id}: params must be exactly: {', '.join(sorted(settings)) or 'none'}")
                continue
            required, optional = derive.inputs_of(function)
            inputs: list[str] = []
            for p in (*required, *optional):
                if p not in symbols:
                    self.problem(dfile, line, f"derived {dv.id}: input {p!r} is not a question or an earlier derived value")
                    continue
                inputs.extend(symbols[p].inputs or (p,))
            self.locations[dv.id] = (dfile, line)
            values = tuple(derive.AGE_BANDS) if dv.function == "age_band" else tuple(dv.values)
            symbols[dv.id] = C.Symbol(dv.id, dv.type, values, inputs=tuple(dict.fromkeys(inputs)))
        return symbols

    def check_question(self, q: Question, file: str, line: int | None) -> None:
        if q.is_numeric:
            if q.min is None or q.max is None or q.min > q.max:
                self.problem(file, line, f"question {q.id}: numbers need min <= max")
            if q.options:
                self.problem(file, line, f"question {q.id}: numbers take no options")
        elif q.type in (FieldType.choice, FieldType.multi):
            values = [o.value for o in q.options]
            if len(values) < 2:
                self.problem(file, line, f"question {q.id}: needs at least two options")
            if len(set(values)) != len(values):
                self.problem(file, line, f"question {q.id}: duplicate option values")
            if q.type is FieldType.multi and "none" in values:
                self.problem(file, line, f"question {q.id}: 'none' is reserved for 'none of these'")
        elif q.options or q.min is not None or q.max is not None:
            self.problem(file, line, f"question {q.id}: yes/no questions take no options or range")

    def parse_definitions(self, definitions: DefinitionsFile, raw, symbols) -> dict[str, C.Condition]:
        file = display_path(self.directory / "definitions.yaml")
        parsed: dict[str, C.Condition] = {}
        names = list(definitions.definitions)
        cycles = definition_cycles({n: raw["definitions"][n] for n in names})
        for name in names:
            line = raw["definitions"].key_lines.get(name)
            self.locations[f"def:{name}"] = (file, line)
            if name in cycles:
                self.problem(file, line, f"definition {name}: definitions form a cycle: {' -> '.join(cycles[name])}")
                continue
            below = [r for r in _definition_refs(raw["definitions"][name]) if r in names and r not in parsed
                     and names.index(r) > names.index(name)]
            if below:
                self.problem(file, line, f"definition {name}: uses definition {below[0]!r}, which is written below "
                                         f"it; move {below[0]!r} above {name!r}")
                continue
            try:
                # A definition may only use definitions written above it: no cycles possible.
                parsed[name] = C.parse(raw["definitions"][name], symbols, parsed, line)
            except C.ConditionError as exc:
                self.problem(file, exc.line or line, f"definition {name}: {exc.message}")
        return parsed

    def parse_ask_when(self, questions: QuestionsFile, raw, symbols, defs) -> dict[str, C.Condition]:
        """Conditions for asking questions (by id) and for offering options (by `id:value`)."""
        file = display_path(self.directory / "questions.yaml")
        out: dict[str, C.Condition] = {}
        for si, section in enumerate(questions.sections):
            for qi, q in enumerate(section.questions):
                for oi, option in enumerate(q.options):
                    if option.shown_when is None:
                        continue
                    node = raw["sections"][si]["questions"][qi]["options"][oi]["shown_when"]
                    try:
                        out[f"{q.id}:{option.value}"] = C.parse(node, symbols, defs, getattr(node, "line", None))
                    except C.ConditionError as exc:
                        self.problem(file, exc.line, f"question {q.id} option {option.value}: {exc.message}")
                if q.ask_when is None:
                    continue
                node = raw["sections"][si]["questions"][qi]["ask_when"]
                try:
                    out[q.id] = C.parse(node, symbols, defs, getattr(node, "line", None))
                except C.ConditionError as exc:
                    self.problem(file, exc.line, f"question {q.id} ask_when: {exc.message}")
        return out

    def check_codes(self, rule: Rule, codes: CodesFile, sources: set[str], file: str, line: int | None) -> None:
        def need(code: str | None, table: dict, what: str) -> None:
            if code is not None and code not in table:
                self.problem(file, line, f"rule {rule.id}: unknown {what} code {code!r}")

        need(rule.red_flag, codes.red_flags, "red flag")
        need(rule.factor, codes.factors, "factor")
        need(rule.perceived, codes.perceived_signs, "perceived sign")
        for step in rule.next_steps:
            need(step, codes.next_steps, "next step")
        for tag in rule.source:
            if tag not in sources:
                self.problem(file, line, f"rule {rule.id}: unknown source {tag!r} (add it to rulebase.yaml sources)")


def _owner(raw: Any, loc: list[Any]) -> str:
    """'rule <id>: ' (or question, section) when the error lies inside one, for the message."""
    if len(loc) >= 2 and loc[0] in ("rules", "sections") and isinstance(loc[1], int):
        try:
            item = raw[loc[0]][loc[1]]
            if len(loc) >= 4 and loc[0] == "sections" and loc[2] == "questions":
                return f"question {raw['sections'][loc[1]]['questions'][loc[3]].get('id', '?')}: "
            return f"{loc[0][:-1]} {item.get('id', '?')}: "
        except (KeyError, IndexError, TypeError, AttributeError):
            return ""
    return ""


def content_hash(directory: Path) -> str:
    """SHA-256 of every YAML file of the rule base (path and bytes), in a stable order."""
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*.yaml")):
        digest.update(path.relative_to(directory).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def _definition_refs(raw: Any) -> list[str]:
    """The definitions a raw condition refers to (`{def: name}`), in order."""
    found: list[str] = []
    if isinstance(raw, dict):
        for key, value in raw.items():
            if key == "def" and isinstance(value, str):
                found.append(value)
            else:
                found += _definition_refs(value)
    elif isinstance(raw, list):
        for item in raw:
            found += _definition_refs(item)
    return found


def definition_cycles(raw: dict[str, Any]) -> dict[str, list[str]]:
    """Each definition that is part of a cycle, with the cycle as a path (`a -> b -> a`)."""
    refs = {name: [r for r in _definition_refs(body) if r in raw] for name, body in raw.items()}
    cycles: dict[str, list[str]] = {}
    for start in raw:
        stack = [(start, [start])]
        seen: set[str] = set()
        while stack:
            node, path = stack.pop()
            for nxt in refs[node]:
                if nxt == start:
                    cycles.setdefault(start, path + [start])
                    stack.clear()
                    break
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, path + [nxt]))
    return cycles
