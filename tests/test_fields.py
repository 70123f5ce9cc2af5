"""Receptive fields: equal to independent computations on published networks, checkable in a
spec, explained layer by layer when wrong; and the shape-flow picture drawn from them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run, write_spec
from mermaid_render import available, render
from test_meta import MODELS, ROOT, _spec, write_models

MODELS_DIR = Path(__file__).resolve().parent / "models"


def field(path: list[tuple[int, int]]) -> tuple[int, int]:
    """The textbook recurrence over a hand-written list of (F, S): r += (F - 1) * j, j *= S.
    Independent of the plugin: only the list of layers comes from reading the architecture."""
    r, j = 1, 1
    for f, s in path:
        r, j = r + (f - 1) * j, j * s
    return r, j


def bottlenecks(count: int, stride_first: int = 1) -> list[tuple[int, int]]:
    """The longest path through `count` bottleneck units (1x1, 3x3, 1x1): the shortcut is
    a 1x1 (or nothing), which sees less, so the residual path sets the field."""
    return [(1, 1), (3, stride_first), (1, 1)] + [(1, 1), (3, 1), (1, 1)] * (count - 1)


VGG16_POOL5 = field(([(3, 1)] * 2 + [(2, 2)]) * 2 + ([(3, 1)] * 3 + [(2, 2)]) * 3)
ALEXNET = field([(11, 4), (3, 2), (5, 1), (3, 2), (3, 1), (3, 1), (3, 1), (3, 2)])
# torchvision's ResNet-50 (and benchmarks/models.py): the stride in the 3x3 of the *first*
# unit of stages 2-4.
RESNET50 = field([(7, 2), (3, 2)] + bottlenecks(3) + bottlenecks(4, 2) + bottlenecks(6, 2) + bottlenecks(3, 2))
# TF-slim's resnet_v1_50, the Distill article's: the stride in the 3x3 of the *last* unit of
# blocks 1-3.
SLIM = field([(7, 2), (3, 2)] + [(1, 1), (3, 1), (1, 1)] * 2 + [(1, 1), (3, 2), (1, 1)]
             + [(1, 1), (3, 1), (1, 1)] * 3 + [(1, 1), (3, 2), (1, 1)]
             + [(1, 1), (3, 1), (1, 1)] * 5 + [(1, 1), (3, 2), (1, 1)]
             + [(1, 1), (3, 1), (1, 1)] * 3)
MOBILENET_V1 = field([(3, 2)] + [(3, s) for s in (1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1)])
# examples/models/unet.py: the path through the bottleneck is the longest. Each transposed
# conv (F=2, S=2) takes one input per output and halves j; written here as the steps that
# change r, with j tracked by hand.
UNET = 1 + 2 + 2 + 1 + 2 * 2 * 2 + 1 * 2 + 2 * 4 * 2 + 1 * 4 + 2 * 8 * 2 + 1 * 8 + 2 * 16 * 2 \
    + 2 * 8 * 2 + 2 * 4 * 2 + 2 * 2 * 2 + 2 * 1 * 2


def test_the_independent_numbers_are_the_published_ones() -> None:
    # The Distill article's table: AlexNet 195, VGG-16 212, ResNet-50 483, MobileNet v1 315.
    assert (ALEXNET, VGG16_POOL5, SLIM, MOBILENET_V1) == ((195, 32), (212, 32), (483, 32), (315, 32))
    assert RESNET50 == (427, 32)  # torchvision's variant sees less: its strides come earlier
    assert UNET == 200


@pytest.fixture
def models(pytester: pytest.Pytester) -> pytest.Pytester:
    for name in ("fields.py", "classic.py"):
        shutil.copy(MODELS_DIR / name, pytester.path / name)
    shutil.copy(ROOT / "benchmarks" / "models.py", pytester.path / "bench.py")
    shutil.copy(ROOT / "examples" / "models" / "unet.py", pytester.path / "unet.py")
    return pytester


def test_published_networks_have_their_published_fields(models: pytest.Pytester) -> None:
    result, out = run(models, f"""
        vgg16:
          model: bench.py:vgg16
          input_size: [1, 3, 224, 224]
          expect:
            layers:
              "0.30": {{receptive_field: {VGG16_POOL5[0]}, effective_stride: {VGG16_POOL5[1]}}}   # pool5
              "0.23": {{receptive_field: [100, 100], effective_stride: 16}}                        # pool4
              "9": {{receptive_field: whole}}                                                      # the last Linear
        alexnet:
          model: classic.py:alexnet
          input_size: [1, 3, 224, 224]
          expect:
            layers:
              features.12: {{receptive_field: {ALEXNET[0]}, effective_stride: {ALEXNET[1]}}}
        resnet50_torchvision:
          model: bench.py:resnet50
          input_size: [1, 3, 224, 224]
          expect:
            layers:
              layer4: {{receptive_field: {RESNET50[0]}, effective_stride: {RESNET50[1]}}}
              avgpool: {{receptive_field: whole}}
        resnet50_slim:
          model: fields.py:resnet50_slim
          input_size: [1, 3, 224, 224]
          expect:
            layers:
              "18": {{receptive_field: {SLIM[0]}, effective_stride: {SLIM[1]}}}
        mobilenet_v1:
          model: fields.py:mobilenet_v1
          input_size: [1, 3, 224, 224]
          expect:
            layers:
              "53": {{receptive_field: {MOBILENET_V1[0]}, effective_stride: {MOBILENET_V1[1]}}}
        unet:
          model: unet.py:UNet
          input_size: [1, 3, 64, 64]
          expect:
            layers:
              bottom: {{receptive_field: 140, effective_stride: 16}}
              head: {{receptive_field: {UNET}, effective_stride: 1}}
          rules: {{receptive_field: {UNET}}}
    """)
    result.assert_outcomes(passed=6)


def test_the_field_arithmetic_rules(models: pytest.Pytester) -> None:
    result, out = run(models, """
        geometry:
          model: fields.py:Geometry
          input_size: [1, 1, 32, 32]
          expect:
            layers:
              dilated: {receptive_field: 5, effective_stride: 1}   # 3 taps 2 apart
              down: {receptive_field: 7, effective_stride: 2}
              up: {receptive_field: 9, effective_stride: 1}        # F=4, S=2: 2 inputs per output
              pool: {receptive_field: 12, effective_stride: 4}     # adaptive 32 -> 8: window 4
              "": {receptive_field: 12, effective_stride: 2}       # nearest x2: same field, j / 2
        misaligned:
          model: fields.py:Misaligned
          input_size: [1, 1, 32, 32]
          expect:
            layers:
              "": {receptive_field: 4}     # [-1, 1] and [-2, 0]: the union is 4 wide
        squeeze_excite:
          model: fields.py:Squeeze
          input_size: [1, 3, 32, 32]
          expect:
            layers:
              conv: {receptive_field: 3}
              out: {receptive_field: whole}
          rules: {receptive_field: whole}
    """)
    result.assert_outcomes(passed=3)


def test_a_field_that_became_whole_says_where(models: pytest.Pytester) -> None:
    result, out = run(models, """
        squeeze_excite:
          model: fields.py:Squeeze
          input_size: [1, 3, 32, 32]
          expect:
            layers:
              out: {receptive_field: 5}     # thought: two 3x3 convs
        vgg16:
          model: bench.py:vgg16
          input_size: [1, 3, 224, 224]
          expect:
            layers:
              "3": {receptive_field: 212}   # the first Linear, after the flatten
    """)
    result.assert_outcomes(failed=2)
    assert "H and W: out sees the whole input, from where every position was mixed: squeeze pools every " \
           "position into one" not in out  # every dimension whole for one reason: said once, unnamed
    assert "out sees the whole input, from where every position was mixed: squeeze pools every position " \
           "into one" in out
    assert "3 sees the whole input, from where every position was mixed: 2: [1, 512, 7, 7] -> [1, 25088], " \
           "the spatial dimensions merged" in out
    assert "fix, if the model is right: write receptive_field: whole" in out


def test_branches_at_different_strides_are_said_not_guessed(models: pytest.Pytester) -> None:
    result, out = run(models, """
        strides:
          model: fields.py:Strides
          input_size: [1, 1, 32, 32]
          expect:
            layers:
              "": {receptive_field: 3}
    """)
    result.assert_outcomes(failed=1)
    assert "the model's receptive field can't be followed: branches with effective strides 1, 2 merge" in out


def test_a_wrong_field_fails_with_the_arithmetic_layer_by_layer(models: pytest.Pytester) -> None:
    result, out = run(models, """
        vgg16:
          model: bench.py:vgg16
          input_size: [1, 3, 224, 224]
          expect:
            layers:
              "0.30": {receptive_field: 200, effective_stride: 16}
    """)
    result.assert_outcomes(failed=1)
    lines = [line.strip() for line in out.splitlines()]
    at = lines.index("expected: 200")
    assert lines[at + 1] == "actual:   212"
    assert lines[at + 2] == ("H and W: one feature of 0.30 sees 212 input positions, features 32 apart "
                             "(the first one's field starts 90 into the padding):")
    assert lines[at + 3] == "input: r = 1, j = 1"
    assert lines[at + 4] == "0.0 (F=3, S=1): r = 1 + (3 - 1) * 1 = 3, j = 1 * 1 = 1"
    assert "0.28 (F=3, S=1): r = 164 + (3 - 1) * 16 = 196, j = 16 * 1 = 16" in lines
    assert "0.30 (F=2, S=2): r = 196 + (2 - 1) * 16 = 212, j = 16 * 2 = 32" in lines
    assert "0.30 is made at bench.py:74: layers.append(nn.MaxPool2d(2, 2))" in lines
    assert "fix, if the model is right: write receptive_field: 212" in lines
    assert "fix, if the model is right: write effective_stride: 32" in lines

    updated = models.runpytest("--cnncheck-update")
    updated.assert_outcomes(passed=1)
    assert '"0.30": {receptive_field: 212, effective_stride: 32}' in \
        (models.path / "arch.cnncheck.yaml").read_text()


def test_a_bound_below_the_field_gives_the_convs_that_reach_it(models: pytest.Pytester) -> None:
    result, out = run(models, """
        unet:
          model: unet.py:UNet
          input_size: [1, 3, 64, 64]
          expect:
            layers:
              head: {receptive_field: {min: 250}}
          rules: {receptive_field: 300}
    """)
    result.assert_outcomes(failed=1)
    # The widest path runs through the bottleneck, where features are 16 apart: each 3x3 there
    # adds 2 * 16 = 32, so ceil(50 / 32) = 2 reach 250 and ceil(100 / 32) = 4 reach 300.
    assert ("suggestion: (H and W) add 2 3x3 conv(s) (padding 1) after bottom.3, where features are 16 apart: "
            "each adds (3 - 1) * 16 = 32, so r = 200 + 2 * 32 = 264 >= 250") in out
    assert "The widest features, head's output [1, 2, 64, 64], see 200x200 of the input, below the 300x300" in out
    assert "r = 200 + 4 * 32 = 328 >= 300" in out
    assert "write receptive_field" not in out  # a bound is intent: never "write the value"


def test_bad_field_values_are_spec_errors(models: pytest.Pytester) -> None:
    result, out = run(models, """
        a:
          model: fields.py:Geometry
          input_size: [1, 1, 32, 32]
          expect:
            layers:
              down: {receptive_field: [1, 2, 3, 4], effective_stride: {min: 2}}
          rules: {receptive_field: {min: 3}}
    """)
    result.assert_outcomes(failed=1)
    assert "arch.cnncheck.yaml:7: `expect.layers.down.receptive_field` must be one number for every " \
           "spatial dimension or one per dimension" in out
    assert "arch.cnncheck.yaml:7: `expect.layers.down.effective_stride` is an exact number" in out
    assert "arch.cnncheck.yaml:8: `rules.receptive_field` is the least field" in out


@pytest.mark.parametrize(("model", "sizes"), MODELS, ids=[m[0].split(":")[1] for m in MODELS])
def test_fields_are_the_same_on_meta_and_the_cpu_and_change_nothing(tmp_path: Path, model: str,
                                                                    sizes: tuple[tuple[int, ...], ...]) -> None:
    """On meta many layers take their shapes by formula (no operation to follow), on the CPU
    every operation runs: the layer rules and the operation rules must agree."""
    from pytest_cnncheck.probe import probe

    write_models(tmp_path)
    folder = tmp_path if model.startswith(("zoo", "recurrent", "functional")) else ROOT
    plain = probe(_spec(model, sizes, "meta", folder), ROOT)
    on_meta = probe(_spec(model, sizes, "meta", folder), ROOT, fields=True)
    on_cpu = probe(_spec(model, sizes, "cpu", folder), ROOT, fields=True)
    assert on_meta.calls == plain.calls and on_meta.output == plain.output
    assert on_meta.flow is not None and on_cpu.flow is not None
    assert _numbers(on_meta.flow.fields) == _numbers(on_cpu.flow.fields)
    assert on_meta.flow.sources == on_cpu.flow.sources
    assert any(fields for fields in on_meta.flow.fields) or model.startswith("recurrent")


def _numbers(fields: tuple) -> list:  # type: ignore[type-arg]
    """The numbers of each call's field, not the steps that made them (the CPU runs a padded
    conv as a pad and a conv; meta's formula as one conv)."""
    return [None if entries is None else [(e.size, e.stride, e.start) if hasattr(e, "size") else e
                                          for e in entries] for entries in fields]


