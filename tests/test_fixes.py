"""Fixes as a user meets them: each is printed only after it was applied to the model and the
spec run again, at the line where the wrong value is written; `cnncheck fix` writes them.

Each scenario asserts the fix's text and line, then applies it the way a user would
(`cnncheck fix`, in a fresh process) and runs the spec again: it passes.
"""

from __future__ import annotations

import os
import sys
import textwrap

import pytest

from conftest import assert_in_order

MODELS = '''
import torch
from torch import nn
import torch.nn.functional as F


def double_conv(cin, cout):
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU(),
        nn.Conv2d(cout, cout, 3, padding=1), nn.ReLU(),
    )


class UNet(nn.Module):
    def __init__(self, base=16):
        super().__init__()
        self.enc1 = double_conv(3, base)
        self.enc2 = double_conv(base, base * 2)
        self.up = nn.ConvTranspose2d(base * 2, base * 2, 2, stride=2)
        self.dec1 = double_conv(base * 2, base)  # takes the up path and the skip, joined
        self.head = nn.Conv2d(base, 1, 1)

    def forward(self, x):
        s1 = self.enc1(x)
        bottom = self.enc2(F.max_pool2d(s1, 2))
        joined = torch.cat([self.up(bottom), s1], dim=1)
        return self.head(self.dec1(joined))


class LeNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 5)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)  # sized for 32x32 inputs
        self.fc2 = nn.Linear(120, num_classes)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = torch.flatten(x, 1)
        return self.fc2(F.relu(self.fc1(x)))


class SharedNorm(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.bn = nn.BatchNorm2d(32)

    def forward(self, x):
        return self.bn(self.conv2(self.bn(self.conv1(x))))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                        nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.downsample(x))


class ResNetish(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.layer1 = BasicBlock(16, 16)
        self.layer2 = BasicBlock(16, 32, stride=2)

    def forward(self, x):
        return self.layer2(self.layer1(self.stem(x)))


class Dilated(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(8, 8, 3, padding=1, dilation=2)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1, dilation=4)

    def forward(self, x):
        return self.conv2(self.conv1(x))


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.up1 = nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1)
        self.up2 = nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1)

    def forward(self, x):
        return self.up2(self.up1(x))


class Video(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv3d(3, 8, 3, padding=(0, 1, 1))
        self.fc = nn.Linear(8 * 8 * 16 * 16, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.conv(x), 1))


class Counted(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 5)
        self.conv2 = nn.Conv2d(8, 8, 3)

    def forward(self, x):
        return self.conv2(self.conv1(x))


class ConvLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(12, 64, 5, padding=2)
        self.lstm = nn.LSTM(32, 50, batch_first=True)
        self.fc = nn.Linear(50, 2)

    def forward(self, x):
        out, _ = self.lstm(self.conv(x).permute(0, 2, 1))
        return self.fc(out[:, -1])


class Head(nn.Module):
    def __init__(self, num_classes=10, width=100):
        super().__init__()
        self.body = nn.Linear(32, width)
        self.fc = nn.Linear(width, num_classes)

    def forward(self, x):
        return self.fc(self.body(x))
'''


def _project(pytester: pytest.Pytester, spec: str) -> None:
    pytester.makepyfile(models=MODELS)
    pytester.path.joinpath("arch.cnncheck.yaml").write_text(textwrap.dedent(spec))


