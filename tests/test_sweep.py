"""Shape contracts across input sizes: `sweep`, names in expressions, `expect.accepts`,
and `cnncheck sizes`."""

from __future__ import annotations

import pytest

from conftest import assert_in_order, run, write_spec
from pytest_cnncheck.cli import main

# A fully convolutional net: a 3x3 conv, a 2x2 pool and a 3x3 conv need H >= 8;
# from there on, every size runs.
FCN = '''
from torch import nn


class FCN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(8, 4, 3)
        self.head = nn.Conv2d(4, 2, 1)

    def forward(self, x):
        return self.head(self.conv2(self.pool(self.conv1(x))))
'''

# A UNet with three 2x2 poolings (total stride 8): the skip connections only fit
# where every pooling divides exactly, so it takes exactly the multiples of 8.
UNET = '''
import torch
from torch import nn


def block(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.ReLU())


class UNet(nn.Module):
    def __init__(self, classes=2):
        super().__init__()
        self.down1, self.down2, self.down3 = block(3, 8), block(8, 16), block(16, 32)
        self.pool = nn.MaxPool2d(2)
        self.bottom = block(32, 64)
        self.up3, self.dec3 = nn.ConvTranspose2d(64, 32, 2, stride=2), block(64, 32)
        self.up2, self.dec2 = nn.ConvTranspose2d(32, 16, 2, stride=2), block(32, 16)
        self.up1, self.dec1 = nn.ConvTranspose2d(16, 8, 2, stride=2), block(16, 8)
        self.head = nn.Conv2d(8, classes, 1)

    def forward(self, x):
        d1 = self.down1(x)
        d2 = self.down2(self.pool(d1))
        d3 = self.down3(self.pool(d2))
        b = self.bottom(self.pool(d3))
        x = self.dec3(torch.cat([self.up3(b), d3], 1))
        x = self.dec2(torch.cat([self.up2(x), d2], 1))
        x = self.dec1(torch.cat([self.up1(x), d1], 1))
        return self.head(x)
'''


def test_each_combination_is_an_item_and_failures_name_the_size(tutorial: pytest.Pytester) -> None:
    result, out = run(tutorial, """
        net:
          model: net.py:Net
          input_size: [B, 3, H, W]
          sweep:
            B: [1, 2]
            H: [32, 36]
            W: H
          expect:
            output: [B, 10]
            layers:
              conv2: {output: [B, 16, H//2 - 6, W//2 - 6]}
              fc1: {input: [B, 16*(H//4 - 3)*(W//4 - 3)]}
        """, "-v")
    result.assert_outcomes(passed=2, failed=2)
    assert_in_order(out, "arch.cnncheck.yaml::net[B=1-H=32-W=32] PASSED",
                    "arch.cnncheck.yaml::net[B=1-H=36-W=36] FAILED",
                    "arch.cnncheck.yaml::net[B=2-H=32-W=32] PASSED",
                    "arch.cnncheck.yaml::net[B=2-H=36-W=36] FAILED")
    # At 36 the flatten gives 16*6*6 = 576 and the tutorial's fc1 takes 400: the crash
    # is explained at the size that broke.
    assert_in_order(out, "in spec 'net[B=2-H=36-W=36]'", "input [2, 3, 36, 36]",
                    "fc1 = Linear(in_features=400, out_features=120) receives [2, 576]",
                    "flattened: [2, 16, 6, 6] -> 16*6*6 = 576")


def test_a_wrong_dimension_is_explained_with_the_names_values(tutorial: pytest.Pytester) -> None:
    result, out = run(tutorial, """
        net:
          model: net.py:Net
          input_size: [1, 3, H, H]
          sweep: {H: [32, 33]}
          expect:
            layers:
              conv2: {output: [1, 16, H//2 - 5, H//2 - 6]}
        """)
    result.assert_outcomes(failed=2)
    assert_in_order(out, "net[H=32]", "arch.cnncheck.yaml:8: expect.layers.conv2.output",
                    "expected: [1, 16, H//2 - 5, H//2 - 6] = [1, 16, 11, 10]",
                    "actual:   [1, 16, 10, 10]",
                    "conv2.output[2]: expected H//2 - 5 = 11 (H=32), actual 10",
                    "H: (14 - 5 + 2*0) / 1 + 1 = 10")
    assert "conv2.output[3]" not in out  # H//2 - 6 holds


