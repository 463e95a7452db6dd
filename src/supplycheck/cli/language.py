"""`--lang`, and click's own words and our --help texts in the chosen language.

The language is chosen once, as the command line is read: `--lang`, else LC_ALL / LC_MESSAGES /
LANG, else English (`i18n.choose_language`). `--lang` is eager, so `--lang es --help` shows the
help in Spanish; the environment's language applies from the start (`main`).
"""

from __future__ import annotations

import functools
import inspect
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import click

from .. import i18n
from ..i18n import tr

LANG_HELP = "Language of the questions and the summary (for example es); default: from LANG, else English."


def use_environment_language() -> None:
    """Set the language from the environment and let click speak it ("Usage:", its errors)."""
    i18n.set_language(i18n.choose_language(None, i18n.languages()))
    # click words its own messages through gettext's module-level `_`; route them through ours.
    import click.core
    import click.decorators
    import click.exceptions
    import click.formatting
    import click.parser
    import click.types

    for module in (click.core, click.decorators, click.exceptions, click.formatting, click.parser, click.types):
        module._ = tr  # type: ignore[attr-defined]


def _set_lang(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        try:
            i18n.set_language(i18n.choose_language(value, i18n.languages()))
        except i18n.LanguageError as exc:
            raise click.BadParameter(str(exc).split(": ", 1)[1], ctx=ctx, param=param) from None
    return value


def lang_option(func: Callable[..., Any] | None = None, *, help: str = LANG_HELP,
                environment: bool = True, pass_lang: bool = False) -> Any:
    """Adds `--lang` (put it above `rules_option`, so the rule base loads in that language).
    Without `environment`, no --lang means English (batch output does not depend on where it
    runs). With `pass_lang`, the command gets `lang` (None when not given)."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @click.option("--lang", "lang", metavar="LANG", is_eager=True, callback=_set_lang, help=help)
        @functools.wraps(func)
        def wrapper(*args: Any, lang: str | None, **kwargs: Any) -> Any:
            if lang is None and not environment:
                i18n.set_language(i18n.SOURCE)
            chosen = i18n.choose_language(lang, i18n.languages()) if lang else None
            return func(*args, **({"lang": chosen} if pass_lang else {}), **kwargs)

        return wrapper

    return decorate(func) if func is not None else decorate


@contextmanager
def _translated(command: click.Command, ctx: click.Context) -> Iterator[None]:
    """Our help texts in the current language while the help is written."""
    saved: list[tuple[Any, str, Any]] = []

    def swap(obj: Any, attr: str, clean: bool = False) -> None:
        text = getattr(obj, attr, None)
        if isinstance(text, str) and text:
            saved.append((obj, attr, text))
            setattr(obj, attr, tr(inspect.cleandoc(text) if clean else text))

    swap(command, "help", clean=True)
    swap(command, "short_help")
    for param in command.get_params(ctx):  # the help option too, made before --lang was read
        swap(param, "help")
    for sub in getattr(command, "commands", {}).values():
        swap(sub, "help", clean=True)
        swap(sub, "short_help")
    try:
        yield
    finally:
        for obj, attr, text in reversed(saved):
            setattr(obj, attr, text)


class LocalisedCommand(click.Command):
    """A command whose --help is written in the current language."""

    def get_help(self, ctx: click.Context) -> str:
        with _translated(self, ctx):
            return super().get_help(ctx)


class LocalisedGroup(click.Group):
    """A group whose --help (its commands' one-line help too) is in the current language."""

    def get_help(self, ctx: click.Context) -> str:
        with _translated(self, ctx):
            return super().get_help(ctx)
