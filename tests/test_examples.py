"""The shipped examples: `pytest examples/` passes, `pytest examples/broken` explains each mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import assert_in_order

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_the_examples_pass_and_leave_out_the_broken_ones(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(str(EXAMPLES), "-v")
    result.assert_outcomes(passed=13)
    out = result.stdout.str()
    for item in ("lenet.cnncheck.yaml::lenet", "lenet.cnncheck.yaml::lenet_module_path",
                 "lenet.cnncheck.yaml::lenet_sizes",
                 "resnet.cnncheck.yaml::resnet18_shape", "timeseries.cnncheck.yaml::sensor_cnn",
                 "vgg.cnncheck.yaml::vgg_small", "vgg.cnncheck.yaml::vgg_small_100_classes",
                 "unet.cnncheck.yaml::unet_any_size[B=2-H=96-W=96]", "unet.cnncheck.yaml::unet_sizes"):
        assert f"{item} PASSED" in out
    assert "broken" not in out


def test_the_broken_examples_explain_every_mistake(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(str(EXAMPLES / "broken"))
    result.assert_outcomes(failed=24, passed=1)
    out = result.stdout.str()
    assert "INTERNALERROR" not in out
    assert_in_order(out,
                    # clashes between tensors, a batch a view mixed, counts and builds
                    "suggestion: a projection on the shortcut",
                    "in the spec: an input of [1, 3, 96, 96] or [1, 3, 98, 98]",
                    "8 rows of 128, not 4 samples",
                    "out.weight is emb.weight, which count once",
                    "or groups=24 or groups=36",
                    "fix: output_padding=1 in up",
                    "fix: padding=2 in conv",
                    "fix: num_features=32 in bn",
                    "fix: bias=False in conv1",
                    # a receptive field counted as if strides did not multiply
                    "block2 (F=3, S=1): r = 10 + (3 - 1) * 4 = 18, j = 4 * 1 = 4",
                    "r = 26 + 5 * 8 = 66 >= 64",
                    # photos as they load, channels last
                    "[1, 32, 32, 3] has its 3 channels last",
                    "in the spec: input_size: [1, 3, 32, 32], channels first",
                    # the classic flatten mismatch, explained from shapes
                    "fc1 = Linear(in_features=576, out_features=120) receives [1, 400]",
                    "flattened: [1, 16, 5, 5] -> 16*5*5 = 400",
                    "fix: in_features=400 in fc1: applied by `cnncheck fix`",
                    "+         self.fc1 = nn.Linear(16 * 5 * 5, 120)",
                    # hand-computed numbers, each with its arithmetic
                    "conv1: 6 * (5*5*3 + 1) = 456",
                    "H: (14 - 5 + 2*0) / 1 + 1 = 10",
                    # the LeNet is right: the model change is refused, the spec's side is the fix
                    "suggestion: padding=1 in conv2 and in_features=576 in fc1 passes the shapes but is not sound",
                    "fix, if the model is right: write [1, 16, 10, 10]",
                    "expected: 16*6*6 = 576", "fix, if the model is right: write fc1: 16*5*5 (= 400)",
                    # layer names
                    "pool is called 2 times", "no layer named 'conv3'. Did you mean 'conv2'",
                    # design rules
                    "rounded up to 2 (ceil_mode=True)",
                    "pools with H: F=4, S=4, W: F=4, S=4; allowed: F=2,S=2, F=3,S=2",
                    "H: (32 - 3 + 2*0) / 2 + 1 = 15.5, rounded down to 15",
                    # channels
                    "receives [1, 6, 16, 16]: 6 channels, but in_channels is 8",
                    # files and specs that are wrong themselves
                    "not_yaml.cnncheck.yaml:4: This file is not valid YAML: the `[` opened on line 4 is "
                    "never closed: a `]` is missing.",
                    # sizes
                    "H=W=36..39: fc1: receives 16*6*6 = 576, in_features 400",
                    "H=W=40: fc1: receives 16*7*7 = 784, in_features 400",
                    "conv2.output[2]: expected H//2 - 2 = 15 (H=34), actual 11",
                    "spec_errors.cnncheck.yaml:7: Unknown key 'ouput' in `expect`. Did you mean 'output'?",
                    "contains a function call, which is not allowed",
                    "has no attribute 'TutorialNet'. Did you mean 'TutorialNetWrongFlatten'?",
                    "got an unexpected keyword argument 'num_class'")
