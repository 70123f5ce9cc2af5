"""A verified fix is written only where a reviewer would accept it: sound arithmetic, the
right side, the project's own files. Each rule on a model from a real bug report: one
candidate it refuses, one it lets through."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TUTORIAL_NET, assert_in_order, write_spec
from pytest_cnncheck.cli import main

ROOT = Path(__file__).resolve().parent.parent

MODELS = '''
import torch.nn as nn


class Discriminator(nn.Module):
    """DCGAN's discriminator, written for 32x32 images, run at 64x64: its last conv meets 8x8."""

    def __init__(self, ndf=8):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(3, ndf, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(ndf * 4, 1, 4, 1, 0))

    def forward(self, x):
        return self.main(x)


class PooledNet(nn.Module):
    """A CIFAR network's head: a fixed 8x8 average pool, which meets a 4x4 map."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.stage = nn.Conv2d(16, 32, 3, stride=2, padding=1)
        self.stage2 = nn.Conv2d(32, 64, 3, stride=2, padding=1)
        self.pool = nn.AvgPool2d(8)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.pool(self.stage2(self.stage(self.stem(x))))
        return self.fc(x.flatten(1))


class MaxPooledNet(PooledNet):
    """The same head with a max pool, and the stage sizes right: a pool that fits exactly."""

    def __init__(self):
        super().__init__()
        self.pool = nn.MaxPool2d(8)
'''


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(models=MODELS)
    return pytester


def _fix(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest_cnncheck", "fix", *args], cwd=folder, capture_output=True,
                          text=True, timeout=300)


# -- floors / unread --------------------------------------------------------------------


def test_a_stride_that_floors_and_leaves_the_image_unread_is_refused(project: pytest.Pytester) -> None:
    write_spec(project, """
        disc:
          model: models.py:Discriminator
          input_size: [1, 3, 64, 64]
          expect: {output: [1, 1, 1, 1]}
        """)
    out = project.runpytest().stdout.str()
    # stride=5 gives (8 - 4)/5 + 1 = 1.8 -> 1: it passes the shapes, and is never the fix.
    assert "fix: stride=5" not in out
    assert_in_order(out, "fix: kernel_size=8 in main.6: applied by `cnncheck fix`",
                    "fix, if the model is right: write [1, 1, 5, 5]")
    fixed = _fix(project.path, ".")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "nn.Conv2d(ndf * 4, 1, 8, 1, 0)" in (project.path / "models.py").read_text()
    project.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_the_floor_rule_refuses_and_accepts_by_the_arithmetic() -> None:
    from pytest_cnncheck.repair.soundness import unsound
    from pytest_cnncheck.trace import Call, Layer, Trace

    def conv(stride: int, kernel: int = 4) -> Trace:
        layer = Layer("c", "Conv2d", "torch.nn.Conv2d", "conv",
                      {"kernel_size": (kernel, kernel), "stride": (stride, stride), "padding": (0, 0),
                       "dilation": (1, 1), "dims": 2, "in_channels": 1, "out_channels": 1, "groups": 1},
                      0, (), True)
        out = (8 - kernel) // stride + 1
        return Trace("m", "meta", {"c": layer}, (Call("c", 0, 1, ((1, 1, 8, 8),), (1, 1, out, out), True),),
                     (1, 1, out, out), 0, 0)

    refused = unsound(conv(1), conv(5), [], [])
    assert refused is not None and refused.rule == "unread"
    assert "stride 5 is larger than the window 4" in refused.reason
    floors = unsound(conv(1), conv(3), [], [])  # (8 - 4) / 3 + 1 = 2.33: the last row unread
    assert floors is not None and floors.rule == "floors"
    assert "(8 - 4 + 2*0) / 3 + 1 = 2.33333, rounded down to 2" in floors.reason
    assert unsound(conv(1), conv(2), [], []) is None  # (8 - 4) / 2 + 1 = 3: exact
    assert unsound(conv(1), conv(1, kernel=8), [], []) is None  # the window is the map: exact


# -- padding on a pool ---------------------------------------------------------------------


def test_an_average_pool_that_does_not_fit_becomes_adaptive_never_padded(project: pytest.Pytester) -> None:
    # AvgPool2d(8), written for 32x32 images, meets a 4x4 map: padding=2 would average 48
    # zeros into each window; the adaptive form pools the whole map at every size.
    write_spec(project, """
        pooled:
          model: models.py:PooledNet
          input_size: [1, 3, 16, 16]
          expect: {output: [1, 10]}
        """)
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "fix: padding=2 in pool" not in out
    assert_in_order(out, "fix: nn.AdaptiveAvgPool2d(1) in place of pool's fixed window 8: one window over the whole "
                         "map at every input size: applied by `cnncheck fix`",
                    "-         self.pool = nn.AvgPool2d(8)", "+         self.pool = nn.AdaptiveAvgPool2d(1)")
    assert _fix(project.path, ".").returncode == 0
    assert "self.pool = nn.AdaptiveAvgPool2d(1)" in (project.path / "models.py").read_text()
    project.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_the_padding_rules_refuse_an_average_pool_padded_and_a_window_padded_past_half() -> None:
    from pytest_cnncheck.repair.soundness import unsound
    from pytest_cnncheck.trace import Call, Layer, Trace

    def pool(padding: int, average: bool = True, kernel: int = 8) -> Trace:
        layer = Layer("pool", "AvgPool2d" if average else "MaxPool2d", "torch.nn.AvgPool2d", "pool",
                      {"kernel_size": (kernel, kernel), "stride": (kernel, kernel), "padding": (padding, padding),
                       "dilation": (1, 1), "ceil_mode": False, "dims": 2}, 0, (), True)
        out = (4 - kernel + 2 * padding) // kernel + 1
        return Trace("m", "meta", {"pool": layer}, (Call("pool", 0, 1, ((1, 8, 4, 4),), (1, 8, out, out), True),),
                     (1, 8, out, out), 0, 0)

    averaged = unsound(pool(0), pool(2), [], [])
    assert averaged is not None and averaged.rule == "average-padding"
    assert "padding=2 on an average pool averages zeros into every border window" in averaged.reason
    past_half = unsound(pool(0, average=False, kernel=3), pool(2, average=False, kernel=3), [], [])
    assert past_half is not None and past_half.rule == "padding"
    assert unsound(pool(0, average=False, kernel=3), pool(1, average=False, kernel=3), [], []) is None


def test_a_pool_that_fits_its_input_is_left_as_it_is(project: pytest.Pytester) -> None:
    write_spec(project, """
        pooled:
          model: models.py:MaxPooledNet
          input_size: [1, 3, 32, 32]
          expect: {output: [1, 10]}
        """)
    project.runpytest().assert_outcomes(passed=1)


# -- further from the spec: the right side -------------------------------------------------


def test_a_correct_lenet_with_a_miscounted_spec_is_not_changed() -> None:
    before = (ROOT / "examples" / "models" / "lenet.py").read_text()
    fixed = _fix(ROOT, "--diff", "examples/broken/mistakes.cnncheck.yaml")
    assert "examples/models/lenet.py" not in fixed.stdout, fixed.stdout
    assert "tutorial_net_miscounted: 1 unsafe fix(es) not written" in fixed.stdout
    assert (ROOT / "examples" / "models" / "lenet.py").read_text() == before


def test_a_fix_that_pushes_a_stated_count_further_off_is_refused(tutorial: pytest.Pytester) -> None:
    write_spec(tutorial, """
        miscounted:
          model: net.py:Net
          input_size: [1, 3, 32, 32]
          expect:
            params: 61706
            layers:
              conv2: {output: [1, 16, 12, 12]}
        """)
    out = tutorial.runpytest().stdout.str()
    assert "fix: padding=1 in conv2" not in out
    assert_in_order(out, "suggestion: padding=1 in conv2 and in_features=576 in fc1 passes the shapes but is not "
                         "sound, so it is not written (further): expect.params moves further from the spec: "
                         "expected 61,706, 62,006 before the change, 83,126 after it",
                    "fix, if the model is right: write [1, 16, 10, 10]")


def test_a_sound_model_fix_of_a_model_that_ran_is_unsafe_while_the_spec_disagrees_elsewhere(
        tutorial: pytest.Pytester) -> None:
    write_spec(tutorial, """
        bias:
          model: net.py:Net
          input_size: [1, 3, 32, 32]
          expect:
            layers:
              conv1: {params: 450}
              fc1: {type: Conv2d}
        """)
    out = tutorial.runpytest("--cnncheck-report", "r.json").stdout.str()
    assert_in_order(out, "fix: bias=False in conv1: applied by `cnncheck fix --unsafe-fixes` only (the model ran, "
                         "and the spec still disagrees with it elsewhere: the spec may be what is wrong)",
                    "fix, if the model is right: write 456")

    fixes = [fixed for finding in json.loads((tutorial.path / "r.json").read_text())["specs"][0]["findings"]
             for fixed in finding["fixes"]]
    assert [(fixed["applicability"], fixed["unsafe"]) for fixed in fixes] == [("unsafe", "spec-disagrees")]
    before = (tutorial.path / "net.py").read_text()
    held = _fix(tutorial.path, ".")
    assert "bias: 1 unsafe fix(es) not written" in held.stdout
    assert (tutorial.path / "net.py").read_text() == before
    written = _fix(tutorial.path, "--unsafe-fixes", ".")
    assert "+        self.conv1 = nn.Conv2d(3, 6, 5, bias=False)" in written.stdout, written.stdout


def test_a_crash_fix_is_safe(tutorial: pytest.Pytester) -> None:
    write_spec(tutorial, """
        crash:
          model: net.py:Net
          kwargs: {fc1_in: 576}
          input_size: [1, 3, 32, 32]
          expect: {output: [1, 10]}
        """)
    out = tutorial.runpytest().stdout.str()
    assert "fix: in_features=400 in fc1: applied by `cnncheck fix`, verified" in out


# -- the project's own files -----------------------------------------------------------------


def test_a_model_outside_the_project_is_never_edited(pytester: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory
                                                     ) -> None:
    elsewhere = tmp_path_factory.mktemp("site-packages")
    (elsewhere / "net.py").write_text(TUTORIAL_NET.replace("fc1_in=16 * 5 * 5", "fc1_in=16 * 6 * 6"))
    before = (elsewhere / "net.py").read_text()
    write_spec(pytester, f"""
        installed:
          model: {elsewhere / 'net.py'}:Net
          input_size: [1, 3, 32, 32]
          expect: {{output: [1, 10]}}
        """)
    out = pytester.runpytest().stdout.str()
    assert "applied by `cnncheck fix`" not in out
    assert_in_order(out, "suggestion: in_features=400 in fc1, verified on the model, but not written: the fix is in ",
                    "outside this project", "apply it where the model's code lives")
    os.chdir(pytester.path)
    assert main(["fix", "."]) == 1
    assert (elsewhere / "net.py").read_text() == before


def test_a_read_only_model_file_is_never_edited(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(net=TUTORIAL_NET)
    net = pytester.path / "net.py"
    text = net.read_text().replace("def __init__(self, num_classes=10, fc1_in=16 * 5 * 5)",
                                   "def __init__(self, num_classes=10, fc1_in=16 * 6 * 6)")
    net.write_text(text)
    write_spec(pytester, """
        crash:
          model: net.py:Net
          input_size: [1, 3, 32, 32]
          expect: {output: [1, 10]}
        """)
    net.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    try:
        out = pytester.runpytest().stdout.str()
        assert "which is read-only: cnncheck fix does not write it" in out
        assert _fix(pytester.path, ".").returncode == 1
        assert net.read_text() == text
    finally:
        net.chmod(stat.S_IRUSR | stat.S_IWUSR)


def test_a_fix_that_needs_a_second_layer_changed_for_a_model_that_ran_is_unsafe(tutorial: pytest.Pytester) -> None:
    # The spec's author thought conv2 kept 14 - 2; the model ran: giving 12 takes conv2's
    # padding and then fc1's in_features, so the model agreed with itself as written.
    write_spec(tutorial, """
        thought:
          model: net.py:Net
          input_size: [1, 3, 32, 32]
          expect: {layers: {conv2: {output: [1, 16, 12, 12]}}}
        """)
    out = tutorial.runpytest().stdout.str()
    assert_in_order(out, "fix: padding=1 in conv2 and in_features=576 in fc1: applied by `cnncheck fix --unsafe-fixes` "
                         "only (the model ran, and another layer must change too for it to run again",
                    "fix, if the model is right: write [1, 16, 10, 10]")
    before = (tutorial.path / "net.py").read_text()
    assert "1 unsafe fix(es) not written" in _fix(tutorial.path, ".").stdout
    assert (tutorial.path / "net.py").read_text() == before


# -- saying what happened, and which side the spec's other facts weigh on ----------------------


def test_each_candidate_that_failed_says_what_it_left_and_the_spec_side_says_what_agrees(
        tutorial: pytest.Pytester) -> None:
    write_spec(tutorial, """
        lenet:
          model: net.py:Net
          input_size: [1, 3, 32, 32]
          expect:
            output: [1, 10]
            params: 62006
            layers:
              conv1: {output: [1, 6, 28, 28]}
              conv2: {output: [1, 16, 12, 12]}
            flatten: {fc1: 16*5*5}
        """)
    out = tutorial.runpytest().stdout.str()
    assert_in_order(out,
                    "no fix verified: each change the arithmetic gives (padding=1 in conv2, kernel_size=3 in conv2)",
                    "padding=1 in conv2: then the pass raised: The forward pass on input [1, 3, 32, 32] failed in "
                    "fc1: receives 16*6*6 = 576, in_features 400",
                    "fix, if the model is right: write [1, 16, 10, 10]",
                    "the model agrees with the spec's output, params, conv1 and flatten fc1: this value is the "
                    "likelier mistake")


def test_a_parameter_difference_that_several_layers_could_make_names_none_of_them(pytester: pytest.Pytester) -> None:
    # The decoder's transposed conv lost its bias (64), and a BatchNorm of 32 channels holds
    # 64 too: the count alone can't tell which, so neither is named as the cause.
    pytester.makepyfile(models='''
        import torch.nn as nn


        class Decoder(nn.Module):
            def __init__(self):
                super().__init__()
                self.enc = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU())
                self.up = nn.ConvTranspose2d(32, 64, 2, stride=2, bias=False)

            def forward(self, x):
                return self.up(self.enc(x))
        ''')
    write_spec(pytester, """
        decoder:
          model: models.py:Decoder
          input_size: [1, 3, 16, 16]
          expect: {params: 9216}
        """)
    out = pytester.runpytest().stdout.str()
    assert "the model has 64 fewer parameters than stated; 64 could be any of these, and the count alone can't " \
           "tell which: " in out
    assert "all of enc.1's parameters" in out and "the difference bias=True makes in up" in out
    assert "64 = all of enc.1's parameters" not in out