def test_tied_names_follow_the_name_they_are_tied_to(tutorial: pytest.Pytester) -> None:
    result, out = run(tutorial, """
        net:
          model: net.py:Net
          input_size: [1, 3, H, W]
          sweep: {H: [32, 33], W: 2*H - 32}
          expect:
            layers:
              conv1: {output: [1, 6, H - 4, W - 4]}
        """, "-v", "--co")
    assert_in_order(out, "net[H=32-W=32]", "net[H=33-W=34]")
    result = tutorial.runpytest("arch.cnncheck.yaml::net[H=33-W=34]")  # a node id picks one size
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize(("spec", "line", "says"), [
    ("""
        net:
          model: net.py:Net
          input_size: [1, 3, H, H]
        """, 4, "`input_size[2]`: the expression 'H' uses the name 'H'; names exist only in a spec "
                "with a `sweep` that declares them."),
    ("""
        net:
          model: net.py:Net
          input_size: [1, 3, 32, 32]
          expect: {output: [B, 10]}
        """, 5, "the expression 'B' uses the name 'B'; names exist only in a spec with a `sweep`"),
    ("""
        net:
          model: net.py:Net
          input_size: [1, 3, H, H]
          sweep: {H: [32]}
          expect: {output: [N, 10]}
        """, 6, "uses the name 'N', which the spec's `sweep` does not declare (it declares H)"),
    ("""
        net:
          model: net.py:Net
          input_size: [1, 3, 32, 32]
          sweep: {H: [32]}
        """, 5, "`sweep` declares H, but `input_size` does not use it"),
    ("""
        net:
          model: net.py:Net
          input_size: [1, 3, H, W]
          sweep:
            H: 32..
            W: Q
        """, 6, "`sweep.H`: 32.. has no end"),
    ("""
        net:
          model: net.py:Net
          input_size: [1, 3, H, W]
          sweep:
            H: [32]
            W: Q
        """, 7, "`sweep.W`: 'Q' is neither sizes (64, [64, 96], 32..512 step 32) nor a name of "
                "the sweep to tie W to."),
    ("""
        net:
          model: net.py:Net
          input_size: [1, 3, H, W]
          sweep:
            H: [32]
            W: 2*Q
        """, 7, "`sweep.W`: '2*Q' uses 'Q', which is not declared in `sweep`"),
    ("""
        net:
          model: net.py:Net
          input_size: [1, 3, H, W]
          sweep: {H: [32], W: h}
        """, 5, "`sweep.W`: 'h' is neither sizes (64, [64, 96], 32..512 step 32) nor a name of "
                "the sweep to tie W to. Did you mean 'H'?"),
    ("""
        net:
          model: net.py:Net
          input_size: [1, 3, 32, 32]
          expect: {accepts: {H: 32..35}}
        """, 5, "`expect.accepts` needs a `sweep`"),
    ("""
        net:
          model: net.py:Net
          input_size: [1, 3, H, H]
          sweep: {H: 16..64}
          expect: {output: [1, 10], accepts: {H: 32..35}}
        """, 6, "`expect.accepts` checks which sizes run, and stands alone"),
    ("""
        net:
          model: net.py:Net
          input_size: [1, 3, H, H]
          sweep: {H: 16..64}
          expect: {accepts: {H: 35..32}}
        """, 6, "`expect.accepts.H`: '35..32' ends before it starts."),
])
def test_misused_names_fail_their_spec_alone(tutorial: pytest.Pytester, spec: str, line: int,
                                             says: str) -> None:
    write_spec(tutorial, spec + """
        good:
          model: net.py:Net
          input_size: [1, 3, 32, 32]
          expect: {output: [1, 10]}
        """)
    result = tutorial.runpytest()
    result.assert_outcomes(passed=1, failed=1)  # one item for the bad spec, not one per size
    out = result.stdout.str()
    assert f"arch.cnncheck.yaml:{line}: " in out
    assert says in out


