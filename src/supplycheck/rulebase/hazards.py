"""The hazard log (`rules/hazards.yaml`): clinical hazards, their risk before and after controls,
the rule-base items that control them and the tests that verify each control (DCB0129 manner).

`check_hazards` loads and validates the log and checks every reference: a control must name an
existing rule, definition, question, derived value or source file; a verification must name an
existing test function (`tests/file.py::test_name`, found by parsing the file, never importing it)
or golden case (`examples/golden/NNN_name.yaml`). Problems come back as data, with file and line.

`pending_controls` hold controls still being built elsewhere (another branch): their broken
references are warnings, and one that has come to exist is a warning too (move it to `controls`).
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import Problem, display_path
from .loader import RuleBase
from .problems import ProblemCode
from .yamlsource import line_at, read_yaml

HAZARDS_FILE = "hazards.yaml"
HAZARD_ID = re.compile(r"^HAZ-\d{3}$")
TEST_REF = re.compile(r"^(tests/[\w/]+\.py)::(\w+(?:::\w+)?)$")
GOLDEN_REF = re.compile(r"^examples/golden/\d{3}_[a-z0-9_]+\.yaml$")
CONTROL_KINDS = ("rule", "definition", "question", "derived", "software")
UNACCEPTABLE_RATING = 4  # DCB0129: a residual risk rated "high" or above needs more controls


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScaleLevel(_Strict):
    name: str
    meaning: str


class RiskRating(_Strict):
    name: str
    acceptability: str


class Scale(_Strict):
    """The 5x5 matrix: severity (least first) by likelihood (least first), and what each rating means."""

    severity: list[ScaleLevel] = Field(min_length=5, max_length=5)
    likelihood: list[ScaleLevel] = Field(min_length=5, max_length=5)
    # matrix[likelihood name] = ratings for each severity, least severe first
    matrix: dict[str, list[int]]
    ratings: dict[int, RiskRating]

    @model_validator(mode="after")
    def _complete(self) -> "Scale":
        names = [level.name for level in self.likelihood]
        if sorted(self.matrix) != sorted(names):
            raise ValueError(f"matrix needs one row per likelihood: {', '.join(names)}")
        for row in self.matrix.values():
            if len(row) != 5 or any(r not in self.ratings for r in row):
                raise ValueError(f"each matrix row needs 5 ratings from {sorted(self.ratings)}")
        return self

    def rating(self, risk: "Risk") -> int:
        column = [level.name for level in self.severity].index(risk.severity)
        return self.matrix[risk.likelihood][column]

    def severity_rank(self, name: str) -> int:
        return [level.name for level in self.severity].index(name)


class Risk(_Strict):
    severity: str
    likelihood: str


class Control(_Strict):
    """One control: exactly one reference (what it is), what it does, and what proves it works."""

    rule: str | None = None
    definition: str | None = None
    question: str | None = None
    derived: str | None = None
    software: str | None = None  # a source file, relative to the project root
    does: str
    verified_by: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_reference(self) -> "Control":
        given = [k for k in CONTROL_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"a control names exactly one of: {', '.join(CONTROL_KINDS)} (got {given or 'none'})")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in CONTROL_KINDS if getattr(self, k) is not None)

    @property
    def target(self) -> str:
        return getattr(self, self.kind)

    @field_validator("verified_by")
    @classmethod
    def _references(cls, refs: list[str]) -> list[str]:
        for ref in refs:
            if not (TEST_REF.match(ref) or GOLDEN_REF.match(ref)):
                raise ValueError(f"{ref!r} is neither tests/<file>.py::<test> nor examples/golden/NNN_name.yaml")
        return refs


class Hazard(_Strict):
    id: str
    title: str
    cause: str
    effect: str
    before: Risk
    after: Risk
    controls: list[Control] = Field(min_length=1)
    pending_controls: list[Control] = []
    note: str = ""

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not HAZARD_ID.match(value):
            raise ValueError("must look like HAZ-001")
        return value

    @property
    def verified_by(self) -> list[str]:
        return list(dict.fromkeys(ref for c in self.controls for ref in c.verified_by))


class HazardFile(_Strict):
    scale: Scale
    hazards: list[Hazard] = Field(min_length=1)


@dataclass
class HazardLog:
    file: str
    scale: Scale
    hazards: list[Hazard]


# ---------------------------------------------------------------- loading and checking


def project_root(rulebase: RuleBase) -> Path:
    """Where tests/ and examples/ live: the folder holding the rule base."""
    return rulebase.directory.resolve().parent


def load_hazards(rulebase: RuleBase) -> tuple[HazardLog | None, list[Problem]]:
    """Read and validate the hazard log beside the rule base (no reference checks)."""
    log, _, problems = _load(rulebase)
    return log, problems


def _load(rulebase: RuleBase) -> tuple[HazardLog | None, Any, list[Problem]]:
    path = rulebase.directory / HAZARDS_FILE
    name = display_path(path)
    if not path.is_file():
        return None, None, [ProblemCode.HAZARD_LOG_MISSING.at(name, None)]
    raw, problems = read_yaml(path)
    if problems:
        return None, raw, problems
    try:
        model = HazardFile.model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        out = []
        for err in exc.errors():
            loc = list(err["loc"])
            owner = _owner(raw, loc)
            where = ".".join(str(p) for p in loc) or "(top level)"
            message = err["msg"].removeprefix("Value error, ")
            out.append(ProblemCode.HAZARD_INVALID.at(name, line_at(raw, loc), within=owner.removesuffix(": "),
                                                      where=where, reason=message))
        return None, raw, out
    problems = _check_scale_use(model, raw, name)
    if any(p.severity == "error" for p in problems):
        return None, raw, problems
    return HazardLog(name, model.scale, model.hazards), raw, problems


def check_hazards(rulebase: RuleBase) -> list[Problem]:
    """Every problem in the hazard log: its form, its risks, and each reference it makes."""
    log, raw, problems = _load(rulebase)
    if log is None:
        return problems
    root = project_root(rulebase)
    can_verify = (root / "tests").is_dir()
    if not can_verify:
        problems.append(ProblemCode.HAZARD_TESTS_NOT_CHECKED.at(log.file, None, root=root))
    seen: dict[str, int | None] = {}
    for i, hazard in enumerate(log.hazards):
        line = line_at(raw, ["hazards", i])
        if hazard.id in seen:
            problems.append(ProblemCode.HAZARD_DUPLICATE_ID.at(log.file, line, id=hazard.id, first=seen[hazard.id]))
        seen.setdefault(hazard.id, line)
        for key in ("controls", "pending_controls"):
            pending = key == "pending_controls"
            for j, control in enumerate(getattr(hazard, key)):
                for message, at in _broken(rulebase, root, can_verify, control):
                    where = line_at(raw, ["hazards", i, key, j, *at])
                    if pending:
                        problems.append(ProblemCode.HAZARD_PENDING_BROKEN.at(log.file, where, within=hazard.id, reason=message))
                    else:
                        problems.append(ProblemCode.HAZARD_REFERENCE_BROKEN.at(log.file, where, within=hazard.id, reason=message))
                if not pending and can_verify:
                    for message, at in _expected_to_fail(root, control):
                        problems.append(ProblemCode.HAZARD_VERIFIED_BY_XFAIL.at(
                            log.file, line_at(raw, ["hazards", i, key, j, *at]), within=hazard.id, reason=message))
                if pending and _exists(rulebase, root, control):
                    problems.append(ProblemCode.HAZARD_PENDING_EXISTS.at(
                        log.file, line_at(raw, ["hazards", i, key, j]), within=hazard.id,
                        kind=control.kind, target=control.target))
    return problems


def _check_scale_use(model: HazardFile, raw: Any, name: str) -> list[Problem]:
    problems = []
    severities = [s.name for s in model.scale.severity]
    likelihoods = [s.name for s in model.scale.likelihood]
    for i, hazard in enumerate(model.hazards):
        bad = False
        for when in ("before", "after"):
            risk = getattr(hazard, when)
            for what, allowed in (("severity", severities), ("likelihood", likelihoods)):
                if getattr(risk, what) not in allowed:
                    bad = True
                    problems.append(ProblemCode.HAZARD_BAD_SCALE.at(
                        name, line_at(raw, ["hazards", i, when, what]), within=hazard.id, when=when,
                        what=what, value=getattr(risk, what), allowed=", ".join(allowed)))
        if bad:
            continue
        scale = model.scale
        line = line_at(raw, ["hazards", i, "after"])
        if scale.severity_rank(hazard.after.severity) > scale.severity_rank(hazard.before.severity) or \
                scale.rating(hazard.after) > scale.rating(hazard.before):
            problems.append(ProblemCode.HAZARD_RISK_INCREASED.at(name, line, within=hazard.id))
        elif scale.rating(hazard.after) >= UNACCEPTABLE_RATING:
            problems.append(ProblemCode.HAZARD_RESIDUAL_HIGH.at(
                name, line, within=hazard.id, rating=scale.ratings[scale.rating(hazard.after)].name))
    return problems


def _exists(rulebase: RuleBase, root: Path, control: Control) -> bool:
    kind, target = control.kind, control.target
    if kind == "rule":
        return target in rulebase.rules_by_id
    if kind == "definition":
        return target in rulebase.definitions
    if kind == "question":
        return target in rulebase.questions
    if kind == "derived":
        return any(d.id == target for d in rulebase.derived)
    return (root / target).is_file()


def _broken(rulebase: RuleBase, root: Path, can_verify: bool, control: Control) -> list[tuple[str, list]]:
    """(message, location inside the control) for each reference that does not resolve."""
    out = []
    if (can_verify or control.kind != "software") and not _exists(rulebase, root, control):
        what = "file" if control.kind == "software" else control.kind
        out.append((f"control names a {what} that does not exist: {control.target!r}", [control.kind]))
    if can_verify:
        for k, ref in enumerate(control.verified_by):
            message = _missing_verification(root, ref)
            if message:
                out.append((message, ["verified_by", k]))
    return out


def _expected_to_fail(root: Path, control: Control) -> list[tuple[str, list]]:
    """Verifications marked xfail: they show the control does not work yet."""
    out = []
    for k, ref in enumerate(control.verified_by):
        match = TEST_REF.match(ref)
        if match and (root / match.group(1)).is_file() and \
                _test_names(root / match.group(1)).get(match.group(2)):
            out.append((f"verified by a test marked xfail, which does not verify yet: {ref}", ["verified_by", k]))
    return out


def _missing_verification(root: Path, ref: str) -> str | None:
    if GOLDEN_REF.match(ref):
        return None if (root / ref).is_file() else f"verified by a golden case that does not exist: {ref}"
    path, name = TEST_REF.match(ref).groups()
    if not (root / path).is_file():
        return f"verified by a test file that does not exist: {path}"
    if name not in _test_names(root / path):
        return f"verified by a test that does not exist: {ref}"
    return None


def _test_names(path: Path) -> dict[str, bool]:
    stat = path.stat()
    return _parse_test_names(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _parse_test_names(path: str, _mtime: int, _size: int) -> dict[str, bool]:
    """Test functions (`test_x`) and methods (`TestY::test_x`) of a test file, read with `ast`,
    each with whether it is marked xfail."""
    try:
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return {}
    names: dict[str, bool] = {}
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    for node in tree.body:
        if isinstance(node, functions) and node.name.startswith("test"):
            names[node.name] = _is_xfail(node)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, functions) and item.name.startswith("test"):
                    names[f"{node.name}::{item.name}"] = _is_xfail(item) or _is_xfail(node)
    return names


def _is_xfail(node: ast.AST) -> bool:
    return any("xfail" in ast.unparse(d) for d in getattr(node, "decorator_list", []))


def _owner(raw: Any, loc: list[Any]) -> str:
    if len(loc) >= 2 and loc[0] == "hazards" and isinstance(loc[1], int):
        try:
            return f"{raw['hazards'][loc[1]].get('id', '?')}: "
        except (KeyError, IndexError, TypeError, AttributeError):
            return ""
    return ""


# ---------------------------------------------------------------- presenting


def hazard_rows(log: HazardLog) -> list[dict[str, Any]]:
    """The log as plain data (the `--format json` output)."""
    def risk(r: Risk) -> dict[str, Any]:
        rating = log.scale.rating(r)
        return {"severity": r.severity, "likelihood": r.likelihood, "rating": rating,
                "rating_name": log.scale.ratings[rating].name}

    def control(c: Control) -> dict[str, Any]:
        return {"kind": c.kind, "id": c.target, "does": c.does, "verified_by": c.verified_by}

    return [{"id": h.id, "title": h.title, "cause": h.cause, "effect": h.effect,
             "before": risk(h.before), "after": risk(h.after),
             "controls": [control(c) for c in h.controls],
             "pending_controls": [control(c) for c in h.pending_controls],
             "verified_by": h.verified_by, "note": h.note or None}
            for h in log.hazards]


def short_reference(ref: str) -> str:
    """A verification as a narrow table shows it: `test_file::test_name`, `golden 040_name`."""
    if GOLDEN_REF.match(ref):
        return "golden " + ref.removeprefix("examples/golden/").removesuffix(".yaml")
    return ref.removeprefix("tests/").replace(".py::", "::")


def risk_label(log: HazardLog, risk: Risk) -> str:
    rating = log.scale.rating(risk)
    return f"{rating} {log.scale.ratings[rating].name} ({risk.severity}, {risk.likelihood})"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def to_markdown(log: HazardLog, rulebase: RuleBase) -> str:
    """docs/safety-case.md: the log as a reader-friendly table, then the scale it uses."""
    scale = log.scale
    lines = [
        f"# Clinical safety case: hazard log of {rulebase.name}",
        "",
        "Generated from `rules/hazards.yaml` by `supplycheck rules hazards --format markdown`; "
        "do not edit by hand. `supplycheck rules hazards` (and `supplycheck rules lint`, and the "
        "test suite) fail when a control names a rule, definition or question that does not exist "
        "or a verification names a test or golden case that does not exist.",
        "",
        "Risk is rated on the 5x5 matrix below (DCB0129 manner): before controls, and after them. "
        "Controls marked *pending* are being built and are not yet counted.",
        "",
        "| hazard | risk before | risk after | controls | verified by |",
        "|---|---|---|---|---|",
    ]
    for h in log.hazards:
        hazard = f"**{h.id}** {_cell(h.title)}<br>*Cause:* {_cell(h.cause)}<br>*Effect:* {_cell(h.effect)}"
        controls = "<br>".join(f"{c.kind} `{c.target}`: {_cell(c.does)}" for c in h.controls)
        if h.pending_controls:
            controls += "<br>" + "<br>".join(f"*pending* {c.kind} `{c.target}`: {_cell(c.does)}"
                                             for c in h.pending_controls)
        verified = "<br>".join(f"`{ref}`" for ref in h.verified_by)
        lines.append(f"| {hazard} | {risk_label(log, h.before)} | {risk_label(log, h.after)} "
                     f"| {controls} | {verified} |")
    lines += ["", "## Risk scale", "", "| severity | meaning |", "|---|---|"]
    lines += [f"| {s.name} | {_cell(s.meaning)} |" for s in scale.severity]
    lines += ["", "| likelihood | meaning |", "|---|---|"]
    lines += [f"| {s.name} | {_cell(s.meaning)} |" for s in scale.likelihood]
    lines += ["", "| likelihood \\ severity | " + " | ".join(s.name for s in scale.severity) + " |",
              "|---" * 6 + "|"]
    for level in reversed(scale.likelihood):
        lines.append(f"| {level.name} | " + " | ".join(str(r) for r in scale.matrix[level.name]) + " |")
    lines += ["", "| rating | name | acceptability |", "|---|---|---|"]
    lines += [f"| {k} | {r.name} | {_cell(r.acceptability)} |" for k, r in sorted(scale.ratings.items())]
    return "\n".join(lines) + "\n"

