"""Models that compute with values on meta: numbers made in __init__, CPU tensors made
on purpose, and ops whose output size depends on the data (nonzero, masks, unique)."""

from __future__ import annotations

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
