"""Models as MONAI's and Hugging Face's users write them, each scenario on a small model
written for it: weight inits through `torch.as_tensor`, outputs with scalars, None and
empty tuples, forward called with keyword arguments only, several inputs in `cnncheck
sizes`, and the sentences a fallback or a misspelt argument gets."""

from __future__ import annotations

import os

import pytest

from conftest import assert_in_order, write_spec
from pytest_cnncheck.cli import main

MODELS = '''
import torch
from torch import nn


class MonaiStyle(nn.Module):
    """MONAI's DenseNet and SENet initialise through as_tensor; HighResNet calls it in forward."""

    def __init__(self, spatial_dims=2, in_channels=3, out_channels=8, kernel_size=3, act="relu",
                 norm="batch", dropout=0.0, bias=True, adn_ordering="NDA", dimensions=None):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(torch.as_tensor(module.weight))

    def forward(self, x):
        return torch.as_tensor(self.conv(x))


class VaeStyle(nn.Module):
    """A VAE's (output, None), a VQ-VAE's scalar loss, an empty tuple of attentions."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        y = self.conv(x)
        return {"reconstruction": y, "kl": None, "loss": y.mean(), "attentions": ()}


class PixelValues(nn.Module):
    """A Hugging Face model: forward(pixel_values=...), and a flag that reads a value."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, *, pixel_values, check_mask=False):
        if check_mask and bool((pixel_values > 0).all()):
            return self.conv(pixel_values) * 0
        return self.conv(pixel_values)


class Registration(nn.Module):
    """Two volumes in, one field out: runs where both are multiples of 4."""

    def __init__(self):
        super().__init__()
        self.down = nn.Conv2d(2, 8, 2, stride=2)
        self.down2 = nn.Conv2d(8, 8, 2, stride=2)
        self.up = nn.ConvTranspose2d(8, 2, 4, stride=4)

    def forward(self, fixed, moving, *, scale=1):
        return self.up(self.down2(self.down(torch.cat([fixed, moving], 1)))) * scale + fixed


def swin_style(img_size=(96, 96, 96), in_channels=1, out_channels=14, depths=(2, 2, 2, 2), num_heads=(3, 6, 12, 24),
               feature_size=24, norm_name="instance", drop_rate=0.0, attn_drop_rate=0.0, dropout_path_rate=0.0,
               normalize=True, use_checkpoint=False, spatial_dims=3, downsample="merging", use_v2=False):
    """SwinUNETR's many arguments: a signature too long to print whole."""
    return MonaiStyle()


class Calibrated(nn.Module):
    """A build that reads a value, as a quantized model's calibration does."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)
        self.scale = float(self.fc.weight.abs().max())

    def forward(self, x):
        return self.fc(x) * self.scale
'''


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(models=MODELS)
    return pytester


def test_weight_inits_through_as_tensor_stay_on_meta(project: pytest.Pytester) -> None:
    write_spec(project, """
        monai:
          model: models.py:MonaiStyle
          input_size: [1, 3, 8, 8]
          expect: {output: [1, 8, 6, 6]}
        """)
    result = project.runpytest("-v")
    result.assert_outcomes(passed=1)
    assert "on meta" in result.stdout.str() and "fallback" not in result.stdout.str()


