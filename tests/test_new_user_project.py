"""A new user's own project: dict outputs, a shared encoder, a fusion net, helper-built
blocks, a typo in forward. What the reports, init, the graph and the CLI make of them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import assert_in_order, write_spec
from pytest_cnncheck.cli import main

MODELS = '''
import time

import torch
import torch.nn as nn


def conv_block(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=0), nn.ReLU())


class Head(nn.Module):
    """A detection head: one backbone, a dict of two heads."""

    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), nn.ReLU(),
                                      nn.Sequential(nn.Conv2d(16, 32, 3, 2, 1)))
        self.heat = nn.Conv2d(32, 3, 1)
        self.box = nn.Conv2d(32, 4, 1)

    def forward(self, x):
        f = self.backbone(x)
        return {"heatmap": self.heat(f), "boxes": self.box(f)}


class Classifier(nn.Module):
    """A Linear fed by a ReLU after another Linear: nothing is flattened before it."""

    def __init__(self, width=64):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 64, 3), nn.AdaptiveAvgPool2d(1))
        self.classifier = nn.Sequential(nn.Linear(64, width), nn.ReLU(), nn.Linear(width, 5))

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


class Siamese(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(1, 8, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(16, 1)

    def forward(self, a, b):
        return self.head(torch.cat([self.encoder(a), self.encoder(b)], 1))


class Fusion(nn.Module):
    def __init__(self):
        super().__init__()
        self.cnn = nn.Sequential(nn.Conv2d(3, 8, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.meta = nn.Linear(4, 8)
        self.out = nn.Linear(16, 2)

    def forward(self, image, metadata):
        return self.out(torch.cat([self.cnn(image), self.meta(metadata)], 1))


class Typo(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.fc2 = nn.Linear(8, 2)

    def forward(self, x):
        return self.fc_out(self.fc1(x))


class Encoder(nn.Module):
    """Three blocks from one helper, whose padding=0 shrinks each."""

    def __init__(self):
        super().__init__()
        self.down1 = conv_block(3, 8)
        self.down2 = conv_block(8, 16)
        self.down3 = conv_block(16, 32)

    def forward(self, x):
        return self.down3(self.down2(self.down1(x)))


class Slow(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        started = os.environ.get("SLOW_STARTED")
        if started:
            open(started, "w").close()
            time.sleep(60)
        return self.fc(x)
'''.replace("import time\n", "import os\nimport time\n", 1)


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(models=MODELS)
    return pytester


def _cli(folder: Path, *args: str, **more: object) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "pytest_cnncheck", *args], cwd=folder, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **more)  # type: ignore[call-overload]


# -- 1. dict outputs and `_` sizes where reviewers look ------------------------------------


def test_dict_outputs_read_in_verbose_markdown_and_the_baseline_as_in_the_terminal(project: pytest.Pytester) -> None:
    write_spec(project, """
        head:
          model: models.py:Head
          input_size: [1, 3, 64, 64]
          expect: {output: {heatmap: [1, 3, 16, 16], boxes: [1, 4, 16, 16]}}
        """)
    result = project.runpytest("-v", "--cnncheck-report", "now.json", "--cnncheck-report", "now.md")
    result.assert_outcomes(passed=1)
    shown = "{heatmap: [1, 3, 16, 16], boxes: [1, 4, 16, 16]}"
    assert f"output {shown}, params 5,319" in result.stdout.str()
    assert f"| `arch.cnncheck.yaml::head` | {shown} | 5,319 |" in (project.path / "now.md").read_text()
    # A base branch whose heads gave sizes that depend on values (`_`) and one key fewer.
    base = json.loads((project.path / "now.json").read_text())
    base["specs"][0]["output"] = {"heatmap": [None, 3, 16, 16]}
    (project.path / "base.json").write_text(json.dumps(base))
    project.runpytest("--cnncheck-report", "pr.md", "--cnncheck-baseline", "base.json")
    text = (project.path / "pr.md").read_text()
    assert f"| `arch.cnncheck.yaml::head` | {{heatmap: [_, 3, 16, 16]}} → {shown} |" in text
    assert "not a tensor" not in text


# -- 2. the Markdown report groups as the terminal does ------------------------------------


def test_markdown_folds_what_follows_from_a_root_as_the_terminal_does(tutorial: pytest.Pytester) -> None:
    write_spec(tutorial, """
        crash:
          model: net.py:Net
          kwargs: {fc1_in: 576}
          input_size: [1, 3, 32, 32]
          expect:
            params: 62006
            layers:
              fc1: {params: 48120}
        """)
    result = tutorial.runpytest("--cnncheck-report", "r.md")
    result.assert_outcomes(failed=1)
    assert "1 mismatch (and 2 that follow from it) in spec 'crash'" in result.stdout.str()
    text = (tutorial.path / "r.md").read_text()
    assert "| ❌ failed | `arch.cnncheck.yaml::crash` |  | 83,126 |  | 1 mismatch (and 2 that follow from it) |" \
        in text
    assert_in_order(text, "### `arch.cnncheck.yaml::crash`", "**forward**: The forward pass on input",
                    "<details>", "<summary>2 that follow from it</summary>",
                    "**expect.params**: expected `62,006`, actual `83,126` (follows from the crash at line 5",
                    "**expect.layers.fc1.params**", "</details>")
    assert text.count("**expect.layers.fc1.params**") == 1  # folded, not also a finding of its own


def test_a_layer_that_feeds_several_outputs_is_named_once(project: pytest.Pytester) -> None:
    write_spec(project, """
        head:
          model: models.py:Head
          input_size: [1, 3, 64, 64]
          expect: {output: {heatmap: [1, 3, 17, 16], boxes: [1, 4, 17, 16]}}
        """)
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    assert result.stdout.str().count("H 16 (dimension 2) comes from backbone.2.0") == 1


# -- 3. flatten facts only from a flatten on the data path ---------------------------------


def test_init_writes_a_flatten_fact_only_where_a_flatten_fed_the_linear(
        project: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    os.chdir(project.path)
    assert main(["init", "models.py:Classifier", "--input-size", "2,3,8,8"]) == 0
    text = capsys.readouterr().out
    assert "    flatten:\n      classifier.0: 64*1*1\n" in text
    assert "classifier.2:" not in text.split("\n    flatten:\n")[1]  # fed by a ReLU after a Linear
    write_spec(project, """
        stated:
          model: models.py:Classifier
          input_size: [2, 3, 8, 8]
          expect: {flatten: {classifier.2: 32}}
        """)
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "classifier.2 receives [2, 64] (no flattened shape of that size" in out
    assert "flattened: [2, 64, 1, 1]" not in out


# -- 4. Ctrl-C and a closed pipe -----------------------------------------------------------


def test_ctrl_c_ends_a_command_quietly_with_130_and_writes_nothing(project: pytest.Pytester) -> None:
    write_spec(project, """
        slow:
          model: models.py:Slow
          input_size: [1, 4]
          expect: {output: [1, 3]}
        """)
    before = (project.path / "models.py").read_text()
    started = project.path / "started"
    process = _cli(project.path, "fix", "arch.cnncheck.yaml", env={**os.environ, "SLOW_STARTED": str(started)},
                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not started.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started.exists(), process.communicate()
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, (out, err)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert (project.path / "models.py").read_text() == before


def test_a_reader_that_closes_the_pipe_ends_the_command_quietly(project: pytest.Pytester) -> None:
    # The reader leaves before the command writes its first line (Python takes longer to start).
    process = _cli(project.path, "schema")
    assert process.stdout is not None
    process.stdout.close()
    err = process.stderr.read() if process.stderr else ""
    process.wait(timeout=60)
    assert process.returncode == 141, err
    assert err == ""


# -- 5. the graph: an input node per argument, an output edge per key ------------------------


def test_graph_draws_each_argument_as_its_own_input(project: pytest.Pytester,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    os.chdir(project.path)
    assert main(["graph", "models.py:Siamese", "--input-size", "1,1,16,16", "--input-size", "1,1,16,16"]) == 0
    siamese = capsys.readouterr().out
    assert_in_order(siamese, 'input1(["input 1 1x1x16x16"])', 'input2(["input 2 1x1x16x16"])')
    first, second = (line.split(" -->")[0].strip() for line in siamese.splitlines()
                     if "-->" in line and line.strip().startswith("input"))
    assert (first, second) == ("input1", "input2")  # one node each, one edge each
    assert main(["graph", "models.py:Fusion", "--input-size", "2,3,16,16", "--input-size", "2,4"]) == 0
    fusion = capsys.readouterr().out
    meta = next(line.split('"')[1] for line in fusion.splitlines() if "meta<br/>" in line)
    node = next(line.split("[")[0].strip() for line in fusion.splitlines() if f'"{meta}' in line)
    assert f'input2 -->|"2x4"| {node}' in fusion
    assert 'input1 -->|"2x4"|' not in fusion
    assert main(["graph", "models.py:Head", "--input-size", "1,3,64,64"]) == 0
    head = capsys.readouterr().out
    edges = [line for line in head.splitlines() if line.endswith("| output")]
    assert sorted(edge.split('"')[1] for edge in edges) == ["boxes: 1x4x16x16", "heatmap: 1x3x16x16"]


# -- 6. a Python error in forward stays on meta, with a did-you-mean --------------------------


def test_a_typo_in_forward_is_reported_on_meta_with_did_you_mean(project: pytest.Pytester) -> None:
    write_spec(project, """
        typo:
          model: models.py:Typo
          input_size: [1, 4]
          expect: {output: [1, 2]}
        """)
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "1 mismatch in spec 'typo': model models.py:Typo, input [1, 4], on meta" in out
    assert "ran on the CPU" not in out
    assert_in_order(out, "raised AttributeError: 'Typo' object has no attribute 'fc_out'",
                    "at models.py:", "return self.fc_out(self.fc1(x))",
                    "suggestion: did you mean `self.fc2`? fc2 = Linear(in_features=8, out_features=2)")


# -- 7. messages --------------------------------------------------------------------------


def test_a_fix_at_a_helper_says_every_layer_it_changes(project: pytest.Pytester) -> None:
    write_spec(project, """
        encoder:
          model: models.py:Encoder
          input_size: [1, 3, 32, 32]
          expect:
            layers:
              down1.0: {output: [1, 8, 32, 32]}
        """)
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert ("fix: padding=1 in down1.0 (the same edit changes down2.0 and down3.0): applied by `cnncheck fix`"
            in out), out
    assert "down1.0 is made at models.py:9: return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=0), nn.ReLU())" in out


def test_a_line_ending_in_a_comma_is_quoted_without_it(project: pytest.Pytester) -> None:
    project.makepyfile(listed='''
        import torch.nn as nn


        class Net(nn.Sequential):
            def __init__(self):
                super().__init__(
                    nn.Conv2d(3, 8, 3),
                    nn.Conv2d(8, 8, 3),
                )
        ''')
    write_spec(project, """
        listed:
          model: listed.py:Net
          input_size: [1, 3, 16, 16]
          expect: {layers: {"1": {output: [1, 8, 13, 13]}}}
        """)
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "1 is made at listed.py:8: nn.Conv2d(8, 8, 3), in the call at" in out or \
        "1 is made at listed.py:8: nn.Conv2d(8, 8, 3)\n" in out
    assert ",," not in out


def test_accepted_sizes_are_listed_with_a_separator_of_their_own(tutorial: pytest.Pytester) -> None:
    write_spec(tutorial, """
        sizes:
          model: net.py:Net
          input_size: [1, 3, H, W]
          sweep: {H: 32..33, W: 32..33}
          expect: {accepts: {H: 32, W: 32}}
        """)
    result = tutorial.runpytest()
    result.assert_outcomes(failed=1)
    assert "runs, though expect.accepts leaves it out: H=32, W=33; H=33, W=32; H=33, W=33" in result.stdout.str()


def test_init_says_a_missing_model_file_is_looked_for_from_the_current_folder(
        project: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    os.chdir(project.path)
    assert main(["init", "models/nothere.py:Net", "--input-size", "1,3,8,8"]) == 2
    err = capsys.readouterr().err
    assert f"the file models/nothere.py does not exist (MODEL's path is taken relative to the current folder, " \
           f"{project.path})" in err
    assert "relative to the spec file" not in err


def test_init_on_a_crashing_model_says_how_to_get_the_spec_that_cnncheck_fix_needs(
        tutorial: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    os.chdir(tutorial.path)
    assert main(["init", "net.py:Net", "--input-size", "1,3,32,32", "--kwargs", '{"fc1_in": 576}']) == 1
    err = capsys.readouterr().err
    assert "fix: in_features=400 in fc1: applied by `cnncheck fix`" in err
    assert "No spec was written: init states what the model does, and its forward pass raised." in err
    spec = err.split("then run this init again.\n\n")[1]
    assert spec == "net:\n  model: net.py:Net\n  kwargs: {\"fc1_in\": 576}\n  input_size: [1, 3, 32, 32]\n"
    # The lines as printed are the spec that `cnncheck fix` takes, and its fix applies.
    (tutorial.path / "net.cnncheck.yaml").write_text(spec)
    assert main(["fix", "net.cnncheck.yaml"]) == 0
    # The value came from the spec's kwargs (written as JSON, as init writes them): mended there.
    assert (tutorial.path / "net.cnncheck.yaml").read_text() == spec.replace("576", "400")
    assert main(["init", "net.py:Net", "--input-size", "1,3,32,32", "--kwargs", '{"fc1_in": 400}']) == 0

