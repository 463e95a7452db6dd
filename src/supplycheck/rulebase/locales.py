"""Translations of the rule base: overlays that replace its text, never its logic.

A language lives in `rules/locales/<lang>.yaml`::

    language: es
    name: Español
    status: shipped          # or draft: only shipped languages must be complete for a release
    texts:
      question.infant_age_days.parent:
        source: 1f3a9c0e     # short hash of the English text this translates
        text: "¿Cuántos días tiene su bebé?"

Keys name the text by id (`question.<id>.<field>`, `question.<id>.options.<value>.<field>`,
`section.<id>.title.<field>`, `derived.<id>.label.<field>`, `rule.<id>.says.<field>`,
`rulebase.<key>.<field>`, and `<table>.<code>.<field>` for every table of codes.yaml), so any
new table of codes (say, a safety net) is picked up without code changes.

Only text fields are touched, before the models are built: a translation cannot change a
threshold, a condition or a code. An entry whose hash no longer matches the English (the English
changed since it was translated) is not used: that text stays in English until reviewed, since
an out-of-date translation may say something the rule base no longer says.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ..errors import Problem, display_path
from .problems import ProblemCode
from .yamlsource import LineDict, read_yaml

SOURCE_LANGUAGE = "en"
LOCALES_DIR = "locales"
TEXT_FIELDS = ("parent", "clinical", "explanation", "help", "text")
STATUSES = ("shipped", "draft")


def source_hash(text: str) -> str:
    """8 hex digits of SHA-256 over the text with its whitespace collapsed (re-wrapping a
    folded YAML string does not make a translation out of date)."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()[:8]


# ------------------------------------------------------------------ where the text is

def _fields(key: str, holder: Any) -> Iterator[tuple[str, LineDict, str]]:
    if isinstance(holder, dict):
        for name in TEXT_FIELDS:
            if isinstance(holder.get(name), str):
                yield f"{key}.{name}", holder, name


def _item_id(item: Any) -> str | None:
    if isinstance(item, dict):
        for k in ("id", "code", "value"):
            if isinstance(item.get(k), (str, int, bool)):
                return str(item[k]).lower() if isinstance(item[k], bool) else str(item[k])
    return None


def _entries(prefix: str, table: Any) -> Iterator[tuple[str, LineDict, str]]:
    """Text of a table of codes: a mapping code -> entry (or -> plain text), or a list of
    entries with an `id`/`code`."""
    if isinstance(table, dict):
        yield from _fields(prefix, table)  # a Wording directly (rulebase.yaml's disclaimer)
        for code, entry in table.items():
            if code in TEXT_FIELDS:
                continue
            if isinstance(entry, str):
                yield f"{prefix}.{code}", table, code
            else:
                yield from _fields(f"{prefix}.{code}", entry)
    elif isinstance(table, list):
        for item in table:
            ident = _item_id(item)
            if ident is not None:
                yield from _fields(f"{prefix}.{ident}", item)


def text_slots(relative: str, raw: Any) -> Iterator[tuple[str, LineDict, str]]:
    """(key, the mapping holding the text, its field) for every translatable text of one rule-base
    file, `relative` being its path inside the rule base folder."""
    if not isinstance(raw, dict):
        return
    if relative == "questions.yaml":
        for section in raw.get("sections") or []:
            if not isinstance(section, dict):
                continue
            yield from _fields(f"section.{section.get('id')}.title", section.get("title"))
            for q in section.get("questions") or []:
                if not isinstance(q, dict):
                    continue
                yield from _fields(f"question.{q.get('id')}", q)
                for option in q.get("options") or []:
                    yield from _fields(f"question.{q.get('id')}.options.{_item_id(option)}", option)
    elif relative == "derived.yaml":
        for d in raw.get("derived") or []:
            if isinstance(d, dict):
                yield from _fields(f"derived.{d.get('id')}.label", d.get("label"))
    elif relative == "codes.yaml":
        for table, entries in raw.items():
            yield from _entries(str(table), entries)
    elif relative == "rulebase.yaml":
        for key, value in raw.items():
            if key != "sources":  # citations stay as published
                yield from _entries(f"rulebase.{key}", value)
    elif relative.startswith("rules/"):
        for rule in raw.get("rules") or []:
            if isinstance(rule, dict):
                yield from _fields(f"rule.{rule.get('id')}.says", rule.get("says"))


