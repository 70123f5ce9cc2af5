"""The training step's memory (`train:`, `expect.memory.training`): one step on meta, its peak
against a real step on the CPU, its parts, the budget's failure, the reports and init."""

from __future__ import annotations

import json
import textwrap

import pytest

from conftest import assert_in_order, run

RESNET = textwrap.dedent('''
    import torch
    from torch import nn


    class Block(nn.Module):
        def __init__(self, c_in, c_out, stride=1):
            super().__init__()
            self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(c_out)
            self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(c_out)
            self.short = nn.Sequential() if stride == 1 and c_in == c_out else nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

        def forward(self, x):
            out = torch.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return torch.relu(out + self.short(x))


    class Net(nn.Module):
        def __init__(self, width=32, num_classes=10):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width),
                                      nn.ReLU(inplace=True))
            self.layer1 = Block(width, width)
            self.layer2 = Block(width, 2 * width, 2)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(2 * width, num_classes)

        def forward(self, x):
            x = self.layer2(self.layer1(self.stem(x)))
            return self.fc(torch.flatten(self.pool(x), 1))


    class Heads(nn.Module):
        """Two outputs in a dict: the loss is one of them where the spec names it."""

        def __init__(self):
            super().__init__()
            self.body = nn.Conv2d(3, 8, 3, padding=1)
            self.seg = nn.Conv2d(8, 2, 1)
            self.aux = nn.Conv2d(8, 2, 1)

        def forward(self, x):
            x = torch.relu(self.body(x))
            return {"out": self.seg(x), "aux": self.aux(x)}
''')

