"""Property-based tests: the loader and validator never fail in any way but their own.

Random YAML documents, random text mutations of valid specs, and random ways of
writing valid specs. In CI each property tries a few hundred cases; a longer
campaign runs with `CNNCHECK_FUZZ=campaign` (see docs/reliability.md); both profiles
are set in conftest.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_cnncheck.check.compare import check
from pytest_cnncheck.spec import Spec, SpecError, parse_text

PATH = Path("fuzz.cnncheck.yaml")

LENET = """\
lenet:
  model: net.py:Net
  kwargs: {num_classes: 10}
  input_size: [1, 3, 32, 32]
  expect:
    output: [1, 10]
    params: {total: 62006, trainable: 62006}
    layers:
      conv1: {output: [1, 6, 28, 28], params: 456}
      pool:
        calls:
          - {output: [1, 6, 14, 14]}
          - {output: [1, 16, 5, 5]}
      fc1: {input: [1, 400], type: Linear}
    flatten: {fc1: 16*5*5}
  rules: {pooling: true, exact_division: true}
"""


def assert_only_spec_errors(text: str) -> None:
    """Parsing never raises; every problem it reports has a real line and a sentence."""
    parsed = parse_text(PATH, text)
    errors = [parsed.error] if parsed.error else []
    errors += [entry for _, _, entry in parsed.entries if isinstance(entry, SpecError)]
    last_line = text.count("\n") + 2
    for error in errors:
        assert error.problems
        for line, message in error.problems:
            assert 1 <= line <= last_line, (line, message)
            assert isinstance(message, str) and message.strip()


scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=False),
                    st.text(max_size=20), st.sampled_from(["_", "16*5*5", "1/0", "2**64", "x", "[1]"]))
keys = st.one_of(st.sampled_from(["model", "input_size", "expect", "output", "params", "layers",
                                  "calls", "flatten", "rules", "pooling", "kwargs", "dtype",
                                  "device", "mode", "total", "input", "type", "<<"]),
                 st.text(max_size=8))
documents = st.recursive(scalars, lambda children: st.one_of(
    st.lists(children, max_size=5), st.dictionaries(keys, children, max_size=6)), max_leaves=40)


@given(documents)
def test_any_yaml_document(document: object) -> None:
    assert_only_spec_errors(yaml.safe_dump(document, default_flow_style=None))


@given(st.dictionaries(st.text(min_size=1, max_size=8), documents, min_size=1, max_size=3))
def test_any_mapping_of_specs(document: dict[str, object]) -> None:
    assert_only_spec_errors(yaml.safe_dump(document, default_flow_style=None))


# Edits of a text: at a position, delete some characters and insert YAML's punctuation.
text_edits = st.lists(st.tuples(st.integers(0, len(LENET)), st.integers(0, 8),
                                st.text(alphabet="[]{}:,-&*<!|>'\"#\t\n _0123456789abc%@", max_size=6)),
                      min_size=1, max_size=6)


@given(text_edits)
def test_mutations_of_a_valid_spec(edits: list[tuple[int, int, str]]) -> None:
    assert_only_spec_errors(edited(LENET, edits))


def edited(text: str, edits: list[tuple[int, int, str]]) -> str:
    for position, deleted, inserted in edits:
        position = min(position, len(text))
        text = text[:position] + inserted + text[position + deleted:]
    return text


def read_with(loader: type, text: str) -> object:
    """What yamlsource builds from `text` with one parser: the data with every line and
    span and the keys written twice, or "not valid"."""
    from pytest_cnncheck.spec.source import LineList, LineMap, YamlError, _load

    def snapshot(value: object) -> object:
        if isinstance(value, LineMap):
            return ("map", value.line, [(repr(k), value.key_line(k), value.value_line(k),
                                         value.value_spans.get(k), snapshot(v)) for k, v in value.items()])
        if isinstance(value, LineList):
            return ("list", value.line, value.item_lines, value.item_spans, [snapshot(v) for v in value])
        return repr(value)

    try:
        data, duplicates = _load(text, loader)
    except YamlError:
        return "not valid"
    return snapshot(data), [(error.line, str(error)) for error in duplicates]


@pytest.mark.skipif(not hasattr(yaml, "CSafeLoader"), reason="PyYAML built without libyaml")
@given(st.one_of(documents.map(lambda d: yaml.safe_dump(d, default_flow_style=None)),
                 text_edits.map(lambda edits: edited(LENET, edits))))
def test_libyaml_builds_what_the_pure_python_parser_builds(text: str) -> None:
    # Specs are read with libyaml where it is there: where both parsers read a text,
    # the data, every line and span, and the keys written twice must be the same.
    fast, slow = read_with(yaml.CSafeLoader, text), read_with(yaml.SafeLoader, text)
    if "not valid" not in (fast, slow):
        assert fast == slow


@pytest.fixture(scope="module")
def lenet_trace(tmp_path_factory: pytest.TempPathFactory) -> object:
    from conftest import TUTORIAL_NET
    from pytest_cnncheck.probe import probe

    folder = tmp_path_factory.mktemp("net")
    folder.joinpath("net.py").write_text(TUTORIAL_NET)
    parsed = parse_text(folder / "net.cnncheck.yaml", LENET)
    spec = parsed.entries[0][2]
    assert isinstance(spec, Spec)
    return probe(spec, folder)


def written(value: int, style: int) -> str:
    """One of several ways a person writes `value`: as it is, or as arithmetic that makes it."""
    if style == 0 or value < 4:
        return str(value)
    if style == 1:
        return f'"{value - 3} + 3"'
    if style == 2:
        factor = next((f for f in (2, 3, 5, 7) if value % f == 0), None)
        return f"'{factor}*{value // factor}'" if factor else str(value)
    return f'"({value} * 2) // 2"'


@given(st.lists(st.integers(0, 3), min_size=16, max_size=16), st.booleans(),
       st.sets(st.sampled_from(["output", "params", "conv1", "pool", "fc1", "flatten", "rules"])))
def test_valid_specs_keep_passing(lenet_trace: object, styles: list[int], block: bool,
                                  keep: set[str]) -> None:
    s = iter(styles)

    def shape(*dims: int) -> str:
        items = [written(d, next(s, 0)) for d in dims]
        if block:
            return "\n" + "".join(f"          - {item}\n" for item in items).rstrip("\n")
        return "[" + ", ".join(items) + "]"

    head = ["lenet:", "  model: net.py:Net", "  input_size: [1, 3, 32, 32]"]
    lines = ["  expect:"]
    if "output" in keep:
        lines.append(f"    output: {shape(1, 10)}")
    if "params" in keep:
        lines.append(f"    params: {{total: {written(62006, next(s, 0))}, trainable: 62006}}")
    lines.append("    layers:")
    if "conv1" in keep:
        lines.append(f"      conv1:\n        output: {shape(1, 6, 28, 28)}\n"
                     f"        params: {written(456, next(s, 0))}")
    if "pool" in keep:
        lines.append("      pool: {calls: [{output: [1, 6, 14, 14]}, {output: [_, 16, 5, 5]}]}")
    if "fc1" in keep:
        lines.append(f"      fc1:\n        input: {shape(1, 400)}")
    if lines[-1] == "    layers:":
        lines.pop()
    if "flatten" in keep:
        lines.append(f"    flatten: {{fc1: {written(400, next(s, 0))}}}")
    if lines == ["  expect:"]:
        lines = []
    if "rules" in keep:
        lines.append("  rules:\n    pooling: [[2, 2]]\n    exact_division: true")
    text = "\n".join(head + lines) + "\n"
    parsed = parse_text(PATH, text)
    assert parsed.error is None, (parsed.error, text)
    spec = parsed.entries[0][2]
    assert isinstance(spec, Spec), (spec, text)
    assert check(spec, lenet_trace) == [], text  # type: ignore[arg-type]


@given(st.sets(st.integers(min_value=1, max_value=600), max_size=40))
def test_a_printed_set_of_sizes_reads_back_as_the_same_set(sizes: set[int]) -> None:
    # `cnncheck sizes` prints sets in the grammar `sweep` and `expect.accepts` read:
    # what it prints must mean exactly the sizes it found.
    from pytest_cnncheck.spec.sizes import describe, parse_sizes

    text = describe(sizes)
    if not sizes:
        assert text == "none"
        return
    parsed = parse_sizes(yaml.safe_load(text) if text.startswith("[") else text)
    assert parsed.values() == sorted(sizes)


@given(st.lists(st.integers(min_value=1, max_value=512), min_size=1, max_size=3),
       st.text(alphabet="HW+-*/%() 0123456789", min_size=1, max_size=20))
def test_a_swept_expression_is_python_integer_arithmetic_or_refused(values: list[int], text: str) -> None:
    # With a sweep's names, an expression either has Python's integer value (with `/`
    # only where it divides) or is refused with a sentence; it never raises anything else.
    from pytest_cnncheck.spec.expr import ExpressionError, evaluate

    names = dict(zip("HW", values + values))
    try:
        value = evaluate(text, names)
    except ExpressionError:
        return
    expected = eval(text.replace("/", "//").replace("////", "//"), {"__builtins__": {}}, names)  # noqa: S307
    assert value == expected


def test_the_test_command_is_deterministic() -> None:
    # The README's test command must pass every time: the same cases on every run, and no
    # example database whose saved failure would fail every run after it.
    if settings.get_current_profile_name() == "ci":
        assert settings.default.derandomize
        assert settings.default.database is None
    else:  # the campaign: random cases, and still nothing saved between runs
        assert not settings.default.derandomize
        assert settings.default.database is None


@pytest.mark.skipif(not hasattr(yaml, "CSafeLoader"), reason="PyYAML built without libyaml")
@pytest.mark.parametrize("text", ["a: {params: }\n", "a: {b:   , c: 2}\n", "a: {b:\n  }\n",
                                  "a:\n  b:   \n  c: 1\n", "a: [b: ]\n"])
def test_an_empty_value_sits_right_after_its_colon_whichever_parser_reads_it(text: str) -> None:
    # libyaml marks an empty value where the next token starts, the pure-Python parser
    # right after the `:`: one rule for spans and lines, whichever parser ran.
    fast, slow = read_with(yaml.CSafeLoader, text), read_with(yaml.SafeLoader, text)
    assert fast == slow
