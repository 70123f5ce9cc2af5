"""The training step's peak memory: cnncheck's figure on meta against a real step on the CPU.

For each case (a model, a batch size, an optimizer) a spec with `train:` is written and one
pytest run checks them all, writing the JSON report; `memory.training.peak` is cnncheck's
figure. Then the same step runs for real on the CPU, as the spec describes it (train mode,
the outputs summed into the loss, backward, the optimizer's step, in steady state: one step
before, gradients set to None), under torch's memory profiler; the real peak is the largest
sum of live tensor bytes on its categorised memory timeline. Prints a Markdown table of
both, the error, and each spec item's time against the same spec without `train:`.

Needs torchvision and timm, so it runs in an environment of its own (not in CI). Where
torchvision's wheel for the torch at hand has no CPU build of its operators, its classifiers
and segmenters still build (its detection operators are left out):

    python3 -m venv /tmp/tvzoo && /tmp/tvzoo/bin/python -m pip install torch==2.13.0
    /tmp/tvzoo/bin/python -m pip install --no-deps torchvision timm
    /tmp/tvzoo/bin/python -m pip install pyyaml pytest torchinfo huggingface_hub safetensors pillow numpy
    /tmp/tvzoo/bin/python -m pip install --no-deps -e .
    /tmp/tvzoo/bin/python benchmarks/training_memory.py [--cases a,b] [--keep FOLDER]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

FACTORIES = '''
import torch
from torch import nn


def torchvision_model(name, **kwargs):
    import torchvision.models.segmentation
    found = getattr(torchvision.models, name, None) or getattr(torchvision.models.segmentation, name)
    return found(**kwargs)


def timm_model(name, **kwargs):
    import timm
    return timm.create_model(name, **kwargs)


class ConvLSTM(nn.Module):
    """A small CNN over each frame of a clip, then an LSTM over the frames."""

    def __init__(self, hidden=256, classes=10):
        super().__init__()
        self.cnn = nn.Sequential(nn.Conv2d(3, 32, 3, 2, 1), nn.BatchNorm2d(32), nn.ReLU(),
                                 nn.Conv2d(32, 64, 3, 2, 1), nn.BatchNorm2d(64), nn.ReLU(),
                                 nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.lstm = nn.LSTM(64, hidden, num_layers=2, batch_first=True)
        self.fc = nn.Linear(hidden, classes)

    def forward(self, clip):
        n, t = clip.shape[:2]
        frames = self.cnn(clip.flatten(0, 1)).view(n, t, -1)
        out, _ = self.lstm(frames)
        return self.fc(out[:, -1])
'''

# (name, factory, kwargs, input size without the batch)
MODELS = [
    ("resnet18", "factories.py:torchvision_model", {"name": "resnet18"}, [3, 224, 224]),
    ("resnet50", "factories.py:torchvision_model", {"name": "resnet50"}, [3, 224, 224]),
    ("mobilenet_v3_small", "factories.py:torchvision_model", {"name": "mobilenet_v3_small"}, [3, 224, 224]),
    ("efficientnet_b0", "factories.py:torchvision_model", {"name": "efficientnet_b0"}, [3, 224, 224]),
    ("vgg11_bn", "factories.py:torchvision_model", {"name": "vgg11_bn"}, [3, 224, 224]),
    ("densenet121", "factories.py:torchvision_model", {"name": "densenet121"}, [3, 224, 224]),
    ("fcn_resnet50", "factories.py:torchvision_model", {"name": "fcn_resnet50", "weights_backbone": None},
     [3, 256, 256]),
    ("deeplabv3_mobilenet", "factories.py:torchvision_model",
     {"name": "deeplabv3_mobilenet_v3_large", "weights_backbone": None}, [3, 256, 256]),
    ("timm_convnext_atto", "factories.py:timm_model", {"name": "convnext_atto"}, [3, 224, 224]),
    ("timm_vit_tiny", "factories.py:timm_model", {"name": "vit_tiny_patch16_224"}, [3, 224, 224]),
    ("timm_efficientnet_b0", "factories.py:timm_model", {"name": "efficientnet_b0"}, [3, 224, 224]),
    ("timm_regnetx_002", "factories.py:timm_model", {"name": "regnetx_002"}, [3, 224, 224]),
    ("conv_lstm", "factories.py:ConvLSTM", {}, [8, 3, 64, 64]),
]
# (batch, optimizer): every model at these
SETTINGS = [(2, "adamw"), (8, "sgd-momentum")]
# and the first two models at every optimizer
MORE = [(4, "sgd"), (4, "adam")]


def _cases(chosen: set[str] | None) -> list[tuple[str, str, dict[str, object], list[int], str]]:
    cases = []
    for index, (name, model, kwargs, size) in enumerate(MODELS):
        if chosen and name not in chosen:
            continue
        for batch, optimizer in SETTINGS + (MORE if index < 2 else []):
            cases.append((f"{name}_b{batch}_{optimizer.replace('-', '_')}", model, kwargs, [batch, *size], optimizer))
    return cases


def _spec_text(cases: list[tuple[str, str, dict[str, object], list[int], str]], train: bool) -> str:
    lines = []
    for case, model, kwargs, size, optimizer in cases:
        lines += [f"{case}:", f"  model: {model}", f"  kwargs: {json.dumps(kwargs)}", f"  input_size: {size}"]
        if train:
            lines.append(f"  train: {{optimizer: {optimizer}}}")
    return "\n".join(lines) + "\n"


def _real_peak(case: tuple[str, str, dict[str, object], list[int], str], folder: Path) -> int:
    """The peak of live tensor bytes in one real steady-state step, by torch's memory profiler."""
    import torch
    from torch.profiler import ProfilerActivity, profile
    from torch.profiler._memory_profiler import MemoryProfileTimeline
    from torch.utils._pytree import tree_leaves

    sys.path.insert(0, str(folder))
    import factories  # type: ignore[import-not-found]

    _, model_ref, kwargs, size, optimizer_name = case
    torch.manual_seed(0)
    model = getattr(factories, model_ref.split(":")[1])(**kwargs)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = {"sgd": lambda: torch.optim.SGD(params, lr=0.01),
                 "sgd-momentum": lambda: torch.optim.SGD(params, lr=0.01, momentum=0.9),
                 "adam": lambda: torch.optim.Adam(params),
                 "adamw": lambda: torch.optim.AdamW(params)}[optimizer_name]()
    x = torch.randn(size)

    def loss() -> torch.Tensor:
        leaves = [t for t in tree_leaves(model(x)) if isinstance(t, torch.Tensor) and t.requires_grad]
        total = leaves[0].sum()
        for t in leaves[1:]:
            total = total + t.sum()
        return total

    loss().backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True, record_shapes=True,
                 with_stack=True) as prof:
        loss().backward()
        optimizer.step()
    _, sizes = MemoryProfileTimeline(prof._memory_profile())._coalesce_timeline("cpu")
    return max(sum(row) for row in sizes)