SPEC = """
    net_train:
      model: models.py:Net
      input_size: [4, 3, 32, 32]
      train: {optimizer: adamw}
      expect:
        memory: {training: {max: 64M}}
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(models=RESNET)
    return pytester


def _training(pytester: pytest.Pytester, spec: str) -> dict:
    run(pytester, spec, "--cnncheck-report=report.json")
    report = json.loads((pytester.path / "report.json").read_text())
    return {row["id"].split("::")[1]: (row.get("memory") or {}).get("training") for row in report["specs"]}


def _real_peak(pytester: pytest.Pytester, optimizer: str, batch: int) -> int:
    """The peak of live tensor bytes in a real steady-state step on the CPU, by torch's own
    memory profiler: what the figure on meta must match."""
    import importlib.util

    import torch
    from torch.profiler import ProfilerActivity, profile
    from torch.profiler._memory_profiler import MemoryProfileTimeline

    loaded = importlib.util.spec_from_file_location("models_for_real", pytester.path / "models.py")
    assert loaded is not None and loaded.loader is not None
    models = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(models)
    model = models.Net()
    model.train()
    params = list(model.parameters())
    step = {"adamw": lambda: torch.optim.AdamW(params), "sgd": lambda: torch.optim.SGD(params, lr=0.1),
            "sgd-momentum": lambda: torch.optim.SGD(params, lr=0.1, momentum=0.9)}[optimizer]()
    x = torch.randn(batch, 3, 32, 32)
    model(x).sum().backward()
    step.step()
    step.zero_grad(set_to_none=True)
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True, record_shapes=True, with_stack=True) as prof:
        model(x).sum().backward()
        step.step()
    _, sizes = MemoryProfileTimeline(prof._memory_profile())._coalesce_timeline("cpu")
    return max(sum(row) for row in sizes)


@pytest.mark.parametrize("optimizer, batch", [("adamw", 4), ("sgd-momentum", 8), ("sgd", 2)])
def test_the_peak_on_meta_matches_a_real_step_on_the_cpu(project: pytest.Pytester, optimizer: str,
                                                         batch: int) -> None:
    spec = SPEC.replace("adamw", optimizer).replace("[4, 3, 32, 32]", f"[{batch}, 3, 32, 32]")
    figure = _training(project, spec)["net_train"]
    real = _real_peak(project, optimizer, batch)
    assert figure["error"] is None
    # Real models come within 1.5% (docs/performance.md); on a model this small, the CPU
    # kernels' own buffers that no op returns weigh more (about 8%): never over, within 10%.
    assert -0.10 <= (figure["peak"] - real) / real <= 0.05, (figure["peak"], real)
    assert sum(figure["parts"].values()) == figure["peak"]
    assert figure["phase"] in ("forward", "backward", "optimizer")


def test_the_parts_are_what_the_optimizer_keeps(project: pytest.Pytester) -> None:
    params = 4 * (32 * 3 * 9 + 2 * 32 + 2 * (32 * 32 * 9 + 2 * 32) + 64 * 32 * 9 + 64 * 64 * 9 + 4 * 64
                  + 64 * 32 + 2 * 64 + 64 * 10 + 10)
    spec = SPEC + SPEC.replace("net_train", "net_sgd").replace("adamw", "sgd") + \
        SPEC.replace("net_train", "net_momentum").replace("adamw", "sgd-momentum")
    figures = _training(project, spec)
    assert figures["net_train"]["parts"]["params"] == params
    # Adam keeps two tensors the size of each parameter (and a step count); SGD none; momentum one.
    assert params * 2 <= figures["net_train"]["parts"]["optimizer_state"] < params * 2 + 1024
    assert "optimizer_state" not in figures["net_sgd"]["parts"]
    assert figures["net_momentum"]["parts"]["optimizer_state"] == params
    assert figures["net_sgd"]["peak"] < figures["net_momentum"]["peak"] < figures["net_train"]["peak"]


def test_a_peak_over_its_budget_says_what_is_live_and_where(project: pytest.Pytester) -> None:
    result, out = run(project, SPEC.replace("64M", "4M"))
    result.assert_outcomes(failed=1)
    assert_in_order(out, "arch.cnncheck.yaml:7: expect.memory.training (CNN204 memory)",
                    "expected: at most 4M = 4,194,304", "bytes over the bound",
                    "the peak: ", " MiB in backward at ", "(adamw, float32)",
                    "at the peak: activations ", "optimizer state ", "params ",
                    "the largest activations live then:",
                    "layer1 holds 2 tensors of [4, 32, 32, 32] = 512.0 KiB each in float32",
                    "suggestion: a smaller batch, activation checkpointing")


def test_a_bound_on_one_part(project: pytest.Pytester) -> None:
    spec = SPEC.replace("{training: {max: 64M}}", "{training: {max: 64M, optimizer_state: {max: 100K}}}")
    result, out = run(project, spec)
    result.assert_outcomes(failed=1)
    assert_in_order(out, "expect.memory.training.optimizer_state", "expected: at most 100K = 102,400",
                    "the bytes of optimizer state live at the training step's peak")
    result, _ = run(project, spec.replace("100K", "2M"))
    result.assert_outcomes(passed=1)


def test_gradients_kept_between_steps_are_held_from_the_start(project: pytest.Pytester) -> None:
    spec = SPEC + SPEC.replace("net_train", "kept").replace("{optimizer: adamw}",
                                                             "{optimizer: adamw, set_to_none: false}")
    figures = _training(project, spec)
    grads = figures["kept"]["parts"]["gradients"]
    assert grads == figures["kept"]["parts"]["params"]  # every gradient exists at the peak
    assert figures["kept"]["peak"] > figures["net_train"]["peak"]


def test_autocast_keeps_activations_in_half_the_bytes(project: pytest.Pytester) -> None:
    spec = SPEC + SPEC.replace("net_train", "half").replace("{optimizer: adamw}",
                                                             "{optimizer: adamw, precision: bfloat16}")
    figures = _training(project, spec)
    assert figures["half"]["error"] is None and figures["half"]["precision"] == "bfloat16"
    assert figures["half"]["parts"]["params"] == figures["net_train"]["parts"]["params"]  # kept in float32
    assert figures["half"]["parts"]["activations"] < 0.75 * figures["net_train"]["parts"]["activations"]


def test_a_named_loss_and_a_wrong_name(project: pytest.Pytester) -> None:
    spec = """
        seg:
          model: models.py:Heads
          input_size: [2, 3, 16, 16]
          train: {optimizer: sgd, loss: out}
          expect:
            memory: {training: {max: 1G}}
    """
    figures = _training(project, spec + spec.replace("seg:", "both:").replace(", loss: out", ""))
    assert figures["seg"]["error"] is None
    assert figures["seg"]["peak"] <= figures["both"]["peak"]  # aux's gradient is never taken
    result, out = run(project, spec.replace("loss: out", "loss: logits"))
    result.assert_outcomes(failed=1)
    assert_in_order(out, "arch.cnncheck.yaml:7: expect.memory.training",
                    "raised ValueError: train.loss names the output 'logits', and forward returned the keys out, aux")


def test_a_step_that_raises_is_one_finding_with_the_reason(project: pytest.Pytester) -> None:
    # In training, BatchNorm refuses one value per channel: the forward check (eval) passes.
    result, out = run(project, SPEC.replace("[4, 3, 32, 32]", "[1, 3, 1, 1]"))
    result.assert_outcomes(failed=1)
    assert_in_order(out, "arch.cnncheck.yaml:7: expect.memory.training", "no peak: the training step raised",
                    "Expected more than 1 value per channel when training",
                    "suggestion: a BatchNorm needs more than one value per channel in training")


@pytest.mark.parametrize("train, said", [
    ("{optimizer: adamm}", "arch.cnncheck.yaml:5: `optimizer` must be one of sgd, sgd-momentum, adam, adamw, "
                           "not the text 'adamm'. Did you mean 'adam'?"),
    ("{optimiser: adam}", "arch.cnncheck.yaml:5: Unknown key 'optimiser' in `train`. Did you mean 'optimizer'?"),
    ("{precision: fp16}", "`precision` must be one of float32, bfloat16, float16"),
    ("{set_to_none: 1}", "`train.set_to_none` must be true"),
])
def test_a_wrong_train_setting_is_one_failed_item_at_its_line(project: pytest.Pytester, train: str,
                                                              said: str) -> None:
    result, out = run(project, SPEC.replace("{optimizer: adamw}", train) + SPEC.replace("net_train", "other"))
    result.assert_outcomes(failed=1, passed=1)
    assert said in out


def test_a_wrong_part_is_named_with_the_known_ones(project: pytest.Pytester) -> None:
    result, out = run(project, SPEC.replace("{max: 64M}", "{max: 64M, activation: {max: 1G}}"))
    result.assert_outcomes(failed=1)
    assert "Unknown key 'activation' in `expect.memory.training`. Did you mean 'activations'?" in out


def test_g_is_a_gibibyte_in_memory_sizes(project: pytest.Pytester) -> None:
    result, out = run(project, SPEC.replace("64M", "0.001G"))
    result.assert_outcomes(failed=1)
    assert "expected: at most 0.001G = " not in out  # not whole: 0.001 GiB is 1,073,741.824 bytes
    assert "not a whole number" in out
    result, out = run(project, SPEC.replace("64M", "1G"))
    result.assert_outcomes(passed=1)


def test_a_training_budget_without_train_runs_adamw_in_float32(project: pytest.Pytester) -> None:
    figures = _training(project, SPEC.replace("      train: {optimizer: adamw}\n", ""))
    assert (figures["net_train"]["optimizer"], figures["net_train"]["precision"]) == ("adamw", "float32")


def test_verbose_prints_the_peak_and_reports_carry_it(project: pytest.Pytester) -> None:
    result, out = run(project, SPEC, "-v", "--cnncheck-report=report.md")
    result.assert_outcomes(passed=1)
    assert_in_order(out, "net_train PASSED", "    output [4, 10], params ",
                    "    training step (adamw, float32): peak ", " MiB in backward at ", "(activations ")
    markdown = (project.path / "report.md").read_text()
    assert "| training peak |" in markdown


def test_a_spec_without_train_runs_no_step(project: pytest.Pytester) -> None:
    figures = _training(project, SPEC.replace("      train: {optimizer: adamw}\n", "").replace(
        "memory: {training: {max: 64M}}", "output: [4, 10]"))
    assert figures == {"net_train": None}


def test_the_baseline_delta_shows_the_peak(project: pytest.Pytester) -> None:
    run(project, SPEC, "--cnncheck-report=base.json")
    result, out = run(project, SPEC.replace("[4, 3, 32, 32]", "[8, 3, 32, 32]"),
                      "--cnncheck-baseline=base.json", "--cnncheck-report=now.md")
    markdown = (project.path / "now.md").read_text()
    assert "training peak (+" in markdown


def test_init_train_writes_the_step_and_a_budget_that_passes(project: pytest.Pytester) -> None:
    from pytest_cnncheck.cli import main

    assert main(["init", "models.py:Net", "--input-size", "4,3,32,32", "--train", "sgd", "--layers", "none",
                 "-o", "net.cnncheck.yaml"]) == 0
    text = (project.path / "net.cnncheck.yaml").read_text()
    assert "  train: {optimizer: sgd}\n" in text
    assert "    memory: {training: {max: " in text
    run_result = project.runpytest("net.cnncheck.yaml", "--cnncheck-report=report.json")
    run_result.assert_outcomes(passed=1)
    row = json.loads((project.path / "report.json").read_text())["specs"][0]
    assert row["memory"]["training"]["optimizer"] == "sgd"