def test_an_empty_range_is_one_error_and_size_free_mistakes_name_no_size(
        tutorial: pytest.Pytester) -> None:
    # W is tied to H, whose range is empty: one sentence about H, not also a false one
    # that H is no name. A mistake that no size causes names no size.
    result, out = run(tutorial, """
        empty:
          model: net.py:Net
          input_size: [1, 3, H, W]
          sweep: {H: 64..60, W: H}
        scan:
          model: net.py:Net
          input_size: [1, 3, H, H]
          sweep: {H: 16..64}
          expect: {accepts: {X: 32..35}}
        """)
    result.assert_outcomes(failed=2)
    assert "arch.cnncheck.yaml:5: `sweep.H`: '64..60' ends before it starts." in out
    assert "is neither sizes" not in out
    assert "arch.cnncheck.yaml:10: `expect.accepts`: 'X' is not a name of the sweep (H).\n" in out
    assert "(at H=" not in out


def test_a_mistake_at_some_sizes_fails_only_those(tutorial: pytest.Pytester) -> None:
    result, out = run(tutorial, """
        net:
          model: net.py:Net
          input_size: [1, 3, H, H]
          sweep: {H: [16, 32]}
          expect: {layers: {conv1: {output: [1, 6, H//32 * 28, _]}}}
        """, "-v")
    result.assert_outcomes(failed=1, passed=1)
    assert_in_order(out, "net[H=16] FAILED", "net[H=32] PASSED")
    # 0 is a size a spec may state (an empty output): at H=16 it is a mismatch, not a spec error.
    assert "conv1.output[2]: expected H//32 * 28 = 0 (H=16), actual 12" in out


def test_the_tutorial_net_accepts_exactly_32_to_35(tutorial: pytest.Pytester) -> None:
    result, out = run(tutorial, """
        square:
          model: net.py:Net
          input_size: [1, 3, H, W]
          sweep: {H: 16..64, W: H}
          expect:
            accepts: {H: 32..35}
        any_pair:
          model: net.py:Net
          input_size: [1, 3, H, W]
          sweep: {H: 28..40, W: 28..40}
          expect:
            accepts: {H: 32..35, W: 32..35}
        """, "-v")
    result.assert_outcomes(passed=2)
    assert "square PASSED" in out


def test_a_wrong_accepted_set_fails_with_why_each_size_broke(tutorial: pytest.Pytester) -> None:
    result, out = run(tutorial, """
        net:
          model: net.py:Net
          input_size: [1, 3, H, H]
          sweep: {H: 8..64}
          expect:
            accepts: {H: 12..36}
        """)
    result.assert_outcomes(failed=1)
    assert_in_order(out, "1 mismatch in spec 'net': model net.py:Net, 57 input sizes, on meta",
                    "arch.cnncheck.yaml:7: expect.accepts",
                    "expected: H: 12..36", "actual:   H: 32..35",
                    "fails, though expect.accepts includes it:",
                    "H=12..13: conv2: H: input 4 < F=5\n",
                    "H=14..15: pool (call 2): H: input 1 < F=2\n",
                    "H=16..19: fc1: receives 16*1*1 = 16, in_features 400\n",
                    "H=28..31: fc1: receives 16*4*4 = 256, in_features 400\n",
                    "H=36: fc1: receives 16*6*6 = 576, in_features 400",
                    "tried 57 size(s): H in 8..64",
                    "layers at H=12, input [1, 3, 12, 12]:", "! conv2")


def test_sizes_outside_the_accepted_set_that_run_are_named(tutorial: pytest.Pytester) -> None:
    result, out = run(tutorial, """
        net:
          model: net.py:Net
          input_size: [1, 3, H, H]
          sweep: {H: 30..40}
          expect:
            accepts: {H: 33..35}
        """)
    result.assert_outcomes(failed=1)
    assert_in_order(out, "expected: H: 33..35", "actual:   H: 32..35",
                    "runs, though expect.accepts leaves it out: H=32")