def test_init_writes_outputs_with_a_scalar_a_none_and_an_empty_tuple(
        project: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    os.chdir(project.path)
    out = project.path / "vae.cnncheck.yaml"
    assert main(["init", "models.py:VaeStyle", "--input-size", "1,3,8,8", "-o", str(out)]) == 0
    assert "    output: {reconstruction: [1, 4, 6, 6], kl: _, loss: [], attentions: []}\n" in out.read_text()
    project.runpytest().assert_outcomes(passed=1)
    # null for a None, as people write it in YAML; and an empty tuple that is not: a failure
    # whose expected and actual read differently.
    write_spec(project, """
        nulled:
          model: models.py:VaeStyle
          input_size: [1, 3, 8, 8]
          expect: {output: {reconstruction: [1, 4, 6, 6], kl: null, loss: [], attentions: []}}
        listed:
          model: models.py:VaeStyle
          input_size: [1, 3, 8, 8]
          expect: {output: {reconstruction: [1, 4, 6, 6], kl: null, loss: [], attentions: [[1, 2]]}}
        """)
    result = project.runpytest("arch.cnncheck.yaml")
    result.assert_outcomes(passed=1, failed=1)
    assert_in_order(result.stdout.str(),
                    "expected: {reconstruction: [1, 4, 6, 6], kl: _, loss: [], attentions: [[1, 2]]}",
                    "actual:   {reconstruction: [1, 4, 6, 6], kl: None, loss: [], attentions: []}")


def test_a_forward_called_with_keyword_arguments_only(project: pytest.Pytester,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    write_spec(project, """
        keywords:
          model: models.py:PixelValues
          forward_kwargs: {pixel_values: [1, 3, 8, 8]}
          expect: {output: [1, 8, 6, 6]}
        empty:
          model: models.py:PixelValues
          input_size: []
          forward_kwargs: {pixel_values: [1, 3, 8, 8]}
          expect: {output: [1, 8, 6, 6]}
        mapping:
          model: models.py:PixelValues
          input_size: {pixel_values: [1, 3, 8, 8]}
        """)
    result = project.runpytest("-v")
    result.assert_outcomes(passed=2, failed=1)
    out = result.stdout.str()
    assert out.count("output [1, 8, 6, 6], params 224") == 2 and "on cpu" not in out
    assert ("arch.cnncheck.yaml:13: `input_size` is a mapping, but forward's positional arguments are a list. To "
            "call forward with keyword arguments (`model(pixel_values=x)`), write them under `forward_kwargs: "
            "{pixel_values: [1, 3, 224, 224]}` and leave `input_size` out") in out
    capsys.readouterr()  # the run's own output
    os.chdir(project.path)
    assert main(["init", "models.py:PixelValues", "--forward-kwargs", '{"pixel_values": [1, 3, 8, 8]}']) == 0
    written = capsys.readouterr().out
    assert "  forward_kwargs: {pixel_values: [1, 3, 8, 8]}\n  expect:\n    output: [1, 8, 6, 6]\n" in written
    assert "input_size" not in written
    assert main(["init", "models.py:PixelValues"]) == 2
    assert "give the dummy input with --input-size SHAPE (or, for a forward that takes keyword arguments only, " \
           "with --forward-kwargs)" in capsys.readouterr().err


def test_sizes_searches_a_model_of_two_inputs_and_keyword_arguments(
        project: pytest.Pytester, capsys: pytest.CaptureFixture[str]) -> None:
    os.chdir(project.path)
    assert main(["sizes", "models.py:Registration", "--input-size", "1,1,H,H", "--input-size", "1,1,H,H",
                 "--range", "H=8..17", "--forward-kwargs", '{"scale": 2}']) == 0
    out = capsys.readouterr().out
    assert_in_order(out, "models.py:Registration, input [1, 1, H, H], [1, 1, H, H]: 10 sizes tried",
                    "accepts H: 8..16 step 4 (multiples of 4)", "H=9: raised in forward code after up")


def test_a_failure_on_meta_is_remembered_for_what_reaches_forward_only(project: pytest.Pytester) -> None:
    write_spec(project, """
        reads:
          model: models.py:PixelValues
          forward_kwargs: {pixel_values: [1, 3, 8, 8], check_mask: true}
          expect: {output: [1, 8, 6, 6]}
        plain:
          model: models.py:PixelValues
          forward_kwargs: {pixel_values: [1, 3, 8, 8]}
          expect: {output: [1, 8, 6, 6]}
        """)
    result = project.runpytest("-v", "-p", "no:randomly")
    result.assert_outcomes(passed=2)
    out = result.stdout.str()
    # The fallback names the line that read a value, so a reader can tell whose it is.
    assert_in_order(out, "arch.cnncheck.yaml::reads PASSED",
                    "on cpu (fallback)", "arch.cnncheck.yaml::plain PASSED", "on meta")
    verbose = project.runpytest("-vv", "-k", "reads").stdout.str()
    assert "the forward pass failed on meta (" in verbose
    assert "at models.py:" in verbose and "if check_mask and bool((pixel_values > 0).all()):" in verbose


def test_a_misspelt_argument_gets_did_you_mean_and_a_short_signature(project: pytest.Pytester) -> None:
    write_spec(project, """
        typo:
          model: models.py:MonaiStyle
          kwargs: {spatial_dim: 2}
          input_size: [1, 3, 8, 8]
        """)
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "got an unexpected keyword argument 'spatial_dim'. Did you mean 'spatial_dims' for 'spatial_dim'?" in out
    assert "(it takes: spatial_dims=2, in_channels=3, out_channels=8, kernel_size=3, act='relu'," in out
    write_spec(project, """
        long:
          model: models.py:swin_style
          kwargs: {feature_sizes: 48}
          input_size: [1, 3, 8, 8]
        """)
    out = project.runpytest().stdout.str()
    assert ("got an unexpected keyword argument 'feature_sizes'. Did you mean 'feature_size' for 'feature_sizes'? "
            "(it takes: img_size, in_channels, out_channels, depths, num_heads, feature_size, norm_name, drop_rate, "
            "attn_drop_rate, dropout_path_rate, normalize, use_checkpoint and 3 more).") in out


def test_a_build_that_reads_values_says_what_the_user_can_do(project: pytest.Pytester) -> None:
    write_spec(project, """
        calibrated:
          model: models.py:Calibrated
          input_size: [1, 4]
          expect: {output: [1, 2]}
        """)
    result = project.runpytest("-v")
    result.assert_outcomes(passed=1)
    assert "`device: cpu` in its spec runs it there without trying meta first" in \
        project.runpytest("-vv").stdout.str()
