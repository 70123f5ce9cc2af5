"""Models that compute with values on meta: numbers made in __init__, CPU tensors made
on purpose, and ops whose output size depends on the data (nonzero, masks, unique)."""

from __future__ import annotations

import json

import pytest

from conftest import assert_in_order, run
from pytest_cnncheck.cli import main

MODELS = """
    import torch
    from torch import nn

    class Widths(nn.Module):
        '''Widths computed with tensors in __init__ and read back with .tolist(), as
        torchvision's RegNet does.'''

        def __init__(self, depth=3):
            super().__init__()
            widths = (torch.round(torch.arange(depth) * 8.0 + 8) // 8 * 8).int().tolist()
            self.convs = nn.Sequential(*[nn.Conv2d(a, b, 3, padding=1)
                                         for a, b in zip([3] + widths[:-1], widths)])

        def forward(self, x):
            return self.convs(x)

    class Anchors(nn.Module):
        '''Anchor sizes kept as a CPU tensor (device="cpu" written out), joined in forward
        with a grid made on the default device, as torchvision's SSD does.'''

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, stride=2)
            self.sizes = torch.as_tensor([[0.1, 0.2], [0.3, 0.4]], device="cpu")

        def forward(self, x):
            x = self.conv(x)
            h, w = x.shape[-2:]
            shifts = torch.arange(h * w, dtype=torch.float32).repeat_interleave(2).reshape(-1, 1)
            sizes = self.sizes.repeat(h * w, 1)
            return torch.cat([shifts, sizes], dim=1), x

    class Detector(nn.Module):
        '''Keeps the positions whose score clears a threshold: how many depends on the values.
        On zeros, sigmoid(0) = 0.5 clears nothing.'''

        def __init__(self):
            super().__init__()
            self.score = nn.Conv2d(3, 1, 3, padding=1, bias=False)
            self.box = nn.Conv2d(3, 4, 3, padding=1)
            self.head = nn.Linear(4, 2)

        def forward(self, x):
            scores = torch.sigmoid(self.score(x)).flatten()
            boxes = self.box(x).permute(0, 2, 3, 1).reshape(-1, 4)
            keep = torch.nonzero(scores > 0.5).squeeze(1)
            kept = boxes[keep]
            masked = boxes[scores > 0.5]
            return {"boxes": kept, "labels": self.head(masked), "classes": torch.unique(keep)}
"""


@pytest.fixture
def models(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(models=MODELS)
    return pytester


def test_numbers_made_in_init_and_cpu_tensors_run_on_meta(models: pytest.Pytester) -> None:
    result, out = run(models, """
        widths:
          model: models.py:Widths
          input_size: [1, 3, 8, 8]
          expect: {output: [1, 24, 8, 8], layers: {convs.2: {params: 3480}}}
        anchors:
          model: models.py:Anchors
          input_size: [1, 3, 9, 9]
          expect: {output: [[32, 3], [1, 4, 4, 4]]}
        """, "-v")
    result.assert_outcomes(passed=2)
    assert out.count("on meta") == 2 and "ran on the CPU" not in out


def test_data_dependent_sizes_select_nothing_on_meta_as_zeros_do_on_the_cpu(models: pytest.Pytester) -> None:
    spec = """
        detector:
          model: models.py:Detector
          input_size: [1, 3, 4, 4]
          expect:
            output: {boxes: [0, 4], labels: [0, 2], classes: [0]}
            layers: {box: {output: [1, 4, 4, 4]}, head: {output: [0, 2]}}
        """
    result, out = run(models, spec, "-v")
    result.assert_outcomes(passed=1)
    assert "on meta" in out and "ran on the CPU" not in out
    result = models.runpytest("-v", "-o", "cnncheck_device=cpu")
    result.assert_outcomes(passed=1)
    assert "on cpu" in result.stdout.str()


def test_a_data_dependent_size_that_is_wrong_fails_with_the_usual_diff(models: pytest.Pytester) -> None:
    result, out = run(models, """
        detector:
          model: models.py:Detector
          input_size: [1, 3, 4, 4]
          expect: {output: {boxes: [0, 5], labels: [_, 2], classes: [_]}}
        """)
    result.assert_outcomes(failed=1)
    assert_in_order(out, "expect.output", "boxes", "[0, 5]", "[0, 4]")


def test_init_writes_underscore_for_sizes_that_depend_on_values(models: pytest.Pytester,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "models.py:Detector", "--input-size", "1,3,4,4", "-o", "detector.cnncheck.yaml"]) == 0
    text = (models.path / "detector.cnncheck.yaml").read_text()
    assert "output: {boxes: [_, 4], labels: [_, 2], classes: [_]}" in text
    assert "box: {output: [1, 4, 4, 4], params: 112}" in text  # before the selection: known
    assert "head: {output: [_, 2], params: 10}" in text
    result = models.runpytest("-v")
    result.assert_outcomes(passed=1)
    result = models.runpytest("-v", "-o", "cnncheck_device=cpu")
    result.assert_outcomes(passed=1)


