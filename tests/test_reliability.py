"""The bad-input table of docs/reliability.md: one case a row, each run as a user would.

Every case puts one bad spec (or file, or model) beside a good spec and demands:
the bad one fails alone, at its `file:line`, with its plain sentence; the good
one passes; no INTERNALERROR and no traceback of the plugin's own frames.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "reliability.md"

GOOD = """\
good:
  model: net.py:Net
  input_size: [1, 3, 32, 32]
  expect: {output: [1, 10]}
"""


def spec(body: str, name: str = "bad") -> str:
    """A spec named `bad` for the tutorial Net, with `body` (YAML lines) under it."""
    return f"{name}:\n  model: net.py:Net\n" + textwrap.indent(textwrap.dedent(body), "  ")


@dataclass(frozen=True)
class Case:
    id: str
    what: str  # the bad input, as docs/reliability.md names it
    text: str | bytes  # the bad spec, or the whole bad file where `alone`
    says: str  # what the user sees (a part of the message)
    line: int | None = None  # the line the message names, where it is not line 1 of `text`
    alone: bool = False  # the bad text is a whole file of its own
    files: dict[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ()


MODELS = {
    "broken.py": textwrap.dedent('''\
        import time
        from torch import nn

        class RaisesInInit(nn.Module):
            def __init__(self):
                super().__init__()
                raise RuntimeError("weights file not found")

        def not_a_module():
            return "resnet"

        class ReturnsNone(nn.Module):
            def forward(self, x):
                return None

        class RaisesInForward(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 4, 3)

            def forward(self, x):
                return self.conv(x)["logits"]

        class Sleeps(nn.Module):
            def forward(self, x):
                time.sleep(60)
                return x
    '''),
    "raises_on_import.py": "import torch\nraise ImportError('needs a GPU build')\n",
}

ALIAS_BOMB = "".join(
    f".l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 9) + "]\n" for n in range(1, 25)
).replace("*l0", "1")

CASES = [
    # -- YAML ----------------------------------------------------------------------------
    Case("yaml-syntax", "YAML syntax error (an unclosed bracket)",
         spec("input_size: [1, 3, 32, 32\nexpect: {}\n"), "This file is not valid YAML: the `[` "
         "opened on line 3 is never closed: a `]` is missing.", line=3, alone=True),
    Case("yaml-tab", "tab indentation", "bad:\n\tmodel: net.py:Net\n",
         "This file is not valid YAML: while scanning for the next token, found character '\\t' "
         "that cannot start any token", line=2, alone=True),
    Case("yaml-duplicate-key", "a key written twice in a spec",
         spec("input_size: [1, 3, 32, 32]\ninput_size: [1, 3, 64, 64]\n"),
         "The key 'input_size' is written twice in one mapping, on line 3 and line 4; PyYAML "
         "would silently keep the last.", line=4, alone=True),
    Case("yaml-duplicate-nested", "a key written twice deep inside a spec",
         spec("input_size: [1, 3, 32, 32]\nexpect:\n  layers:\n    conv1: {output: [1], output: [2]}\n"),
         "The key 'output' is written twice in one mapping, on line 6 and line 6", line=6, alone=True),
    Case("yaml-duplicate-spec", "two specs with one name", GOOD + GOOD.replace("[1, 10]", "[1, 11]"),
         "The key 'good' is written twice in one mapping, on line 1 and line 5", line=5, alone=True),
    Case("yaml-empty", "an empty file", "", "This file holds no specs: a spec file maps spec names "
         "to specs.", alone=True),
    Case("yaml-not-mapping", "a file that is a list, not a mapping", "- lenet\n- vgg\n",
         "The top level of a spec file must be a mapping of spec names to specs, not a list.",
         alone=True),
    Case("yaml-scalar", "a file that is one word", "lenet\n", "The top level of a spec file must "
         "be a mapping of spec names to specs, not the text 'lenet'.", alone=True),
    Case("yaml-not-utf8", "a file that is not UTF-8", b"bad:\n  model: n\xe9t.py:Net\n",
         "is not UTF-8 text (byte 0xe9 at offset 15)", line=2, alone=True),
    Case("yaml-huge", "a huge file (over 1 MiB)", "big: [" + "1, " * 400_000 + "1]\n",
         "spec files over 1 MiB are not read", alone=True),
    Case("yaml-alias-bomb", "an alias bomb (9**24 items if expanded)",
         ALIAS_BOMB + "bad:\n  model: net.py:Net\n  input_size: *l24\n",
         "`input_size` holds more than 10,000 values: a model's inputs are a few tensors.",
         line=24, alone=True),  # refused after 10,001 values, never expanded
    Case("yaml-python-tag", "a Python object tag", "bad: !!python/object/apply:os.system ['touch pwned']\n",
         "uses the tag 'tag:yaml.org,2002:python/object/apply:os.system', which cnncheck does not "
         "load (specs hold plain data only)", alone=True),
    Case("yaml-python-name", "a Python name tag", spec("input_size: !!python/name:os.getcwd\n"),
         "uses the tag 'tag:yaml.org,2002:python/name:os.getcwd', which cnncheck does not load",
         line=3, alone=True),
    Case("yaml-deep", "very deep nesting", "bad: " + "[" * 100_000 + "]" * 100_000 + "\n",
         "This file is nested too deeply to read.", alone=True),
    Case("yaml-deep-block", "very deep nesting, block style", "bad:\n  " + "- " * 100_000 + "x\n",
         "This file is nested too deeply to read.", alone=True),
    # -- the spec --------------------------------------------------------------------------
    Case("spec-unknown-top", "an unknown key in a spec", "bad:\n  modle: net.py:Net\n  input_size: [1]\n",
         "Unknown key 'modle' in spec. Did you mean 'model'?", line=2),
    Case("spec-unknown-expect", "an unknown key under expect",
         spec("input_size: [1, 3, 32, 32]\nexpect: {ouptut: [1, 10]}\n"),
         "Unknown key 'ouptut' in `expect`. Did you mean 'output'?", line=4),
    Case("spec-unknown-layer", "an unknown key in a layer",
         spec("input_size: [1, 3, 32, 32]\nexpect:\n  layers:\n    conv1: {parms: 456}\n"),
         "Unknown key 'parms' in `expect.layers.conv1`. Did you mean 'params'?", line=6),
    Case("spec-unknown-rule", "an unknown rule",
         spec("input_size: [1, 3, 32, 32]\nrules: {pool: true}\n"),
         "Unknown key 'pool' in `rules`. Did you mean 'pooling'?", line=4),
    Case("spec-missing-input", "a spec without input_size", "bad:\n  model: net.py:Net\n",
         "The spec has no `input_size` (the dummy input's shape, batch first, e.g. [1, 3, 32, 32])."),
    Case("spec-not-mapping", "a spec that is not a mapping", "bad: net.py:Net\n",
         "The spec 'bad' must be a mapping with at least `model` and `input_size`, not the text "
         "'net.py:Net'."),
    Case("spec-type-input", "input_size of the wrong type", spec("input_size: '1, 3, 32, 32'\n"),
         "`input_size` must be a shape such as [1, 16, 5, 5], not the text '1, 3, 32, 32'.", line=3),
    Case("spec-type-params", "params of the wrong type",
         spec("input_size: [1, 3, 32, 32]\nexpect: {params: [62006]}\n"),
         "`expect.params` must be an integer or an arithmetic expression such as '16*5*5', not a list.",
         line=4),
    Case("spec-negative-dim", "a negative dimension", spec("input_size: [1, 3, -32, 32]\n"),
         "`input_size[2]` must be positive, but -32 is not.", line=3),
    Case("spec-zero-dim", "a zero dimension in the input", spec("input_size: [1, 3, 0, 32]\n"),
         "`input_size[2]` must be positive, but 0 is not.", line=3),
    Case("spec-inexact-division", "an expression that is not a whole number",
         spec("input_size: [1, 3, 32, 32]\nexpect: {params: 62006 / 4}\n"),
         "the expression '62006 / 4' divides 62006 by 4, which leaves a remainder (write // to "
         "round down).", line=4),
    Case("spec-zero-division", "division by zero in an expression",
         spec("input_size: [1, 3, 32, 32]\nexpect: {params: 62006 // (5 - 5)}\n"),
         "the expression '62006 // (5 - 5)' divides by zero.", line=4),
    Case("spec-expr-name", "a name in an expression",
         spec("input_size: [1, 3, 32, 32]\nexpect: {params: num_classes * 85}\n"),
         "the expression 'num_classes * 85' uses the name 'num_classes'; names exist only in a spec with a `sweep`",
         line=4),
    Case("spec-expr-call", "a call in an expression",
         spec("input_size: [1, 3, 32, 32]\nexpect: {params: \"__import__('os').system('touch pwned')\"}\n"),
         "contains a function call, which is not allowed (only integers, + - * // % /, ceil(a / b) and parentheses).",
         line=4),
    Case("spec-expr-attribute", "an attribute in an expression",
         spec("input_size: [1, 3, 32, 32]\nexpect: {params: (1).real}\n"),
         "contains an attribute access, which is not allowed", line=4),
    Case("spec-expr-power", "a power in an expression",
         spec("input_size: [1, 3, 32, 32]\nexpect: {params: 9**9**9**9}\n"),
         "uses the operator **, which is not allowed (only + - * // % /)", line=4),
    Case("spec-expr-huge", "a number too large to be a size",
         spec("input_size: [1, 3, 32, 32]\nexpect: {params: 99999999999 * 99999999999}\n"),
         "reaches a value beyond 1e+18.", line=4),
    Case("spec-dtype", "an unknown dtype", spec("input_size: [1, 3, 32, 32]\ndtype: float23\n"),
         "`dtype`: the text 'float23' is not a dtype cnncheck knows. Did you mean 'float32'?", line=4),
    Case("spec-device", "an unknown device", spec("input_size: [1, 3, 32, 32]\ndevice: gpu\n"),
         "`device` must be one of meta, cpu, cuda, not the text 'gpu'. Did you mean 'cuda'? torch calls a GPU "
         "'cuda' (NVIDIA's, and AMD's under ROCm builds).", line=4),
    Case("spec-wrong-rank", "an expected shape of the wrong rank",
         spec("input_size: [1, 3, 32, 32]\nexpect: {output: [1, 10, 1]}\n"),
         "expected: [1, 10, 1]\n  actual:   [1, 10]", line=4),
    Case("spec-calls-once", "`calls` with two entries on a module called once",
         spec("input_size: [1, 3, 32, 32]\nexpect:\n  layers:\n    conv1:\n"
              "      calls: [{output: [1, 6, 28, 28]}, {output: [1, 6, 28, 28]}]\n"),
         "expect.layers.conv1.calls (CNN105 layer-calls)\n", line=7),
    Case("spec-no-such-layer", "a layer name the model does not have",
         spec("input_size: [1, 3, 32, 32]\nexpect:\n  layers:\n    conv_1: {params: 456}\n"),
         "The model has no layer named 'conv_1'. Did you mean 'conv1'", line=6),
    Case("spec-flatten-not-linear", "a flatten key that is not a Linear",
         spec("input_size: [1, 3, 32, 32]\nexpect:\n  flatten: {conv2: 400}\n"),
         "conv2 is a Conv2d, not a Linear: expect.flatten names the Linear layers", line=5),
    # -- the model --------------------------------------------------------------------------
    Case("model-no-module", "a model module that does not exist",
         "bad:\n  model: missing_package.nets:Net\n  input_size: [1]\n",
         "`model`: cannot import 'missing_package.nets': no module named 'missing_package'", line=2),
    Case("model-no-file", "a model file that does not exist",
         "bad:\n  model: nets/missing.py:Net\n  input_size: [1]\n",
         "(a .py path is taken relative to the spec file)", line=2),
    Case("model-no-attribute", "a model name the module does not have",
         "bad:\n  model: net.py:LeNet\n  input_size: [1]\n",
         "`model`: net.py has no attribute 'LeNet'.", line=2),
    Case("model-raises-on-import", "a model module that raises on import",
         "bad:\n  model: raises_on_import.py:Net\n  input_size: [1]\n",
         "`model`: importing raises_on_import.py raised ImportError: needs a GPU build at "
         "raises_on_import.py:2: raise ImportError('needs a GPU build').", line=2),
    Case("model-init-raises", "a constructor that raises",
         "bad:\n  model: broken.py:RaisesInInit\n  input_size: [1]\n",
         "`model`: building broken.py:RaisesInInit raised RuntimeError: weights file not found at "
         "broken.py:7: raise RuntimeError(\"weights file not found\").", line=2),
    Case("model-kwargs", "kwargs the model rejects",
         spec("kwargs: {classes: 10}\ninput_size: [1, 3, 32, 32]\n"),
         "`kwargs` do not fit net.py:Net: got an unexpected keyword argument 'classes'. Did you mean "
         "'num_classes' for 'classes'? (it takes: num_classes=10, fc1_in=400).", line=3),
    Case("model-not-a-module", "a factory that returns something else",
         "bad:\n  model: broken.py:not_a_module\n  input_size: [1]\n",
         "`model`: broken.py:not_a_module returned str, not an nn.Module.", line=2),
    Case("model-forward-raises", "a forward pass that raises",
         "bad:\n  model: broken.py:RaisesInForward\n  input_size: [1, 3, 8, 8]\n",
         "The forward pass on input [1, 3, 8, 8] raised IndexError", line=3),
    Case("model-returns-none", "a forward pass that returns no tensor",
         "bad:\n  model: broken.py:ReturnsNone\n  input_size: [1, 3]\n  expect: {output: [1, 3]}\n",
         "expected: [1, 3]\n  actual:   None", line=4),
    Case("model-forever", "a forward pass that never ends (with pytest-timeout)",
         "bad:\n  model: broken.py:Sleeps\n  input_size: [1, 3]\n", "spec 'bad' stopped: Timeout "
         "(>3.0s) from pytest-timeout.\n  while running broken.py:26: time.sleep(60)",
         args=("--timeout=3",)),
    Case("model-input-too-large", "a dummy input larger than the memory budget",
         spec("input_size: [4096, 3, 4096, 4096]\ndevice: cpu\n"),
         "The dummy input would need 786,432 MiB on the CPU, above the budget of 1,024 MiB (ini "
         "option cnncheck_max_input_mb). On device: meta, the default, inputs take no memory; or "
         "raise the budget.", line=3),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_fails_alone_and_clearly(tutorial: pytest.Pytester, case: Case) -> None:
    for name, text in {**MODELS, **case.files}.items():
        tutorial.path.joinpath(name).write_text(text)
    bad = tutorial.path / "bad.cnncheck.yaml"
    if case.alone:
        tutorial.path.joinpath("good.cnncheck.yaml").write_text(GOOD)
        bad.write_bytes(case.text if isinstance(case.text, bytes) else case.text.encode())
        line = case.line or 1
    else:
        assert isinstance(case.text, str)
        bad.write_text(GOOD + case.text)
        line = (case.line or 1) + GOOD.count("\n")
    result = tutorial.runpytest("-p", "no:cacheprovider", *case.args)
    out = result.stdout.str()
    result.assert_outcomes(passed=1, failed=1)
    assert case.says in out
    assert f"bad.cnncheck.yaml:{line}: " in out
    assert "INTERNALERROR" not in out
    # pytest-timeout dumps every thread's stack on its own; the failure itself stays clean.
    failure = out.split("= FAILURES =")[1]
    assert not re.search(r"pytest_cnncheck[/\\]\w+\.py", failure), "a traceback of the plugin's frames"
    assert not tutorial.path.joinpath("pwned").exists()


def test_the_table_in_the_docs_is_this_table() -> None:
    """docs/reliability.md lists every case, with what the user sees."""
    rows = [line for line in DOC.read_text().splitlines() if line.startswith("| `")]
    documented = {row.split("`")[1]: row for row in rows}
    assert len(CASES) >= 30
    assert list(documented) == [case.id for case in CASES]
    for case in CASES:
        row = documented[case.id]
        assert case.what in row
        first_line = case.says.split("\n")[0]
        assert first_line.replace("|", "\\|") in row, (case.id, first_line)
