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
from typing import Any, Callable, Mapping, TypeVar

from pydantic import BaseModel, ValidationError

from ..core import derive
from ..errors import Problem, RuleBaseError, display_path
from . import conditions as C
from . import locales
from .models import (
    NONE_OF_THESE, CodesFile, DefinitionsFile, Derived, DerivedFile, FieldType, MetaFile, Question,
    QuestionsFile, Rule, RulesFile, Section,
)
from .problems import ProblemCode
from .yamlsource import LineDict, line_at, read_yaml

CONTRACT_ONLY_FIELDS = ("id",)

# pydantic's error types with a code of their own; every other refusal is VALUE_INVALID, and a
# validator in models.py names its code as its error type (PydanticCustomError).
_PYDANTIC_CODES = {"missing": ProblemCode.KEY_MISSING, "extra_forbidden": ProblemCode.KEY_UNKNOWN}

_Model = TypeVar("_Model", bound=BaseModel)


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
    # codes.yaml conditions: `next_step:<code>` (given_when) and `safety_net:<code>` (shown_when)
    code_conditions: dict[str, C.Condition]
    content_hash: str
    warnings: list[Problem] = field(default_factory=list)
    locations: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    lang: str = "en"  # the language of its text (rules/locales/<lang>.yaml over the English)

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

    def localised(self, lang: str | None) -> "RuleBase":
        """The same rule base with its text in `lang` (English where not translated)."""
        if (lang or "en") == self.lang:
            return self
        return load_rulebase(self.directory, lang=lang)

    def answers_behind(self, name: str) -> tuple[str, ...]:
        """The answers a field or derived value comes from (itself, for an answer)."""
        return self.symbols[name].inputs or (name,)


def load_rulebase(directory: Path | str | None = None, lang: str | None = None) -> RuleBase:
    """Load and check the rule base in `directory` (default: the shipped one), with its text
    in `lang` (default English; see `locales.py`).

    Raises RuleBaseError listing every problem with its file and line.
    """
    directory = Path(directory) if directory else default_rules_dir()
    loader = _Loader(directory, lang or locales.SOURCE_LANGUAGE)
    rulebase = loader.load()
    if rulebase is None:
        raise RuleBaseError(loader.problems)
    return rulebase


