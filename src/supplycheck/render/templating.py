"""The Jinja2 environment of the HTML renderers: templates and their CSS are package data in
`render/templates/`.

Every `{{ value }}` is escaped, and by `present.text.escape_html` (through `finalize`), the one
escaper every HTML the package writes uses; what is already markup (a macro's output, a CSS
string made safe by `css_string`) passes as it is."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from ..i18n import current as current_language, tr
from ..present.text import escape_html, words


def _escaped(value: Any) -> Markup:
    return value if isinstance(value, Markup) else Markup(escape_html(value))


def css_string(text: str) -> Markup:
    """Text safe inside a CSS string in a <style> element."""
    return Markup("".join(f"\\{ord(c):x} " if c in '"\\<>&' or ord(c) < 32 else c for c in str(text)))


@cache
def environment() -> Environment:
    env = Environment(loader=PackageLoader("supplycheck.render", "templates"), autoescape=True,
                      finalize=_escaped, undefined=StrictUndefined, trim_blocks=True,
                      lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["css_string"] = css_string
    env.globals.update(tr=tr, words=words)
    return env


def render(template: str, **values: Any) -> str:
    """`template` (a file in render/templates/) filled in, in the current language."""
    return environment().get_template(template).render(lang=current_language(), **values)
