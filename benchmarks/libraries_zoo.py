"""MONAI's and Hugging Face transformers' vision models, as their users build them: each is
built from its own arguments or config (no weights are downloaded), `cnncheck init` writes
its spec, then one pytest run checks them all. Per model: whether init succeeded, whether
the spec passed, the device it ran on (meta, or the CPU with the fallback's reason) and the
item's time. Then the probes of what those users meet: a keyword-only call
(`pixel_values=`), a two-input `cnncheck sizes`, an output tuple holding None, and a
misspelt argument.

Neither library needs torchvision, so this runs beside the torch 2.13.0 that the project's
tests use, in an environment of its own (not in CI):

    python3 -m venv /tmp/libzoo && /tmp/libzoo/bin/python -m pip install torch==2.13.0
    /tmp/libzoo/bin/python -m pip install monai transformers einops torchinfo pytest pyyaml
    /tmp/libzoo/bin/python -m pip install --no-deps -e .
    /tmp/libzoo/bin/python benchmarks/libraries_zoo.py [--models a,b] [--keep FOLDER]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

FACTORIES = '''
import monai.networks.nets as monai_nets
import transformers


def monai(name, **kwargs):
    return getattr(monai_nets, name)(**kwargs)


def hf(model, config, **settings):
    """A transformers model from its config class with these settings: no download."""
    return getattr(transformers, model)(getattr(transformers, config)(**settings))


def hf_backbone(model, config, backbone, **settings):
    """A model whose config takes a backbone's config (UperNet): the backbone's sizes as lists,
    which the outer config keeps as tuples and the backbone's code concatenates."""
    inner = getattr(transformers, backbone)(out_features=["stage1", "stage2", "stage3", "stage4"])
    outer = getattr(transformers, config)(backbone_config=inner, **settings)
    for name in ("hidden_sizes", "depths"):
        if isinstance(getattr(outer.backbone_config, name, None), tuple):
            setattr(outer.backbone_config, name, list(getattr(outer.backbone_config, name)))
    return getattr(transformers, model)(outer)
