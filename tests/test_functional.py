"""Functional pools in forward (`F.max_pool2d`, `F.avg_pool2d`, `F.adaptive_avg_pool2d`) are
steps of the pass: named for where they are called, in the table, the spec, init, the rules
and the fixes, as modules are."""

from __future__ import annotations

import os

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
                    "max_pool2d_2 is made at net.py:", "x = F.max_pool2d(F.relu(self.conv2(x)), 4, 3)",
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
                    "max_pool2d_2 is made at net.py:", "x = F.max_pool2d(F.relu(self.conv2(x)), 2)",
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
    import subprocess
    import sys

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
                    "avg_pool2d is made at cifar.py:17: out = F.avg_pool2d(out, 8)",
                    "fix: F.adaptive_avg_pool2d in place of avg_pool2d's fixed window 8",
                    "+         out = F.adaptive_avg_pool2d(out, 1)")
    assert "fix: padding=" not in out  # a window over padding is never the fix
    done = subprocess.run([sys.executable, "-m", "pytest_cnncheck", "fix", "."], cwd=pytester.path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "out = F.adaptive_avg_pool2d(out, 1)" in (pytester.path / "cifar.py").read_text()
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)  # both sizes run
