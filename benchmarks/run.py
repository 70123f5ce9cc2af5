"""The benchmark behind docs/performance.md. Run from the repository root:

    python benchmarks/run.py            # everything (a few minutes on 2 cores)
    python benchmarks/run.py item meta  # some sections only

Every target is a ratio of two things measured side by side in the same run,
interleaved, so the numbers travel between machines better than seconds do:
in-process timings take the fastest of their runs, whole pytest runs the median.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT / "examples" / "models")]


def interleaved(runs: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """The fastest time of each function, run in turns so that the machine's drift hits
    all alike. The fastest, not the median, as timeit advises: on a shared 2-core runner
    other processes only ever add time, and a single-threaded run (meta) suffers from
    them more than one on every core (the CPU), so medians compare contention."""
    for run in runs.values():
        run()  # warm
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: min(values) for name, values in times.items()}


def wall(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(args, cwd=cwd, env={**os.environ, **(env or {})}, check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def alternate(commands: dict[str, list[str]], cwd: Path, repeat: int,
              env: dict[str, dict[str, str]] | None = None,
              pick: Callable[[list[float]], float] = statistics.median) -> dict[str, float]:
    """Median (or `pick`) wall time of each command, run in turns so that drift hits all
    alike, the order reversed every other round (the first of a round ran faster by a few %)."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for round_ in range(repeat):
        for name in list(commands)[::-1 if round_ % 2 else 1]:
            times[name].append(wall(commands[name], cwd, (env or {}).get(name)))
    return {name: pick(values) for name, values in times.items()}


def spec(model: str, size: tuple[int, ...], device: str | None, folder: Path = ROOT / "benchmarks"):
    from pytest_cnncheck.spec import Spec

    return Spec(name="bench", path=folder / "bench.cnncheck.yaml", line=1, model=model, model_line=1,
                input_sizes=(size,), input_line=1, device=device)


MODELS = {
    "tutorial Net, 32x32": ("../examples/models/lenet.py:Net", (1, 3, 32, 32)),
    "ResNet-50 shape, 224x224": ("models.py:resnet50", (1, 3, 224, 224)),
    "VGG-16 shape, 224x224": ("models.py:vgg16", (1, 3, 224, 224)),
}


PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]


def section_unused() -> None:
    print("\n## 1. No cost when unused\n")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder)
        for n in range(50):
            path.joinpath(f"test_{n}.py").write_text(
                "def test_a():\n    assert 1\n\ndef test_b():\n    assert 2\n")
        path.joinpath("test_torch.py").write_text(
            "import sys\n\ndef test_no_torch():\n    assert 'torch' not in sys.modules\n")
        base = PYTEST
        # The fastest of 21: what the plugin adds is milliseconds, and the machine's
        # noise on a 2-second run is a tenth of it either way.
        times = alternate({"with": base, "without": [*base, "-p", "no:cnncheck"]}, path, repeat=21,
                          pick=min)
    # What the plugin adds to a run: importing its entry point, after pytest.
    script = ("import time, pytest; start = time.perf_counter(); import pytest_cnncheck.plugin; "
              "print(time.perf_counter() - start)")
    plugin_ms = 1000 * min(float(subprocess.run([sys.executable, "-c", script], capture_output=True,
                                                text=True, check=True).stdout) for _ in range(5))
    ratio = times["with"] / times["without"]
    print("| pytest on 101 plain tests, no spec files | wall |")
    print("| --- | --- |")
    print(f"| plugin installed | {times['with']:.3f} s |")
    print(f"| `-p no:cnncheck` | {times['without']:.3f} s |")
    print(f"| ratio | **{ratio:.3f}** (target at most 1.03) |")
    print(f"| importing the plugin's entry point, after pytest (fastest of 5) | {plugin_ms:.1f} ms |")


