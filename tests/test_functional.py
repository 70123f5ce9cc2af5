"""Functional pools in forward (`F.max_pool2d`, `F.avg_pool2d`, `F.adaptive_avg_pool2d`) are
steps of the pass: named for where they are called, in the table, the spec, init, the rules
and the fixes, as modules are."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import assert_in_order, write_spec
from pytest_cnncheck.cli import main

TUTORIAL = '''
import torch
import torch.nn.functional as F
from torch import nn


class Net(nn.Module):
    """PyTorch's "Neural Networks" tutorial: its pools are functional calls."""

    def __init__(self, second=2):
        super().__init__()
        self.second = second
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc2(F.relu(self.fc1(x)))


class Changed(Net):
    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        x = F.max_pool2d(F.relu(self.conv2(x)), 4, 3)      # was 2
        x = torch.flatten(x, 1)
        return self.fc2(F.relu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x):
        return F.avg_pool2d(self.conv(x), 2)


class Blocks(nn.Module):
    """A block whose forward pools, used twice, and a head that pools with an adaptive call."""

    def __init__(self):
        super().__init__()
        self.block = Block()
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = self.block(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class Pooled(nn.Module):
    """A module pool beside a functional one: torch's own layer stays one layer."""

    def __init__(self):
        super().__init__()
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        return F.max_pool2d(self.pool(x), 2)
'''


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(net=TUTORIAL)
    return pytester


def test_init_writes_each_functional_pool_and_the_flatten(project: pytest.Pytester,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    os.chdir(project.path)
    out = project.path / "net.cnncheck.yaml"
    assert main(["init", "net.py:Net", "--input-size", "1,3,32,32", "--rules", "-o", str(out)]) == 0
    assert_in_order(out.read_text(), "      conv1: {output: [1, 6, 28, 28], params: 456}",
                    "      max_pool2d: {output: [1, 6, 14, 14]}",
                    "      conv2: {output: [1, 16, 10, 10], params: 2416}",
                    "      max_pool2d_2: {output: [1, 16, 5, 5]}",
                    "    flatten:\n      fc1: 16*5*5", "    pooling: true")
    project.runpytest().assert_outcomes(passed=1)


def test_a_functional_pool_breaks_the_rule_at_its_line_and_the_crash_decomposes_the_flatten(
        project: pytest.Pytester) -> None:
    write_spec(project, """
        changed:
          model: net.py:Changed
          input_size: [1, 3, 32, 32]
          expect: {output: [1, 10]}
          rules: {pooling: true}
        """)
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert_in_order(out, "failed in fc1: receives 16*3*3 = 144, in_features 400",
                    "flattened: [1, 16, 3, 3] -> 16*3*3 = 144",
                    # the pool that set the size, with its arithmetic
                    "its spatial size comes from max_pool2d_2 = F.max_pool2d(kernel_size=4, stride=3, padding=0):",
                    "H: (10 - 4 + 2*0) / 3 + 1 = 3",
                    "+         self.fc1 = nn.Linear(16 * 3 * 3, 120)",  # the expression keeps its form
                    "rules.pooling (CNN401 pooling-rule)",
                    "max_pool2d_2 = F.max_pool2d(kernel_size=4, stride=3, padding=0) pools with H: F=4, S=3",
                    "max_pool2d_2 is called at net.py:", "x = F.max_pool2d(F.relu(self.conv2(x)), 4, 3)",
                    "! max_pool2d_2  max_pool2d  [1, 16, 3, 3]")


def test_a_functional_pools_size_is_explained_at_its_call_and_an_unsound_fix_refused(
        project: pytest.Pytester) -> None:
    write_spec(project, """
        stated:
          model: net.py:Net
          input_size: [1, 3, 32, 32]
          expect: {layers: {max_pool2d_2: {output: [1, 16, 3, 3]}}}
        """)
    out = project.runpytest().stdout.str()
    assert_in_order(out, "max_pool2d_2 = F.max_pool2d(kernel_size=2, stride=2, padding=0) on input [1, 16, 10, 10]:",
                    "H: (10 - 2 + 2*0) / 2 + 1 = 5",
                    "max_pool2d_2 is called at net.py:", "x = F.max_pool2d(F.relu(self.conv2(x)), 2)",
                    "stride=3 in max_pool2d_2 and in_features=144 in fc1 passes the shapes but is not sound",
                    "stride 3 is larger than the window 2",
                    "fix, if the model is right: write [1, 16, 5, 5]")


def test_steps_are_named_for_the_module_that_calls_them_and_torch_layers_stay_one(
        project: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    write_spec(project, """
        blocks:
          model: net.py:Blocks
          input_size: [1, 3, 8, 8]
          expect:
            output: [1, 10]
            layers:
              block.avg_pool2d: {output: [1, 8, 4, 4]}
              adaptive_avg_pool2d: {output: [1, 8, 1, 1]}
            flatten: {fc: 8*1*1}
        pooled:
          model: net.py:Pooled
          input_size: [1, 3, 8, 8]
          expect:
            layers:
              pool: {output: [1, 3, 4, 4]}
              max_pool2d: {output: [1, 3, 2, 2]}
        """)
    project.runpytest().assert_outcomes(passed=2)
    capsys.readouterr()
    os.chdir(project.path)
    assert main(["init", "net.py:Pooled", "--input-size", "1,3,8,8"]) == 0
    written = capsys.readouterr().out
    assert "      pool: {output: [1, 3, 4, 4]}\n      max_pool2d: {output: [1, 3, 2, 2]}\n" in written
    assert "pool.max_pool2d" not in written  # nn.MaxPool2d's own functional call is no step of its own


CIFAR = '''
import torch.nn as nn
import torch.nn.functional as F


class CifarNet(nn.Module):
    """A CIFAR ResNet's head: F.avg_pool2d(out, 8), written for 32x32 images."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.layer2 = nn.Conv2d(16, 32, 3, stride=2, padding=1)
        self.layer3 = nn.Conv2d(32, 64, 3, stride=2, padding=1)
        self.linear = nn.Linear(64, 10)

    def forward(self, x):
        out = self.layer3(self.layer2(self.conv1(x)))
        out = F.avg_pool2d(out, 8)
        out = out.view(out.size(0), -1)
        return self.linear(out)
'''


def test_a_fixed_functional_pool_run_at_another_size_gets_its_adaptive_form(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(cifar=CIFAR)
    write_spec(pytester, """
        at32:
          model: cifar.py:CifarNet
          input_size: [1, 3, 32, 32]
          expect: {output: [1, 10]}
        at28:
          model: cifar.py:CifarNet
          input_size: [1, 3, 28, 28]
          expect: {output: [1, 10]}
        """)
    out = pytester.runpytest().stdout.str()
    assert_in_order(out, "The forward pass on input [1, 3, 28, 28] failed in avg_pool2d: H: input 7 < F=8",
                    "avg_pool2d = F.avg_pool2d(kernel_size=8, stride=8, padding=0) receives [1, 64, 7, 7]",
                    "avg_pool2d is called at cifar.py:17: out = F.avg_pool2d(out, 8)",
                    "fix: F.adaptive_avg_pool2d in place of avg_pool2d's fixed window 8",
                    "+         out = F.adaptive_avg_pool2d(out, 1)")
    assert "fix: padding=" not in out  # a window over padding is never the fix
    assert "out = F.adaptive_avg_pool2d(out, 1)" in _fixed(pytester, "cifar.py", passed=2)  # both sizes run


# -- convs, resizes and reshapes in forward ----------------------------------------------

RESIZING = '''
import torch
import torch.nn.functional as F
from torch import nn


class Decoder(nn.Module):
    """A decoder that upsamples with F.interpolate before a cat with the skip: the scale
    was written 3 where the encoder halved the map."""

    def __init__(self, scale=3):
        super().__init__()
        self.scale = scale
        self.down = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.down2 = nn.Conv2d(8, 8, 3, stride=2, padding=1)
        self.out = nn.Conv2d(16, 2, 1)

    def forward(self, x):
        a = self.down(x)
        b = self.down2(a)
        b = F.interpolate(b, scale_factor=3, mode="nearest")
        return self.out(torch.cat([a, b], 1))


class FixedSize(nn.Module):
    """A decoder that resizes to a size written for another input."""

    def __init__(self):
        super().__init__()
        self.down = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.out = nn.Conv2d(16, 2, 1)

    def forward(self, x):
        a = self.down(x)
        b = F.interpolate(a, size=(20, 20))
        return self.out(torch.cat([a, b], 1))


class OwnWeight(nn.Module):
    """A conv by F.conv2d with a weight of its own, flattened by view into a Linear."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(8, 3, 3, 3))
        self.fc = nn.Linear(8 * 16 * 16, 10)

    def forward(self, x):
        x = F.conv2d(x, self.w, stride=2, padding=1)
        x = x.view(x.size(0), -1)
        return self.fc(x)


class Padded(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, x):
        return self.conv(F.pad(x, (1, 1, 2, 2)))


class Shuffled(nn.Module):
    """A sub-pixel upsampler whose conv makes 10 channels, where a shuffle by 2 takes a multiple of 4."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 10, 3, padding=1)

    def forward(self, x):
        return F.pixel_shuffle(self.conv(x), 2)


class OddSizes(nn.Module):
    """A U-Net level: an odd size floors in the pool, the upsample by 2 comes back one short."""

    def __init__(self):
        super().__init__()
        self.enc = nn.Conv2d(3, 8, 3, padding=1)
        self.down = nn.MaxPool2d(2)
        self.mid = nn.Conv2d(8, 8, 3, padding=1)
        self.out = nn.Conv2d(16, 2, 1)

    def forward(self, x):
        skip = self.enc(x)
        y = self.mid(self.down(skip))
        y = F.interpolate(y, scale_factor=2, mode="bilinear", align_corners=False)
        return self.out(torch.cat([skip, y], 1))


class TooSmall(nn.Module):
    """Pools after pools until the map is gone: MNIST-style code run on 8x8 digits."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, stride=2)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv(x)), 2)
        x = F.max_pool2d(x, 2)
        return self.fc(torch.flatten(x, 1))


class WholeFlatten(nn.Module):
    """torch.flatten(x) without start_dim: the batch goes into the row too."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 8 * 8, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.conv(x)))


class SameConv(nn.Conv2d):
    """A Conv2d subclass that pads and calls F.conv2d itself: one layer, not three steps."""

    def forward(self, x):
        return F.conv2d(F.pad(x, (1, 1, 1, 1)), self.weight, self.bias, self.stride)


class UsesSame(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = SameConv(3, 4, 3)

    def forward(self, x):
        return torch.flatten(self.conv(x), 2)  # flattens the positions, not into features: no step
'''


@pytest.fixture
def resizing(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(nets=RESIZING)
    return pytester


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_convs_resizes_and_flattens_in_forward_are_steps_by_name(resizing: pytest.Pytester, device: str) -> None:
    write_spec(resizing, f"""
        own_weight:
          model: nets.py:OwnWeight
          input_size: [2, 3, 32, 32]
          device: {device}
          rules: {{exact_division: true}}
          expect:
            layers:
              conv2d: {{output: [2, 8, 16, 16]}}
              view: {{output: [2, 2048]}}
            flatten: {{fc: 8*16*16}}
        padded:
          model: nets.py:Padded
          input_size: [1, 3, 32, 32]
          device: {device}
          expect:
            layers:
              pad: {{output: [1, 3, 36, 34]}}
              conv: {{output: [1, 8, 34, 32]}}
        same:
          model: nets.py:UsesSame
          input_size: [1, 3, 8, 8]
          device: {device}
          expect:
            output: [1, 4, 64]
            layers:
              conv: {{output: [1, 4, 8, 8]}}
        """)
    result = resizing.runpytest("-v")
    result.assert_outcomes(passed=2, failed=1)
    out = result.stdout.str()
    # F.conv2d(stride=2, padding=1) on 32: (32 - 3 + 2) / 2 + 1 = 16.5: the rule sees the functional conv
    assert_in_order(out, "rules.exact_division (CNN402 exact-division-rule)",
                    "conv2d = F.conv2d(weight [8, 3, 3, 3], stride=2, padding=1) on input [2, 3, 32, 32] does "
                    "not divide exactly", "H: (32 - 3 + 2*1) / 2 + 1 = 16.5, rounded down to 16",
                    "conv2d is called at nets.py:", "x = F.conv2d(x, self.w, stride=2, padding=1)")
    assert "kernel_size=" not in out  # a functional conv's window is its weight's: no kernel to change
    # a layer calling its own functional form, and a flatten of positions, are no steps
    assert "conv.conv2d" not in out and "conv.pad" not in out and "  flatten " not in out


def test_a_cat_after_an_interpolate_is_explained_at_the_call_and_fixed_there(resizing: pytest.Pytester) -> None:
    write_spec(resizing, """
        decoder:
          model: nets.py:Decoder
          input_size: [1, 3, 32, 32]
        """)
    out = resizing.runpytest().stdout.str()
    assert_in_order(out, "`cat` joins [1, 8, 16, 16] and [1, 8, 24, 24] along dimension 1",
                    "[1, 8, 24, 24] comes from interpolate (F.interpolate)",
                    "the two parted at down2 = Conv2d(8, 8, kernel_size=3, stride=2, padding=1)",
                    "then interpolate = F.interpolate(scale_factor=3, mode='nearest') on input [1, 8, 8, 8]:",
                    "H: 8 * 3 = 24", "W: 8 * 3 = 24",
                    "interpolate is called at nets.py:", 'b = F.interpolate(b, scale_factor=3, mode="nearest")',
                    "fix: scale_factor=2 in interpolate", "+         b = F.interpolate(b, scale_factor=2, "
                    'mode="nearest")', "H: 8 * 2 = 16")
    report = resizing.path / "r.json"
    resizing.runpytest(f"--cnncheck-report={report}")
    steps = json.loads(report.read_text())["specs"][0]["findings"][0]["steps"]
    assert {"kind": "resize", "layer": "interpolate", "call": 0, "axis": "H", "input": 8, "how": "scale",
            "scale": 3.0, "size": 0, "pad": [0, 0], "output": 24, "arithmetic": "H: 8 * 3 = 24"} in steps
    assert 'b = F.interpolate(b, scale_factor=2, mode="nearest")' in _fixed(resizing, "nets.py", passed=1)


def _fixed(pytester: pytest.Pytester, model: str, passed: int) -> str:
    """`cnncheck fix .` applied as a user runs it; every spec then passes. The model's source after it."""
    done = subprocess.run([sys.executable, "-m", "pytest_cnncheck", "fix", "."], cwd=pytester.path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=passed)
    return (pytester.path / model).read_text()


def test_a_pixel_shuffle_that_cannot_take_its_channels_names_the_conv_that_made_them(
        resizing: pytest.Pytester) -> None:
    write_spec(resizing, """
        shuffled:
          model: nets.py:Shuffled
          input_size: [1, 3, 16, 16]
        """)
    out = resizing.runpytest().stdout.str()
    assert_in_order(out, "on meta", "failed in pixel_shuffle: receives 10 channels, not a multiple of 4",
                    "pixel_shuffle = F.pixel_shuffle(upscale_factor=2) receives [1, 10, 16, 16]: 10 channels, but a "
                    "pixel shuffle by 2 takes a multiple of 2*2 = 4", "10 / 4 = 2.5",
                    "its channels come from conv = Conv2d(3, 10, kernel_size=3, stride=1, padding=1)",
                    "fix: out_channels=12 in conv", "+         self.conv = nn.Conv2d(3, 12, 3, padding=1)")


def test_a_flatten_by_view_is_decomposed_and_the_linear_keeps_its_expression(resizing: pytest.Pytester) -> None:
    write_spec(resizing, """
        at28:
          model: nets.py:OwnWeight
          input_size: [1, 3, 28, 28]
        """)
    out = resizing.runpytest().stdout.str()
    assert_in_order(out, "failed in fc: receives 8*14*14 = 1568, in_features 2048",
                    "flattened: [1, 8, 14, 14] -> 8*14*14 = 1568",
                    "its spatial size comes from conv2d = F.conv2d(weight [8, 3, 3, 3], stride=2, padding=1):",
                    "H: (28 - 3 + 2*1) / 2 + 1 = 14.5, rounded down to 14",
                    "+         self.fc = nn.Linear(8 * 14 * 14, 10)",
                    "  conv2d  conv2d  [1, 8, 14, 14]", "  view    view    [1, 1568]")


HELPER = '''
import torch.nn.functional as F
from torch import nn


class Net(nn.Module):
    """The old tutorial's flatten: view(-1, self.num_flat_features(x)), a helper that multiplies the sizes."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(-1, self.num_flat_features(x))
        return self.fc1(x)

    def num_flat_features(self, x):
        size = x.size()[1:]
        num_features = 1
        for s in size:
            num_features *= s
        return num_features
'''


def test_a_flatten_through_a_helper_is_decomposed_at_a_photos_size(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(net=HELPER)
    write_spec(pytester, """
        photo:
          model: net.py:Net
          input_size: [1, 1, 1200, 800]
        """)
    out = pytester.runpytest().stdout.str()
    assert_in_order(out, "failed in fc1: receives 16*297*197 = 936144, in_features 400",
                    "flattened: [1, 16, 297, 197] -> 16*297*197 = 936144",
                    "its spatial size comes from max_pool2d_2 = F.max_pool2d(kernel_size=2, stride=2, padding=0):",
                    "H: (594 - 2 + 2*0) / 2 + 1 = 297", "W: (394 - 2 + 2*0) / 2 + 1 = 197",
                    "+         self.fc1 = nn.Linear(16 * 297 * 197, 120)",
                    "  view          view        [1, 936144]")


def test_an_upsample_short_of_an_odd_skip_gets_the_sizes_that_run_and_a_size_that_follows(
        resizing: pytest.Pytester) -> None:
    write_spec(resizing, """
        odd:
          model: nets.py:OddSizes
          input_size: [1, 3, 31, 31]
        """)
    out = resizing.runpytest().stdout.str()
    assert_in_order(out, "`cat` joins [1, 8, 31, 31] and [1, 8, 30, 30]",
                    "the two parted at down = MaxPool2d(kernel_size=2, stride=2, padding=0) on input [1, 8, 31, 31]",
                    "H: (31 - 2 + 2*0) / 2 + 1 = 15.5, rounded down to 15",
                    "then interpolate = F.interpolate(scale_factor=2, mode='bilinear') on input "
                    "[1, 8, 15, 15]:", "H: 15 * 2 = 30",
                    "suggestion: size= the other operand's `.shape[2:]` in place of interpolate's scale_factor",
                    # the sizes at which the pool's floor and the upsample meet, each run through the model
                    "in the spec: an input of [1, 3, 30, 30] or [1, 3, 32, 32]")
    assert "fix: scale_factor=" not in out  # no whole scale turns 15 into 31


def test_real_bug_shapes_get_their_cause_and_no_harmful_fix(resizing: pytest.Pytester) -> None:
    write_spec(resizing, """
        too_small:
          model: nets.py:TooSmall
          input_size: [1, 1, 8, 8]
        whole_flatten:
          model: nets.py:WholeFlatten
          input_size: [2, 3, 8, 8]
        own_weight_gray:
          model: nets.py:OwnWeight
          input_size: [1, 1, 32, 32]
        """)
    out = resizing.runpytest().stdout.str()
    # a map pooled away: the second pool's window at its line; padding it, or an adaptive pool of
    # one position, would pool nothing
    assert_in_order(out, "failed in max_pool2d_2: H: input 1 < F=2",
                    "max_pool2d_2 = F.max_pool2d(kernel_size=2, stride=2, padding=0) receives [1, 8, 1, 1]",
                    "max_pool2d_2 is called at nets.py:", "x = F.max_pool2d(x, 2)",
                    "padding=1 in max_pool2d_2 passes the shapes but is not sound, so it is not written "
                    "(window-over-padding)")
    assert "adaptive_max_pool2d" not in out
    # the batch flattened in: never in_features set to two samples' values
    assert_in_order(out, "failed in fc: receives [512], the batch flattened in, in_features 256",
                    "512 = 2 * 256, 2 samples of in_features 256 flattened into one row",
                    "suggestion: flatten from dimension 1: torch.flatten(x, 1) (or x.flatten(1)) keeps the batch: "
                    "[2, 256]")
    assert "in_features=512" not in out
    # a functional conv's channels are its weight's
    assert_in_order(out, "failed in conv2d: receives 1 channels, in_channels 3",
                    "conv2d's weight [8, 3, 3, 3] takes 3 channels (its dimension 1 times groups=1)")


def test_a_resize_where_the_paths_part_is_fixed_in_its_own_argument(resizing: pytest.Pytester) -> None:
    write_spec(resizing, """
        fixed_size:
          model: nets.py:FixedSize
          input_size: [1, 3, 32, 32]
        """)
    out = resizing.runpytest().stdout.str()
    assert_in_order(out, "the two parted at interpolate = F.interpolate(size=(20, 20), mode='nearest') on input "
                    "[1, 8, 16, 16]", "H: 16 -> size 20",
                    "fix: size=(16, 16) in interpolate", "+         b = F.interpolate(a, size=(16, 16))",
                    "H: 16 -> size 16")
    assert "scale_factor" not in out  # the call takes a size or a scale, never both
