"""YAML text -> plain Python data that remembers the line of every key and value.

PyYAML's safe constructor forgets where things were written and silently keeps
the last of two equal keys. We compose the node graph with the safe loader
(so no tag can build a Python object) and build the data ourselves:

* mappings become :class:`LineMap` (a dict that knows each key's and value's line),
  sequences :class:`LineList`; scalars go through the safe constructor;
* a key written twice in one mapping is an error naming both lines;
* merge keys (`<<: *base`) are resolved here, explicit keys winning;
* each node is built once and shared, so an alias bomb ("billion laughs")
  costs as much as its text, not 2**n;
* every value remembers its :class:`Span` in the text, so that an update can
  rewrite one value and leave every other byte alone. A span reached through an
  alias or merge key is marked `shared`: rewriting it would change other specs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = ["LineList", "LineMap", "Span", "YamlError", "closing", "from_python", "load", "yaml_key"]

MERGE_TAG = "tag:yaml.org,2002:merge"

# libyaml's parser, where PyYAML has it (its wheels do): it composes the same nodes
# with the same marks four times faster, which is most of collecting a spec file.
_LIBYAML: type[yaml.SafeLoader] | None = getattr(yaml, "CSafeLoader", None)


class YamlError(Exception):
    """Text that is not a YAML document we can read; `line` is 1-based."""

    def __init__(self, message: str, line: int, opened: tuple[int, str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        # A bracket or quote that was never closed: (its line, the character, what the
        # parser found on the later line where it gave up). The opening line is the one to edit.
        self.opened = opened


@dataclass
class Span:
    """Where a value's text lies: `text[start:end]`."""

    start: int
    end: int
    shared: bool = False  # reached through an alias or a merge key


class LineMap(dict):  # type: ignore[type-arg]
    """A mapping with the 1-based line of each key (`key_line`) and value (`value_line`)."""

    line: int

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[Any, int] = {}
        self.value_lines: dict[Any, int] = {}
        self.value_spans: dict[Any, Span] = {}

    def key_line(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)

    def value_line(self, key: Any) -> int:
        return self.value_lines.get(key, self.key_line(key))


class LineList(list):  # type: ignore[type-arg]
    """A sequence with the 1-based line of each item (`item_lines`)."""

    line: int

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []
        self.item_spans: list[Span] = []


def from_python(value: Any, depth: int = 0) -> Any:
    """Python data (the Python API's `expect`, say) as `load` would give it, at line 0:
    so that one validator reads specs written in YAML and in Python."""
    if depth > 50:
        raise YamlError("is nested more than 50 levels deep", 0)
    if isinstance(value, dict):
        mapping = LineMap(0)
        for key, item in value.items():
            mapping[key] = from_python(item, depth + 1)
        return mapping
    if isinstance(value, (list, tuple)):
        items = LineList(0)
        items.extend(from_python(item, depth + 1) for item in value)
        items.item_lines = [0] * len(items)
        items.item_spans = [None] * len(items)  # type: ignore[list-item]  # nothing to rewrite
        return items
    return value


def load(text: str) -> tuple[Any, list[YamlError]]:
    """The single YAML document in `text`, built with lines (None for an empty text),
    and the keys written twice, as errors that the caller attributes.

    libyaml decides whether a text is YAML where it is there; where it says no, the
    pure-Python parser is asked for the words, which name what it found ("found
    character '\\t'", "but got ':'") where libyaml's often don't.
    """
    if _LIBYAML is None or _nesting_bound(text) > 500:
        return _load(text, yaml.SafeLoader)
    try:
        return _load(text, _LIBYAML)
    except YamlError as refused:
        try:
            _load(text, yaml.SafeLoader)
        except YamlError as worded:
            raise worded from None
        raise refused from None


def _nesting_bound(text: str) -> int:
    """How deep `text` could nest, at most.

    libyaml composes nested collections by recursion in C, and a text nested some
    25,000 deep overflows the C stack (a crash, where the pure-Python parser raises
    RecursionError); a thread's stack may be much smaller. Flow collections can't
    nest deeper than there are `[` and `{`; a nested block collection starts right of
    its parent (a sequence under a key: level with it), so block nesting stays under
    twice the longest line.
    """
    longest = max(map(len, text.splitlines()), default=0)
    return text.count("[") + text.count("{") + 2 * longest + 2


