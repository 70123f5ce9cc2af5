"""Each kind of mistake, explained from cause to fix at the line to change: the arithmetic,
the model's line that made the layer, and a fix checked with the same arithmetic.

The models are examples/broken/models/more.py, copied into each test's project.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from conftest import assert_in_order, run

MORE = (Path(__file__).resolve().parent.parent / "examples" / "broken" / "models" / "more.py").read_text()


@pytest.fixture
def more(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(more=MORE)
    return pytester


def line_of(text: str) -> str:
    """`more.py:N: text`: where the model file says `text`."""
    number = next(i for i, line in enumerate(MORE.splitlines(), 1) if text in line)
    return f"more.py:{number}: {text}"


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_a_residual_add_without_its_downsample(more: pytest.Pytester, device: str) -> None:
    result, out = run(more, f"""
        net:
          model: more.py:ResidualNoShortcut
          input_size: [1, 3, 32, 32]
          device: {device}
        """)
    result.assert_outcomes(failed=1)
    assert_in_order(out, f"on {device}",  # explained where it ran: meta needs no CPU to say this
                    "failed in layer2: `add` adds [1, 128, 16, 16] and [1, 64, 32, 32]",
                    "at " + line_of("return F.relu(out + x)"),
                    "[1, 128, 16, 16] comes from layer2.bn2 (BatchNorm2d)",
                    "[1, 64, 32, 32] comes from stem (Conv2d), which is layer2's input (the shortcut)",
                    "the two parted at layer2.conv1 = Conv2d(64, 128, kernel_size=3, stride=2, "
                    "padding=1) on input [1, 64, 32, 32]",
                    "channels: 64 -> 128", "H: (32 - 3 + 2*1) / 2 + 1 = 16.5, rounded down to 16",
                    "layer2.conv1 is made at "
                    + line_of("self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)")
                    + ", in the call at " + line_of("self.layer2 = BasicBlock(64, 128, stride=2)"),
                    # structural, so a suggestion to write by hand, not an applied fix
                    "suggestion: a projection on the shortcut, as ResNet's downsample: nn.Sequential(nn.Conv2d("
                    "64, 128, kernel_size=1, stride=2, bias=False), nn.BatchNorm2d(128)) turns "
                    "[1, 64, 32, 32] into [1, 128, 16, 16]",
                    "H: (32 - 1 + 2*0) / 2 + 1 = 16.5, rounded down to 16")
    assert "(ran on the CPU" not in out


def test_a_clash_gives_its_operands_and_the_parting_window_as_numbers(more: pytest.Pytester) -> None:
    result, _ = run(more, """
        net:
          model: more.py:ResidualNoShortcut
          input_size: [1, 3, 32, 32]
        """, "--cnncheck-report", "r.json")
    result.assert_outcomes(failed=1)
    crash, = json.loads((more.path / "r.json").read_text())["specs"][0]["findings"]
    operands, h, w = crash["steps"]
    assert operands == {"kind": "operands", "op": "add", "layer": "layer2",
                        "shapes": [[1, 128, 16, 16], [1, 64, 32, 32]],
                        "dim": None, "differ": [1, 2, 3],
                        "arithmetic": "dimension 1 is 128 against 64, dimension 2 is 16 against 32, "
                                      "dimension 3 is 16 against 32"}
    assert (h["kind"], h["layer"], h["axis"], h["input"], h["stride"], h["output"]) == \
        ("window", "layer2.conv1", "H", 32, 2, 16)
    assert w["axis"] == "W"
    # Where the block that made layer2.conv1 is called: the values of cin, cout and stride.
    number = int(line_of("self.layer2 = BasicBlock(64, 128, stride=2)").split(":")[1])
    layers = {layer["name"]: layer for layer in crash["layers"]}
    assert layers["layer2.conv1"]["called_from"] == {"file": "more.py", "line": number}
    assert layers["stem"]["called_from"] is None  # made by the model itself


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_a_unet_skip_one_wider_than_the_decoder(more: pytest.Pytester, device: str) -> None:
    result, out = run(more, f"""
        unet:
          model: more.py:TinyUNet
          input_size: [1, 3, 97, 97]
          device: {device}
        """)
    result.assert_outcomes(failed=1)
    assert_in_order(out, "failed: `cat` joins [1, 16, 96, 96] and [1, 16, 97, 97] along dimension 1: "
                         "dimension 2 is 96 against 97, dimension 3 is 96 against 97",
                    "at " + line_of("return self.dec(torch.cat([x, skip], dim=1))"),
                    "[1, 16, 96, 96] comes from up (ConvTranspose2d)",
                    "[1, 16, 97, 97] comes from relu of enc's output",
                    "the two parted at pool = MaxPool2d(kernel_size=2, stride=2, padding=0) on input "
                    "[1, 16, 97, 97]", "H: (97 - 2 + 2*0) / 2 + 1 = 48.5, rounded down to 48",
                    "pool is made at " + line_of("self.pool = nn.MaxPool2d(2)"),
                    "in the spec: an input of [1, 3, 96, 96] or [1, 3, 98, 98] (the nearest that run, each run "
                    "through the whole model",
                    "or: crop the larger one to [96, 96] before this cat, `t[..., :96, :96]`")
    assert "(ran on the CPU" not in out


def test_a_deeper_unet_gets_only_input_sizes_that_run_through_every_level(pytester: pytest.Pytester) -> None:
    unet = Path(__file__).resolve().parent.parent / "examples" / "models" / "unet.py"
    pytester.makepyfile(unet=unet.read_text())
    result, out = run(pytester, """
        unet:
          model: unet.py:UNet
          input_size: [1, 3, 100, 100]
        """)
    result.assert_outcomes(failed=1)
    # 98 would fix the cat that failed (25 against 24) and fail at the next (49 against 48):
    # only sizes the whole model runs at are offered, multiples of 16 here.
    assert_in_order(out, "failed: `cat` joins [1, 64, 24, 24] and [1, 64, 25, 25]",
                    "the two parted at pool = MaxPool2d(kernel_size=2, stride=2, padding=0) (call 3)",
                    "in the spec: an input of [1, 3, 96, 96] or [1, 3, 112, 112] (the nearest that run")


def test_an_input_with_its_channels_last_is_given_channels_first_in_the_spec(more: pytest.Pytester) -> None:
    spec = """
        photos:
          model: more.py:PhotoClassifier
          input_size: [1, 32, 32, 3]
          expect: {output: [1, 10]}
        """
    result, out = run(more, spec)
    result.assert_outcomes(failed=1)
    assert_in_order(out, "conv1 = Conv2d(3, 16, kernel_size=3, stride=1, padding=1) receives [1, 32, 32, 3]: "
                         "32 channels, but in_channels is 3",
                    "[1, 32, 32, 3] has its 3 channels last, as images and sequences often come; Conv2d takes "
                    "them first, [N, C, H, W]: [1, 3, 32, 32]",
                    "in the spec: input_size: [1, 3, 32, 32], channels first (the model was run at it",
                    "or: for data that comes channels last, permute it before conv1: x = x.permute(0, 3, 1, 2)")
    # in_channels=32 would take the image's height for its channels: not offered.
    assert "in_channels=32" not in out and "fix: " not in out
    # The hint, applied as printed, passes.
    result, _ = run(more, spec.replace("[1, 32, 32, 3]", "[1, 3, 32, 32]"))
    result.assert_outcomes(passed=1)


def test_a_conv_written_for_its_inputs_width_is_not_taken_for_a_layout(pytester: pytest.Pytester) -> None:
    # [1, 3, 32, 32] ends in 32 = in_channels, but its channels are where they belong.
    pytester.makepyfile(wide="""
        from torch import nn


        class Wide(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(32, 16, 3, padding=1)

            def forward(self, x):
                return self.conv(x)
        """)
    result, out = run(pytester, """
        wide:
          model: wide.py:Wide
          input_size: [1, 3, 32, 32]
        """)
    result.assert_outcomes(failed=1)
    assert "channels last" not in out and "permute" not in out
    assert "fix: in_channels=3 in conv: applied by `cnncheck fix`, verified on the model" in out


def test_a_sequence_with_its_channels_last_at_a_conv1d(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(seq="""
        from torch import nn


        class Seq(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv1d(12, 32, 5)
                self.head = nn.Linear(32, 2)

            def forward(self, x):
                return self.head(self.conv(x).mean(-1))
        """)
    result, out = run(pytester, """
        ecg:
          model: seq.py:Seq
          input_size: [8, 100, 12]
        """)
    result.assert_outcomes(failed=1)
    assert_in_order(out, "[8, 100, 12] has its 12 channels last", "Conv1d takes them first, [N, C, L]: [8, 12, 100]",
                    "in the spec: input_size: [8, 12, 100]", "or: for data that comes channels last, permute it "
                    "before conv: x = x.permute(0, 2, 1)")
    assert "in_channels=100" not in out  # it runs, but would slide the window over the 12 channels


UNBATCHED = """
    import torch
    from torch import nn


    class Mnist(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 32, 5)
            self.pool = nn.MaxPool2d(2)
            self.fc1 = nn.Linear(32 * 12 * 12, 10)

        def forward(self, x):
            x = self.pool(torch.relu(self.conv1(x)))
            return self.fc1(torch.flatten(x, 1))
    """


def test_an_input_without_its_batch_dimension_is_given_one_in_the_spec(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(mnist=UNBATCHED)
    spec = """
        mnist:
          model: mnist.py:Mnist
          input_size: [1, 28, 28]
          expect: {output: [1, 10]}
        """
    result, out = run(pytester, spec)
    result.assert_outcomes(failed=1)
    # Conv2d takes [1, 28, 28] as one unbatched image; flatten(x, 1) then makes 32 rows.
    assert_in_order(out, "fc1 = Linear(in_features=4608, out_features=10) receives [32, 144]",
                    "flattened: [32, 12, 12] -> 12*12 = 144",
                    "conv1 (Conv2d) took [1, 28, 28] as one sample without a batch dimension, as a Conv2d may, "
                    "and gave [32, 24, 24]: the layers after it take its channels for the batch",
                    "in the spec: input_size: [1, 1, 28, 28], with a batch dimension")
    assert "in_features=144" not in out
    result, _ = run(pytester, spec.replace("[1, 28, 28]", "[1, 1, 28, 28]"))
    result.assert_outcomes(passed=1)


NO_FLATTEN = """
    import torch
    from torch import nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 16, 5)
            self.pool = nn.MaxPool2d(2)
            self.fc1 = nn.Linear(16 * 14 * 14, 120)
            self.fc2 = nn.Linear(120, 10)

        def forward(self, x):
            x = self.pool(torch.relu(self.conv(x)))
            return self.fc2(torch.relu(self.fc1(x)))
    """


def test_a_linear_given_an_unflattened_tensor_gets_the_flatten_not_its_last_dimension(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile(net=NO_FLATTEN)
    spec = """
        net:
          model: net.py:Net
          input_size: [1, 3, 32, 32]
        """
    result, out = run(pytester, spec)
    result.assert_outcomes(failed=1)
    assert_in_order(out, "failed in fc1: receives [1, 16, 14, 14] not flattened, in_features 3136",
                    "receives [1, 16, 14, 14]: 14 features, but in_features is 3136: a Linear takes the last "
                    "dimension, and [1, 16, 14, 14] was not flattened, which would give 16*14*14 = 3136",
                    "fix: .flatten(1) on fc1's input: applied by `cnncheck fix`, verified on the model",
                    "-         return self.fc2(torch.relu(self.fc1(x)))",
                    "+         return self.fc2(torch.relu(self.fc1(x.flatten(1))))",
                    "flattened: [1, 16, 14, 14] -> 16*14*14 = 3136")
    # in_features=14 runs (on each of the 224 rows) and is no fix.
    assert "in_features=14" not in out
    fixed = pytester.run(sys.executable, "-m", "pytest_cnncheck", "fix", ".")
    assert fixed.ret == 0, fixed.stdout.str() + fixed.stderr.str()
    result, _ = run(pytester, spec)
    result.assert_outcomes(passed=1)


def test_an_unflattened_input_without_a_call_to_wrap_keeps_the_suggestion(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(net=NO_FLATTEN.replace("self.fc1(x)", "self.fc1(*[x])"))
    result, out = run(pytester, """
        net:
          model: net.py:Net
          input_size: [1, 3, 32, 32]
        """)
    result.assert_outcomes(failed=1)
    assert_in_order(out, "receives [1, 16, 14, 14] not flattened",
                    "no fix verified: the arithmetic gives .flatten(1) on fc1's input, but cnncheck found no "
                    "place in the source to make it",
                    "suggestion: flatten it before fc1: x = torch.flatten(x, 1), which gives [1, 3136]")
    assert "fix: " not in out and "in_features=14" not in out


BATCHNORM_AFTER_FLATTEN = """
    from torch import nn


    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3)
            self.bn = nn.BatchNorm2d(8 * 30 * 30)
            self.conv2 = nn.Conv2d(8, 8, 3)

        def forward(self, x):
            x = self.conv(x)
            return self.bn(x.flatten(1)) if self.training else self.conv2(x.flatten(1))
    """


def test_a_layer_that_gets_an_input_of_another_rank(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(head=BATCHNORM_AFTER_FLATTEN)
    spec = """
        train:
          model: head.py:Head
          input_size: [2, 3, 32, 32]
          mode: train
        eval:
          model: head.py:Head
          input_size: [2, 3, 32, 32]
        """
    result, out = run(pytester, spec)
    result.assert_outcomes(failed=2)
    # Explained from the shapes on meta, without the CPU.
    assert "ran on the CPU" not in out
    assert_in_order(out, "model head.py:Head, input [2, 3, 32, 32], on meta",
                    "failed in bn: receives 2 dimensions, BatchNorm2d takes 4",
                    "bn = BatchNorm2d(num_features=7200, affine=True) receives [2, 7200]: 2 dimensions, "
                    "but a BatchNorm2d takes 4 [N, C, H, W]",
                    "suggestion: nn.BatchNorm1d(7200) takes [2, 7200], 7200 channels: change bn's type to it",
                    "failed in conv2: receives 2 dimensions, Conv2d takes 4",
                    "but a Conv2d takes 3 [C, H, W] or 4 [N, C, H, W]",
                    "conv2 needs the input's layout, not another argument: a flatten or view before it drops "
                    "the dimensions it works on")
    assert "fix: " not in out
    # The suggestion, applied as printed, clears the training spec.
    pytester.makepyfile(head=BATCHNORM_AFTER_FLATTEN.replace("nn.BatchNorm2d(8 * 30 * 30)", "nn.BatchNorm1d(7200)"))
    result, _ = run(pytester, spec.split("        eval:")[0])
    result.assert_outcomes(passed=1)


def test_a_view_that_mixes_the_batch(more: pytest.Pytester) -> None:
    result, out = run(more, """
        net:
          model: more.py:ViewBatch
          input_size: [4, 3, 16, 16]
          expect:
            output: [4, 10]
            flatten: {fc: 8*4*4}
        """)
    result.assert_outcomes(failed=1)
    assert_in_order(out, "2 mismatches",
                    "expect.output", "expected: [4, 10]", "actual:   [8, 10]",
                    "view at " + line_of("x = x.view(-1, 8 * 4 * 4)") + " turned [4, 16, 4, 4] into "
                    "[8, 128]: 4*16*4*4 = 1,024 = 8 rows of 128, not 4 samples",
                    "dimension 0 stopped being the batch there",
                    "suggestion: torch.flatten(x, 1) (or x.view(x.size(0), -1)) keeps the batch: [4, 256], "
                    "16*4*4 = 256 features a sample",
                    "then fc takes in_features=256: nn.Linear(16*4*4, 10)",
                    # the flatten count holds row by row, and is still not right
                    "expect.flatten.fc", "fc receives 128 features a row, as stated, but its rows are "
                                         "not samples.",
                    "fc is made at " + line_of("self.fc = nn.Linear(8 * 4 * 4, 10)"))


def test_a_tied_weight_counts_once_and_is_named(more: pytest.Pytester) -> None:
    result, out = run(more, """
        lm:
          model: more.py:TiedLM
          input_size: [2, 12]
          dtype: int64
          expect:
            params: 1000*64 + 64*64*3 + 64 + 64*1000 + 1000
        """)
    result.assert_outcomes(failed=1)
    assert_in_order(out, "expected: 1000*64 + 64*64*3 + 64 + 64*1000 + 1000 = 141,352", "actual:   77,352",
                    "the model has 64,000 fewer parameters than stated: 64,000 = the shared tensor(s) "
                    "out.weight is emb.weight, which count once",
                    "made up of:", "emb: weight [1000, 64] = 64,000", "conv: 64 * (3*64 + 1) = 12,352",
                    "out: bias [1000] = 1,000 (weight is emb.weight, counted there)",
                    "out is made at " + line_of("self.out = nn.Linear(dim, vocab)"))


def test_biases_a_batchnorm_makes_redundant(more: pytest.Pytester) -> None:
    result, out = run(more, """
        net:
          model: more.py:BiasBeforeNorm
          input_size: [1, 3, 16, 16]
          expect:
            params: 6*3*3*3 + 2*6 + 16*3*3*6 + 2*16
        """)
    result.assert_outcomes(failed=1)
    assert_in_order(out, "the model has 22 more parameters than stated: 6 + 16 = 22, the biases of "
                         "conv1, conv2, which the normalization right after each makes redundant",
                    "conv1 is made at " + line_of("self.conv1 = nn.Conv2d(3, 6, 3)"),
                    "fix: bias=False in conv1 and bias=False in conv2: applied by `cnncheck fix`",
                    "-         self.conv1 = nn.Conv2d(3, 6, 3)",
                    "+         self.conv1 = nn.Conv2d(3, 6, 3, bias=False)",
                    "-         self.conv2 = nn.Conv2d(6, 16, 3)",
                    "+         self.conv2 = nn.Conv2d(6, 16, 3, bias=False)")


def test_a_grouped_conv_whose_channels_do_not_divide(more: pytest.Pytester) -> None:
    result, out = run(more, """
        net:
          model: more.py:GroupedConv
          input_size: [1, 3, 16, 16]
        """)
    result.assert_outcomes(failed=1)
    assert_in_order(out, "arch.cnncheck.yaml:3: `model`: more.py:GroupedConv could not be built: a layer "
                         "made at " + line_of("self.grouped = nn.Conv2d(72, 72, 3, padding=1, groups=32)"),
                    "in_channels = out_channels = 72 does not divide by 32 (72 / 32 = 2.25)",
                    "fix: channels that divide, 64 or 96; or groups=24 or groups=36, which divide 72")


def test_a_transposed_conv_missing_its_output_padding(more: pytest.Pytester) -> None:
    result, out = run(more, """
        up:
          model: more.py:UpsampleDecoder
          input_size: [1, 32, 16, 16]
          expect: {output: [1, 16, 32, 32]}
        """)
    result.assert_outcomes(failed=1)
    assert_in_order(out, "expected: [1, 16, 32, 32]", "actual:   [1, 16, 31, 31]",
                    "H 31 (dimension 2), W 31 (dimension 3) come from up = ConvTranspose2d(32, 16, "
                    "kernel_size=3, stride=2, padding=1)",
                    "up is made at " + line_of("self.up = nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1)"),
                    "fix: output_padding=1 in up: applied by `cnncheck fix`",
                    "+         self.up = nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1)",
                    # every term of the formula, output_padding among them
                    "H: (16 - 1)*2 - 2*1 + 1*(3 - 1) + 1 + 1 = 32")


def test_a_dilated_conv_with_the_padding_of_an_undilated_one(more: pytest.Pytester) -> None:
    result, out = run(more, """
        net:
          model: more.py:DilatedBlock
          input_size: [1, 16, 32, 32]
          expect: {layers: {conv: {output: [1, 16, 32, 32]}}}
        """)
    result.assert_outcomes(failed=1)
    assert_in_order(out, "H: (32 - 5 + 2*1) / 1 + 1 = 30 (F = 2*(3-1) + 1 = 5 with dilation 2)",
                    "conv is made at " + line_of("self.conv = nn.Conv2d(16, 16, 3, padding=1, dilation=2)"),
                    "fix: padding=2 in conv: applied by `cnncheck fix`",
                    "+         self.conv = nn.Conv2d(16, 16, 3, padding=2, dilation=2)",
                    "H: (32 - 5 + 2*2) / 1 + 1 = 32")


def test_a_batchnorm_sized_for_another_layer(more: pytest.Pytester) -> None:
    result, out = run(more, """
        net:
          model: more.py:BatchNormWidth
          input_size: [1, 3, 8, 8]
        """)
    result.assert_outcomes(failed=1)
    assert_in_order(out, "failed in bn: receives 32 channels, num_features 64",
                    "bn = BatchNorm2d(num_features=64, affine=True) receives [1, 32, 8, 8]: 32 channels, "
                    "but num_features is 64",
                    "torch on meta said: ",  # torch's words last, and said to be meta's
                    "bn is made at " + line_of("self.bn = nn.BatchNorm2d(64)"),
                    "conv2 is made at " + line_of("self.conv2 = nn.Conv2d(64, 32, 3, padding=1)"),
                    "fix: num_features=32 in bn: applied by `cnncheck fix`", "+         self.bn = nn.BatchNorm2d(32)")
    assert "  or: " not in out  # one root cause, one verified fix


def test_a_wrong_class_count_names_the_head(tutorial: pytest.Pytester) -> None:
    result, out = run(tutorial, """
        net:
          model: net.py:Net
          input_size: [1, 3, 32, 32]
          expect: {output: [1, 100]}
        """)
    result.assert_outcomes(failed=1)
    assert_in_order(out, "expected: [1, 100]", "actual:   [1, 10]",
                    "features 10 (dimension 1) comes from fc3 = Linear(in_features=84, out_features=10)",
                    "fc3 is made at net.py:14: self.fc3 = nn.Linear(84, num_classes)",
                    # fc3 takes num_classes: its default is where the number is written
                    "fix: out_features=100 in fc3: applied by `cnncheck fix`",
                    "+     def __init__(self, num_classes=100, fc1_in=16 * 5 * 5):", "! fc3")


def test_a_crash_folds_what_follows_from_it(tutorial: pytest.Pytester) -> None:
    result, out = run(tutorial, """
        crash:
          model: net.py:Net
          kwargs: {fc1_in: 576}
          input_size: [1, 3, 32, 32]
          expect:
            params: {total: 62006, trainable: 62006}
            layers:
              fc1: {params: 48120, output: [1, 120]}
        """)
    result.assert_outcomes(failed=1)
    assert_in_order(out, "1 mismatch (and 4 that follow from it) in spec 'crash'",
                    "forward", "fix: in_features=400 in fc1: applied by `cnncheck fix`",
                    "in the spec: kwargs: {fc1_in: 400} (now 576)",
                    "expect.params.total", "expected 62,006, actual 83,126 (follows from the crash at "
                    "line 5: its fix changes fc1's parameters by -21,120, which makes this 62,006 as expected)",
                    "expect.layers.fc1.output", "(follows from the crash at line 5: the layer did not get to run)")
    assert out.count("made up of:") == 0  # the breakdown of a count the crash explains: not repeated


def test_a_pooling_rule_violation_gets_pools_that_keep_the_sizes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(pool="from torch import nn\n\n\ndef make():\n    return nn.MaxPool2d(4, 4)\n")
    result, out = run(pytester, """
        pool:
          model: pool.py:make
          input_size: [1, 1, 32, 32]
          rules: {pooling: true}
        """)
    result.assert_outcomes(failed=1)
    assert_in_order(out, "pools with H: F=4, S=4, W: F=4, S=4; allowed: F=2,S=2, F=3,S=2",
                    "suggestion: 2 of nn.MaxPool2d(kernel_size=2) in a row in place of the model: H: 32 -> 16 "
                    "-> 8, W: 32 -> 16 -> 8, the same sizes as now")


def test_a_layer_called_twice_is_named_with_its_call(tutorial: pytest.Pytester) -> None:
    result, out = run(tutorial, """
        net:
          model: net.py:Net
          input_size: [1, 3, 32, 32]
          expect:
            layers:
              pool:
                calls: [{output: [1, 6, 14, 14]}, {output: [1, 16, 6, 6]}]
        """)
    result.assert_outcomes(failed=1)
    assert_in_order(out, "expect.layers.pool.calls[1].output",
                    "pool = MaxPool2d(kernel_size=2, stride=2, padding=0) (call 2) on input [1, 16, 10, 10]:",
                    # one pool for both calls: the padding that suits call 2 breaks call 1
                    "no fix verified: each change the arithmetic gives (padding=1 in pool) was applied to "
                    "the model and run again",
                    "suggestion: pool is one module called 2 times, on [1, 6, 28, 28], [1, 16, 10, 10]",
                    "a module of its own, nn.MaxPool2d(kernel_size=2, padding=1), and use it there")
    assert "fix: padding=1 in pool" not in out


def test_every_finding_carries_a_fix_or_says_why_none_applies(pytester: pytest.Pytester) -> None:
    import json

    broken = Path(__file__).resolve().parent.parent / "examples" / "broken"
    result = pytester.runpytest(str(broken), "--cnncheck-report", "r.json")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    specs = json.loads((pytester.path / "r.json").read_text())["specs"]
    findings = [(spec, f) for spec in specs for f in spec["findings"]]
    assert len(findings) >= 25
    verified = 0
    for spec, finding in findings:
        if finding["follows"] is None:  # folded findings point at the one that explains them
            assert finding["fixes"] or finding["hints"], finding
            if finding["fixes"]:
                verified += 1
                for fixed in finding["fixes"]:
                    assert fixed["applicability"] in ("safe", "unsafe")
                    assert fixed["edits"] or fixed["kwargs"], fixed
                    for edit in fixed["edits"]:
                        lines = (pytester.path / edit["file"]).resolve().read_text().splitlines()
                        assert lines[edit["line"] - 1][edit["column"] - 1:].startswith(edit["old"]), edit
            for hint in finding["hints"]:
                # What is not verified says what it asks; a change of the spec is at its line.
                assert hint["applicability"] in ("spec", "spec-if-model-right", "suggestion", "none"), hint
                if hint["applicability"].startswith("spec"):
                    assert hint["file"].endswith(Path(spec["file"]).name) and hint["line"] == finding["line"], hint
                elif hint["layer"] is not None:
                    assert hint["file"].endswith(".py") and hint["line"] > 0, hint
                else:
                    assert hint["file"] is None, hint
    assert verified >= 8


MATMUL = '''
import torch
from torch import nn


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.q = nn.Linear(16, 8)
        self.k = nn.Linear(16, 12)

    def forward(self, x):
        return self.q(x) @ self.k(x).transpose(1, 2)
'''


def test_a_matmul_whose_inner_sizes_differ(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(attention=MATMUL)
    result, out = run(pytester, """
        attn:
          model: attention.py:Attention
          input_size: [2, 5, 16]
        """)
    result.assert_outcomes(failed=1)
    assert_in_order(out, "on meta",
                    "failed: `matmul` multiplies [2, 5, 8] by [2, 12, 5]: the inner sizes 8 and 12 differ",
                    "at attention.py:12: return self.q(x) @ self.k(x).transpose(1, 2)",
                    "[2, 5, 8] comes from q (Linear)", "[2, 12, 5] comes from transpose of k's output",
                    "q is made at attention.py:8: self.q = nn.Linear(16, 8)",
                    "k is made at attention.py:9: self.k = nn.Linear(16, 12)",
                    "fix: out_features=12 in q: applied by `cnncheck fix`",
                    "+         self.q = nn.Linear(16, 12)")


def test_a_window_larger_than_what_reaches_it(tutorial: pytest.Pytester) -> None:
    result, out = run(tutorial, """
        small:
          model: net.py:Net
          input_size: [1, 3, 12, 12]
        """)
    result.assert_outcomes(failed=1)
    assert_in_order(out, "failed in conv2: H: input 4 < F=5",
                    "conv2 = Conv2d(6, 16, kernel_size=5, stride=1, padding=0) receives [1, 6, 4, 4]: "
                    "H: input 4 + 2*0 < F=5",
                    "conv2 is made at net.py:11: self.conv2 = nn.Conv2d(6, 16, 5)",
                    # padding lets conv2 run, but fc1 then gets 16*1*1: the input is what is wrong
                    "no fix verified: each change the arithmetic gives (padding=1 in conv2)",
                    "or: a larger input: `cnncheck sizes` names the input sizes that run")
    assert "fix: padding=1" not in out


def test_a_block_whose_output_is_wrong_names_the_layer_inside(pytester: pytest.Pytester) -> None:
    vgg = Path(__file__).resolve().parent.parent / "examples" / "models" / "vgg.py"
    pytester.makepyfile(vgg=vgg.read_text())
    result, out = run(pytester, """
        vgg:
          model: vgg.py:vgg_small
          input_size: [1, 3, 32, 32]
          expect:
            layers:
              "0": {output: [1, 48, 16, 16]}
        """)
    result.assert_outcomes(failed=1)
    # The last conv of the block sets its channels (out_channels, whatever came in).
    assert_in_order(out, "expected: [1, 48, 16, 16]", "actual:   [1, 32, 16, 16]",
                    "channels 32 (dimension 1) comes from 0.3 = Conv2d(32, 32, kernel_size=3",
                    "0.3 is made at vgg.py:",
                    # 48 channels out of the block break the next one, which takes 32: not a fix
                    "no fix verified: each change the arithmetic gives (out_channels=48 in 0.3)",
                    "fix, if the model is right: write [1, 32, 16, 16]")
