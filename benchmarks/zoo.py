"""The zoo benchmark: real model definitions (timm, segmentation-models-pytorch), one spec
each at its default input size, run as users run pytest; each item's time against the
model's plain CPU build + forward pass and against torchinfo's build + summary.

timm needs torchvision, which has no build beside the torch 2.13.0 the project's tests
use, so this runs in an environment of its own, not in CI:

    python3 -m venv /tmp/zoo && /tmp/zoo/bin/python -m pip install torch==2.14.1 torchvision==0.29.1
    /tmp/zoo/bin/python -m pip install timm segmentation-models-pytorch torchinfo pytest pyyaml
    /tmp/zoo/bin/python -m pip install --no-deps -e .
    /tmp/zoo/bin/python benchmarks/zoo.py [--models a,b,c] [--repeat 3] [--init]

It writes a spec file per model into a scratch folder, runs `pytest -p no:cacheprovider`
there once (the item times come from a JUnit XML report), then times the plain CPU build
+ forward and torchinfo in fresh processes, and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

# A spread of families at their default input sizes: classic, residual, mobile (SE blocks,
# depthwise convs, hard-swish), dense, multi-branch, and segmentation encoders-decoders.
TIMM = [
    "resnet18", "resnet50", "resnet101", "wide_resnet50_2", "resnext50_32x4d", "seresnet50", "res2net50_26w_4s",
    "resnest14d", "skresnet18", "densenet121", "vgg11", "vgg16_bn", "inception_v3", "xception41", "dla34",
    "dpn68", "cspresnet50", "cspdarknet53", "darknet53", "hrnet_w18_small", "regnetx_002", "regnety_002",
    "regnety_004", "regnety_016", "efficientnet_b0", "efficientnet_b3", "efficientnet_lite0", "tf_efficientnet_b0",
    "mobilenetv2_100", "mobilenetv3_small_100", "mobilenetv3_large_100", "mnasnet_100", "fbnetc_100",
    "spnasnet_100", "ghostnet_100", "mixnet_s", "rexnet_100", "lcnet_050", "tinynet_e", "hardcorenas_a",
    "semnasnet_100", "convnext_atto", "convnext_tiny", "ese_vovnet19b_dw", "selecsls42b", "gernet_s",
    "repvgg_a0", "nf_resnet26", "resnet26d", "efficientnetv2_rw_t",
]
SMP = [("Unet", "resnet34"), ("FPN", "resnet34"), ("DeepLabV3", "resnet34"), ("Unet", "efficientnet-b0"),
       ("Linknet", "resnet18"), ("PSPNet", "resnet34")]

FACTORIES = '''
import timm
import segmentation_models_pytorch as smp


def timm_model(name):
    return timm.create_model(name, pretrained=False)


def smp_model(arch, encoder):
    return getattr(smp, arch)(encoder_name=encoder, encoder_weights=None, classes=2)
'''


def _timm_size(name: str) -> tuple[int, ...]:
    """The model's default input size, from its pretrained config (no model built)."""
    from timm.models import get_pretrained_cfg

    config = get_pretrained_cfg(name)
    return (1, *(config.input_size if config is not None else (3, 224, 224)))


def _specs(models: list[str]) -> dict[str, dict[str, object]]:
    specs: dict[str, dict[str, object]] = {}
    for name in models:
        if ":" in name:
            arch, encoder = name.split(":")
            specs[f"smp_{arch}_{encoder}".replace("-", "_")] = {
                "model": "factories.py:smp_model", "kwargs": {"arch": arch, "encoder": encoder},
                "input_size": [1, 3, 256, 256]}
        else:
            specs[name] = {"model": "factories.py:timm_model", "kwargs": {"name": name},
                           "input_size": list(_timm_size(name))}
    return specs


TIMER = '''
import sys, time, json
sys.path.insert(0, {folder!r})
t0 = time.perf_counter()
import torch, factories
torch.set_grad_enabled(False)
spec = json.loads({spec!r})
imported = time.perf_counter()
kind = {kind!r}
times = []
for _ in range({repeat}):
    start = time.perf_counter()
    model = getattr(factories, spec["model"].split(":")[1])(**spec["kwargs"]).eval()
    x = torch.zeros(spec["input_size"])
    if kind == "cpu":
        model(x)
    else:
        import torchinfo
        torchinfo.summary(model, input_data=[x], verbose=0, device="cpu")
    times.append(time.perf_counter() - start)
print(json.dumps(min(times)))
'''


