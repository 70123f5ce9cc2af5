"""How the model is run: the meta device, the CPU fallback, and nothing left behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import assert_in_order, write_spec

READS_VALUES = """
    import torch
    from torch import nn

    class ReadsValues(nn.Module):
        '''Reads a tensor's value in forward: impossible on meta, where tensors have no data.'''

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3)

        def forward(self, x):
            x = self.conv(x)
            if x.mean().item() > 1e9:
                return x
            return x.flatten(1)

    class DropPathSchedule(nn.Module):
        '''Builds a per-block rate list with .item() in __init__, as many modern nets do.'''

        def __init__(self, blocks=3):
            super().__init__()
            self.rates = [r.item() for r in torch.linspace(0, 0.1, blocks)]
            self.blocks = nn.Sequential(*[nn.Linear(4, 4) for _ in range(blocks)])

        def forward(self, x):
            return self.blocks(x)
"""


def test_meta_is_the_default_and_the_cpu_the_reported_fallback(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(models=READS_VALUES)
    write_spec(pytester, """
        reads_values:
          model: models.py:ReadsValues
          input_size: [1, 3, 8, 8]
          expect: {output: [1, 288], params: 224}
        builds_with_item:
          model: models.py:DropPathSchedule
          input_size: [2, 4]
          expect: {output: [2, 4], params: 60}
    """)
    result = pytester.runpytest("-rA")
    result.assert_outcomes(passed=2)
    out = result.stdout.str()
    assert_in_order(out, "warnings summary",
                    "arch.cnncheck.yaml:2: CnncheckWarning: ran on the CPU because the forward pass "
                    "failed on meta (RuntimeError: ",
                    "Captured cnncheck call", "ran on the CPU because")
    # Numbers made in __init__ from Python numbers (torch.linspace) and read back with
    # .item() are real CPU tensors under meta: that model builds on meta, no fallback.
    assert "arch.cnncheck.yaml:6" not in out and out.count("ran on the CPU because") == 2


def test_device_meta_forces_meta(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(models=READS_VALUES)
    write_spec(pytester, """
        reads_values:
          model: models.py:ReadsValues
          input_size: [1, 3, 8, 8]
          device: meta
    """)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    assert_in_order(result.stdout.str(), "on meta", "forward", "The forward pass on input "
                    "[1, 3, 8, 8] raised RuntimeError", "it raised in the model's own forward code, "
                    "after conv (output [1, 8, 6, 6] -> 8*6*6 = 288)", "at models.py:13")


def test_device_cpu_runs_on_the_cpu(tutorial: pytest.Pytester) -> None:
    write_spec(tutorial, """
        lenet:
          model: net.py:Net
          input_size: [1, 3, 32, 32]
          device: cpu
          expect: {output: [1, 11]}
    """)
    result = tutorial.runpytest()
    assert "model net.py:Net, input [1, 3, 32, 32], on cpu" in result.stdout.str()


HOOKED = """
    import torch
    from torch import nn

    INSTANCES = []

    class Crashes(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)
            self.fc = nn.Linear(10, 2)
            INSTANCES.append(self)

        def forward(self, x):
            torch.set_default_dtype(torch.float64)  # state the plugin must put back
            torch.set_default_device("meta")
            return self.fc(self.conv(x).flatten(1))