@dataclass(frozen=True)
class SourceText:
    key: str
    text: str
    file: str
    line: int | None

    @property
    def hash(self) -> str:
        return source_hash(self.text)


def rule_files(directory: Path) -> list[Path]:
    d = Path(directory)
    return [d / "rulebase.yaml", d / "questions.yaml", d / "derived.yaml", d / "codes.yaml",
            *sorted((d / "rules").glob("*.yaml"))]


def source_texts(directory: Path) -> dict[str, SourceText]:
    """Every English text of the rule base by key, in file order, with its file and line."""
    out: dict[str, SourceText] = {}
    for path in rule_files(directory):
        if not path.is_file():
            continue
        raw, problems = read_yaml(path)
        if problems:
            continue  # the loader reports it
        relative = path.relative_to(directory).as_posix()
        for key, holder, name in text_slots(relative, raw):
            out.setdefault(key, SourceText(key, holder[name], display_path(path),
                                           holder.key_lines.get(name)))
    return out


# ------------------------------------------------------------------ the overlay files

@dataclass(frozen=True)
class Entry:
    text: str
    source: str  # hash of the English it translates
    line: int | None  # of its text
    key_line: int | None = None  # of its key


@dataclass
class Overlay:
    language: str
    path: Path
    name: str = ""
    status: str = "draft"
    entries: dict[str, Entry] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def file(self) -> str:
        return display_path(self.path)

    @property
    def shipped(self) -> bool:
        return self.status == "shipped"


def overlay_path(directory: Path, lang: str) -> Path:
    return Path(directory) / LOCALES_DIR / f"{lang}.yaml"


def available_languages(directory: Path) -> list[str]:
    """English and every language with an overlay file, sorted."""
    found = sorted(p.stem for p in (Path(directory) / LOCALES_DIR).glob("*.yaml"))
    return [SOURCE_LANGUAGE, *found]


def read_overlay(path: Path, *, lines: bool = True) -> Overlay:
    """One overlay file; every problem (with file and line) in `problems`, never an exception.
    Without `lines` it is read a third faster, without line numbers (when it has a problem, it
    is read again with them, for the message)."""
    if not lines:
        import yaml

        try:
            raw = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            return read_overlay(path)
        overlay = _overlay_from(path, raw)
        return read_overlay(path) if overlay.problems else overlay
    raw, problems = read_yaml(path)
    if problems:
        overlay = Overlay(path.stem, path)
        overlay.problems.extend(problems)
        return overlay
    return _overlay_from(path, raw)


def _lines(node: Any) -> dict:
    return getattr(node, "key_lines", {})


def _overlay_from(path: Path, raw: Any) -> Overlay:
    lang = path.stem
    overlay = Overlay(lang, path)
    name = overlay.file

    def bad(line: int | None, message: str) -> None:
        overlay.problems.append(ProblemCode.LOCALE_INVALID.at(name, line, reason=message))

    if not isinstance(raw, dict):
        bad(None, "expected a mapping with language, name, status and texts")
        return overlay
    for key in raw:
        if key not in ("language", "name", "status", "texts"):
            bad(_lines(raw).get(key), f"unknown key {key!r}; allowed: language, name, status, texts")
    if raw.get("language") != lang:
        bad(_lines(raw).get("language", getattr(raw, 'line', None)),
            f"language: must be {lang!r}, the file's name (got {raw.get('language')!r})")
    overlay.name = str(raw.get("name") or lang)
    status = raw.get("status", "draft")
    if status not in STATUSES:
        bad(_lines(raw).get("status"), f"status: {status!r} is not allowed; expected one of: {', '.join(STATUSES)}")
    else:
        overlay.status = status
    texts = raw.get("texts") or {}
    if not isinstance(texts, dict):
        bad(_lines(raw).get("texts"), "texts: expected a mapping of text id -> {source, text}")
        return overlay
    for key, entry in texts.items():
        line = _lines(texts).get(key)
        if not isinstance(entry, dict) or set(entry) - {"source", "text"}:
            bad(line, f"{key}: expected a mapping with `source` (hash of the English) and `text`")
            continue
        text, source = entry.get("text", ""), entry.get("source")
        if text is None:
            text = ""
        if not isinstance(text, str):
            bad(_lines(entry).get("text", line), f"{key}: text must be a string (got {text!r})")
            continue
        if not isinstance(source, str) or not re.fullmatch(r"[0-9a-f]{8}", source):
            bad(_lines(entry).get("source", line), f"{key}: source must be the 8-digit hash of the "
                                                     f"English text (got {source!r}); run `supplycheck rules translate {lang} --update`")
            continue
        overlay.entries[str(key)] = Entry(text, source, _lines(entry).get("text", line), line)
    return overlay


