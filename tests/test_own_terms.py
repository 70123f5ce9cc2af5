"""A fix in the code's own terms: a name in scope rather than a literal (`stride=stride`,
`out_ch`, `in_ch`), a module constant changed where it is assigned (`FC_IN`), a model
parameter the spec left at its default set in its kwargs (`image_size`), a cat's operands
kept as a sum (`128 + 32`); and a literal that would freeze a formula of names is never
written. Each case is applied with `cnncheck fix` and the spec run again, as a user would."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest

from conftest import assert_in_order

MODELS = '''
import torch
import torch.nn as nn

FC_IN = 16 * 6 * 6


class LeNet(nn.Module):
    """The tutorial's LeNet with its flatten size in a module constant, miscounted."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(FC_IN, 120)
        self.fc2 = nn.Linear(120, 10)

    def forward(self, x):
        x = self.pool(torch.relu(self.conv1(x)))
        x = self.pool(torch.relu(self.conv2(x)))
        return self.fc2(torch.relu(self.fc1(torch.flatten(x, 1))))


class Block(nn.Module):
    """A residual block whose projection lost its `stride=stride`."""

    def __init__(self, in_ch, out_ch, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.short = nn.Sequential(nn.Conv2d(in_ch, out_ch, 1), nn.BatchNorm2d(out_ch)) \\
            if stride != 1 or in_ch != out_ch else nn.Identity()

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + self.short(x))


class MainBlock(Block):
    """The main path lost its stride: `stride=1` where the block's `stride` belongs."""

    def __init__(self, in_ch, out_ch, stride=1):
        super().__init__(in_ch, out_ch, stride)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride=1, padding=1)
        self.short = nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride=stride), nn.BatchNorm2d(out_ch))


class NormBlock(Block):
    """A BatchNorm given the block's input channels where its output's are meant."""

    def __init__(self, in_ch, out_ch, stride=1):
        super().__init__(in_ch, out_ch, stride)
        self.short = nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride=stride), nn.BatchNorm2d(out_ch))
        self.bn1 = nn.BatchNorm2d(in_ch)


class ResNetish(nn.Module):
    def __init__(self, block=Block):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.layer1 = Block(16, 16)
        self.layer2 = block(16, 32, stride=2)
        self.layer3 = block(32, 64, stride=2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.layer3(self.layer2(self.layer1(self.stem(x))))
        return self.fc(self.pool(x).flatten(1))


def main_path():
    return ResNetish(MainBlock)


def norm_path():
    return ResNetish(NormBlock)


class Sized(nn.Module):
    """Built for `image_size`, which the spec forgot to give."""

    def __init__(self, image_size=52, num_classes=10):
        super().__init__()
        side = image_size // 4
        self.features = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.MaxPool2d(2),
                                      nn.Conv2d(16, 16, 3, padding=1), nn.MaxPool2d(2))
        self.fc = nn.Linear(16 * side * side, num_classes)

    def forward(self, x):
        return self.fc(self.features(x).flatten(1))


