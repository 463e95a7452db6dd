"""YAML reading that remembers line numbers, so every content error can name its line."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import yaml

from ..errors import Problem, display_path
from .problems import ProblemCode


class LineDict(dict[Any, Any]):
    """A mapping from YAML that knows its own line and the line of each key."""

    line: int = 0
    key_lines: dict[Any, int]


class LineList(list[Any]):
    """A sequence from YAML that knows its own line and the line of each item."""

    line: int = 0
    item_lines: list[int]


class _DuplicateKey(yaml.MarkedYAMLError):
    def __init__(self, key: object, context_mark: yaml.Mark, problem_mark: yaml.Mark):
        super().__init__("while reading a mapping", context_mark, f"duplicate key {key!r}", problem_mark)
        self.key = key


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml: 6x faster start-up
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise _DuplicateKey(key, node.start_mark, key_node.start_mark)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def read_yaml(path: Path) -> tuple[Any, list[Problem]]:
    """Parse one YAML file; a syntax error becomes a Problem with its line, never a traceback."""
    name = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [ProblemCode.FILE_UNREADABLE.at(name, None, reason=exc)]
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is not None and (size := _expanded_size(node)) > MAX_NODES:
            return None, [ProblemCode.YAML_TOO_MANY_ALIASES.at(name, None, size=f"{size:,}", limit=f"{MAX_NODES:,}")]
        return (loader.construct_document(node) if node is not None else None), []
    except RecursionError:
        return None, [ProblemCode.YAML_TOO_DEEP.at(name, None)]
    except _DuplicateKey as exc:
        return None, [ProblemCode.YAML_DUPLICATE_KEY.at(name, _line(exc), key=exc.key)]
    except yaml.MarkedYAMLError as exc:
        return None, [ProblemCode.YAML_INVALID.at(name, _line(exc), reason=exc.problem or exc.context)]
    except yaml.YAMLError as exc:
        return None, [ProblemCode.YAML_INVALID.at(name, None, reason=exc)]
    finally:
        loader.dispose()


# A rule file is a few thousand nodes; aliases that repeat aliases ("billion laughs") would make
# millions, and every later step walks them all.
MAX_NODES = 200_000


def _expanded_size(root: yaml.Node) -> int:
    """How many nodes `root` stands for once every alias is written out (stops counting past
    MAX_NODES). Each distinct node is sized once, so this is quick even for a bomb."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        sizes[id(node)] = MAX_NODES + 1  # a node inside itself (a recursive alias) is too big
        total = 1
        if isinstance(node, yaml.SequenceNode):
            for child in node.value:
                total += size(child)
                if total > MAX_NODES:
                    break
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                total += size(key) + size(value)
                if total > MAX_NODES:
                    break
        sizes[id(node)] = min(total, MAX_NODES + 1)
        return sizes[id(node)]

    return size(root)


def _line(exc: yaml.MarkedYAMLError) -> int | None:
    mark = exc.problem_mark or exc.context_mark
    return mark.line + 1 if mark else None


def line_at(root: Any, loc: Iterable[str | int]) -> int | None:
    """The line of the deepest node along `loc` (a pydantic error location) inside `root`."""
    line = getattr(root, "line", None)
    node = root
    for key in loc:
        if isinstance(node, LineDict) and key in node:
            line = node.key_lines.get(key, line)
            node = node[key]
        elif isinstance(node, LineList) and isinstance(key, int) and 0 <= key < len(node):
            line = node.item_lines[key]
            node = node[key]
        else:
            break
        line = getattr(node, "line", line) or line
    return line