def section_item() -> None:
    import torch
    import torchinfo

    from pytest_cnncheck.check.compare import check
    from pytest_cnncheck.probe import probe, resolve_model

    print("\n## 2. One spec item on the CPU, against the bare forward pass\n")
    print("| model | bare: build + `model(x)` | spec item on `cpu` | ratio (target at most 1.15) "
          "| `torchinfo.summary` alone | ratio |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, (target, size) in MODELS.items():
        cpu = spec(target, size, "cpu")
        factory = resolve_model(cpu, ROOT)

        def bare() -> None:
            model = factory()
            with torch.no_grad():
                model(torch.zeros(size))

        def item() -> None:
            check(cpu, probe(cpu, ROOT))

        def summary() -> None:
            torchinfo.summary(factory(), input_data=[torch.zeros(size)], device="cpu", verbose=0)
            torchinfo.torchinfo.clear_cached_forward_pass()

        times = interleaved({"bare": bare, "item": item, "summary": summary},
                            repeat=51 if "Net" in name else 9)
        print(f"| {name} | {times['bare'] * 1000:.1f} ms | {times['item'] * 1000:.1f} ms | "
              f"**{times['item'] / times['bare']:.2f}** | {times['summary'] * 1000:.1f} ms | "
              f"{times['summary'] / times['bare']:.2f} |")


def section_meta() -> None:
    from pytest_cnncheck.check.compare import check
    from pytest_cnncheck.probe import probe

    print("\n## 3. The meta device\n")
    target, size = MODELS["ResNet-50 shape, 224x224"]
    times = interleaved({
        "cpu": lambda: check(spec(target, size, "cpu"), probe(spec(target, size, "cpu"), ROOT)),
        "meta": lambda: check(spec(target, size, None), probe(spec(target, size, None), ROOT)),
    }, repeat=11)
    on_cpu, on_meta = times["cpu"], times["meta"]
    print("| ResNet-50-shaped spec item | time |")
    print("| --- | --- |")
    print(f"| on the CPU | {on_cpu * 1000:.1f} ms |")
    print(f"| on meta (the default) | {on_meta * 1000:.1f} ms |")
    print(f"| CPU / meta | **{on_cpu / on_meta:.1f}x** (target at least 10x) |")

    print("\nA CNN of 1.9 billion parameters (`benchmarks/models.py:giant_cnn`, 224x224), each in a "
          "fresh process:\n")
    script = textwrap.dedent(f"""
        import resource, sys, time
        sys.path[:0] = [{str(ROOT / 'benchmarks')!r}]
        import torch
        start = time.perf_counter()
        imported = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if sys.argv[1] == "spec":
            from pathlib import Path
            from pytest_cnncheck.check.compare import check
            from pytest_cnncheck.probe import probe
            from pytest_cnncheck.spec import Spec
            s = Spec(name="giant", path=Path({str(ROOT / 'benchmarks' / 'x.cnncheck.yaml')!r}),
                     line=1, model="models.py:giant_cnn", model_line=1,
                     input_sizes=((1, 3, 224, 224),), input_line=1)
            trace = probe(s, Path("."))
            assert trace.crash is None and trace.fallback is None, trace
            check(s, trace)
            print(trace.params_total, end=" ")
        print(time.perf_counter() - start, imported, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    """)
    runs = []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", script, "spec"], capture_output=True, text=True,
                             check=True).stdout.split()
        runs.append([float(v) for v in out])
    params, seconds, after_import, peak = (statistics.median(v) for v in zip(*runs))
    print("| the spec, after `import torch` | |")
    print("| --- | --- |")
    print(f"| parameters | {int(params):,} |")
    print(f"| wall time of the spec item (build on meta, forward, checks) | **{seconds:.2f} s** "
          "(target under 5 s) |")
    print(f"| peak RSS after `import torch` | {after_import / 1024:.0f} MiB |")
    print(f"| peak RSS at the end | {peak / 1024:.0f} MiB: **+{(peak - after_import) / 1024:.0f} MiB** "
          "(target within 300 MiB) |")