def test_a_fully_convolutional_net_accepts_every_size_from_its_minimum(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(fcn=FCN)
    result, _ = run(pytester, """
        fcn:
          model: fcn.py:FCN
          input_size: [2, 3, H, W]
          sweep: {H: 1..100, W: H}
          expect:
            accepts: {H: 8..}
        fcn_wrong_minimum:
          model: fcn.py:FCN
          input_size: [2, 3, H, W]
          sweep: {H: 1..100, W: H}
          expect:
            accepts: {H: 9..}
        """)
    result.assert_outcomes(passed=1, failed=1)
    assert "runs, though expect.accepts leaves it out: H=8, W=8" in result.stdout.str()


def test_a_unet_accepts_exactly_the_multiples_of_its_total_stride(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(unet=UNET)
    result, out = run(pytester, """
        unet:
          model: unet.py:UNet
          input_size: [1, 3, H, W]
          sweep: {H: 1..80, W: H}
          expect:
            accepts: {H: 8.. step 8}
        unet_any_size:
          model: unet.py:UNet
          input_size: [B, 3, H, W]
          sweep: {B: [1, 2], H: [16, 24, 32], W: H}
          expect:
            output: [B, 2, H, W]
            layers:
              bottom: {output: [B, 64, H//8, W//8]}
        """, "-v")
    result.assert_outcomes(passed=7)
    assert "-W" in out and "(ran on the CPU" not in out


def test_cnncheck_sizes_prints_the_set_and_why_the_rest_fail(
        tutorial: pytest.Pytester, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tutorial.path)
    assert main(["sizes", "net.py:Net", "--input-size", "1,3,H,H", "--range", "H=8..64"]) == 0
    out = capsys.readouterr().out
    assert_in_order(out, "net.py:Net, input [1, 3, H, H]: 57 sizes tried in ",
                    "accepts H: 32..35\n", "fails:",
                    # each line true of every size it names
                    "H=8..9: conv2: H: input 2 < F=5\n",
                    "H=10..11: conv2: H: input 3 < F=5\n",
                    "H=14..15: pool (call 2): H: input 1 < F=2\n",
                    "H=16..19: fc1: receives 16*1*1 = 16, in_features 400\n",
                    "H=36..39: fc1: receives 16*6*6 = 576, in_features 400\n",
                    "H=64: fc1: receives 16*13*13 = 2704, in_features 400\n")


TWO_WAYS = """
import torch
from torch import nn


class Net(nn.Module):
    # H and W shrink differently: a 3x3 conv and a pool, then a 1x5 conv on W alone.
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.pool = nn.MaxPool2d(2)
        self.convw = nn.Conv2d(4, 4, (1, 5))
        self.fc = nn.Linear(4 * 32 * 30, 10)

    def forward(self, x):
        x = self.convw(self.pool(self.conv(x)))
        return self.fc(torch.flatten(x, 1))
"""


def test_cnncheck_sizes_groups_two_dimensions_into_rectangles_that_hold(
        pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile(two=TWO_WAYS)
    monkeypatch.chdir(pytester.path)
    assert main(["sizes", "two.py:Net", "--input-size", "1,3,H,W",
                 "--range", "H=60..72", "--range", "W=56..72"]) == 0
    out = capsys.readouterr().out
    # 221 sizes, most failing with a flatten size of their own: too many to list one by
    # one, so each line is a rectangle that fails at fc for the same reason, with one
    # size's numbers as the example; the sizes that fail with the same numbers say them.
    assert_in_order(out, "221 sizes tried", "accepts H: 66..67\n", "accepts W: 70..71\n", "fails:",
                    "  H=60..65, W=56..72: fc: the flattened size is not in_features 3840 "
                    "(at H=60, W=56: receives 4*29*23 = 2668, in_features 3840)\n",
                    "  H=66..67, W=56..69: fc: the flattened size is not in_features 3840 "
                    "(at H=66, W=56: receives 4*32*23 = 2944, in_features 3840)\n",
                    "  H=66..67, W=72: fc: receives 4*32*31 = 3968, in_features 3840\n",
                    "  H=68..72, W=56..72: fc: the flattened size is not in_features 3840 "
                    "(at H=68, W=56: receives 4*33*23 = 3036, in_features 3840)\n")
    # A narrower search: few enough distinct failures to give each its numbers.
    assert main(["sizes", "two.py:Net", "--input-size", "1,3,H,W",
                 "--range", "H=65..67", "--range", "W=70..72"]) == 0
    out = capsys.readouterr().out
    assert_in_order(out, "fails:",
                    "  H=65, W=70..71: fc: receives 4*31*30 = 3720, in_features 3840\n",
                    "  H=65, W=72: fc: receives 4*31*31 = 3844, in_features 3840\n",
                    "  H=66..67, W=72: fc: receives 4*32*31 = 3968, in_features 3840\n")


def test_cnncheck_sizes_searches_square_inputs_unless_told_otherwise(
        tutorial: pytest.Pytester, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tutorial.path)
    assert main(["sizes", "net.py:Net", "--input-size", "1,3,H,W", "--range", "H=16..512"]) == 0
    out = capsys.readouterr().out
    assert_in_order(out, "net.py:Net, input [1, 3, H, W]: 497 sizes tried in ",
                    "(W = H: give --range W=... to search it apart)", "accepts H=W: 32..35\n")


def test_cnncheck_sizes_finds_a_divisibility_pattern(
        pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile(unet=UNET)
    monkeypatch.chdir(pytester.path)
    assert main(["sizes", "unet.py:UNet", "--input-size", "1,3,H,W",
                 "--range", "H=4..100", "--range", "W=H"]) == 0
    out = capsys.readouterr().out
    assert "accepts H=W: 8..96 step 8 (multiples of 8)\n" in out
    assert "H=W=4..7: pool (call 3): H: input 1 < F=2\n" in out
    assert_in_order(out, "H=W=9: raised in forward code after up1 (output [1, 8, 8, 8]): "
                         "RuntimeError: Sizes of tensors must match",
                    "H=W=10..11: raised in forward code after up2 (output [1, 16, 4, 4]): ",
                    "... and 17 more lines of failing sizes")


def test_cnncheck_sizes_says_what_is_missing(capsys: pytest.CaptureFixture[str],
                                             tutorial: pytest.Pytester,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tutorial.path)
    assert main(["sizes", "net.py:Net", "--input-size", "1,3,32,32", "--range", "H=8..64"]) == 2
    assert "--input-size names no size to search" in capsys.readouterr().err
    assert main(["sizes", "net.py:Net", "--input-size", "1,3,H,W", "--range", "B=1..2"]) == 2
    assert "give the sizes to try with --range H=16..512" in capsys.readouterr().err
    assert main(["sizes", "net.py:Net", "--input-size", "1,3,H,H", "--range", "H=64..16"]) == 2
    assert "cnncheck sizes: --range H: '64..16' ends before it starts." in capsys.readouterr().err
    assert main(["sizes", "net.py:Nett", "--input-size", "1,3,H,H", "--range", "H=8..64"]) == 1
    assert "has no attribute 'Nett'. Did you mean 'Net'?" in capsys.readouterr().err


def test_update_leaves_a_swept_spec_as_written(tutorial: pytest.Pytester) -> None:
    text = """
        net:
          model: net.py:Net
          input_size: [1, 3, H, H]
          sweep: {H: [32]}
          expect: {output: [1, 11]}
        """
    result, out = run(tutorial, text, "--cnncheck-update")
    result.assert_outcomes(failed=1)
    assert (tutorial.path / "arch.cnncheck.yaml").read_text() == __import__("textwrap").dedent(text)
    assert "not updated: the values of a swept spec hold for every size" in out
