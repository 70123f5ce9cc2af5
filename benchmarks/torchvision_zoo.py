"""torchvision's whole zoo, as a user runs it: `cnncheck init` writes a spec for every
model (classification, segmentation, detection, video, optical flow, quantized), then one
pytest run checks them all. It reports, per model, whether init succeeded, whether the
spec passed, the device it ran on (meta, or the CPU with the fallback's reason), the time,
and the process's peak memory.

torchvision has no build beside the torch 2.13.0 the project's tests use, so this runs in
an environment of its own, not in CI (the same one as benchmarks/zoo.py):

    python3 -m venv /tmp/zoo && /tmp/zoo/bin/python -m pip install torch==2.14.1 torchvision==0.29.1
    /tmp/zoo/bin/python -m pip install torchinfo pytest pyyaml && /tmp/zoo/bin/python -m pip install --no-deps -e .
    /tmp/zoo/bin/python benchmarks/torchvision_zoo.py [--models a,b] [--keep FOLDER] [--peak regnet_y_128gf]

No weights are downloaded: every builder gets `weights=None` (and `weights_backbone=None`
where it takes one).
"""

from __future__ import annotations

import argparse
import inspect
import json
import resource
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

# What each family takes: its module, its input as `cnncheck init --input-size` writes it,
# and kwargs beyond weights=None.
FAMILIES = {
    "classification": ("torchvision.models", ["1,3,224,224"], {}),
    "segmentation": ("torchvision.models.segmentation", ["1,3,224,224"], {}),
    # A list of one 3-D image, as detectors take it.
    "detection": ("torchvision.models.detection", ["[[[3, 320, 320]]]"], {}),
    "video": ("torchvision.models.video", ["1,3,16,112,112"], {}),
    "optical_flow": ("torchvision.models.optical_flow", ["1,3,128,128", "1,3,128,128"], {}),
    "quantization": ("torchvision.models.quantization", ["1,3,224,224"], {"quantize": True}),
}
# Models whose own input size differs from their family's.
SIZES = {"inception_v3": ["1,3,299,299"], "mvit_v1_b": ["1,3,16,224,224"],
         "mvit_v2_s": ["1,3,16,224,224"], "s3d": ["1,3,16,224,224"], "swin3d_t": ["1,3,16,224,224"],
         "swin3d_s": ["1,3,16,224,224"], "swin3d_b": ["1,3,16,224,224"],
         "googlenet": ["1,3,224,224"]}
FORWARD_KWARGS = {"raft_small": {"num_flow_updates": 4}, "raft_large": {"num_flow_updates": 4}}


def _models(only: set[str] | None) -> list[tuple[str, str, list[str], dict[str, object]]]:
    import torchvision.models as tv

    found = []
    for family, (module, size, extra) in FAMILIES.items():
        names = tv.list_models(module=__import__(module, fromlist=["_"]))
        for name in sorted(names):
            if only and name not in only and f"{family}.{name}" not in only:
                continue
            builder = tv.get_model_builder(name)
            kwargs: dict[str, object] = {"weights": None, **extra}
            if "weights_backbone" in inspect.signature(builder).parameters:
                kwargs["weights_backbone"] = None
            # The builder's own module: the registry's name (quantized_googlenet) is no attribute.
            target = f"{builder.__module__}:{builder.__name__}"
            found.append((family, target, SIZES.get(f"{family}.{name}", SIZES.get(name, size)), kwargs))
    return found


def _init(folder: Path, family: str, target: str, sizes: list[str], kwargs: dict[str, object]) -> tuple[str, str]:
    name = target.split(":")[1]
    spec = folder / f"{family}_{name}.cnncheck.yaml"
    command = [sys.executable, "-m", "pytest_cnncheck", "init", target, "--kwargs", json.dumps(kwargs),
               "--name", f"{family}_{name}", "--layers", "leaf", "-o", str(spec), "--force"]
    for size in sizes:
        command += ["--input-size", size]
    if name in FORWARD_KWARGS:
        command += ["--forward-kwargs", json.dumps(FORWARD_KWARGS[name])]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=folder)
    said = (done.stderr.strip().splitlines() or [""])[-1]
    return ("ok" if done.returncode == 0 else f"exit {done.returncode}"), said


def _peak(target: str, sizes: list[str], kwargs: dict[str, object]) -> tuple[float, float]:
    """One model's spec run alone: (seconds, peak MiB of that pytest process)."""
    folder = Path(tempfile.mkdtemp(prefix="cnncheck-peak-"))
    _init(folder, "peak", target, sizes, kwargs)
    start = time.perf_counter()
    # The process's own peak (RUSAGE_CHILDREN would be the largest child's so far).
    done = subprocess.run([sys.executable, "-c", PEAK], cwd=folder, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, float(done.stdout.strip().splitlines()[-1]) / 1024


PEAK = """
import resource, pytest
pytest.main(["-q", "-p", "no:cacheprovider"])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", help="comma-separated names (family.name where two families share one)")
    parser.add_argument("--keep", metavar="FOLDER", help="write the specs and the report into FOLDER")
    parser.add_argument("--peak", metavar="NAME", help="also run this model's spec alone and give its peak memory")
    args = parser.parse_args()
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="cnncheck-tv-"))
    folder.mkdir(parents=True, exist_ok=True)
    models = _models(set(args.models.split(",")) if args.models else None)

    start = time.perf_counter()
    inits = {f"{family}_{target.split(':')[1]}": _init(folder, family, target, sizes, kwargs)
             for family, target, sizes, kwargs in models}
    init_wall = time.perf_counter() - start

    report, junit = folder / "report.json", folder / "junit.xml"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--cnncheck-report={report}",
                    f"--junitxml={junit}", "-o", "junit_duration_report=call"],
                   cwd=folder, capture_output=True, check=False)
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    specs = {spec["name"]: spec for spec in json.loads(report.read_text())["specs"]} if report.exists() else {}
    times = {case.get("name", ""): float(case.get("time", "nan"))
             for case in ET.parse(junit).getroot().iter("testcase")} if junit.exists() else {}

    import torch
    import torchvision

    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}; {len(models)} models; "
          f"init {init_wall:.1f} s in all; one pytest run over the specs: {wall:.1f} s wall; "
          f"peak of any one process {peak:,.0f} MiB")
    print()
    print("| family | model | init | spec | device | item | fallback |")
    print("| --- | --- | --- | --- | --- | ---: | --- |")
    counts = {"init": 0, "passed": 0, "meta": 0}
    for family, target, _, _ in models:
        name = f"{family}_{target.split(':')[1]}"
        init, said = inits[name]
        spec = specs.get(name, {})
        outcome, device = spec.get("status", "-"), spec.get("device") or "-"
        counts["init"] += init == "ok"
        counts["passed"] += outcome == "passed"
        counts["meta"] += device == "meta"
        seconds = times.get(name)
        fallback = spec.get("fallback") or (said if init != "ok" else "")
        print(f"| {family} | {target.split(':')[1]} | {init} | {outcome} | {device} | "
              f"{f'{seconds:.2f} s' if isinstance(seconds, (int, float)) else '-'} | {fallback[:160]} |")
    print()
    print(f"init ok {counts['init']}/{len(models)}, passed {counts['passed']}/{len(models)}, "
          f"on meta {counts['meta']}/{len(models)}")
    if args.peak:
        chosen = [m for m in models if m[1].endswith(f":{args.peak}")][0]
        seconds, mib = _peak(chosen[1], chosen[2], chosen[3])
        print(f"{args.peak} alone: pytest {seconds:.1f} s, peak {mib:,.0f} MiB")


if __name__ == "__main__":
    main()