# -- the picture ----------------------------------------------------------------------


def _mermaid(out: str) -> list[str]:
    blocks, inside = [], None
    for line in out.splitlines():
        if line == "```mermaid":
            inside = []
        elif line == "```" and inside is not None:
            blocks.append("\n".join(inside) + "\n")
            inside = None
        elif inside is not None:
            inside.append(line)
    return blocks


def test_markdown_report_draws_failing_specs(models: pytest.Pytester) -> None:
    result, _ = run(models, """
        resnet50:
          model: bench.py:resnet50
          input_size: [1, 3, 224, 224]
          expect:
            layers:
              layer3: {output: [1, 1024, 7, 7]}
        unet:
          model: unet.py:UNet
          input_size: [1, 3, 64, 64]
          expect:
            output: [1, 2, 64, 64]
    """, "--cnncheck-report=r.md", "--cnncheck-report=r.json")
    result.assert_outcomes(failed=1, passed=1)
    text = (models.path / "r.md").read_text()
    (diagram,) = _mermaid(text)  # the failing spec only
    # ResNet-50 as its stages, each with its receptive field; the stage that failed in red.
    assert 'n83["layer3<br/>Sequential<br/>RF 267x267"]' in diagram
    assert 'n147["layer4<br/>Sequential<br/>RF 427x427"]' in diagram
    assert 'n39 -->|"1x512x28x28"| n83' in diagram
    assert "class n83 bad" in diagram
    boxes = [line for line in diagram.splitlines() if line.startswith("  n") and '["' in line]
    assert len(boxes) == 11  # conv1, bn1, relu, maxpool, 4 stages, avgpool, flatten (torch.flatten), fc
    report = json.loads((models.path / "r.json").read_text())
    rows = {row["id"]: row for row in report["specs"]}
    assert "diagram" not in rows["arch.cnncheck.yaml::resnet50"]  # the JSON carries numbers
    assert rows["arch.cnncheck.yaml::resnet50"]["receptive_field"] == {
        "layer": "layer4", "call": 1, "whole": [False, False], "size": [427, 427], "stride": [32, 32],
        "start": [-213, -213]}

    drawn = models.runpytest("--cnncheck-report=all.md", "--cnncheck-diagrams")
    all_text = (models.path / "all.md").read_text()
    assert len(_mermaid(all_text)) == 2
    # The U-Net's skips drawn as the branches they are: each decoder takes two edges.
    (unet,) = [d for d in _mermaid(all_text) if "dec4" in d]
    assert 'n25 -->|"1x128x8x8"| n41' in unet and 'n40 -->|"1x128x8x8"| n41' in unet
    assert 'n72 -->|"1x2x64x64"| output' in unet
    drawn.assert_outcomes(failed=1, passed=1)


