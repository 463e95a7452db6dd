"""The documentation tells the truth about the command line (as sqlite-utils' tests/test_docs.py):
every command and option is documented in README.md or docs/*.md, every command and option has
help text, and every README example that runs supplycheck on a file from examples/ runs, with the
exit status and the output it shows.

README convention: `    $ supplycheck ...` is a command, the indented lines after it are (part
of) what it prints, `...` marks lines left out, and a status other than 0 is shown as
`$ echo $?` followed by the number.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import click
import pytest

from supplycheck.cli import cli

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SUPPLYCHECK = Path(sys.executable).with_name("supplycheck")  # the venv running the tests


def documentation() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in [README, *sorted((ROOT / "docs").glob("*.md"))])


def commands(command: click.Command = cli, path: tuple[str, ...] = ("supplycheck",)):
    """(path, command) for every command of the tree, the root first."""
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from commands(sub, (*path, name))


COMMANDS = {" ".join(path): command for path, command in commands()}
OPTIONS = [(name, opt) for name, command in COMMANDS.items() for param in command.params
           if isinstance(param, click.Option) for opt in (*param.opts, *param.secondary_opts)
           if opt.startswith("--")]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_is_documented(name):
    assert re.search(rf"(^|\W){re.escape(name)}(\W|$)", documentation()), f"`{name}` is in no README.md or docs/*.md"


@pytest.mark.parametrize("name, option", OPTIONS, ids=[f"{n} {o}" for n, o in OPTIONS])
def test_every_option_is_documented(name, option):
    assert re.search(rf"(^|[^\w-]){re.escape(option)}(?![\w-])", documentation()), (
        f"`{name} {option}` is in no README.md or docs/*.md")


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help(name):
    assert (COMMANDS[name].help or "").strip(), f"`{name}` has no --help text"


# Known gaps, each for the file's owner to close (then delete the entry).
OPTIONS_WITHOUT_HELP_YET = {("supplycheck intake export", "--format")}  # cli/intake.py


@pytest.mark.parametrize("name, option", [
    pytest.param(name, opt, marks=[pytest.mark.xfail(reason="known gap")] if (name, opt) in OPTIONS_WITHOUT_HELP_YET else [])
    for name, opt in OPTIONS], ids=[f"{n} {o}" for n, o in OPTIONS])
def test_every_option_has_help(name, option):
    (param,) = [p for p in COMMANDS[name].params if option in (*p.opts, *p.secondary_opts)]
    assert (param.help or "").strip(), f"`{name} {option}` has no help text"


# ---------------------------------------------------------------------- README examples run


@dataclass
class Example:
    line: int
    command: str
    shown: list[str] = field(default_factory=list)  # output lines shown, "..." where some are left out
    status: int = 0


def readme_examples() -> list[Example]:
    """Every `$ supplycheck ...` in README.md that reads a file from examples/."""
    lines = README.read_text(encoding="utf-8").splitlines()
    found = []
    for number, line in enumerate(lines, 1):
        m = re.fullmatch(r"    \$ (supplycheck .*)", line)
        if not m or "examples/" not in m[1]:
            continue
        example = Example(number, m[1])
        rest = iter(lines[number:])
        for following in rest:
            if following.strip() and not following.startswith("    "):
                break
            text = following[4:]
            if text == "$ echo $?":
                example.status = int(next(rest).strip())
                break
            if text.startswith("$ "):
                break
            example.shown.append(text.rstrip())
        while example.shown and not example.shown[-1]:
            example.shown.pop()
        found.append(example)
    return found


EXAMPLES = readme_examples()


def _plain(line: str) -> str:
    """A line as compared: no trailing spaces, timings (which vary) blanked."""
    return re.sub(r"in [\d.]+ s \([\d.]+ intakes/s\)", "in … s", line.rstrip())


def test_the_readme_has_runnable_examples():
    assert len(EXAMPLES) >= 3, [e.command for e in EXAMPLES]


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"README.md:{e.line}" for e in EXAMPLES])
def test_a_readme_example_runs_as_shown(tmp_path, example):
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "NO_COLOR": "1",
           "SUPPLYCHECK_DB": str(tmp_path / "supplycheck.db")}
    if "PYTHONPATH" in os.environ:  # the code under test, not whatever the venv has installed
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    args = shlex.split(example.command)
    out = subprocess.run([str(SUPPLYCHECK), *args[1:]], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                         capture_output=True, text=True, timeout=120)
    printed = [_plain(line) for line in (out.stdout + out.stderr).splitlines()]
    assert out.returncode == example.status, (example.command, out.returncode, out.stdout + out.stderr)
    assert "Traceback" not in out.stderr
    for shown in example.shown:
        if "..." in shown or not shown.strip():
            continue
        assert _plain(shown) in printed, f"README.md:{example.line}: `{shown}` is not printed; got:\n" + "\n".join(printed)