def _fix(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """`cnncheck fix` in a process of its own, as a user runs it."""
    return pytester.run(sys.executable, "-m", "pytest_cnncheck", "fix", *args)


def _passes_after_fix(pytester: pytest.Pytester) -> str:
    """Apply the printed fixes with `cnncheck fix`; the spec then passes. The diff it printed."""
    fixed = _fix(pytester, ".")
    assert fixed.ret == 0, fixed.stdout.str() + fixed.stderr.str()
    again = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    again.assert_outcomes(passed=1)
    return fixed.stdout.str()


def _source_line(pytester: pytest.Pytester, text: str) -> str:
    lines = (pytester.path / "models.py").read_text().splitlines()
    return f"models.py:{lines.index(next(line for line in lines if text in line)) + 1}"


def test_a_helper_built_layer_is_fixed_at_the_call_whose_argument_is_wrong(pytester: pytest.Pytester) -> None:
    _project(pytester, """
        unet:
          model: models.py:UNet
          input_size: [1, 3, 32, 32]
          expect:
            output: [1, 1, 32, 32]
        """)
    out = pytester.runpytest().stdout.str()
    assert_in_order(out, "failed in dec1.0: receives 48 channels, in_channels 32",
                    "fix: in_channels=48 in dec1.0: applied by `cnncheck fix`, verified on the model",
                    _source_line(pytester, "self.dec1 = double_conv"),
                    "-         self.dec1 = double_conv(base * 2, base)  # takes the up path",
                    "+         self.dec1 = double_conv(base * 3, base)  # takes the up path")
    assert "nn.Conv2d(48" not in out  # not the helper's line, which every block shares
    diff = _passes_after_fix(pytester)
    assert "+        self.dec1 = double_conv(base * 3, base)  # takes the up path" in diff
    assert "def double_conv(cin, cout):" in (pytester.path / "models.py").read_text()


def test_an_lstm_whose_input_size_is_not_the_features_that_reach_it(pytester: pytest.Pytester) -> None:
    _project(pytester, """
        ecg:
          model: models.py:ConvLSTM
          input_size: [4, 12, 100]
          expect: {output: [4, 2]}
        """)
    out = pytester.runpytest().stdout.str()
    assert "ran on the CPU" not in out  # explained from the shapes on meta
    assert_in_order(out, "failed in lstm: receives 64 features, input_size 32",
                    "lstm = LSTM(input_size=32, hidden_size=50, batch_first=True) receives [4, 100, 64]: "
                    "64 features, but input_size is 32",
                    "fix: input_size=64 in lstm: applied by `cnncheck fix`, verified on the model",
                    "-         self.lstm = nn.LSTM(32, 50, batch_first=True)",
                    "+         self.lstm = nn.LSTM(64, 50, batch_first=True)")
    _passes_after_fix(pytester)


def test_a_view_written_for_another_input_size_becomes_a_flatten_and_the_linear_takes_it(
        pytester: pytest.Pytester) -> None:
    # The tutorial's x.view(-1, 16 * 5 * 5), run at 64x64: 4*16*13*13 values are no rows of 400.
    pytester.makepyfile(lenet="""
        import torch
        from torch import nn
        import torch.nn.functional as F


        class LeNet(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv1 = nn.Conv2d(3, 6, 5)
                self.pool = nn.MaxPool2d(2, 2)
                self.conv2 = nn.Conv2d(6, 16, 5)
                self.fc1 = nn.Linear(16 * 5 * 5, 120)

            def forward(self, x):
                x = self.pool(F.relu(self.conv1(x)))
                x = self.pool(F.relu(self.conv2(x)))
                x = x.view(-1, 16 * 5 * 5)
                return self.fc1(x)
        """)
    pytester.path.joinpath("arch.cnncheck.yaml").write_text(textwrap.dedent("""
        lenet:
          model: lenet.py:LeNet
          input_size: [4, 3, 64, 64]
          expect: {output: [4, 120]}
        """))
    out = pytester.runpytest().stdout.str()
    assert_in_order(out, "failed: `view(-1, 400)` cannot take [4, 16, 13, 13]",
                    "fix: .flatten(1) for .view(-1, 400) and in_features=2704 in fc1: applied by `cnncheck fix`, "
                    "verified on the model",
                    "-         self.fc1 = nn.Linear(16 * 5 * 5, 120)",
                    "+         self.fc1 = nn.Linear(16 * 13 * 13, 120)",
                    "-         x = x.view(-1, 16 * 5 * 5)", "+         x = x.flatten(1)",
                    "flattened: [4, 16, 13, 13] -> 16*13*13 = 2704")
    _passes_after_fix(pytester)


def test_a_head_whose_channels_were_never_pooled_gets_a_global_average_pool(pytester: pytest.Pytester) -> None:
    # Linear(64, 10) written for the conv's 64 channels, given [4, 64, 30, 30]: in_features=30
    # would run on every row and position; the pooling is what is missing.
    pytester.makepyfile(head="""
        from torch import nn
        import torch.nn.functional as F


        class Head(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 64, 3)
                self.fc = nn.Linear(64, 10)

            def forward(self, x):
                return self.fc(F.relu(self.conv(x)))
        """)
    pytester.path.joinpath("arch.cnncheck.yaml").write_text(textwrap.dedent("""
        head:
          model: head.py:Head
          input_size: [4, 3, 32, 32]
        """))
    out = pytester.runpytest().stdout.str()
    assert_in_order(out, "failed in fc: receives [4, 64, 30, 30] not pooled, in_features 64",
                    "and 64 are [4, 64, 30, 30]'s channels, which still have their positions: a global pooling "
                    "before it is missing",
                    "fix: .mean((2, 3)) on fc's input, a global average pooling: applied by `cnncheck fix`, "
                    "verified on the model",
                    "-         return self.fc(F.relu(self.conv(x)))",
                    "+         return self.fc(F.relu(self.conv(x)).mean((2, 3)))")
    assert "in_features=30" not in out
    _passes_after_fix(pytester)


def test_a_flatten_size_keeps_its_expression(pytester: pytest.Pytester) -> None:
    _project(pytester, """
        lenet:
          model: models.py:LeNet
          input_size: [1, 3, 36, 36]
          expect:
            output: [1, 10]
        """)
    out = pytester.runpytest().stdout.str()
    assert_in_order(out, "failed in fc1: receives 16*6*6 = 576, in_features 400",
                    "fix: in_features=576 in fc1: applied by `cnncheck fix`",
                    _source_line(pytester, "self.fc1 ="),
                    "+         self.fc1 = nn.Linear(16 * 6 * 6, 120)  # sized for 32x32 inputs")
    _passes_after_fix(pytester)


def test_a_module_called_on_two_shapes_gets_a_verified_fix_and_the_separate_module(
        pytester: pytest.Pytester) -> None:
    _project(pytester, """
        shared:
          model: models.py:SharedNorm
          input_size: [1, 3, 8, 8]
        """)
    out = pytester.runpytest().stdout.str()
    assert_in_order(out, "failed in bn (call 2): receives 64 channels, num_features 32",
                    "fix: out_channels=32 in conv2: applied by `cnncheck fix`",
                    "suggestion: bn is one module called 2 times, on [1, 32, 8, 8], [1, 64, 8, 8]; "
                    "one value can't suit every call. Give the call that needs it a module of its own, "
                    "nn.BatchNorm2d(64), and use it there")
    assert "+         self.bn = nn.BatchNorm2d(64)" not in out  # resizing it breaks its first call
    _passes_after_fix(pytester)


def test_a_shared_module_with_its_width_stated_gets_no_fix_but_the_way_out(pytester: pytest.Pytester) -> None:
    _project(pytester, """
        shared:
          model: models.py:SharedNorm
          input_size: [1, 3, 8, 8]
          expect:
            layers:
              conv2: {output: [1, 64, 8, 8]}
        """)
    out = pytester.runpytest().stdout.str()
    assert "fix: " not in out.replace("fix: write", "")
    assert_in_order(out, "no fix verified", "suggestion: bn is one module called 2 times",
                    "nn.BatchNorm2d(64), and use it there")
    before = (pytester.path / "models.py").read_text()
    fixed = _fix(pytester, ".")
    assert fixed.ret == 1
    assert "fixed 0 file(s); 1 finding(s) remain" in fixed.stdout.str()
    assert (pytester.path / "models.py").read_text() == before


def test_a_residual_blocks_second_stride_is_fixed_not_given_a_second_projection(
        pytester: pytest.Pytester) -> None:
    _project(pytester, """
        resnet:
          model: models.py:ResNetish
          input_size: [1, 3, 32, 32]
          expect:
            output: [1, 32, 16, 16]
        """)
    out = pytester.runpytest().stdout.str()
    assert_in_order(out, "fix: stride=1 in layer2.conv2: applied by `cnncheck fix`",
                    _source_line(pytester, "self.conv2 = nn.Conv2d(cout, cout"),
                    "+         self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)")
    assert "a projection on the shortcut" not in out
    _passes_after_fix(pytester)


def test_two_dilated_convs_get_padding_equal_to_their_dilation(pytester: pytest.Pytester) -> None:
    _project(pytester, """
        dilated:
          model: models.py:Dilated
          input_size: [1, 8, 32, 32]
          expect:
            layers:
              conv1: {output: [1, 8, 32, 32]}
              conv2: {output: [1, 8, 32, 32]}
        """)
    out = pytester.runpytest().stdout.str()
    assert_in_order(out, "fix: padding=2 in conv1: applied by `cnncheck fix`",
                    "+         self.conv1 = nn.Conv2d(8, 8, 3, padding=2, dilation=2)",
                    "fix: padding=4 in conv2: applied by `cnncheck fix`",
                    "+         self.conv2 = nn.Conv2d(8, 8, 3, padding=4, dilation=4)")
    assert "padding=5" not in out  # computed on an input that was itself wrong
    _passes_after_fix(pytester)


def test_transposed_convs_with_their_sizes_stated_get_output_padding(pytester: pytest.Pytester) -> None:
    _project(pytester, """
        decoder:
          model: models.py:Decoder
          input_size: [1, 16, 8, 8]
          expect:
            layers:
              up1: {output: [1, 8, 16, 16]}
              up2: {output: [1, 4, 32, 32]}
        """)
    out = pytester.runpytest().stdout.str()
    assert_in_order(out, "fix: output_padding=1 in up1: applied by `cnncheck fix`",
                    "+         self.up1 = nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1)",
                    "fix: output_padding=1 in up2: applied by `cnncheck fix`")
    assert "kernel_size=6" not in out
    _passes_after_fix(pytester)


def test_transposed_convs_short_of_their_stride_get_output_padding_on_each(pytester: pytest.Pytester) -> None:
    # Only the output is stated: kernel_size=6 on the last would give it too, but each
    # transposed conv falls one short of doubling; output_padding=1 on both is the fix.
    _project(pytester, """
        decoder:
          model: models.py:Decoder
          input_size: [1, 16, 8, 8]
          expect:
            output: [1, 4, 32, 32]
        """)
    out = pytester.runpytest().stdout.str()
    assert_in_order(out, "fix: output_padding=1 in up1 and output_padding=1 in up2: applied by `cnncheck fix`",
                    "+         self.up1 = nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1)",
                    "+         self.up2 = nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)",
                    "H: (8 - 1)*2 - 2*1 + 1*(3 - 1) + 1 + 1 = 16",
                    "H: (16 - 1)*2 - 2*1 + 1*(3 - 1) + 1 + 1 = 32")  # on the input the fix gives it
    assert "kernel_size=6" not in out
    _passes_after_fix(pytester)


def test_a_crash_that_follows_from_a_size_mistake_is_folded_under_it(pytester: pytest.Pytester) -> None:
    _project(pytester, """
        video:
          model: models.py:Video
          input_size: [1, 3, 8, 16, 16]
          expect:
            layers:
              conv: {output: [1, 8, 8, 16, 16]}
            output: [1, 10]
        """)
    out = pytester.runpytest().stdout.str()
    assert_in_order(out, "fix: padding=1 in conv: applied by `cnncheck fix`",
                    "+         self.conv = nn.Conv3d(3, 8, 3, padding=(1, 1, 1))",
                    "follows from expect.layers.conv.output")
    assert "in_features=12288" not in out
    _passes_after_fix(pytester)


def test_a_parameter_count_names_the_kernel_change_that_accounts_for_it(pytester: pytest.Pytester) -> None:
    _project(pytester, """
        counted:
          model: models.py:Counted
          input_size: [1, 1, 16, 16]
          expect:
            params: 664
            layers:
              conv1: {params: 80}
        """)
    out = pytester.runpytest().stdout.str()
    assert_in_order(out, "fix: kernel_size=3 in conv1: applied by `cnncheck fix`",
                    "+         self.conv1 = nn.Conv2d(1, 8, 3)")
    _passes_after_fix(pytester)


def test_a_value_from_the_spec_kwargs_is_fixed_in_the_spec(pytester: pytest.Pytester) -> None:
    _project(pytester, """
        head:
          model: models.py:Head
          input_size: [1, 32]
          kwargs: {num_classes: 10, width: 64}
          expect:
            output: [1, 7]
        """)
    out = pytester.runpytest().stdout.str()
    assert_in_order(out, "fix: out_features=7 in fc: applied by `cnncheck fix`",
                    "in the spec: kwargs: {num_classes: 7} (now 10)")
    before = (pytester.path / "models.py").read_text()
    _passes_after_fix(pytester)
    assert (pytester.path / "models.py").read_text() == before
    assert "kwargs: {num_classes: 7, width: 64}" in (pytester.path / "arch.cnncheck.yaml").read_text()


def test_a_parameters_default_is_fixed_where_it_is_written(pytester: pytest.Pytester) -> None:
    _project(pytester, """
        head:
          model: models.py:Head
          input_size: [1, 32]
          expect:
            layers:
              body: {output: [1, 64]}
        """)
    out = pytester.runpytest().stdout.str()
    assert_in_order(out, "fix: out_features=64 in body (the same edit changes fc): applied by `cnncheck fix`",
                    _source_line(pytester, "def __init__(self, num_classes=10, width=100)"),
                    "+     def __init__(self, num_classes=10, width=64):")
    _passes_after_fix(pytester)


SPEC = """
    lenet:
      model: models.py:LeNet
      input_size: [1, 3, 36, 36]
      expect:
        output: [1, 10]
    """


def test_fix_prints_a_unified_diff_and_diff_writes_nothing(pytester: pytest.Pytester) -> None:
    _project(pytester, SPEC)
    before = (pytester.path / "models.py").read_text()
    shown = _fix(pytester, "--diff", "arch.cnncheck.yaml")
    assert shown.ret == 1  # it shows a change: nothing was written
    assert_in_order(shown.stdout.str(), "--- a/models.py", "+++ b/models.py", "@@ ",
                    "-        self.fc1 = nn.Linear(16 * 5 * 5, 120)  # sized for 32x32 inputs",
                    "+        self.fc1 = nn.Linear(16 * 6 * 6, 120)  # sized for 32x32 inputs",
                    "cnncheck fix: would fix 1 file(s); 0 finding(s) remain")
    assert (pytester.path / "models.py").read_text() == before
    assert _files(pytester) == ["arch.cnncheck.yaml", "models.py"]
    written = _fix(pytester, ".")
    assert written.ret == 0
    assert "cnncheck fix: fixed 1 file(s); 0 finding(s) remain" in written.stdout.str()
    after = (pytester.path / "models.py").read_text()
    # one line changed, the rest (comments, spacing) byte for byte; no temporary file left
    assert [a for a, b in zip(before.splitlines(), after.splitlines()) if a != b] == [
        "        self.fc1 = nn.Linear(16 * 5 * 5, 120)  # sized for 32x32 inputs"]
    assert _files(pytester) == ["arch.cnncheck.yaml", "models.py"]


def _files(pytester: pytest.Pytester) -> list[str]:
    """The project's files (pytester.run keeps the output it captured in stdout, stderr)."""
    return sorted(p.name for p in pytester.path.iterdir() if p.name not in ("__pycache__", "stdout", "stderr"))


def test_fix_does_not_write_a_file_that_changed_while_it_ran(pytester: pytest.Pytester) -> None:
    # The model touches its own file each time it is built: the file on disk is then not
    # the one the fixes were verified on.
    pytester.makepyfile(models=MODELS + '''

class Touchy(LeNet):
    def __init__(self):
        super().__init__()
        with open(__file__, "a") as handle:
            handle.write("# built\\n")
''')
    pytester.path.joinpath("arch.cnncheck.yaml").write_text(textwrap.dedent(SPEC).replace("LeNet", "Touchy"))
    result = _fix(pytester, ".")
    assert result.ret == 2
    assert "cnncheck fix: models.py: not written: the file changed since it was read; run again" \
        in result.stderr.str()
    assert "16 * 6 * 6" not in (pytester.path / "models.py").read_text()


def test_fix_exit_codes(pytester: pytest.Pytester) -> None:
    _project(pytester, SPEC.replace("36, 36", "32, 32"))
    passing = _fix(pytester, ".")
    assert passing.ret == 0
    assert "cnncheck fix: fixed 0 file(s); 0 finding(s) remain" in passing.stdout.str()
    missing = _fix(pytester, "nowhere")
    assert missing.ret == 2
    assert "cnncheck fix: nowhere: no such file or folder" in missing.stderr.str()


def test_nothing_is_written_for_a_model_that_still_crashes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(models=MODELS + '''

class Broken(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        return self.fc(x.view(3, -1))  # no size of fc mends this view
''')
    pytester.path.joinpath("arch.cnncheck.yaml").write_text(textwrap.dedent("""
        broken:
          model: models.py:Broken
          input_size: [2, 8]
        """))
    before = (pytester.path / "models.py").read_text()
    result = _fix(pytester, ".")
    assert result.ret == 1
    assert (pytester.path / "models.py").read_text() == before
    assert not os.path.exists(pytester.path / "models.py.tmp")


def test_fix_leaves_alone_a_change_that_would_break_another_spec_of_the_same_model(
        pytester: pytest.Pytester) -> None:
    # fc1 sized for 36x36 inputs fixes one spec and breaks the other, which passes today.
    _project(pytester, SPEC + """
    lenet32:
      model: models.py:LeNet
      input_size: [1, 3, 32, 32]
      expect:
        output: [1, 10]
    """)
    before = (pytester.path / "models.py").read_text()
    result = _fix(pytester, ".")
    assert result.ret == 1
    assert "arch.cnncheck.yaml: lenet: not fixed: its fixes would break lenet32, made by the same code" \
        in result.stdout.str()
    assert "cnncheck fix: fixed 0 file(s); 1 finding(s) remain" in result.stdout.str()
    assert (pytester.path / "models.py").read_text() == before


def test_a_float_input_to_an_embedding_is_fixed_in_the_spec(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(tokens='''
from torch import nn


class Tokens(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(100, 16)
        self.fc = nn.Linear(16, 4)

    def forward(self, x):
        return self.fc(self.emb(x))
''')
    spec = "tok:\n  model: tokens.py:Tokens\n  input_size: [2, 8]\n"
    pytester.path.joinpath("arch.cnncheck.yaml").write_text(spec)
    out = pytester.runpytest().stdout.str()
    assert ("in the spec: dtype: int64. emb (Embedding) takes token ids, integers, and the dummy "
            "input is float32") in out
    assert "no fix" not in out
    pytester.path.joinpath("arch.cnncheck.yaml").write_text(spec + "  dtype: int64\n")
    pytester.runpytest().assert_outcomes(passed=1)
