"""mult-adds on real models (timm): cnncheck's count against torch's FlopCounterMode halved
with attention made explicit, and what counting costs an item.

timm needs torchvision, which has no build beside the torch 2.13.0 of the tests; run it in
the zoo's environment (see benchmarks/zoo.py):

    /tmp/zoo/bin/python benchmarks/mult_adds.py [--models maxvit_pico_rw_256:256,resnet18:224]

For each model: the spec item's work (build on meta, the recorded pass, the checks) without
and with `expect.mult_adds`, the fastest of 7 turns each, interleaved; then the count, and
FlopCounterMode's on the CPU with `timm.layers.set_fused_attn(False)`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

MODELS = "maxvit_pico_rw_256:256,mobilevit_xxs:256,coatnet_nano_rw_224:224,resnet18:224,efficientnet_b0:224"


def main() -> None:
    import timm
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from pytest_cnncheck.check.compare import check
    from pytest_cnncheck.probe import probe
    from pytest_cnncheck.spec import parse_text

    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default=MODELS)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    (folder / "factories.py").write_text("import timm\n\n\ndef make(name):\n"
                                         "    return timm.create_model(name, pretrained=False)\n")

    def spec(name: str, size: int, counted: bool) -> object:
        text = (f"s:\n  model: factories.py:make\n  kwargs: {{name: {name}}}\n  input_size: [1, 3, {size}, {size}]\n"
                + ("  expect: {mult_adds: {max: 1T}}\n" if counted else ""))
        return parse_text(folder / "x.cnncheck.yaml", text).entries[0][2]

    print("| model | item | with `expect.mult_adds` | ratio | cnncheck | FlopCounterMode / 2 | equal |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for entry in args.models.split(","):
        name, size = entry.split(":")
        plain, counted = spec(name, int(size), False), spec(name, int(size), True)
        runs = {"plain": lambda: check(plain, probe(plain, folder)),  # type: ignore[arg-type]
                "counted": lambda: check(counted, probe(counted, folder))}  # type: ignore[arg-type]
        best = {key: float("inf") for key in runs}
        for run in runs.values():
            run()
        for _ in range(7):
            for key, run in runs.items():
                start = time.perf_counter()
                run()
                best[key] = min(best[key], time.perf_counter() - start)
        compute = probe(counted, folder).compute  # type: ignore[arg-type]
        timm.layers.set_fused_attn(False)
        model = timm.create_model(name, pretrained=False).eval()
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(torch.zeros(1, 3, int(size), int(size)))
        timm.layers.set_fused_attn(True)
        reference = counter.get_total_flops() // 2
        assert compute is not None
        print(f"| {name}, {size}x{size} | {best['plain'] * 1000:.1f} ms | {best['counted'] * 1000:.1f} ms | "
              f"**{best['counted'] / best['plain']:.2f}x** | {compute.mult_adds:,} | {reference:,} | "
              f"{'yes' if compute.mult_adds == reference and compute.complete else 'NO'} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