@pytest.fixture
def tutorial_net(models: pytest.Pytester) -> pytest.Pytester:
    from conftest import TUTORIAL_NET

    (models.path / "net.py").write_text(TUTORIAL_NET)
    return models


def test_a_crash_is_drawn_up_to_the_layer_that_raised(tutorial_net: pytest.Pytester) -> None:
    result, _ = run(tutorial_net, """
        tutorial:
          model: net.py:Net
          kwargs: {fc1_in: 300}
          input_size: [1, 3, 32, 32]
    """, "--cnncheck-report=r.md")
    result.assert_outcomes(failed=1)
    (diagram,) = _mermaid((tutorial_net.path / "r.md").read_text())
    assert 'n5["flatten<br/>flatten<br/>RF ' in diagram  # torch.flatten(x, 1): a step of the pass
    assert 'n6["fc1<br/>Linear<br/>raised here"]' in diagram
    assert "class n6 bad" in diagram and "output" not in diagram


def _cli(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest_cnncheck", *args], cwd=folder, capture_output=True,
                          text=True, timeout=300, check=False)


def test_graph_prints_the_diagram_and_init_writes_the_fields(models: pytest.Pytester) -> None:
    graph = _cli(models.path, "graph", "bench.py:resnet50", "--input-size", "1,3,224,224")
    assert graph.returncode == 0, graph.stderr
    assert graph.stdout.startswith("flowchart TD\n")
    assert 'n147["layer4<br/>Sequential<br/>RF 427x427"]' in graph.stdout
    deeper = _cli(models.path, "graph", "bench.py:resnet50", "--input-size", "1,3,224,224", "--boxes", "30",
                  "--markdown")
    assert deeper.stdout.startswith("```mermaid\n") and "layer4.2<br/>Bottleneck" in deeper.stdout

    init = _cli(models.path, "init", "unet.py:UNet", "--input-size", "1,3,64,64", "--receptive-field",
                "--rules", "-o", "unet.cnncheck.yaml")
    assert init.returncode == 0, init.stderr
    text = (models.path / "unet.cnncheck.yaml").read_text()
    assert "bottom.3: {output: [1, 256, 4, 4], params: 590080, receptive_field: 140, effective_stride: 16}" in text
    assert "receptive_field: 200   # what head sees today" in text
    assert "up4: {output: [1, 128, 8, 8], params: 131200, receptive_field: 140, effective_stride: 8}" in text
    models.runpytest("unet.cnncheck.yaml").assert_outcomes(passed=1)


