"""The JSON Schema that editors validate spec files with, and the plugin's own validation,
run over one corpus of specs: they must give the same verdicts."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml

from pytest_cnncheck.spec import SpecError, parse_text

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "src" / "pytest_cnncheck" / "cnncheck.schema.json"
VALIDATOR = jsonschema.Draft202012Validator(json.loads(SHIPPED.read_text()))

GOOD = """model: net.py:Net
  input_size: [1, 3, 32, 32]"""

# Specs both must accept, beyond every example file.
VALID = {
    "minimal": GOOD,
    "everything": GOOD + """
  kwargs: {num_classes: 10}
  dtype: float32
  device: meta
  mode: train
  expect:
    output: [_, 10]
    params: {total: 62006, trainable: "62006 - 0"}
    mult_adds: 651_720
    layers:
      conv1: {output: [1, 6, 28, 28], params: "6 * (5*5*3 + 1)", type: Conv2d}
      pool: {calls: [{output: [1, 6, 14, 14]}, {output: [1, 16, 5, 5], input: [1, 16, 10, 10]}]}
      fc1: {input: [1, "16*5*5"]}
    flatten: {fc1: 16*5*5}
  rules: {pooling: [[2, 2], [3, 2]], exact_division: true}""",
    "two inputs, tuple output": """model: net.py:Two
  input_size: [[1, 3, 8, 8], [1, 4]]
  dtype: [float32, torch.int64]
  expect: {output: [[1, 10], [1, 4]], params: 0}""",
    "nested and dict outputs": """model: net.py:Rnn
  input_size: [2, 5, 8]
  expect:
    output: [[2, 5, 12], {h: [1, 2, 20], c: _}]
    layers:
      lstm: {output: [[2, 5, 20], [[1, 2, 20], [1, 2, 20]]]}
      gru: {output: [[2, 5, 12], _]}""",
    "budgets": GOOD + """
  expect:
    params: {total: {max: 25.6M}, trainable: {min: 1M, max: "2_000_000"}}
    mult_adds: {max: 4.1G}
    layers:
      fc1: {params: {max: 50K}}""",
    "a bare bound": GOOD + "\n  expect: {params: {min: 1K}}",
    "rules off": GOOD + "\n  rules: {pooling: false}",
    "sweep": """model: net.py:Net
  input_size: [B, 3, H, W]
  sweep: {B: [1, 2], H: "32..64 step 16", W: H}
  expect: {output: [B, 10], layers: {conv1: {output: [B, 6, H - 4, "ceil(W / 1) - 4"]}}}""",
    "list and keyword inputs, empty outputs": """model: net.py:Det
  input_size: [[[3, 32, 32], [3, 16, 16]], [{boxes: [0, 4], labels: {size: [0], dtype: int64}}]]
  forward_kwargs: {num_flow_updates: 4, scale: {size: [2]}, name: null}
  expect: {output: {boxes: [0, 4], loss: []}}""",
    "accepts": """model: net.py:Net
  input_size: [1, 3, H, H]
  sweep: {H: 16..64}
  expect: {accepts: {H: [32..35]}}""",
}

# Specs both must refuse: (the spec, a piece of the plugin's sentence).
INVALID = {
    "unknown key": (GOOD + "\n  ouput: [1, 10]", "Unknown key 'ouput' in spec"),
    "no model": ("input_size: [1, 3, 32, 32]", "has no `model`"),
    "no input": ("model: net.py:Net", "has no `input_size`"),
    "model without attribute": ("model: net.py\n  input_size: [1, 3, 32, 32]", "`model` must be"),
    "model not text": ("model: 3\n  input_size: [1, 3, 32, 32]", "`model` must be"),
    "input not a shape": ("model: net.py:Net\n  input_size: 32", "`input_size` must be a shape"),
    "input with a wildcard": ("model: net.py:Net\n  input_size: [1, 3, _, 32]", "`_` is for expectations"),
    "input of zero": ("model: net.py:Net\n  input_size: [1, 0, 32, 32]", "must be positive"),
    "empty input shape": ("model: net.py:Net\n  input_size: []", "must be a shape"),
    "kwargs not a mapping": (GOOD + "\n  kwargs: [1]", "`kwargs` must be a mapping"),
    "dtype unknown": (GOOD + "\n  dtype: float31", "is not a dtype cnncheck knows"),
    "device unknown": (GOOD + "\n  device: tpu", "`device` must be one of"),
    "mode unknown": (GOOD + "\n  mode: training", "`mode` must be one of"),
    "expect not a mapping": (GOOD + "\n  expect: [1, 10]", "`expect` must be a mapping"),
    "expect unknown key": (GOOD + "\n  expect: {outputs: [1, 10]}", "Unknown key 'outputs'"),
    "negative params": (GOOD + "\n  expect: {params: -1}", "must be zero or more"),
    "params unknown key": (GOOD + "\n  expect: {params: {totl: 1}}", "Unknown key 'totl'"),
    "params a float": (GOOD + "\n  expect: {params: 1.5}", "must be an integer"),
    "layer unknown key": (GOOD + "\n  expect: {layers: {conv1: {shape: [1]}}}", "Unknown key 'shape'"),
    "layer not a mapping": (GOOD + "\n  expect: {layers: {conv1: [1, 6]}}", "must be a mapping"),
    "layer type not text": (GOOD + "\n  expect: {layers: {conv1: {type: 3}}}", "must be a class name"),
    "calls not a list": (GOOD + "\n  expect: {layers: {pool: {calls: {output: [1]}}}}",
                         "must list one entry per call"),
    "flatten zero": (GOOD + "\n  expect: {flatten: {fc1: 0}}", "must be positive"),
    "mixed shapes": (GOOD + "\n  expect: {output: [[1, 10], 4]}", "mixes dimensions and shapes"),
    "empty dict output": (GOOD + "\n  expect: {output: {}}", "is an empty mapping"),
    "nested input with a wildcard": ("model: net.py:Net\n  input_size: [[1, 3], [[1, _]]]",
                                     "`_` is for expectations"),
    "forward_kwargs not a mapping": (GOOD + "\n  forward_kwargs: [4]", "`forward_kwargs` must be a mapping"),
    "argument tensor unknown key": ("model: net.py:Net\n  input_size: [[{size: [1], dtype: int64, fill: 1}]]",
                                    "is a tensor, `{size: shape, dtype: int64}`: unknown key 'fill'"),
    "pooling bad pair": (GOOD + "\n  rules: {pooling: [[2, 2, 2]]}", "`rules.pooling` must be"),
    "pooling zero": (GOOD + "\n  rules: {pooling: [[0, 2]]}", "`rules.pooling` must be"),
    "exact_division text": (GOOD + "\n  rules: {exact_division: yes please}", "must be true or false"),
    "rules unknown key": (GOOD + "\n  rules: {stride: 2}", "Unknown key 'stride'"),
    "sweep not a mapping": ("model: net.py:Net\n  input_size: [1, 3, H, H]\n  sweep: [32, 64]",
                            "`sweep` must map names"),
    "sweep bad sizes": ("model: net.py:Net\n  input_size: [1, 3, H, H]\n  sweep: {H: 3.5}",
                        "`sweep.H`"),
    "accepts bad sizes": ("model: net.py:Net\n  input_size: [1, 3, H, H]\n  sweep: {H: 16..64}\n"
                          "  expect: {accepts: {H: true}}", "`expect.accepts.H`"),
    "bound with another key": (GOOD + "\n  expect: {params: {total: {max: 5M, exact: 3}}}",
                               "as a mapping is a bound"),
    "expression with a call": (GOOD + "\n  expect: {params: \"__import__('os')\"}", "function call"),
    "a power": (GOOD + "\n  expect: {params: 2**10}", "uses the operator **"),
    "a misspelt magnitude": (GOOD + "\n  expect: {params: {max: 5Mb}}", "Did you mean 5M?"),
    "a lowercase magnitude": (GOOD + "\n  expect: {params: {max: 5m}}", "Did you mean 5M?"),
    "a decimal suffix on bytes": (GOOD + "\n  expect: {memory: {params: 16Mb}}", "Did you mean 16MB?"),
    "a misspelt byte magnitude": (GOOD + "\n  expect: {memory: {activations: {max: 16Gib}}}",
                                  "Did you mean 16GiB?"),
    "a magnitude in a shape": (GOOD + "\n  expect: {output: [1, 10K]}", "not the text '10K'"),
    "dimensions by x": (GOOD + "\n  expect: {flatten: {fc1: 16 x 13 x 13}}", "is not integer arithmetic"),
    "spec not a mapping": ("[1, 2]", None),
}

# What a schema cannot say, and the plugin checks (docs/spec-format.md lists these): a
# schema looks at one value at a time and at JSON's data, so it cannot compare two values
# (min against max, dtypes against inputs), do arithmetic, or see YAML's own text.
# the schema accepts them, the plugin refuses them.
BEYOND_THE_SCHEMA = {
    "a division with a remainder": (GOOD + "\n  expect: {params: 7/2}", "leaves a remainder"),
    "a name no sweep declares": (GOOD + "\n  expect: {output: [B, 10]}", "uses the name 'B'"),
    "a dtype per input, miscounted": (GOOD + "\n  dtype: [float32, float32]", "lists 2 dtypes for 1"),
    "a swept name the input does not use": (
        "model: net.py:Net\n  input_size: [1, 3, 32, 32]\n  sweep: {H: [32]}", "does not use it"),
    "accepts beside other expectations": (
        "model: net.py:Net\n  input_size: [1, 3, H, H]\n  sweep: {H: 16..64}\n"
        "  expect: {accepts: {H: 32..35}, output: [1, 10]}", "stands alone"),
    "a magnitude that is not whole": (GOOD + "\n  expect: {params: {max: 1.0001K}}", "not a whole number"),
    "a bound upside down": (GOOD + "\n  expect: {params: {min: 5M, max: 1M}}", "is above max"),
    "a range that ends before it starts": (
        "model: net.py:Net\n  input_size: [1, 3, H, H]\n  sweep: {H: 64..16}", "ends before it starts"),
}


def document(body: str) -> str:
    return f"spec:\n  {body}\n" if not body.startswith("[") else body + "\n"


def schema_accepts(text: str) -> bool:
    return VALIDATOR.is_valid(yaml.safe_load(text))


def plugin_problems(text: str) -> list[str]:
    parsed = parse_text(Path("arch.cnncheck.yaml"), text)
    if parsed.error is not None:
        return [message for _, message in parsed.error.problems]
    return [message for _, _, entry in parsed.entries if isinstance(entry, SpecError)
            for _, message in entry.problems]


@pytest.mark.parametrize("path", sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("examples/*.cnncheck.yaml")))
def test_both_accept_every_example(path: str) -> None:
    text = (ROOT / path).read_text()
    assert plugin_problems(text) == []
    assert schema_accepts(text), list(VALIDATOR.iter_errors(yaml.safe_load(text)))


@pytest.mark.parametrize("name", VALID)
def test_both_accept(name: str) -> None:
    text = document(VALID[name])
    assert plugin_problems(text) == []
    assert schema_accepts(text), [e.message for e in VALIDATOR.iter_errors(yaml.safe_load(text))]


@pytest.mark.parametrize("name", INVALID)
def test_both_refuse(name: str) -> None:
    body, says = INVALID[name]
    text = document(body)
    problems = plugin_problems(text)
    assert problems, "the plugin accepted it"
    if says:
        assert any(says in problem for problem in problems), problems
    assert not schema_accepts(text), "the schema accepted it"


@pytest.mark.parametrize("name", BEYOND_THE_SCHEMA)
def test_what_only_the_plugin_can_check(name: str) -> None:
    body, says = BEYOND_THE_SCHEMA[name]
    text = document(body)
    assert any(says in problem for problem in plugin_problems(text))
    assert schema_accepts(text)


# The spec-error tests' mistakes that a schema cannot see, each for a reason the docs give.
SCHEMA_BLIND = {
    "is written twice in one mapping": "keys written twice",  # JSON has no duplicate keys
    "YAML reads 0.10 as the number 0.1": "a layer name that YAML reads as a number",
    "which leaves a remainder": "a `/` that leaves a remainder",
    "is above max": "a bound whose min is above its max",
}


def _spec_error_cases() -> list[tuple[str, str]]:
    from test_spec_errors import GOOD as GOOD_SPEC
    from test_spec_errors import MISTAKES, NEAR_MISSES

    good = textwrap.dedent(GOOD_SPEC)  # first, as there: the sentences' line numbers count it
    cases = [(good + textwrap.dedent(broken), sentence) for broken, _, sentence in MISTAKES]
    cases += [(good + good.replace("good:", "broken:") + f"  {line}\n", sentence)
              for line, sentence in NEAR_MISSES.items()]
    return cases


@pytest.mark.parametrize(("text", "says"), _spec_error_cases())
def test_every_spec_error_is_refused_by_the_schema_too(text: str, says: str) -> None:
    # The plugin's sentence first: the case is what the spec-error tests say it is.
    assert any(says in problem for problem in plugin_problems(text)), plugin_problems(text)
    blind = next((reason for sentence, reason in SCHEMA_BLIND.items() if sentence in says), None)
    if blind is None:
        assert not schema_accepts(text), "the schema accepted it"
    else:
        assert schema_accepts(text)
        docs = " ".join((ROOT / "docs" / "spec-format.md").read_text().split())
        assert blind in docs  # and the docs say so


def test_the_schema_is_valid_draft_2020_12_and_describes_every_key() -> None:
    schema = json.loads(SHIPPED.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)

    def undescribed(node: object, path: str) -> list[str]:
        missing = []
        if isinstance(node, dict):
            for key, value in (node.get("properties") or {}).items():
                if isinstance(value, dict) and "description" not in value and "$ref" not in value:
                    missing.append(f"{path}.{key}")
                elif isinstance(value, dict) and "$ref" in value and "description" not in value:
                    target = schema["$defs"][value["$ref"].rsplit("/", 1)[1]]
                    if "description" not in target:
                        missing.append(f"{path}.{key}")
            for key, value in node.items():
                missing += undescribed(value, f"{path}.{key}")
        return missing

    assert undescribed(schema, "") == []


def test_the_shipped_schema_and_the_repository_copy_are_what_the_script_writes() -> None:
    written = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import runpy, sys
        sys.argv = ["write_schema"]
        module = runpy.run_path("scripts/write_schema.py", run_name="not_main")
        sys.stdout.write(module["text"]())
    """)], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert SHIPPED.read_text() == written
    assert (ROOT / "schema" / "cnncheck.schema.json").read_text() == written


def test_cnncheck_schema_prints_the_shipped_schema(capsys: pytest.CaptureFixture[str]) -> None:
    from pytest_cnncheck.cli import main

    assert main(["schema"]) == 0
    assert capsys.readouterr().out == SHIPPED.read_text()


def test_the_spec_reference_documents_every_key_of_the_schema() -> None:
    schema = json.loads(SHIPPED.read_text())
    keys: set[str] = set()

    def gather(node: object) -> None:
        if isinstance(node, dict):
            keys.update(key for key in (node.get("properties") or {}) if key != "<<")
            for value in node.values():
                gather(value)
        elif isinstance(node, list):
            for value in node:
                gather(value)

    gather(schema)
    reference = (ROOT / "docs" / "spec-format.md").read_text()
    assert sorted(key for key in keys if f"`{key}`" not in reference) == []