def apply(overlay: Overlay, relative: str, raw: Any) -> None:
    """Replace, in one file's raw YAML, the texts that have a current translation."""
    for key, holder, name in text_slots(relative, raw):
        entry = overlay.entries.get(key)
        if entry and entry.text.strip() and entry.source == source_hash(holder[name]):
            holder[name] = entry.text


# ------------------------------------------------------------------ lint

_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
_NUMBER = re.compile(r"\d+(?:[.,\u202f\u00a0 ]\d{3})+(?![\d])|\d+(?:[.,]\d+)?")


def _numbers(text: str) -> list[float]:
    out = []
    for m in _NUMBER.finditer(text):
        s = m.group(0)
        if re.fullmatch(r"\d+(?:[.,\u202f\u00a0 ]\d{3})+", s) and not re.fullmatch(r"\d+[.,]\d{3}", s):
            s = re.sub(r"[.,\u202f\u00a0 ]", "", s)  # 1 000 000, 1.000.000
        elif re.fullmatch(r"\d{1,3}[.,]\d{3}", s) and s.split(s[-4])[0] != "0":
            s = s.replace(",", "").replace(".", "")  # 3,400 or 3.400: thousands in either language
        out.append(float(s.replace(",", ".")))
    return sorted(out)


def mismatches(source: str, translation: str) -> list[str]:
    """What differs in placeholders and numbers between an English text and its translation."""
    found = []
    src_p, tr_p = sorted(_PLACEHOLDER.findall(source)), sorted(_PLACEHOLDER.findall(translation))
    if src_p != tr_p:
        found.append(f"placeholders differ: English has {', '.join(src_p) or 'none'}, "
                     f"translation has {', '.join(tr_p) or 'none'}")
    src_n, tr_n = _numbers(_PLACEHOLDER.sub("", source)), _numbers(_PLACEHOLDER.sub("", translation))
    if src_n != tr_n:
        found.append(f"numbers differ: English has {_listing(src_n)}, translation has {_listing(tr_n)}")
    return found


def _listing(numbers: list[float]) -> str:
    return ", ".join(f"{n:g}" for n in numbers) or "none"


def lint_overlay(overlay: Overlay, sources: dict[str, SourceText], *, release: bool = False) -> list[Problem]:
    """Missing, outdated and unknown entries, and placeholder/number differences, with file and
    line. With `release`, missing and outdated entries of a shipped language are errors."""
    problems = list(overlay.problems)
    gap = "error" if release and overlay.shipped else "warning"
    missing = [s for k, s in sources.items() if k not in overlay.entries or not overlay.entries[k].text.strip()]
    for s in missing:
        where = f"{s.file}:{s.line}" if s.line else s.file
        problems.append(ProblemCode.LOCALE_MISSING.at(
            overlay.file, overlay.entries[s.key].line if s.key in overlay.entries else None,
            severity=gap, lang=overlay.language, key=s.key, where=where))
    for key, entry in overlay.entries.items():
        s = sources.get(key)
        if s is None:
            problems.append(ProblemCode.LOCALE_UNKNOWN.at(overlay.file, entry.key_line, lang=overlay.language, key=key))
            continue
        if not entry.text.strip():
            continue
        if entry.source != s.hash:
            problems.append(ProblemCode.LOCALE_OUTDATED.at(
                overlay.file, entry.line, severity=gap, lang=overlay.language, key=key,
                now=" ".join(s.text.split()), where=f"{s.file}:{s.line}"))
            continue
        for message in mismatches(s.text, entry.text):
            problems.append(ProblemCode.LOCALE_MISMATCH.at(overlay.file, entry.line, lang=overlay.language,
                                                           key=key, reason=message))
    return problems


