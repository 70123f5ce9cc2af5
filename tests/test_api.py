"""The Python API and the `cnncheck` fixture: the same checks and explanations as a spec file."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import TUTORIAL_NET, assert_in_order

ROOT = Path(__file__).resolve().parent.parent


def test_check_architecture_passes_and_fails_like_a_spec(tutorial: pytest.Pytester) -> None:
    tutorial.makepyfile(test_arch='''
        import pytest
        from pytest_cnncheck import check_architecture
        from net import Net

        def test_right():
            (trace,) = check_architecture(Net, (1, 3, 32, 32), expect={
                "output": [1, 10], "params": 62006, "flatten": {"fc1": "16*5*5"}},
                rules={"pooling": True})
            assert trace.device == "meta" and trace.output == (1, 10)

        def test_wrong():
            check_architecture("net.py:Net", [1, 3, 32, 32], kwargs={"num_classes": 10}, expect={
                "layers": {"conv2": {"output": [1, 16, 12, 12]}, "conv1": {"params": "6 * 5*5*3"}}})
    ''')
    result = tutorial.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert_in_order(out, "ArchitectureMismatch: 2 mismatches in spec 'Net': model net.py:Net, "
                         "input [1, 3, 32, 32], on meta",
                    "expect.layers.conv2.output", "expected: [1, 16, 12, 12]",
                    "H: (14 - 5 + 2*0) / 1 + 1 = 10",
                    "expect.layers.conv1.params", "expected: 6 * 5*5*3 = 450",
                    "conv1: 6 * (5*5*3 + 1) = 456", "! conv2")
    assert "api.py" not in out  # the traceback stops at the user's call


def test_the_fixture_parametrizes_over_models_and_keeps_instances_as_they_were(
        tutorial: pytest.Pytester) -> None:
    tutorial.makeini("[pytest]\ncnncheck_device = cpu\n")
    tutorial.makepyfile(test_arch='''
        import pytest
        import torch
        from net import Net

        @pytest.mark.parametrize("classes", [10, 100])
        def test_classes(cnncheck, classes):
            (trace,) = cnncheck("net:Net", [2, 3, 32, 32], kwargs={"num_classes": classes},
                                expect={"output": [2, classes]})
            assert trace.device == "cpu"  # the ini setting reaches the fixture

        def test_an_instance_runs_where_it_is_and_keeps_its_mode(cnncheck):
            model = Net().train()
            weight = model.conv1.weight.clone()
            cnncheck(model, [1, 3, 32, 32], expect={"output": [1, 10]}, mode="eval")
            assert model.training and model.conv1.training
            assert model.conv1.weight.device.type == "cpu"
            assert torch.equal(model.conv1.weight, weight)

        def test_sizes(cnncheck):
            traces = cnncheck(Net, [1, 3, "H", "H"], sweep={"H": "30..36"},
                              expect={"accepts": {"H": "32..35"}})
            assert len(traces) == 7

        def test_a_malformed_expectation_is_a_spec_error(cnncheck):
            from pytest_cnncheck import SpecError
            with pytest.raises(SpecError, match="Unknown key 'ouput' in `expect`. Did you mean 'output'"):
                cnncheck(Net, [1, 3, 32, 32], expect={"ouput": [1, 10]})
    ''')
    result = tutorial.runpytest("-v")
    result.assert_outcomes(passed=5)


def test_importing_the_api_does_not_import_torch(pytester: pytest.Pytester) -> None:
    # torch loads when a model is checked, not when a test module imports the API.
    result = pytester.runpython_c(
        "import sys; from pytest_cnncheck import check_architecture; print(sorted("
        "name for name in ('torch', 'torchinfo') if name in sys.modules))")
    result.stdout.fnmatch_lines(["[[][]]"])


def test_a_model_that_is_no_model_is_a_type_error(tutorial: pytest.Pytester) -> None:
    tutorial.makepyfile(test_arch='''
        import pytest
        from pytest_cnncheck import check_architecture

        def test_number():
            with pytest.raises(TypeError, match="model must be an nn.Module, a class or function"):
                check_architecture(42, [1, 3, 32, 32])
    ''')
    tutorial.runpytest().assert_outcomes(passed=1)


def test_the_documented_settings_make_a_models_folder_importable(pytester: pytest.Pytester) -> None:
    # docs/python-api.md: a test in tests/ imports models/ only once pytest is told where
    # imports start; a model named by a string needs nothing.
    pytester.mkdir("models").joinpath("lenet.py").write_text(TUTORIAL_NET)
    tests = pytester.mkdir("tests")
    tests.joinpath("test_lenet.py").write_text(textwrap.dedent("""\
        from pytest_cnncheck import check_architecture

        from models.lenet import Net


        def test_lenet():
            check_architecture(Net, (1, 3, 32, 32), expect={"output": [1, 10], "flatten": {"fc1": "16*5*5"}})
    """))
    tests.joinpath("test_by_name.py").write_text(textwrap.dedent("""\
        from pytest_cnncheck import check_architecture


        def test_by_path(cnncheck):
            cnncheck("models/lenet.py:Net", (1, 3, 32, 32), expect={"output": [1, 10]})


        def test_by_module(cnncheck):
            cnncheck("models.lenet:Net", (1, 3, 32, 32), expect={"output": [1, 10]})
    """))
    # The `pytest` command, as users type it: `python -m pytest` would put the current
    # folder on sys.path and hide the problem.
    # (pytester's own runs put it on PYTHONPATH too.)
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(Path(sys.executable).parent / "pytest"), "-p", "no:cacheprovider", "-q"],
                              cwd=pytester.path, env=env, capture_output=True, text=True)

    result = run()
    assert result.returncode == 2, result.stdout
    assert "No module named 'models'" in result.stdout and "1 error" in result.stdout, result.stdout
    docs = (ROOT / "docs" / "python-api.md").read_text()
    setting = docs.split("```toml\n", 1)[1].split("```", 1)[0]
    assert 'pythonpath = ["."]' in setting
    pytester.path.joinpath("pyproject.toml").write_text(setting)
    result = run()
    assert result.returncode == 0 and "3 passed" in result.stdout, result.stdout


def test_check_architecture_shows_the_fix_it_tried_on_the_model(tutorial: pytest.Pytester) -> None:
    # The API runs a spec as a spec item does (runner.run_spec): the fix it prints was
    # applied to the model's source and run again, and it names the line to edit.
    tutorial.makepyfile(test_arch='''
        from pytest_cnncheck import check_architecture

        def test_wrong_flatten():
            check_architecture("net.py:Net", [1, 3, 32, 32], kwargs={"fc1_in": 16 * 6 * 6},
                               expect={"output": [1, 10]})
    ''')
    result = tutorial.runpytest()
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert_in_order(out, "failed in fc1: receives 16*5*5 = 400, in_features 576",
                    "fc1 is made at net.py:12: self.fc1 = nn.Linear(fc1_in, 120)",
                    "fix: in_features=400 in fc1: applied by `cnncheck fix`, verified on the model",
                    "kwargs: {fc1_in: 400} (now 576)")