def _timed(folder: Path, spec: dict[str, object], kind: str, repeat: int) -> float:
    code = TIMER.format(folder=str(folder), spec=json.dumps(spec), kind=kind, repeat=repeat)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                          env={**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2")})
    if done.returncode:
        return float("nan")
    return float(json.loads(done.stdout.strip().splitlines()[-1]))


def _items(folder: Path, extra: list[str]) -> tuple[dict[str, float], float, dict[str, str]]:
    """One pytest run over every spec, as a user runs it; each item's time and outcome."""
    report = folder / "junit.xml"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}",
                    "-o", "junit_duration_report=call", *extra], cwd=folder, capture_output=True, check=False)
    wall = time.perf_counter() - start
    times, outcomes = {}, {}
    for case in ET.parse(report).getroot().iter("testcase"):
        name = case.get("name", "")
        times[name] = float(case.get("time", "nan"))
        outcomes[name] = "failed" if case.find("failure") is not None or case.find("error") is not None else \
            "skipped" if case.find("skipped") is not None else "passed"
    return times, wall, outcomes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", help="comma-separated timm names (arch:encoder for smp)")
    parser.add_argument("--repeat", type=int, default=3, help="CPU and torchinfo timings: the best of N")
    parser.add_argument("--pytest-args", default="", help="more pytest arguments, e.g. '-v' or '-n 2'")
    parser.add_argument("--skip-baselines", action="store_true")
    parser.add_argument("--init", action="store_true",
                        help="check the spec `cnncheck init` writes for each model, not a run-only one")
    parser.add_argument("--keep", metavar="FOLDER", help="write the specs (and reports) into FOLDER and keep it")
    args = parser.parse_args()
    models = args.models.split(",") if args.models else TIMM + [f"{a}:{e}" for a, e in SMP]
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="cnncheck-zoo-"))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "factories.py").write_text(FACTORIES)
    # timm and smp are imported at collection, as a project's conftest would: the first
    # item then measures its model, not the libraries' import.
    (folder / "conftest.py").write_text("import factories  # noqa: F401\n")
    specs = _specs(models)
    import yaml

    inits: dict[str, str] = {}
    for name, spec in specs.items():
        target = folder / f"{name}.cnncheck.yaml"
        if args.init:  # the spec `cnncheck init` writes, every layer's output stated
            done = subprocess.run([sys.executable, "-m", "pytest_cnncheck", "init", str(spec["model"]),
                                   "--kwargs", json.dumps(spec["kwargs"]), "--input-size",
                                   ",".join(str(d) for d in spec["input_size"]),  # type: ignore[attr-defined]
                                   "--name", name, "-o", str(target), "--force"],
                                  cwd=folder, capture_output=True, text=True, check=False)
            inits[name] = "ok" if done.returncode == 0 else f"failed: {done.stderr.strip().splitlines()[-1:]}"
        else:
            target.write_text(yaml.safe_dump({name: {**spec, "expect": {}}}))
    times, wall, outcomes = _items(folder, args.pytest_args.split())
    if args.init:
        print(f"init: {sum(v == 'ok' for v in inits.values())}/{len(inits)} wrote a spec; "
              + "; ".join(f"{k}: {v}" for k, v in inits.items() if v != "ok"))
    import platform

    import torch

    print(f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, torch {torch.__version__}; "
          f"{len(specs)} specs, one pytest run: {wall:.1f} s wall, items {sum(times.values()):.2f} s in all")
    print()
    print("| model | input | item | CPU build + forward | ratio | torchinfo build + summary | outcome |")
    print("| --- | --- | ---: | ---: | ---: | ---: | --- |")
    rows = []
    for name, spec in specs.items():
        item = times.get(name, float("nan"))
        cpu = float("nan") if args.skip_baselines else _timed(folder, spec, "cpu", args.repeat)
        info = float("nan") if args.skip_baselines else _timed(folder, spec, "torchinfo", args.repeat)
        rows.append((name, item, cpu, info))
        size = "x".join(str(d) for d in spec["input_size"][2:])  # type: ignore[index]
        print(f"| {name} | {size} | {item:.3f} s | {cpu:.3f} s | {item / cpu:.2f}x | {info:.3f} s | "
              f"{outcomes.get(name, '?')} |", flush=True)
    items = [r[1] for r in rows]
    ratios = [r[1] / r[2] for r in rows if r[2] == r[2] and r[2] > 0]
    print()
    print(f"items: median {statistics.median(items):.3f} s, p90 {statistics.quantiles(items, n=10)[-1]:.3f} s, "
          f"max {max(items):.3f} s; item / CPU: median {statistics.median(ratios) if ratios else float('nan'):.2f}x, "
          f"max {max(ratios) if ratios else float('nan'):.2f}x; over 1.25x: "
          f"{', '.join(r[0] for r in rows if r[2] and r[1] / r[2] > 1.25) or 'none'}")


if __name__ == "__main__":
    main()