def lint_locales(directory: Path, *, release: bool = False, languages: list[str] | None = None) -> list[Problem]:
    """Lint every overlay of the rule base in `directory` (or only `languages`)."""
    sources = source_texts(directory)
    problems: list[Problem] = []
    for lang in available_languages(directory)[1:]:
        if languages is None or lang in languages:
            problems += lint_overlay(read_overlay(overlay_path(directory, lang)), sources, release=release)
    return problems


# ------------------------------------------------------------------ the translators' tool

@dataclass
class UpdateReport:
    path: Path
    added: list[str]
    removed: list[str]
    accepted: list[str]
    outdated: list[str]
    missing: list[str]


def update_overlay(directory: Path, lang: str, *, accept: tuple[str, ...] = ()) -> UpdateReport:
    """Write `locales/<lang>.yaml` in the rule base's order: every text of the rule base with its
    English as a comment, existing translations kept, new texts added empty, texts that are gone
    removed. Entries matching an `accept` pattern (fnmatch on the key) are marked as translating
    the current English. Raises SupplycheckError if the existing file cannot be read."""
    from ..errors import RuleBaseError
    from ..storage.atomic import write_atomic

    path = overlay_path(directory, lang)
    sources = source_texts(directory)
    if path.is_file():
        overlay = read_overlay(path)
        if overlay.problems:
            raise RuleBaseError(overlay.problems)
    else:
        overlay = Overlay(lang, path, name=_language_name(lang))
    report = UpdateReport(path, [], [k for k in overlay.entries if k not in sources], [], [], [])
    lines = [f"# {overlay.name}: translation of the supplycheck rule base (see rules/README.md).",
             f"# Written by `supplycheck rules translate {lang} --update`; `# en:` is the English",
             "# text now. Edit `text` only; `source` is the hash of the English it translates.",
             f"language: {lang}", f"name: {json.dumps(overlay.name, ensure_ascii=False)}",
             f"status: {overlay.status}", "texts:"]
    for key, s in sources.items():
        entry = overlay.entries.get(key)
        if entry is None:
            report.added.append(key)
            entry = Entry("", s.hash, None)
        if entry.text.strip() and entry.source != s.hash and any(fnmatch.fnmatchcase(key, p) for p in accept):
            entry = Entry(entry.text, s.hash, None)
            report.accepted.append(key)
        if not entry.text.strip():
            entry = Entry("", s.hash, None)
            report.missing.append(key)
        elif entry.source != s.hash:
            report.outdated.append(key)
        lines.append("")
        lines.append(f"  # en: {' '.join(s.text.split())}")
        if entry.source != s.hash:
            lines.append(f"  # OUTDATED: the English changed; check the text, then: "
                         f"supplycheck rules translate {lang} --accept '{key}'")
        lines.append(f"  {key}:")
        lines.append(f"    source: \"{entry.source}\"")
        lines.append(f"    text: {json.dumps(' '.join(entry.text.split()), ensure_ascii=False)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, "\n".join(lines) + "\n")
    return report


def _language_name(lang: str) -> str:
    from babel import Locale, UnknownLocaleError

    try:
        return Locale.parse(lang).get_display_name(lang).capitalize()
    except (ValueError, UnknownLocaleError):  # an unknown tag: the tag itself names it
        return lang