def section_fallback() -> None:
    from pytest_cnncheck import probe as probe_module
    from pytest_cnncheck.probe import probe

    print("\n## 4. The CPU fallback\n")
    reads = spec("models.py:ReadsValues", (1, 3, 64, 64), None)

    def first() -> None:
        probe_module._META_INCAPABLE.clear()
        probe(reads, ROOT)

    times = interleaved({
        "first": first,
        "again": lambda: probe(reads, ROOT),
        "direct": lambda: probe(spec("models.py:ReadsValues", (1, 3, 64, 64), "cpu"), ROOT),
    }, repeat=15)
    first_time, again, direct = times["first"], times["again"], times["direct"]
    print("| a model that reads a value in forward | time |")
    print("| --- | --- |")
    print(f"| `device: cpu` | {direct * 1000:.1f} ms |")
    print(f"| default, first spec of that class: meta attempt, then the CPU | {first_time * 1000:.1f} ms |")
    print(f"| default, later specs of that class (straight to the CPU) | {again * 1000:.1f} ms |")
    print(f"| the failed meta attempt costs | {(first_time - direct) * 1000:.1f} ms, once per class "
          "and kwargs |")


def _spec_tree(folder: Path, count: int, cpu: bool = False) -> None:
    models = folder / "models"
    models.mkdir()
    models.joinpath("nets.py").write_text((ROOT / "examples" / "models" / "resnet.py").read_text())
    batch, size, device = (4, 128, "\n  device: cpu") if cpu else (1, 64, "")
    for n in range(count):
        folder.joinpath(f"s{n:03}.cnncheck.yaml").write_text(textwrap.dedent(f"""\
            resnet_{n}:
              model: models/nets.py:ResNetSmall
              kwargs: {{num_classes: {10 + n}}}
              input_size: [{batch}, 3, {size}, {size}]
              expect:
                output: [{batch}, {10 + n}]
                layers:
                  stem: {{output: [{batch}, 64, {size // 4}, {size // 4}]}}
        """).replace("\n  expect:", f"{device}\n  expect:", 1))


# The scale-out runs load cnncheck and xdist and no other plugin, as a CI job that
# installs just these would: a development environment's plugins (hypothesis's
# rewrites its whole package in every process where bytecode is not cached) would
# otherwise weigh on every worker and say nothing about cnncheck.
ONLY_OURS = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
PLUGINS = ["-p", "pytest_cnncheck.plugin", "-p", "xdist.plugin"]


def _spread(base: list[str], folder: Path, repeat: int) -> dict[str, float]:
    """`-n 0`, `-n 2` (the plugin's default threads) and `-n 2` with every core to each
    worker's torch, on the spec files in `folder`."""
    return alternate({"n0": [*base, "-n", "0"], "n2": [*base, "-n", "2"],
                      "n2-all-threads": [*base, "-n", "2"]}, folder, repeat,
                     env={"n0": ONLY_OURS, "n2": ONLY_OURS,
                          "n2-all-threads": {**ONLY_OURS, "OMP_NUM_THREADS": str(os.cpu_count())}})


def section_xdist() -> None:
    print("\n## 5. Scale out: 200 spec files\n")
    base = [*PYTEST, *PLUGINS]
    without = [*PYTEST, "-p", "xdist.plugin"]
    with tempfile.TemporaryDirectory() as name, tempfile.TemporaryDirectory() as one:
        folder = Path(name)
        _spec_tree(folder, 200)
        _spec_tree(Path(one), 1)
        collect = alternate({"collect": [*base, "--collect-only"],
                             "startup": [*without, "--collect-only"]}, folder, 5,
                            env={"collect": ONLY_OURS, "startup": ONLY_OURS})
        runs = _spread(base, folder, 5)
        fixed = alternate({"one": [*base, "-n", "0"]}, Path(one), 5, env={"one": ONLY_OURS})["one"]
    # Every process pays `fixed` (interpreter, pytest, torch's import, one spec); the
    # rest is the work that workers can share. Even split perfectly and for free, -n 2
    # takes `fixed` plus half the rest.
    bound = (fixed + (runs["n0"] - fixed) / 2) / runs["n0"]
    print("| 200 ResNet-18-shaped spec files (medians of 5) | wall |")
    print("| --- | --- |")
    print(f"| `--collect-only` | {collect['collect']:.2f} s (pytest alone: {collect['startup']:.2f} s; "
          f"collection itself **{collect['collect'] - collect['startup']:.2f} s**, target under 1 s) |")
    print(f"| `-n 0` | {runs['n0']:.2f} s |")
    print(f"| `-n 2`, each worker's torch on every core (`OMP_NUM_THREADS={os.cpu_count()}`) | "
          f"{runs['n2-all-threads']:.2f} s, {runs['n2-all-threads'] / runs['n0']:.2f}x of `-n 0` |")
    print(f"| `-n 2`, the plugin's default: the cores shared out among the workers | "
          f"{runs['n2']:.2f} s, **{runs['n2'] / runs['n0']:.2f}x** of `-n 0` (target at most 0.65) |")
    print(f"| one spec file, `-n 0`: what every process pays before the work can be shared | "
          f"{fixed:.2f} s |")
    print(f"| the best `-n 2` could do: that, plus half of the rest of `-n 0` | "
          f"{bound:.2f}x of `-n 0` |")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        _spec_tree(folder, 60, cpu=True)
        runs = _spread(base, folder, 2)
    print("\n| 60 ResNet-18-shaped spec files on `device: cpu`, batch 4 at 128x128 | wall |")
    print("| --- | --- |")
    print(f"| `-n 0` | {runs['n0']:.2f} s |")
    print(f"| `-n 2`, each worker's torch on every core | {runs['n2-all-threads']:.2f} s, "
          f"{runs['n2-all-threads'] / runs['n0']:.2f}x of `-n 0` |")
    print(f"| `-n 2`, the plugin's default: the cores shared out | {runs['n2']:.2f} s, "
          f"**{runs['n2'] / runs['n0']:.2f}x** of `-n 0` |")


