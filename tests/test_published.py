"""Classic CNNs against their published parameter counts, through specs as a user writes them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import run

MODELS = Path(__file__).resolve().parent / "models" / "classic.py"


def test_published_counts_shapes_and_rules(pytester: pytest.Pytester) -> None:
    shutil.copy(MODELS, pytester.path / "classic.py")
    result, out = run(pytester, """
        alexnet:
          model: classic.py:alexnet
          input_size: [1, 3, 224, 224]
          expect:
            output: [1, 1000]
            params: 61_100_840
            layers:
              features.2: {output: [1, 64, 27, 27]}      # (55 - 3) / 2 + 1
              avgpool: {output: [1, 256, 6, 6]}
            flatten: {classifier.1: 256*6*6}
          rules: {pooling: true}
        squeezenet1_1:
          model: classic.py:squeezenet1_1
          input_size: [1, 3, 224, 224]
          expect:
            output: [1, 1000]
            params: 1_235_496
            layers:
              "0.2": {output: [1, 64, 55, 55]}          # (111 - 3) / 2 + 1
              "0.3": {output: [1, 128, 55, 55]}
          rules: {pooling: true}
        mobilenet_v2:
          model: classic.py:mobilenet_v2
          input_size: [2, 3, 224, 224]
          mode: train
          expect:
            output: [2, 1000]
            params: {total: 3_504_872, trainable: 3_504_872}
            layers:
              features.18: {output: [2, 1280, 7, 7]}
              features.2.conv.3: {params: 96 * 3*3}      # depthwise: one 3x3 filter per channel
            flatten: {classifier.1: 1280}
    """, "-v")
    result.assert_outcomes(passed=3)
    assert "ran on the CPU" not in out  # all three run on meta


def test_squeezenet_ceil_mode_is_explained(pytester: pytest.Pytester) -> None:
    shutil.copy(MODELS, pytester.path / "classic.py")
    _, out = run(pytester, """
        squeezenet1_1:
          model: classic.py:squeezenet1_1
          input_size: [1, 3, 225, 225]
          expect:
            layers:
              "0.2": {output: [1, 64, 55, 55]}
    """)
    assert "H: (112 - 3 + 2*0) / 2 + 1 = 55.5, rounded up to 56 (ceil_mode=True)" in out