"""


def test_no_hooks_or_global_state_left_after_a_crash(pytester: pytest.Pytester) -> None:
    import torch

    pkg = pytester.mkpydir("hooked_models")
    pkg.joinpath("crashes.py").write_text(HOOKED.replace("\n    ", "\n"))
    write_spec(pytester, """
        crashes:
          model: hooked_models.crashes:Crashes
          input_size: [1, 3, 8, 8]
          device: cpu
    """)
    # Looked at from inside the run, at its end: the model is gone once it returns.
    pytester.makeconftest("""
        import json, sys, torch

        def pytest_sessionfinish(session):
            model = sys.modules["hooked_models.crashes"].INSTANCES[-1]
            hooks = sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())
            # Calls are recorded by wrapping each module's forward on the instance.
            wrappers = sum("forward" in vars(m) for m in model.modules())
            from torch.overrides import _get_current_function_mode_stack

            state = {"hooks": hooks, "wrappers": wrappers, "dtype": str(torch.get_default_dtype()),
                     "grad": torch.is_grad_enabled(), "device": str(torch.get_default_device()),
                     "modes": len(_get_current_function_mode_stack())}
            open("state.json", "w").write(json.dumps(state))
    """)
    rng_before = torch.get_rng_state()
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    assert "fc = Linear(in_features=10, out_features=2) receives [1, 144]" in result.stdout.str()
    state = json.loads(pytester.path.joinpath("state.json").read_text())
    assert state == {"hooks": 0, "wrappers": 0, "dtype": "torch.float32", "grad": True,
                     "device": "cpu", "modes": 0}
    assert torch.equal(torch.get_rng_state(), rng_before)


def test_the_spec_item_leaves_the_users_rng_alone(tutorial: pytest.Pytester) -> None:
    write_spec(tutorial, """
        lenet:
          model: net.py:Net
          input_size: [1, 3, 32, 32]
          device: cpu
    """)
    tutorial.makepyfile(test_after="""
        import torch

        def test_seeded_draws_are_reproducible():
            torch.manual_seed(7)
            expected = torch.rand(3)
            torch.manual_seed(7)
            assert torch.equal(torch.rand(3), expected)
    """)
    import torch

    torch.manual_seed(1234)
    state = torch.get_rng_state()
    tutorial.runpytest().assert_outcomes(passed=2)
    torch.set_rng_state(state)  # what the spec item saw...
    expected = torch.rand(1)
    torch.set_rng_state(state)
    tutorial.runpytest("-k", "lenet").assert_outcomes(passed=1, deselected=1)
    assert torch.equal(torch.rand(1), expected)  # ...and left untouched


def test_torchs_objects_are_frozen_and_later_garbage_still_collected(tutorial: pytest.Pytester) -> None:
    # After the first spec item, what is alive (torch's import, mostly) is gc.freeze()d;
    # the garbage that later tests make is collected as before.
    write_spec(tutorial, """
        lenet:
          model: net.py:Net
          input_size: [1, 3, 32, 32]
    """)
    tutorial.makepyfile(test_after="""
        import gc, weakref

        class Node:
            pass

        def test_cycles_made_after_a_spec_are_collected():
            assert gc.get_freeze_count() > 100_000  # torch's objects, frozen by the spec item
            a, b = Node(), Node()
            a.other, b.other = b, a
            ref = weakref.ref(a)
            del a, b
            gc.collect()
            assert ref() is None
    """)
    tutorial.runpytest_subprocess().assert_outcomes(passed=2)


def test_very_verbose_runs_attach_torchinfos_summary(tutorial: pytest.Pytester) -> None:
    write_spec(tutorial, """
        lenet:
          model: net.py:Net
          input_size: [1, 3, 32, 32]
    """)
    result = tutorial.runpytest("-vv")
    result.assert_outcomes(passed=1)
    assert_in_order(result.stdout.str(), "arch.cnncheck.yaml::lenet PASSED",
                    "    Layer (type:depth-idx)", "    Total params: 62,006")
    quiet = tutorial.runpytest("-rP")
    assert "Layer (type:depth-idx)" not in quiet.stdout.str()


def test_a_model_file_inside_a_package_keeps_its_relative_imports(pytester: pytest.Pytester) -> None:
    package = pytester.mkpydir("zoo")
    package.joinpath("blocks.py").write_text(
        "from torch import nn\n\ndef block(c):\n    return nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.ReLU())\n")
    package.joinpath("net.py").write_text(
        "from torch import nn\nfrom .blocks import block\n\n"
        "def make():\n    return nn.Sequential(block(3), block(3))\n")
    package.joinpath("net.cnncheck.yaml").write_text(
        "net:\n  model: net.py:make\n  input_size: [1, 3, 8, 8]\n  expect: {params: 2 * (3 * (3*3*3 + 1))}\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)


def test_calls_are_recorded_for_scripted_and_patched_modules_and_put_back(
        pytester: pytest.Pytester) -> None:
    # Calls are recorded by wrapping each module's forward on the instance; a module that
    # refuses that (its own __setattr__, a scripted module, `forward` a property) is
    # hooked instead, and a forward the user put on an instance is wrapped and put
    # back as it was.
    pytester.makepyfile(mixed='''
        import torch
        from torch import nn

        INSTANCES = []

        class Frozen(nn.Linear):
            def __setattr__(self, name, value):
                if name == "forward":
                    raise AttributeError("frozen")
                super().__setattr__(name, value)

        class ViaProperty(nn.Linear):
            @property
            def forward(self):
                return super().forward

        class Mixed(nn.Module):
            def __init__(self):
                super().__init__()
                self.frozen = Frozen(8, 8)
                self.scripted = torch.jit.script(nn.Linear(8, 4))
                self.patched = nn.Linear(4, 2)
                self.original = self.patched.forward
                self.patched.forward = lambda x: self.original(x) * 2
                self.prop = ViaProperty(2, 2)
                INSTANCES.append(self)

            def forward(self, x):
                return self.prop(self.patched(self.scripted(self.frozen(x))))
    ''')
    write_spec(pytester, """
        mixed:
          model: mixed.py:Mixed
          input_size: [3, 8]
          device: cpu
          expect:
            output: [3, 2]
            layers:
              frozen: {input: [3, 8], output: [3, 8]}
              scripted: {output: [3, 4]}
              patched: {input: [3, 4], output: [3, 2]}
              prop: {input: [3, 2], output: [3, 2]}
    """)
    pytester.makeconftest("""
        import sys

        def pytest_sessionfinish(session):
            model = next(m for m in list(sys.modules.values())
                         if "Mixed" in (getattr(m, "__dict__", None) or {})).INSTANCES[-1]
            hooks = sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())
            kept = "forward" in vars(model.patched) and model.patched.forward.__name__ == "<lambda>"
            open("state.txt", "w").write(f"{hooks} {kept} {'forward' in vars(model)}")
    """)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert pytester.path.joinpath("state.txt").read_text() == "0 True False"


def test_one_specs_meta_failure_does_not_send_another_size_to_the_cpu(pytester: pytest.Pytester) -> None:
    # Meta fails only at odd widths (the model reads a value there). The spec at width 7
    # falls back; the spec of the same model at width 8 runs on meta, quoting nothing.
    pytester.makepyfile(models="""
        from torch import nn

        class OddReads(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 2)

            def forward(self, x):
                if x.shape[-1] % 2 and x.sum().item() > 1e9:
                    return x
                return self.fc(x[..., :4])
    """)
    write_spec(pytester, """
        odd:
          model: models.py:OddReads
          input_size: [1, 7]
        even:
          model: models.py:OddReads
          input_size: [1, 8]
    """)
    result = pytester.runpytest("-v", "-p", "no:randomly")
    result.assert_outcomes(passed=2)
    out = result.stdout.str()
    assert_in_order(out, "arch.cnncheck.yaml::odd PASSED", "on cpu (fallback)",
                    "arch.cnncheck.yaml::even PASSED", "output [1, 2], params 10, memory")
    even = out.split("arch.cnncheck.yaml::even PASSED", 1)[1].splitlines()[1]
    assert even.endswith("on meta"), even
    assert out.count("ran on the CPU because") == 1


def test_a_package_whose_name_starts_with_torch_is_the_users_code(tmp_path: Path) -> None:
    # Frames are told apart by whole folders: skipping torch/ must not skip torchvision/.
    import sys
    import traceback

    from pytest_cnncheck.paths import folder_prefix, user_frame

    (tmp_path / "torch").mkdir()
    (tmp_path / "torchvision").mkdir()
    (tmp_path / "torchvision" / "builder.py").write_text("def build():\n    raise ValueError('in torchvision')\n")
    sys.path.insert(0, str(tmp_path / "torchvision"))
    try:
        import builder

        try:
            builder.build()
        except ValueError as error:
            tb = error.__traceback__
    finally:
        sys.path.remove(str(tmp_path / "torchvision"))
        sys.modules.pop("builder", None)
    found = user_frame(tb, skip=(folder_prefix(tmp_path / "torch"),))
    assert found is not None and "torchvision/builder.py:2: raise ValueError('in torchvision')" in found, \
        traceback.format_tb(tb)
    assert "builder.py" not in (user_frame(tb, skip=(folder_prefix(tmp_path / "torchvision"),)) or "")