INPUTS = """
    import torch
    from torch import nn

    class ListDetector(nn.Module):
        '''forward(images: list[Tensor], targets=None), as torchvision's detectors take them;
        in training, targets give each image's boxes and labels.'''

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)

        def forward(self, images, targets=None):
            features = [self.conv(image[None]) for image in images]
            if self.training:
                assert targets is not None and targets[0]["labels"].dtype == torch.int64
                return {"loss": torch.stack([f.mean() for f in features]) + targets[0]["boxes"].sum()}
            return [f.flatten(1) for f in features]

    class Flow(nn.Module):
        '''forward(image1, image2, num_flow_updates=12): one flow per update, as RAFT's.'''

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(6, 2, 3, padding=1)

        def forward(self, image1, image2, num_flow_updates=12, scale=None):
            flow = self.conv(torch.cat([image1, image2], 1))
            return [flow * scale.sum() if scale is not None else flow for _ in range(num_flow_updates)]
"""


def test_a_list_argument_targets_in_training_and_forward_kwargs(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(models=INPUTS)
    result, out = run(pytester, """
        images:
          model: models.py:ListDetector
          input_size: [[[3, 32, 32], [3, 16, 16]]]
          expect: {output: [[1, 2048], [1, 512]]}
        training:
          model: models.py:ListDetector
          input_size: [[[3, 32, 32]], [{boxes: [0, 4], labels: {size: [0], dtype: int64}}]]
          mode: train
          expect: {output: {loss: [1]}}
        flow:
          model: models.py:Flow
          input_size: [[1, 3, 8, 8], [1, 3, 8, 8]]
          forward_kwargs: {num_flow_updates: 3, scale: {size: [2]}}
          expect: {output: [[1, 2, 8, 8], [1, 2, 8, 8], [1, 2, 8, 8]]}
        """, "-v")
    result.assert_outcomes(passed=3)
    assert out.count("on meta") == 3


def test_input_trees_are_checked_like_the_rest_of_a_spec(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(models=INPUTS)
    result, out = run(pytester, """
        bad:
          model: models.py:ListDetector
          input_size: [[[3, 32, _]], [{labels: {size: [0], dtype: int63}}]]
          forward_kwargs: [3]
        """)
    result.assert_outcomes(failed=1)
    assert "`input_size[0][0]` must give every dimension; `_` is for expectations only." in out
    assert "`dtype`: the text 'int63' is not a dtype cnncheck knows. Did you mean 'int64'?" in out
    assert "arch.cnncheck.yaml:5: `forward_kwargs` must be a mapping of forward's argument names" in out


def test_init_writes_list_arguments_and_forward_kwargs(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(models=INPUTS)
    assert main(["init", "models.py:Flow", "--input-size", "1,3,8,8", "--input-size", "1,3,8,8",
                 "--forward-kwargs", '{"num_flow_updates": 2}', "-o", "flow.cnncheck.yaml"]) == 0
    assert main(["init", "models.py:ListDetector", "--input-size", "[[[3, 16, 16]]]",
                 "-o", "det.cnncheck.yaml"]) == 0
    flow = (pytester.path / "flow.cnncheck.yaml").read_text()
    assert "input_size: [[1, 3, 8, 8], [1, 3, 8, 8]]\n  forward_kwargs: {num_flow_updates: 2}\n" in flow
    assert "output: [[1, 2, 8, 8], [1, 2, 8, 8]]" in flow
    det = (pytester.path / "det.cnncheck.yaml").read_text()
    assert "input_size: [[[3, 16, 16]]]\n" in det and "output: [[1, 512]]" in det
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=2)


QUANTIZED = """
    import torch
    from torch import nn
    import torch.ao.nn.quantized as nnq

    class Quantized(nn.Module):
        '''A converted quantized model: its Linear holds its weights packed, not as parameters.'''

        def __init__(self):
            super().__init__()
            self.quant = nnq.Quantize(scale=1.0, zero_point=0, dtype=torch.quint8)
            self.fc = nnq.Linear(4, 3)
            self.dequant = nnq.DeQuantize()

        def forward(self, x):
            return self.dequant(self.fc(self.quant(x)))
"""


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_quantized_layers_count_zero_params_and_say_what_they_hold_packed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(models=QUANTIZED)
    result, out = run(pytester, """
        quantized:
          model: models.py:Quantized
          input_size: [1, 4]
          expect: {output: [1, 3], params: 0}
        """, "-v", "--cnncheck-report=report.json", "-W", "ignore::UserWarning")
    result.assert_outcomes(passed=1)
    assert "params 0 (+ 15 packed in quantized layers)" in out  # 3*4 weights + 3 biases
    report = json.loads((pytester.path / "report.json").read_text())
    assert report["specs"][0]["params"] == {"total": 0, "trainable": 0, "packed": 15}


def test_a_fallback_cites_the_models_line_not_a_passing_wrapper(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(models="""
        import torch
        from torch import nn
        from typing_extensions import deprecated

        # A torch function behind typing_extensions' @deprecated, as torch.ao.quantization's are.
        read = deprecated("use Tensor.item")(torch.Tensor.__format__)

        class Calibrated(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 2)
                self.scale = read(self.fc.weight.sum(), ".2f")  # reads a value: impossible on meta

            def forward(self, x):
                return self.fc(x)
    """)
    result, out = run(pytester, """
        calibrated:
          model: models.py:Calibrated
          input_size: [1, 4]
          expect: {output: [1, 2]}
        """, "-W", "ignore::DeprecationWarning")
    result.assert_outcomes(passed=1)
    assert "at models.py:12: self.scale = read(self.fc.weight.sum(), \".2f\")" in out
    assert "typing_extensions" not in out