REQUIRED = os.environ.get("CNNCHECK_REQUIRE_MERMAID") == "1"  # CI: a missing renderer fails


def test_every_diagram_renders_with_the_real_mermaid(models: pytest.Pytester, tmp_path: Path) -> None:
    """What GitHub draws: each diagram through Mermaid in headless Chromium. A diagram that
    doesn't parse fails here, not as a blank on a pull request."""
    missing = available()
    if missing:
        if REQUIRED:
            pytest.fail(f"CNNCHECK_REQUIRE_MERMAID=1 but {missing}")
        pytest.skip(missing)
    from conftest import TUTORIAL_NET

    (models.path / "net.py").write_text(TUTORIAL_NET)
    (models.path / "odd.py").write_text(ODD_NAMES)
    write_spec(models, """
        resnet50: {model: bench.py:resnet50, input_size: [1, 3, 224, 224]}
        unet: {model: unet.py:UNet, input_size: [1, 3, 64, 64]}
        geometry: {model: fields.py:Geometry, input_size: [1, 1, 32, 32]}
        strides: {model: fields.py:Strides, input_size: [1, 1, 32, 32]}
        odd_names: {model: odd.py:Odd, input_size: [1, 3, 8, 8], expect: {output: [1, 1]}}
        crash: {model: net.py:Net, kwargs: {fc1_in: 300}, input_size: [1, 3, 32, 32]}
    """)
    models.runpytest("--cnncheck-report=r.md", "--cnncheck-diagrams")
    diagrams = _mermaid((models.path / "r.md").read_text())
    assert len(diagrams) == 6
    results = render(diagrams)
    assert [r[0] for r in results] == ["ok"] * 6, results
    boxes = {d.splitlines()[2]: r[1] for d, r in zip(diagrams, results)}
    # Every box is drawn, with the input and output: ResNet-50 draws 10 layers, its
    # torch.flatten step, + 2; the crash the 6 layers and steps that ran, the input and no output.
    assert boxes['  n1["conv1<br/>Conv2d<br/>RF 7x7"]'] == 13, results
    assert boxes['  n1["conv1<br/>Conv2d<br/>RF 5x5"]'] == 7, results