def _load(text: str, loader_class: type[yaml.SafeLoader]) -> tuple[Any, list[YamlError]]:
    loader = loader_class(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            line = mark.line + 1 if mark else 1
            raise YamlError(f"is not valid YAML: {_plain(error)}", line, _unclosed(error, text)) from None
        except yaml.YAMLError as error:
            raise YamlError(f"is not valid YAML: {error}", 1) from None
        except RecursionError:
            raise YamlError("is nested too deeply to read", 1) from None
        if node is None:
            return None, []
        builder = _Builder(loader, text)
        try:
            data = builder.build(node)
            builder.mark_shared()
            return data, builder.duplicates
        except RecursionError:
            raise YamlError("is nested too deeply to read", node.start_mark.line + 1) from None
    finally:
        loader.dispose()


_CLOSING = {"[": "]", "{": "}", '"': '"', "'": "'"}


def _unclosed(error: yaml.MarkedYAMLError, text: str) -> tuple[int, str, str] | None:
    """(line, character) of the `[`, `{` or quote that `error` began in and that is still
    open on a later line, where the parser gave up; None for any other error."""
    context, problem = error.context_mark, error.problem_mark
    if not (context and problem and error.context and context.line < problem.line):
        return None
    if not error.context.startswith(("while parsing a flow", "while scanning a quoted")):
        return None
    index = context.index
    char = text[index] if 0 <= index < len(text) else ""
    return (context.line + 1, char, error.problem or "") if char in _CLOSING else None


def closing(char: str) -> str:
    """The character that closes `char`: `]` for `[`."""
    return _CLOSING[char]


def _plain(error: yaml.MarkedYAMLError) -> str:
    context = error.context
    if context and error.context_mark and error.problem_mark \
            and error.context_mark.line != error.problem_mark.line:
        context = f"{context} (begun on line {error.context_mark.line + 1})"
    parts = [context, error.problem]
    return ", ".join(part for part in parts if part) or str(error)


def _line(node: Node) -> int:
    return node.start_mark.line + 1


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, text: str) -> None:
        self.loader = loader
        self.text = text
        self.built: dict[int, Any] = {}
        self.duplicates: list[YamlError] = []
        self.spans: dict[int, Span] = {}
        self.aliased: list[Node] = []

    def span(self, node: Node) -> Span:
        if id(node) not in self.spans:
            start, end = node.start_mark.index, node.end_mark.index
            # A block collection ends where the next token starts: after the line break
            # and the next line's indentation, which are not part of the value.
            while end > start and self.text[end - 1] in " \t\r\n":
                end -= 1
            if start == end:
                # An empty value (`params: }`) sits right after its `:`. libyaml marks
                # it where the next token starts, the pure-Python parser right after
                # the `:`; one rule, whichever parser ran.
                while start > 0 and self.text[start - 1] in " \t\r\n":
                    start -= 1
                end = start
            self.spans[id(node)] = Span(start, end)
        return self.spans[id(node)]

    def line(self, node: Node) -> int:
        """The 1-based line of `node`; an empty value's is that of its `:` (see span)."""
        span = self.span(node)
        if span.start == span.end:
            return self.text.count("\n", 0, span.start) + 1
        return _line(node)

    def mark_shared(self) -> None:
        """Mark the span of every node under an aliased node: its text serves several places."""
        seen: set[int] = set()
        stack = list(self.aliased)
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            self.span(node).shared = True
            if isinstance(node, SequenceNode):
                stack.extend(node.value)
            elif isinstance(node, MappingNode):
                for key_node, value_node in node.value:
                    stack.extend((key_node, value_node))

    # Complex on purpose: one branch per YAML node kind the line map reads.
    def build(self, node: Node) -> Any:  # noqa: C901
        if id(node) in self.built:
            self.aliased.append(node)
            return self.built[id(node)]
        if isinstance(node, ScalarNode):
            try:
                value = self.loader.construct_object(node)
            except yaml.constructor.ConstructorError:
                raise YamlError(
                    f"uses the tag {node.tag!r}, which cnncheck does not load "
                    "(specs hold plain data only)", _line(node)) from None
            except (ValueError, OverflowError) as error:
                raise YamlError(f"has a value that cannot be read: {error}", _line(node)) from None
            self.built[id(node)] = value
            return value
        if isinstance(node, SequenceNode):
            if node.tag != "tag:yaml.org,2002:seq":
                raise self._tag_error(node)
            items = LineList(_line(node))
            self.built[id(node)] = items
            for child in node.value:
                items.append(self.build(child))
                items.item_lines.append(self.line(child))
                items.item_spans.append(self.span(child))
            return items
        if isinstance(node, MappingNode):
            if node.tag != "tag:yaml.org,2002:map":
                raise self._tag_error(node)
            mapping = LineMap(_line(node))
            self.built[id(node)] = mapping
            merged: list[LineMap] = []
            for key_node, value_node in node.value:
                if key_node.tag == MERGE_TAG:
                    merged.extend(self._merge_sources(value_node))
                    continue
                key = self.build(key_node)
                if isinstance(key, (list, dict)):
                    raise YamlError("uses a list or mapping as a key", _line(key_node))
                if key in mapping.key_lines:
                    # Kept, not raised: the spec that holds it fails, the file's others still run.
                    self.duplicates.append(YamlError(
                        f"The key {key!r} is written twice in one mapping, on line "
                        f"{mapping.key_lines[key]} and line {_line(key_node)}; PyYAML would "
                        "silently keep the last.", _line(key_node)))
                    continue
                mapping[key] = self.build(value_node)
                mapping.key_lines[key] = _line(key_node)
                mapping.value_lines[key] = self.line(value_node)
                mapping.value_spans[key] = self.span(value_node)
            # Explicit keys win over merged ones; of several merged maps the first wins.
            for source in merged:
                for key, value in source.items():
                    if key not in mapping:
                        mapping[key] = value
                        mapping.key_lines[key] = source.key_line(key)
                        mapping.value_lines[key] = source.value_line(key)
                        if key in source.value_spans:
                            mapping.value_spans[key] = source.value_spans[key]
            return mapping
        raise YamlError("holds a node cnncheck cannot read", _line(node))

    def _merge_sources(self, node: Node) -> list[LineMap]:
        sources = node.value if isinstance(node, SequenceNode) else [node]
        built = []
        for source in sources:
            value = self.build(source)
            if not isinstance(value, LineMap):
                raise YamlError("merges (<<) something that is not a mapping", _line(source))
            built.append(value)
        return built

    @staticmethod
    def _tag_error(node: Node) -> YamlError:
        return YamlError(
            f"uses the tag {node.tag!r}, which cnncheck does not load "
            "(specs hold plain data only)", _line(node))


def yaml_key(name: str) -> str:
    """`conv1` as it is; `"0"`, `"0.1"`, `"yes"` quoted, as YAML would read them as non-text."""
    try:
        plain = yaml.safe_load(f"{name}: 0")
    except yaml.YAMLError:
        plain = None
    if isinstance(plain, dict) and list(plain) == [name] and name.strip() == name and name:
        return name
    return json.dumps(name)