class _Loader:
    def __init__(self, directory: Path, lang: str = locales.SOURCE_LANGUAGE):
        self.directory = directory
        self.lang = lang
        self.problems: list[Problem] = []
        self.locations: dict[str, tuple[str, int | None]] = {}
        self.overlay: locales.Overlay | None = None

    def problem(self, kind: ProblemCode, file: str, line: int | None, *, within: str = "", **fields: Any) -> None:
        self.problems.append(kind.at(file, line, within=within, **fields))

    def condition_problem(self, exc: C.ConditionError, file: str, line: int | None, within: str) -> None:
        self.problem(exc.kind, file, exc.line or line, within=within, **exc.fields)

    @property
    def has_errors(self) -> bool:
        return any(p.severity == "error" for p in self.problems)

    def read(self, path: Path, model: type[_Model]) -> tuple[_Model, LineDict] | tuple[None, None]:
        """The file validated as `model`, and its YAML (for line numbers); (None, None) if it
        has problems (recorded)."""
        name = display_path(path)
        if not path.is_file():
            self.problem(ProblemCode.FILE_MISSING, name, None)
            return None, None
        raw, problems = read_yaml(path)
        self.problems.extend(problems)
        if problems:
            return None, None
        if raw is None:
            raw = LineDict()
        if self.overlay is not None:
            locales.apply(self.overlay, path.relative_to(self.directory).as_posix(), raw)
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
                kind = ProblemCode.__members__.get(err["type"]) or _PYDANTIC_CODES.get(err["type"],
                                                                                     ProblemCode.VALUE_INVALID)
                self.problem(kind, name, line_at(raw, loc), within=owner, where=where, detail=err["msg"],
                             given=given)
            return None, None

    def load(self) -> RuleBase | None:
        d = self.directory
        if not d.is_dir():
            self.problem(ProblemCode.FOLDER_NOT_FOUND, display_path(d), None)
            return None
        if self.lang != locales.SOURCE_LANGUAGE:
            path = locales.overlay_path(d, self.lang)
            if not path.is_file():
                self.problem(ProblemCode.LOCALE_NOT_AVAILABLE, display_path(path), None, lang=self.lang,
                             available=", ".join(locales.available_languages(d)))
                return None
            self.overlay = locales.read_overlay(path, lines=False)
            self.problems.extend(self.overlay.problems)
            if self.has_errors:
                return None
        meta, _ = self.read(d / "rulebase.yaml", MetaFile)
        questions, q_raw = self.read(d / "questions.yaml", QuestionsFile)
        derived, d_raw = self.read(d / "derived.yaml", DerivedFile)
        codes, codes_raw = self.read(d / "codes.yaml", CodesFile)
        definitions, def_raw = self.read(d / "definitions.yaml", DefinitionsFile)
        rule_files = sorted((d / "rules").glob("*.yaml"))
        if not rule_files:
            self.problem(ProblemCode.NO_RULE_FILES, display_path(d / "rules"), None)
        rules_read = [(p, *self.read(p, RulesFile)) for p in rule_files]
        if self.has_errors:
            return None
        # No problems so far: every file was read and validated (for the type checker).
        assert meta and questions and q_raw is not None and derived and d_raw is not None and codes
        assert definitions and def_raw is not None
        for code, step in codes.next_steps.items():
            for other in step.supersedes:
                if other not in codes.next_steps:
                    self.problem(ProblemCode.UNKNOWN_SUPERSEDED_STEP, display_path(d / "codes.yaml"), None,
                                 within=f"next step {code}", step=other)

        symbols = self.build_symbols(questions, q_raw, derived, d_raw)
        sources = set(meta.sources)
        defs = self.parse_definitions(definitions, def_raw, symbols)
        ask_when = self.parse_ask_when(questions, q_raw, symbols, defs)
        code_conditions = self.parse_code_conditions(codes, codes_raw, symbols, defs)
        rules = []
        seen: dict[str, str] = {}
        for path, model, raw in rules_read:
            name = display_path(path)
            for i, rule in enumerate(model.rules):
                line = raw["rules"].item_lines[i]
                where = f"{name}:{line}"
                if rule.id in seen:
                    self.problem(ProblemCode.DUPLICATE_RULE_ID, name, line, rule=rule.id, first=seen[rule.id])
                    continue
                seen[rule.id] = where
                self.locations[rule.id] = (name, line)
                self.check_codes(rule, codes, sources, name, line)
                try:
                    cond = C.parse(raw["rules"][i]["when"], symbols, defs, line)
                except C.ConditionError as exc:
                    self.condition_problem(exc, name, line, f"rule {rule.id}")
                    continue
                rules.append(CompiledRule(rule, cond, name, line))
        for tag_holder in derived.derived:
            for tag in tag_holder.source:
                if tag not in sources:
                    self.problem(ProblemCode.UNKNOWN_SOURCE, display_path(d / "derived.yaml"), None,
                                 within=f"derived {tag_holder.id}", tag=tag)
        if self.has_errors:
            return None
        return RuleBase(
            directory=d, meta=meta, sections=questions.sections, derived=derived.derived, codes=codes,
            definitions=defs, rules=rules, ask_when=ask_when, symbols=symbols,
            code_conditions=code_conditions,
            content_hash=content_hash(d), warnings=[p for p in self.problems if p.severity != "error"],
            locations=self.locations, lang=self.lang,
        )

    def build_symbols(self, questions: QuestionsFile, q_raw: LineDict, derived: DerivedFile,
                      d_raw: LineDict) -> dict[str, C.Symbol]:
        qfile = display_path(self.directory / "questions.yaml")
        symbols: dict[str, C.Symbol] = {}
        for si, section in enumerate(questions.sections):
            for qi, q in enumerate(section.questions):
                line = line_at(q_raw, ["sections", si, "questions", qi])
                if q.id in symbols or q.id in CONTRACT_ONLY_FIELDS:
                    self.problem(ProblemCode.DUPLICATE_QUESTION_ID, qfile, line, question=q.id)
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
                self.problem(ProblemCode.DERIVED_UNKNOWN_FUNCTION, dfile, line, within=f"derived {dv.id}",
                             function=dv.function, known=", ".join(derive.FUNCTIONS))
                continue
            if dv.id in symbols:
                self.problem(ProblemCode.DERIVED_NAME_TAKEN, dfile, line, within=f"derived {dv.id}")
                continue
            settings = {p.name for p in inspect.signature(function).parameters.values() if p.kind is p.KEYWORD_ONLY}
            if set(dv.params) != settings:
                self.problem(ProblemCode.DERIVED_PARAMS, dfile, line, within=f"derived {dv.id}",
                             params=", ".join(sorted(settings)) or "none")
                continue
            required, optional = derive.inputs_of(function)
            inputs: list[str] = []
            for p in (*required, *optional):
                if p not in symbols:
                    self.problem(ProblemCode.DERIVED_INPUT_UNKNOWN, dfile, line, within=f"derived {dv.id}", name=p)
                    continue
                inputs.extend(symbols[p].inputs or (p,))
            self.locations[dv.id] = (dfile, line)
            symbols[dv.id] = C.Symbol(dv.id, dv.type, tuple(dv.values), inputs=tuple(dict.fromkeys(inputs)))
        return symbols

    def check_question(self, q: Question, file: str, line: int | None) -> None:
        def problem(kind: ProblemCode) -> None:
            self.problem(kind, file, line, within=f"question {q.id}")

        if q.is_numeric:
            if q.min is None or q.max is None or q.min > q.max:
                problem(ProblemCode.NUMBER_RANGE)
            if q.options:
                problem(ProblemCode.NUMBER_WITH_OPTIONS)
        elif q.type in (FieldType.choice, FieldType.multi):
            values = [o.value for o in q.options]
            if len(values) < 2:
                problem(ProblemCode.TOO_FEW_OPTIONS)
            if len(set(values)) != len(values):
                problem(ProblemCode.DUPLICATE_OPTION)
            if q.type is FieldType.multi and NONE_OF_THESE in values:
                problem(ProblemCode.NONE_OPTION_RESERVED)
        elif q.options or q.min is not None or q.max is not None:
            problem(ProblemCode.YES_NO_WITH_OPTIONS)

    def parse_definitions(self, definitions: DefinitionsFile, raw: LineDict,
                          symbols: dict[str, C.Symbol]) -> dict[str, C.Condition]:
        file = display_path(self.directory / "definitions.yaml")
        parsed: dict[str, C.Condition] = {}
        names = list(definitions.definitions)
        cycles = definition_cycles({n: raw["definitions"][n] for n in names})
        for name in names:
            line = raw["definitions"].key_lines.get(name)
            self.locations[f"def:{name}"] = (file, line)
            if name in cycles:
                self.problem(ProblemCode.DEFINITION_CYCLE, file, line, within=f"definition {name}",
                             cycle=" -> ".join(cycles[name]))
                continue
            below = [r for r in _definition_refs(raw["definitions"][name]) if r in names and r not in parsed
                     and names.index(r) > names.index(name)]
            if below:
                self.problem(ProblemCode.DEFINITION_BELOW, file, line, within=f"definition {name}",
                             used=below[0], name=name)
                continue
            try:
                # A definition may only use definitions written above it: no cycles possible.
                parsed[name] = C.parse(raw["definitions"][name], symbols, parsed, line)
            except C.ConditionError as exc:
                self.condition_problem(exc, file, line, f"definition {name}")
        return parsed

    def parse_ask_when(self, questions: QuestionsFile, raw: LineDict, symbols: dict[str, C.Symbol],
                       defs: dict[str, C.Condition]) -> dict[str, C.Condition]:
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
                        self.condition_problem(exc, file, None, f"question {q.id} option {option.value}")
                if q.ask_when is None:
                    continue
                node = raw["sections"][si]["questions"][qi]["ask_when"]
                try:
                    out[q.id] = C.parse(node, symbols, defs, getattr(node, "line", None))
                except C.ConditionError as exc:
                    self.condition_problem(exc, file, None, f"question {q.id} ask_when")
        return out

    def parse_code_conditions(self, codes, raw, symbols, defs) -> dict[str, C.Condition]:
        """The conditions codes.yaml attaches to next steps (given_when) and safety-net items
        (shown_when), keyed `next_step:<code>` and `safety_net:<code>`."""
        file = display_path(self.directory / "codes.yaml")
        out: dict[str, C.Condition] = {}
        for table, key, kind in (("next_steps", "given_when", "next_step"), ("safety_net", "shown_when", "safety_net")):
            for code, entry in getattr(codes, table).items():
                if getattr(entry, key) is None:
                    continue
                node = raw[table][code][key]
                try:
                    out[f"{kind}:{code}"] = C.parse(node, symbols, defs, getattr(node, "line", None))
                except C.ConditionError as exc:
                    self.condition_problem(exc, file, None, f"{kind.replace('_', ' ')} {code} {key}")
        return out

    def check_codes(self, rule: Rule, codes: CodesFile, sources: set[str], file: str, line: int | None) -> None:
        def need(code: str | None, table: Mapping[str, object], what: str) -> None:
            if code is not None and code not in table:
                self.problem(ProblemCode.UNKNOWN_CODE, file, line, within=f"rule {rule.id}", table=what, code=code)

        need(rule.red_flag, codes.red_flags, "red flag")
        need(rule.factor, codes.factors, "factor")
        need(rule.perceived, codes.perceived_signs, "perceived sign")
        for step in rule.next_steps:
            need(step, codes.next_steps, "next step")
        for tag in rule.source:
            if tag not in sources:
                self.problem(ProblemCode.UNKNOWN_SOURCE, file, line, within=f"rule {rule.id}", tag=tag)


def _owner(raw: LineDict, loc: list[str | int]) -> str:
    """'rule <id>' (or question, section) when the error lies inside one, for the message."""
    if len(loc) >= 2 and loc[0] in ("rules", "sections") and isinstance(loc[1], int):
        try:
            item = raw[loc[0]][loc[1]]
            if len(loc) >= 4 and loc[0] == "sections" and loc[2] == "questions":
                return f"question {raw['sections'][loc[1]]['questions'][loc[3]].get('id', '?')}"
            return f"{loc[0][:-1]} {item.get('id', '?')}"
        except (KeyError, IndexError, TypeError, AttributeError):
            return ""
    return ""


def content_hash(directory: Path) -> str:
    """SHA-256 of every YAML file of the rule base (path and bytes), in a stable order.
    Translations (locales/) and the hazard log are not part of it: they re-word and document the
    rule base but change no result, so editing them must not make saved results look stale."""
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*.yaml")):
        relative = path.relative_to(directory)
        if relative.parts[0] == locales.LOCALES_DIR or relative.as_posix() == "hazards.yaml":
            continue
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