def section_sizes() -> None:
    """`expect.accepts` / `cnncheck sizes`: hundreds of input sizes through one ResNet-50."""
    from pytest_cnncheck.probe import scan
    from pytest_cnncheck.spec import parse_text

    print("\n## 6. Scanning input sizes (`expect.accepts`, `cnncheck sizes`)\n")
    print("| model | sizes | device | wall time | per size |")
    print("| --- | --- | --- | --- | --- |")
    for target, sizes, device in (("models.py:resnet50", "32..331", "meta"),
                                  ("models.py:resnet50", "32..331 step 30", "cpu")):
        text = (f"s: {{model: '{target}', input_size: [1, 3, H, H], sweep: {{H: '{sizes}'}}, "
                f"device: {device}, expect: {{accepts: {{H: '1..'}}}}}}")
        (_, _, parsed), = parse_text(ROOT / "benchmarks" / "s.cnncheck.yaml", text).entries
        points = [size for _, size in parsed.scan.points]
        start = time.perf_counter()
        traces = scan(parsed, ROOT)
        seconds = time.perf_counter() - start
        assert all(trace.crash is None for trace in traces)
        print(f"| ResNet-50 shape | {len(points)} (H=W={sizes}) | {device} | **{seconds:.1f} s** | "
              f"{seconds / len(points) * 1000:.0f} ms |")


def section_sites() -> None:
    """Where each layer is made (the line to edit): found for a failing item only, by one
    more build under the recorder. What that costs, against the item itself."""
    from pytest_cnncheck.probe import probe

    print("\n## 7. Finding where each layer is made\n")
    print("| model | item on meta | finding every layer's line (a failing item only) | share |")
    print("| --- | --- | --- | --- |")
    for label, (model, size) in MODELS.items():
        one = spec(model, size, "meta")

        def item() -> object:
            return probe(one, ROOT)

        def located() -> object:
            trace = probe(one, ROOT)
            return trace.layers[next(name for name in trace.layers if name)].defined

        times = interleaved({"item": item, "located": located}, repeat=41)
        extra = times["located"] - times["item"]
        print(f"| {label} | {times['item'] * 1000:.2f} ms | +{extra * 1000:.2f} ms | "
              f"{extra / times['item']:+.0%} |")


def section_mult_adds() -> None:
    """A spec with `expect.mult_adds` against the same spec without: the count runs in the
    recorded pass (counting.py, a dispatch mode over every op), not in a second pass."""
    from pytest_cnncheck.probe import probe

    print("\n## 8. `expect.mult_adds`: counted in the recorded pass\n")
    print("| model | item on meta | with `expect.mult_adds` | ratio | mult-adds |")
    print("| --- | --- | --- | --- | --- |")
    for label, (model, size) in {**MODELS, **ATTENTION}.items():
        one = spec(model, size, "meta")
        counted = probe(one, ROOT, count=True).compute
        times = interleaved({"item": lambda: probe(one, ROOT),
                             "counted": lambda: probe(one, ROOT, count=True)}, repeat=21)
        print(f"| {label} | {times['item'] * 1000:.2f} ms | {times['counted'] * 1000:.2f} ms | "
              f"**{times['counted'] / times['item']:.2f}x** | {counted.mult_adds:,} |")