class TwoBranch(nn.Module):
    """An image branch widened from 64 to 128, and the head after the cat not told."""

    def __init__(self):
        super().__init__()
        self.cnn = nn.Sequential(nn.Conv2d(3, 128, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                                 nn.Flatten())
        self.meta = nn.Sequential(nn.Linear(8, 32), nn.ReLU())
        self.head = nn.Linear(64 + 32, 64)

    def forward(self, image, meta):
        return self.head(torch.cat([self.cnn(image), self.meta(meta)], dim=1))


class Discriminator(nn.Module):
    """A GAN discriminator: `ds_size` floors where four stride-2 convs round up."""

    def __init__(self, img_size=40, channels=3):
        super().__init__()

        def block(i, o):
            return [nn.Conv2d(i, o, 3, 2, 1), nn.LeakyReLU(0.2)]

        self.model = nn.Sequential(*block(channels, 16), *block(16, 32), *block(32, 64), *block(64, 128))
        ds_size = img_size // 2 ** 4
        out_filters = 128
        self.adv = nn.Linear(out_filters * ds_size ** 2, 1)

    def forward(self, x):
        return self.adv(self.model(x).flatten(1))


class AuxHead(nn.Module):
    """A head that takes `in_ch` and wrote a number for it."""

    def __init__(self, in_ch, num_classes):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(128, num_classes)

    def forward(self, x):
        return self.fc(self.pool(x).flatten(1))


class WithAux(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.body = nn.Conv2d(3, 256, 3, padding=1)
        self.aux = AuxHead(256, num_classes)

    def forward(self, x):
        return self.aux(self.body(x))
'''


def _project(pytester: pytest.Pytester, spec: str) -> str:
    """The models and one spec; pytest's output on them."""
    pytester.makepyfile(models=MODELS)
    pytester.path.joinpath("arch.cnncheck.yaml").write_text(textwrap.dedent(spec))
    return pytester.runpytest().stdout.str()


def _fixed(pytester: pytest.Pytester) -> str:
    """`cnncheck fix` as a user runs it; then the spec passes. The models' text after it."""
    fixed = pytester.run(sys.executable, "-m", "pytest_cnncheck", "fix", ".")
    assert fixed.ret == 0, fixed.stdout.str() + fixed.stderr.str()
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
    return (pytester.path / "models.py").read_text()


def test_a_module_constant_is_changed_where_it_is_assigned(pytester: pytest.Pytester) -> None:
    out = _project(pytester, """
        lenet:
          model: models.py:LeNet
          input_size: [1, 1, 32, 32]
          expect: {output: [1, 10]}
        """)
    line = (pytester.path / "models.py").read_text().splitlines().index("FC_IN = 16 * 6 * 6") + 1
    assert_in_order(out, "fix: in_features=400 in fc1: applied by `cnncheck fix`", f"models.py:{line}",
                    "- FC_IN = 16 * 6 * 6", "+ FC_IN = 16 * 5 * 5")
    text = _fixed(pytester)
    assert "FC_IN = 16 * 5 * 5" in text and "nn.Linear(FC_IN, 120)" in text


@pytest.mark.parametrize("model, shown, written", [
    # A 1x1 conv with stride 2 reads every other position, and the block's 3x3 path the rest:
    # the projection of every ResNet, not a window that leaves the input unread.
    ("ResNetish", ("fix: stride=2 in layer2.short.0 (the same edit changes layer3.short.0)",
                   "+         self.short = nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride=stride), "),
     "nn.Conv2d(in_ch, out_ch, 1, stride=stride), nn.BatchNorm2d(out_ch)) \\\n"),
    ("main_path", ("fix: stride=2 in layer2.conv1 (the same edit changes layer3.conv1)",
                   "-         self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride=1, padding=1)",
                   "+         self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1)"),
     "nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1)\n        self.short"),
    ("norm_path", ("fix: num_features=32 in layer2.bn1", "-         self.bn1 = nn.BatchNorm2d(in_ch)",
                   "+         self.bn1 = nn.BatchNorm2d(out_ch)"),
     "self.bn1 = nn.BatchNorm2d(out_ch)"),
])
def test_a_residual_block_gets_the_name_in_scope_that_holds_the_value(
        pytester: pytest.Pytester, model: str, shown: tuple[str, ...], written: str) -> None:
    out = _project(pytester, f"""
        resnet:
          model: models.py:{model}
          input_size: [2, 3, 32, 32]
          expect: {{output: [2, 10], layers: {{layer2: {{output: [2, 32, 16, 16]}}}}}}
        """)
    assert_in_order(out, *shown)
    text = _fixed(pytester)
    assert written in text
    assert "self.layer2 = block(16, 32, stride=2)" in text  # no caller's value moved


def test_a_size_the_model_computes_from_a_parameter_the_spec_forgot_is_set_in_its_kwargs(
        pytester: pytest.Pytester) -> None:
    out = _project(pytester, """
        sized:
          model: models.py:Sized
          input_size: [1, 3, 64, 64]
          expect: {output: [1, 10]}
        """)
    assert_in_order(out, "fix: in_features=4096 in fc: applied by `cnncheck fix`",
                    "in the spec: kwargs: {image_size: 64} (not given now: its default is 52)")
    report = pytester.path / "report.json"
    pytester.runpytest("-p", "no:cacheprovider", "--cnncheck-report", str(report))
    fixes = [fix for item in json.loads(report.read_text())["specs"] for finding in item["findings"]
             for fix in finding.get("fixes", [])]
    assert fixes[0]["kwargs"] == [{"name": "image_size", "old": 52, "new": 64, "given": False}]
    before = (pytester.path / "models.py").read_text()
    assert _fixed(pytester) == before  # `16 * side * side` stays: the model was right
    assert "  kwargs: {image_size: 64}\n" in (pytester.path / "arch.cnncheck.yaml").read_text()


def test_a_linear_after_a_cat_is_explained_by_its_operands_and_keeps_the_sum(pytester: pytest.Pytester) -> None:
    out = _project(pytester, """
        two:
          model: models.py:TwoBranch
          input_size: [[1, 3, 16, 16], [1, 8]]
          expect: {output: [1, 64]}
        """)
    assert_in_order(out, "head = Linear(in_features=96, out_features=64) receives [1, 160]",
                    "160 = 128 from cnn.3 + 32 from meta.1: the operands of the cat that made it",
                    "fix: in_features=160 in head", "+         self.head = nn.Linear(128 + 32, 64)")
    assert "nn.Linear(128 + 32, 64)" in _fixed(pytester)


def test_a_literal_over_a_formula_of_names_is_shown_and_never_written(pytester: pytest.Pytester) -> None:
    out = _project(pytester, """
        gan:
          model: models.py:Discriminator
          input_size: [1, 3, 40, 40]
          expect: {output: [1, 1]}
        """)
    assert "fix: in_features=1152" not in out
    assert_in_order(out, "no fix verified",
                    "suggestion: in_features=1152 in adv passes the shapes but is not in the code's own terms, so "
                    "it is not written (frozen-literal): it writes 1152 over `out_filters * ds_size ** 2` "
                    "(out_filters = 128, ds_size = 2), which the code computes from names, and is right at this "
                    "size only: change where the value is computed")
    before = (pytester.path / "models.py").read_text()
    fixed = pytester.run(sys.executable, "-m", "pytest_cnncheck", "fix", ".")
    assert fixed.ret == 1, fixed.stdout.str() + fixed.stderr.str()
    assert (pytester.path / "models.py").read_text() == before


def test_a_literal_in_a_helper_gives_way_to_the_parameter_that_holds_the_value(pytester: pytest.Pytester) -> None:
    out = _project(pytester, """
        aux:
          model: models.py:WithAux
          input_size: [1, 3, 8, 8]
          expect: {output: [1, 10]}
        """)
    assert_in_order(out, "fix: in_features=256 in aux.fc", "+         self.fc = nn.Linear(in_ch, num_classes)")
    assert "nn.Linear(in_ch, num_classes)" in _fixed(pytester)


def test_a_window_reads_to_the_end_where_its_remainder_is_padding() -> None:
    from pytest_cnncheck.window import Window

    assert Window(3, stride=2, padding=1).unread(32) == 0  # a ResNet's downsampling conv: the remainder is padding
    assert Window(1, stride=2).unread(32) == 1  # its 1x1 projection skips the last row
    assert Window(4, stride=5).unread(8) == 4  # the DCGAN stride that floors: 4 rows unread
    assert Window(2, stride=2, ceil_mode=True).unread(5) == 0


def test_a_crash_after_a_deliberate_widening_is_fixed_though_a_stated_count_is_stale(
        pytester: pytest.Pytester) -> None:
    # The image branch was widened on purpose; the spec's count is from before. The crash is
    # the root: its fix is written, and the count is the spec's to update, not a reason to
    # hold the fix back.
    out = _project(pytester, """
        widened:
          model: models.py:TwoBranch
          input_size: [[1, 3, 16, 16], [1, 8]]
          expect:
            output: [1, 64]
            params: 7552
        """)
    assert "(further)" not in out
    assert_in_order(out, "fix: in_features=160 in head: applied by `cnncheck fix`",
                    "+         self.head = nn.Linear(128 + 32, 64)", "expect.params (CNN201 params)",
                    "fix, if the model is right: write")
    fixed = pytester.run(sys.executable, "-m", "pytest_cnncheck", "fix", ".")
    assert "nn.Linear(128 + 32, 64)" in (pytester.path / "models.py").read_text(), fixed.stdout.str()
    updated = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--cnncheck-update")
    assert "params: 14176" in (pytester.path / "arch.cnncheck.yaml").read_text(), updated.stdout.str()
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