ODD_NAMES = '''
from torch import nn


class Odd(nn.Module):
    """Names and labels that Mermaid would read as its own syntax, were they not escaped."""

    def __init__(self):
        super().__init__()
        setattr(self, 'a"b', nn.Conv2d(3, 4, 3))
        setattr(self, "c|d<e>", nn.AdaptiveAvgPool2d(1))
        self.end = nn.Sequential(nn.Flatten(), nn.Linear(4, 1))

    def forward(self, x):
        return self.end(getattr(self, "c|d<e>")(getattr(self, 'a"b')(x)))
'''


def test_each_edge_carries_the_shape_its_layer_received(pytester: pytest.Pytester) -> None:
    # A mean over the last dimension between two layers: the edge into fc shows the [4, 64]
    # fc received, not the conv's [4, 64, 3] that the mean reduced.
    pytester.makepyfile(pooled='''
        from torch import nn


        class Pooled(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv1d(8, 64, 3, padding=1)
                self.fc = nn.Linear(64, 10)

            def forward(self, x):
                return self.fc(self.conv(x).mean(-1))
    ''')
    graph = _cli(pytester.path, "graph", "pooled.py:Pooled", "--input-size", "4,8,3")
    assert graph.returncode == 0, graph.stderr
    assert 'input -->|"4x8x3"| n1' in graph.stdout
    assert 'n1 -->|"4x64"| n2' in graph.stdout
    assert "4x64x3" not in graph.stdout
    assert 'n2 -->|"4x10"| output' in graph.stdout