ATTENTION = {"conv + attention hybrid, 64x64": ("models.py:conv_attention", (1, 3, 64, 64))}


def section_fields() -> None:
    """Receptive fields and the diagram: the recorded pass under Flow, run only where
    something reads fields; what it costs against the plain item, on meta."""
    from pytest_cnncheck.probe import probe
    from pytest_cnncheck.report.diagram import mermaid

    print("\n## 9. Receptive fields and the shape-flow diagram\n")
    print("| model | item on meta | with fields | share | the diagram from the trace |")
    print("| --- | --- | --- | --- | --- |")
    for label, (model, size) in MODELS.items():
        one = spec(model, size, "meta")
        traced = probe(one, ROOT, fields=True)
        times = interleaved({"item": lambda: probe(one, ROOT),
                             "fields": lambda: probe(one, ROOT, fields=True),
                             "diagram": lambda: mermaid(traced)}, repeat=41)
        extra = times["fields"] - times["item"]
        print(f"| {label} | {times['item'] * 1000:.2f} ms | {times['fields'] * 1000:.2f} ms | "
              f"{extra / times['item']:+.0%} | {times['diagram'] * 1000:.2f} ms |")


def section_fixes() -> None:
    """What verifying the fixes costs a failing item: each spec of examples/broken checked
    (probe + checks) and checked with its fixes verified (the repair search's reruns of the
    edited model), fastest of 5 each, interleaved; and how many reruns each spec took."""
    from pytest_cnncheck.repair import verify as repair
    from pytest_cnncheck.runner import Options, run_spec
    from pytest_cnncheck.spec import Spec, parse_file

    print("\n## fixes: one failing item without and with its fixes verified\n")
    print("| spec | findings | reruns of the model | checks | with fixes verified | ratio |")
    print("| --- | --- | --- | --- | --- | --- |")
    runs: list[int] = []
    counted = repair._Search.run

    def counting(self: repair._Search, edits: tuple) -> object:
        runs.append(1)
        return counted(self, edits)

    repair._Search.run = counting  # type: ignore[method-assign]
    ratios = []
    for file in sorted((ROOT / "examples" / "broken").glob("*.cnncheck.yaml")):
        for name, _, entry in parse_file(file).entries:
            if not isinstance(entry, Spec) or entry.scan is not None:
                continue
            try:
                findings = run_spec(entry, ROOT, Options(fixes=False)).findings
            except Exception:
                continue
            if not findings:
                continue
            runs.clear()
            run_spec(entry, ROOT)
            reruns = len(runs)
            times = interleaved({"plain": lambda: run_spec(entry, ROOT, Options(fixes=False)),
                                 "fixes": lambda: run_spec(entry, ROOT)}, 5)
            ratios.append(times["fixes"] / times["plain"])
            print(f"| {name} | {len(findings)} | {reruns} | {times['plain'] * 1e3:.1f} ms | "
                  f"{times['fixes'] * 1e3:.1f} ms | {ratios[-1]:.1f}x |")
    repair._Search.run = counted  # type: ignore[method-assign]
    print(f"\nmedian ratio {statistics.median(ratios):.1f}x, at most {max(ratios):.1f}x")


SECTIONS = {"unused": section_unused, "item": section_item, "meta": section_meta,
            "fallback": section_fallback, "xdist": section_xdist, "sizes": section_sizes,
            "sites": section_sites, "mult_adds": section_mult_adds, "fields": section_fields,
            "fixes": section_fixes}


def main(names: list[str]) -> None:
    import platform

    import torch

    print(f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, torch {torch.__version__}")
    for name in names or list(SECTIONS):
        SECTIONS[name]()


if __name__ == "__main__":
    main(sys.argv[1:])
