"""The one registry of output formats for documents people keep: a parent's saved summary and a
consultant's referral letter. A file's extension (or a `--format` name) chooses the format; the
format names the renderer of each document. (Batch output has its own formats: channels/batch.)"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..core.result import Result
    from ..rulebase.loader import RuleBase
    from .letter import LetterData


@dataclass(frozen=True)
class OutputFormat:
    name: str  # as `--format` takes it
    extensions: tuple[str, ...]  # the first is the one suggested
    description: str  # for a person choosing

    def summary(self, rulebase: RuleBase, result: Result) -> str:
        """The parents' summary of `result` in this format."""
        from . import summary

        if self.name == "json":
            from ..render.result_json import to_json
            return to_json(result)
        built = summary.build(rulebase, result, "parent")
        if self.name == "html":
            from ..render.html import to_html
            return to_html(built)
        from ..render.markdown import to_markdown
        return to_markdown(built)

    def letter(self, rulebase: RuleBase, data: LetterData, *, paper: str = "auto") -> str:
        """The referral letter in this format."""
        if self.name == "json":
            from ..render.letter_json import to_json
            return to_json(data)
        from .letter import build

        view = build(rulebase, data)
        if self.name == "html":
            from ..render.letter_html import to_html
            return to_html(view, paper=paper)
        from ..render.letter_markdown import to_markdown
        return to_markdown(view)


FORMATS: tuple[OutputFormat, ...] = (
    OutputFormat("html", (".html", ".htm"), "a web page to print"),
    OutputFormat("md", (".md", ".markdown"), "a text document"),
    OutputFormat("json", (".json",), "data"),
)
NAMES: tuple[str, ...] = tuple(f.name for f in FORMATS)


def by_name(name: str) -> OutputFormat:
    """The format called `name` (html, md or json); ValueError names the ones there are."""
    for f in FORMATS:
        if f.name == name:
            return f
    raise ValueError(f"unknown format {name!r}; expected one of {', '.join(NAMES)}")


def for_path(path: Path) -> OutputFormat | None:
    """The format a file's extension names (case does not matter); None when it names none."""
    suffix = path.suffix.lower()
    return next((f for f in FORMATS if suffix in f.extensions), None)


def extensions_text() -> str:
    """`.html, .md or .json`: the extensions to suggest, in words."""
    first = [f.extensions[0] for f in FORMATS]
    return ", ".join(first[:-1]) + " or " + first[-1]
