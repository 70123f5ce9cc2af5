"""`expect.mult_adds`: every multiply-accumulate of the forward pass, counted in the one
recorded pass; equal to torch's FlopCounterMode halved where it sees the ops, to hand counts
where it does not (fused attention), and partial, by name, where no formula applies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import assert_in_order, run

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "tests" / "models" / "compute.py"


def counted(model: str, sizes: tuple[tuple[int, ...], ...], device: str) -> tuple[int, tuple[tuple[str, int], ...]]:
    from pytest_cnncheck.probe import probe
    from pytest_cnncheck.spec import Spec

    spec = Spec(name="x", path=MODELS.parent / "x.cnncheck.yaml", line=1, model=f"compute.py:{model}",
                model_line=1, input_sizes=sizes, input_line=1, dtypes=("float32",) * len(sizes), device=device)
    trace = probe(spec, ROOT, count=True)
    assert trace.crash is None and trace.compute is not None, trace.crash
    return trace.compute.mult_adds, trace.compute.uncounted


def flop_counter_halved(model: str, sizes: tuple[tuple[int, ...], ...]) -> int:
    import importlib.util

    import torch
    from torch.utils.flop_counter import FlopCounterMode

    found = importlib.util.spec_from_file_location("compute_models", MODELS)
    assert found is not None and found.loader is not None
    module = importlib.util.module_from_spec(found)
    found.loader.exec_module(module)
    built = getattr(module, model)().eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        built(*[torch.zeros(size) for size in sizes])
    return int(counter.get_total_flops()) // 2


@pytest.mark.parametrize(("model", "sizes"), [
    ("Convs", ((2, 4, 6, 12),)),               # conv 1d, 2d grouped and dilated, 3d, transposed 1d and 2d
    ("Products", ((2, 5, 16),)),               # Linear on tokens, mm, addmm, bmm, baddbmm, einsum, matmul, F.linear
    ("ExplicitAttention", ((2, 10, 32),)),     # attention as q @ k^T and @ v
])
def test_each_op_family_equals_torchs_flop_counter(model: str, sizes: tuple[tuple[int, ...], ...]) -> None:
    expected = flop_counter_halved(model, sizes)
    assert expected > 0
    for device in ("meta", "cpu"):
        assert counted(model, sizes, device) == (expected, ()), device


def test_fused_attention_and_multihead_equal_hand_counts() -> None:
    # SDPA, B x H_q x L x S x (E + E_v): with a mask and grouped-query attention (8 query
    # heads over 2), 2*8*10*6*32 = 30,720; causal, computed in full as torch does,
    # 2*8*10*10*32 = 51,200. On the CPU torch runs a fused kernel FlopCounterMode has no
    # formula for; the count is the same on meta and the CPU.
    sizes = ((2, 8, 10, 16), (2, 2, 6, 16))
    for device in ("meta", "cpu"):
        assert counted("FusedAttention", sizes, device) == (30_720 + 51_200, ()), device
    # MultiheadAttention, E = 32 over 4 heads: the q, k, v and output projections, E*E per
    # row, and the attention, rows x keys x 2E. Self-attention, 20 rows of 10 tokens:
    # 32*32*(20+20+20+20) + 2*10*10*64 = 94,720; cross-attention to 6 tokens:
    # 32*32*(20+12+12+20) + 2*10*6*64 = 73,216. The CPU takes its fused path in eval.
    for device in ("meta", "cpu"):
        assert counted("Multihead", ((2, 10, 32), (2, 6, 32)), device) == (94_720 + 73_216, ()), device


HYBRID = """
    hybrid:
      model: compute.py:Hybrid
      input_size: [2, 3, 16, 16]
      expect:
        mult_adds: 3388032
"""


def test_a_hybrid_model_is_counted_end_to_end(pytester: pytest.Pytester) -> None:
    # By hand, batch 2, 64 tokens of 32: the conv 2*8*8*32*27 = 110,592; the explicit
    # attention 128*32*96 + 2*(2*4*64*64*8) + 128*32*32 = 1,048,576; MultiheadAttention
    # 32*32*512 + 2*64*64*64 = 1,048,576; the einsum 128*32*32 = 131,072; SDPA
    # 2*4*64*64*16 = 524,288; bmm and @, 2 * 2*64*64*32 = 524,288; the head 2*32*10 = 640.
    pytester.path.joinpath("compute.py").write_text(MODELS.read_text())
    result, out = run(pytester, HYBRID, "-v", "--cnncheck-report", "r.json")
    result.assert_outcomes(passed=1)
    assert "mult-adds 3.39M (complete)" in out
    row = json.loads(pytester.path.joinpath("r.json").read_text())["specs"][0]
    assert row["mult_adds"] == 3_388_032 and row["mult_adds_uncounted"] == {}
    for device in ("meta", "cpu"):
        result, _ = run(pytester, HYBRID + f"      device: {device}\n")
        result.assert_outcomes(passed=1)


def test_an_op_without_a_formula_makes_the_count_partial_and_says_so(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("compute.py").write_text(MODELS.read_text())
    spec = """
        custom:
          model: compute.py:CustomOp
          input_size: [3, 8]
          expect:
            mult_adds: {max: 100}
    """
    result, out = run(pytester, spec, "-v", "--cnncheck-report", "r.json")
    result.assert_outcomes(failed=1)
    assert_in_order(out, "expect.mult_adds",
                    "counted: every multiply-accumulate of the forward pass, for the batch as given "
                    "(partial: cnncheck_test::mix ×1 not counted)",
                    "92 mult-adds over the bound: 192 is 92.0% above 100",
                    "the count is partial: the ops named above ran and were not counted, so the model "
                    "does more than this")
    row = json.loads(pytester.path.joinpath("r.json").read_text())["specs"][0]
    assert row["mult_adds"] == 192 and row["mult_adds_uncounted"] == {"cnncheck_test::mix": 1}