'''

# (name, factory, kwargs, --input-size list, --forward-kwargs)
MONAI_2D = "[1, 1, 64, 64]"
MONAI_3D = "[1, 1, 32, 32, 32]"
IMAGE = "1,3,224,224"


def _monai(name: str, sizes: list[str],
           **kwargs: object) -> tuple[str, str, dict[str, object], list[str], dict[str, object]]:
    return (f"monai_{name}_{'3d' if kwargs.get('spatial_dims') == 3 else '2d'}", "factories.py:monai",
            {"name": name, **kwargs}, sizes, {})


def _hf(model: str, config: str, *, size: int = 224, channels: int = 3, **settings: object
        ) -> tuple[str, str, dict[str, object], list[str], dict[str, object]]:
    return (f"hf_{model}", "factories.py:hf", {"model": model, "config": config, **settings}, [],
            {"pixel_values": [1, channels, size, size]})


MODELS = [
    _monai("BasicUNet", ["1,1,64,64"], spatial_dims=2, in_channels=1, out_channels=2),
    _monai("BasicUNet", ["1,1,32,32,32"], spatial_dims=3, in_channels=1, out_channels=2),
    _monai("UNet", ["1,1,64,64"], spatial_dims=2, in_channels=1, out_channels=2, channels=[16, 32, 64, 128],
           strides=[2, 2, 2], num_res_units=2),
    _monai("UNet", ["1,1,32,32,32"], spatial_dims=3, in_channels=1, out_channels=2, channels=[16, 32, 64, 128],
           strides=[2, 2, 2], num_res_units=2),
    _monai("AttentionUnet", ["1,1,64,64"], spatial_dims=2, in_channels=1, out_channels=2,
           channels=[16, 32, 64, 128], strides=[2, 2, 2]),
    _monai("SegResNet", ["1,1,64,64"], spatial_dims=2, in_channels=1, out_channels=2),
    _monai("SegResNet", ["1,1,32,32,32"], spatial_dims=3, in_channels=1, out_channels=2),
    _monai("SegResNetVAE", ["1,1,32,32,32"], spatial_dims=3, input_image_size=[32, 32, 32], in_channels=1,
           out_channels=2),
    _monai("DynUNet", ["1,1,64,64"], spatial_dims=2, in_channels=1, out_channels=2, kernel_size=[3, 3, 3, 3],
           strides=[1, 2, 2, 2], upsample_kernel_size=[2, 2, 2]),
    _monai("DynUNet", ["1,1,32,32,32"], spatial_dims=3, in_channels=1, out_channels=2, kernel_size=[3, 3, 3],
           strides=[1, 2, 2], upsample_kernel_size=[2, 2]),
    _monai("UNETR", ["1,1,32,32,32"], spatial_dims=3, in_channels=1, out_channels=2, img_size=32,
           feature_size=8, hidden_size=96, mlp_dim=192, num_heads=4),
    # Its last stage normalises over each instance: 32^3 leaves it one voxel, which torch refuses.
    _monai("SwinUNETR", ["1,1,64,64,64"], spatial_dims=3, in_channels=1, out_channels=2, feature_size=12),
    _monai("SwinUNETR", ["1,1,64,64"], spatial_dims=2, in_channels=1, out_channels=2, feature_size=12),
    _monai("DenseNet121", ["1,1,64,64"], spatial_dims=2, in_channels=1, out_channels=2),
    _monai("DenseNet121", ["1,1,32,32,32"], spatial_dims=3, in_channels=1, out_channels=2),
    _monai("SEResNet50", ["1,1,64,64"], spatial_dims=2, in_channels=1, num_classes=2),
    _monai("SENet154", ["1,1,64,64"], spatial_dims=2, in_channels=1, num_classes=2),
    _monai("HighResNet", ["1,1,32,32,32"], spatial_dims=3, in_channels=1, out_channels=2),
    _monai("VNet", ["1,1,32,32,32"], spatial_dims=3, in_channels=1, out_channels=2),
    _monai("AutoEncoder", ["1,1,64,64"], spatial_dims=2, in_channels=1, out_channels=1, channels=[8, 16, 32],
           strides=[2, 2, 2]),
    _monai("VarAutoEncoder", ["1,1,64,64"], spatial_dims=2, in_shape=[1, 64, 64], out_channels=1, latent_size=8,
           channels=[8, 16, 32], strides=[2, 2, 2]),
    _monai("VQVAE", ["1,1,64,64"], spatial_dims=2, in_channels=1, out_channels=1, channels=[16, 32],
           num_res_channels=[16, 32], num_res_layers=1, downsample_parameters=[[2, 4, 1, 1], [2, 4, 1, 1]],
           upsample_parameters=[[2, 4, 1, 1, 0], [2, 4, 1, 1, 0]], num_embeddings=16, embedding_dim=8),
    _monai("EfficientNetBN", ["1,3,64,64"], model_name="efficientnet-b0", pretrained=False, spatial_dims=2,
           in_channels=3, num_classes=2),
    _monai("resnet18", ["1,1,64,64"], spatial_dims=2, n_input_channels=1, num_classes=2),
    _monai("resnet18", ["1,1,32,32,32"], spatial_dims=3, n_input_channels=1, num_classes=2),
    _monai("HoVerNet", ["1,3,256,256"], in_channels=3, out_classes=3),
    _monai("ViT", ["1,1,32,32,32"], in_channels=1, img_size=32, patch_size=8, hidden_size=96, mlp_dim=192,
           num_heads=4, num_layers=2, spatial_dims=3),
    _monai("LocalNet", ["1,2,32,32,32"], spatial_dims=3, in_channels=2, num_channel_initial=8, extract_levels=[0, 1, 2],
           out_channels=3),
    _monai("RegUNet", ["1,2,32,32,32"], spatial_dims=3, in_channels=2, num_channel_initial=8, depth=2,
           out_channels=3),
    ("monai_DiffusionModelUNet_2d", "factories.py:monai",
     {"name": "DiffusionModelUNet", "spatial_dims": 2, "in_channels": 1, "out_channels": 1,
      "channels": [16, 32, 32], "attention_levels": [False, False, True], "num_res_blocks": 1,
      "num_head_channels": 8, "norm_num_groups": 8},
     [], {"x": [1, 1, 32, 32], "timesteps": {"size": [1], "dtype": "int64"}}),
    _monai("FlexibleUNet", ["1,3,64,64"], in_channels=3, out_channels=2, backbone="efficientnet-b0",
           pretrained=False, spatial_dims=2),
    _hf("ResNetForImageClassification", "ResNetConfig"),
    _hf("ConvNextForImageClassification", "ConvNextConfig"),
    _hf("ConvNextV2ForImageClassification", "ConvNextV2Config"),
    _hf("RegNetForImageClassification", "RegNetConfig"),
    _hf("MobileNetV1ForImageClassification", "MobileNetV1Config"),
    _hf("MobileNetV2ForImageClassification", "MobileNetV2Config"),
    _hf("EfficientNetForImageClassification", "EfficientNetConfig", size=600),
    _hf("MobileViTForImageClassification", "MobileViTConfig", size=256),
    _hf("MobileViTV2ForImageClassification", "MobileViTV2Config", size=256),
    _hf("SwinForImageClassification", "SwinConfig"),
    _hf("Swinv2ForImageClassification", "Swinv2Config", size=256),
    _hf("ViTForImageClassification", "ViTConfig"),
    _hf("DeiTForImageClassificationWithTeacher", "DeiTConfig"),
    _hf("BeitForImageClassification", "BeitConfig"),
    _hf("Data2VecVisionForImageClassification", "Data2VecVisionConfig"),
    _hf("Dinov2Model", "Dinov2Config"),
    _hf("LevitForImageClassification", "LevitConfig"),
    _hf("PoolFormerForImageClassification", "PoolFormerConfig"),
    _hf("CvtForImageClassification", "CvtConfig"),
    _hf("FocalNetForImageClassification", "FocalNetConfig"),
    _hf("PvtForImageClassification", "PvtConfig"),
    _hf("ViTMAEForPreTraining", "ViTMAEConfig"),
    _hf("SegformerForSemanticSegmentation", "SegformerConfig", size=512),
    _hf("DPTForDepthEstimation", "DPTConfig", size=384),
    _hf("GLPNForDepthEstimation", "GLPNConfig"),
    _hf("MaskFormerForInstanceSegmentation", "MaskFormerConfig", size=384),
    ("hf_UperNetForSemanticSegmentation", "factories.py:hf_backbone",
     {"model": "UperNetForSemanticSegmentation", "config": "UperNetConfig", "backbone": "ConvNextConfig"}, [],
     {"pixel_values": [1, 3, 256, 256]}),
    _hf("DetrForObjectDetection", "DetrConfig", size=320, use_timm_backbone=False, use_pretrained_backbone=False),
    _hf("ConditionalDetrForObjectDetection", "ConditionalDetrConfig", size=320, use_timm_backbone=False,
        use_pretrained_backbone=False),
    _hf("YolosForObjectDetection", "YolosConfig", size=512),
]


def _init(folder: Path, name: str, target: str, kwargs: dict[str, object], sizes: list[str],
          keywords: dict[str, object]) -> tuple[str, str, float]:
    spec = folder / f"{name}.cnncheck.yaml"
    command = [sys.executable, "-m", "pytest_cnncheck", "init", target, "--kwargs", json.dumps(kwargs),
               "--name", name, "--layers", "leaf", "-o", str(spec), "--force"]
    for size in sizes:
        command += ["--input-size", size]
    if keywords:
        command += ["--forward-kwargs", json.dumps(keywords)]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=folder)
    said = (done.stderr.strip().splitlines() or [""])[-1]
    return ("ok" if done.returncode == 0 else f"exit {done.returncode}"), said, time.perf_counter() - start


def _probe(folder: Path, *args: str) -> tuple[int, str]:
    done = subprocess.run([sys.executable, "-m", "pytest_cnncheck", *args], capture_output=True, text=True,
                          check=False, cwd=folder)
    return done.returncode, (done.stdout + done.stderr).strip()


PROBES = """
vae_none:
  model: factories.py:monai
  kwargs: {name: SegResNetVAE, spatial_dims: 3, input_image_size: [32, 32, 32], in_channels: 1, out_channels: 2}
  input_size: [1, 1, 32, 32, 32]
  mode: train
  expect: {output: [[1, 2, 32, 32, 32], null]}
typo:
  model: monai.networks.nets:SwinUNETR
  kwargs: {spatial_dim: 3, in_channels: 1, out_channels: 2}
  input_size: [1, 1, 64, 64, 64]
keywords:
  model: factories.py:hf
  kwargs: {model: ViTForImageClassification, config: ViTConfig}
  forward_kwargs: {pixel_values: [1, 3, 224, 224]}
  expect: {output: {logits: [1, 2]}}
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", help="comma-separated names as the table gives them")
    parser.add_argument("--keep", metavar="FOLDER", help="write the specs and the report into FOLDER")
    args = parser.parse_args()
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="cnncheck-libs-"))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "factories.py").write_text(FACTORIES)
    (folder / "conftest.py").write_text("import factories  # noqa: F401\n")
    only = set(args.models.split(",")) if args.models else None
    models = [m for m in MODELS if only is None or m[0] in only]

    inits = {name: _init(folder, name, target, kwargs, sizes, keywords)
             for name, target, kwargs, sizes, keywords in models}
    report, junit = folder / "report.json", folder / "junit.xml"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--cnncheck-report={report}",
                    f"--junitxml={junit}", "-o", "junit_duration_report=call", "--ignore=probes"],
                   cwd=folder, capture_output=True, check=False)
    wall = time.perf_counter() - start
    specs = {spec["name"]: spec for spec in json.loads(report.read_text())["specs"]} if report.exists() else {}
    times = {case.get("name", ""): float(case.get("time", "nan"))
             for case in ET.parse(junit).getroot().iter("testcase")} if junit.exists() else {}

    import monai
    import torch
    import transformers

    print(f"torch {torch.__version__}, monai {monai.__version__}, transformers {transformers.__version__}; "
          f"{len(models)} models; init {sum(t for _, _, t in inits.values()):.1f} s in all; one pytest run: "
          f"{wall:.1f} s wall")
    print()
    print("| model | init | spec | device | item | fallback or init's last line |")
    print("| --- | --- | --- | --- | ---: | --- |")
    counts = {"init": 0, "output": 0, "passed": 0, "meta": 0}
    for name, *_ in models:
        init, said, _ = inits[name]
        spec = specs.get(name, {})
        outcome, device = spec.get("status", "-"), spec.get("device") or "-"
        written = (folder / f"{name}.cnncheck.yaml")
        counts["init"] += init == "ok"
        counts["output"] += written.exists() and "    output: " in written.read_text()
        counts["passed"] += outcome == "passed"
        counts["meta"] += device == "meta"
        seconds = times.get(name)
        fallback = spec.get("fallback") or (said if init != "ok" else "")
        print(f"| {name} | {init} | {outcome} | {device} | "
              f"{f'{seconds:.3f} s' if isinstance(seconds, (int, float)) else '-'} | {fallback[:200]} |")
    print()
    item_times = [t for name, t in times.items() if name in inits]
    print(f"init ok {counts['init']}/{len(models)}, output written {counts['output']}/{len(models)}, "
          f"passed {counts['passed']}/{len(models)}, on meta {counts['meta']}/{len(models)}; items median "
          f"{statistics.median(item_times) if item_times else float('nan'):.3f} s")

    if only is None:  # the probes: what the libraries' users write
        probes = folder / "probes"
        probes.mkdir(exist_ok=True)
        (probes / "factories.py").write_text(FACTORIES)
        (probes / "probes.cnncheck.yaml").write_text(PROBES)
        done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-v"], cwd=probes,
                              capture_output=True, text=True, check=False)
        print()
        print("probes (pytest on probes.cnncheck.yaml):")
        for line in done.stdout.splitlines():
            if "::" in line and ("PASSED" in line or "FAILED" in line) and "short test summary" not in line \
                    or "Did you mean" in line:
                print(f"    {line.strip()[:220]}")
        # A diffusion U-Net takes an image and its timesteps: two inputs, one of them searched.
        status, said = _probe(probes, "sizes", "factories.py:monai", "--kwargs",
                              json.dumps({"name": "DiffusionModelUNet", "spatial_dims": 2, "in_channels": 1,
                                          "out_channels": 1, "channels": [16, 32, 32],
                                          "attention_levels": [False, False, True], "num_res_blocks": 1,
                                          "num_head_channels": 8, "norm_num_groups": 8}),
                              "--input-size", "1,1,H,H", "--input-size", "1", "--range", "H=16..40")
        print(f"    cnncheck sizes with two --input-size (exit {status}): {said.splitlines()[0]}; "
              f"{said.splitlines()[1] if len(said.splitlines()) > 1 else ''}")


if __name__ == "__main__":
    main()