def _times(junit: Path) -> dict[str, float]:
    return {case.get("name", ""): float(case.get("time", 0)) for case in ET.parse(junit).iter("testcase")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", help="comma-separated model names (default: all)")
    parser.add_argument("--keep", type=Path, help="write the specs and reports here")
    args = parser.parse_args()
    chosen = set(args.cases.split(",")) if args.cases else None
    cases = _cases(chosen)
    folder = args.keep or Path(tempfile.mkdtemp())
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "factories.py").write_text(FACTORIES)
    times = {}
    for train in (False, True):
        name = "train" if train else "forward"
        (folder / f"{name}.cnncheck.yaml").write_text(_spec_text(cases, train))
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"{name}.cnncheck.yaml",
                        f"--cnncheck-report={name}.json", f"--junitxml={name}.xml"], cwd=folder,
                       capture_output=True, text=True)
        times[name] = _times(folder / f"{name}.xml")
    report = {spec["id"].split("::")[1]: spec for spec in json.loads((folder / "train.json").read_text())["specs"]}
    print("| case | cnncheck (meta) | real step (CPU) | error | at the peak | item: train / forward |")
    print("| --- | ---: | ---: | ---: | --- | ---: |")
    errors = []
    for case in cases:
        training = ((report.get(case[0]) or {}).get("memory") or {}).get("training") or {}
        estimate = training.get("peak")
        real = _real_peak(case, folder)
        ratio = times["train"].get(case[0], 0) / max(times["forward"].get(case[0], 0), 1e-9)
        if estimate is None:
            print(f"| {case[0]} | {training.get('error') or 'no figure'} | {real / 1e6:.1f} MB | | | |")
            continue
        error = (estimate - real) / real
        errors.append(error)
        where = f"{training['phase']} at {training['layer'] or '-'}"
        print(f"| {case[0]} | {estimate / 1e6:.1f} MB | {real / 1e6:.1f} MB | {error:+.1%} | {where} | {ratio:.2f}x |")
    if errors:
        print(f"\n{len(errors)} cases: error from {min(errors):+.1%} to {max(errors):+.1%}, "
              f"mean |error| {sum(map(abs, errors)) / len(errors):.2%}")


if __name__ == "__main__":
    main()
