"""`cnncheck init`: a spec that states what the model does, and passes when collected."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pytest_cnncheck.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "models"

MODELS = [
    ("lenet.py:Net", "1,3,32,32", []),
    ("timeseries.py:SensorCNN", "4,9,128", ["--kwargs", '{"channels": 9, "num_classes": 6}']),
    ("vgg.py:vgg_small", "2,3,32,32", ["--mode", "train"]),
    ("resnet.py:ResNetSmall", "1,3,224,224", []),
]


@pytest.mark.parametrize("layers", ["leaf", "all", "none"])
@pytest.mark.parametrize(("model", "size", "extra"), MODELS, ids=[m[0] for m in MODELS])
def test_init_writes_a_spec_that_passes(pytester: pytest.Pytester, model: str, size: str,
                                        extra: list[str], layers: str) -> None:
    target = f"{EXAMPLES / model.split(':')[0]}:{model.split(':')[1]}"
    out = pytester.path / "models" / "written.cnncheck.yaml"
    out.parent.mkdir()
    assert main(["init", target, "--input-size", size, "--layers", layers, "--rules",
                 "-o", str(out), *extra]) == 0
    text = out.read_text()
    assert text.startswith("# Written by: cnncheck init ")
    assert "  expect:\n    output: [" in text
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=1)


def test_init_output_reads_like_a_hand_written_spec(capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(EXAMPLES)
    assert main(["init", "lenet.py:Net", "--input-size", "1,3,32,32", "--rules"]) == 0
    assert capsys.readouterr().out == """\
# Written by: cnncheck init lenet.py:Net --input-size 1,3,32,32 --rules
# Review it and keep what matters. Refresh values that change on purpose with
# `pytest --cnncheck-update`; remove a layer line to stop checking it.
#
net:
  model: lenet.py:Net
  input_size: [1, 3, 32, 32]
  expect:
    output: [1, 10]
    params: {total: 62006, trainable: 62006}
    layers:
      conv1: {output: [1, 6, 28, 28], params: 456}
      pool:
        calls:
          - {output: [1, 6, 14, 14]}
          - {output: [1, 16, 5, 5]}
      conv2: {output: [1, 16, 10, 10], params: 2416}
      flatten: {output: [1, 400]}
      fc1: {output: [1, 120], params: 48120}
      fc2: {output: [1, 84], params: 10164}
      fc3: {output: [1, 10], params: 850}
    flatten:
      fc1: 16*5*5
  rules:
    pooling: true
    exact_division: true
"""


def test_init_states_only_the_rules_that_hold(pytester: pytest.Pytester,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    pytester.makepyfile(pools="from torch import nn\n\ndef make():\n"
                              "    return nn.Sequential(nn.Conv2d(1, 2, 3, stride=2), nn.MaxPool2d(4, 4))\n")
    assert main(["init", "pools.py:make", "--input-size", "1,1,32,32", "--rules"]) == 0
    out = capsys.readouterr().out
    assert "    pooling: [[4, 4]]   # the windows in use today\n" in out
    assert "    # exact_division does not hold today: 0, 1\n" in out


def test_init_refuses_to_overwrite_without_force(tutorial: pytest.Pytester,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tutorial.path / "net.cnncheck.yaml"
    out.write_text("# mine\n")
    assert main(["init", "net.py:Net", "--input-size", "1,3,32,32", "-o", str(out)]) == 2
    assert "net.cnncheck.yaml exists; pass --force to overwrite it" in capsys.readouterr().err
    assert out.read_text() == "# mine\n"
    assert main(["init", "net.py:Net", "--input-size", "1,3,32,32", "-o", str(out), "--force"]) == 0
    assert "net:\n  model: net.py:Net\n" in out.read_text()


@pytest.mark.parametrize(("args", "code", "sentence"), [
    (["net.py:Nett", "--input-size", "1,3,32,32"], 1,
     "cnncheck init: `model`: net.py has no attribute 'Nett'. Did you mean 'Net'?"),
    (["missing:Net", "--input-size", "1,3,32,32"], 1, "cannot import 'missing'"),
    (["net.py:Net", "--input-size", "1,3,x"], 2,
     "--input-size must be comma-separated positive integers such as 1,3,32,32, not '1,3,x'"),
    (["net.py:Net", "--input-size", "1,3,32,32", "--kwargs", "{num_classes: 3}"], 2,
     "--kwargs is not JSON"),
    (["net.py:Net", "--input-size", "1,3,32,32", "--kwargs", '{"num_class": 3}'], 1,
     "`kwargs` do not fit net.py:Net: got an unexpected keyword argument 'num_class'"),
    (["net.py:Net", "--input-size", "1,3,36,36"], 1,
     "+     def __init__(self, num_classes=10, fc1_in=16 * 6 * 6):"),
])
def test_init_errors_are_plain_sentences(tutorial: pytest.Pytester, capsys: pytest.CaptureFixture[str],
                                         args: list[str], code: int, sentence: str) -> None:
    assert main(["init", *args]) == code
    captured = capsys.readouterr()
    assert sentence in captured.err
    assert captured.out == ""
    assert not list(tutorial.path.glob("*.cnncheck.yaml"))


def test_python_dash_m_runs_the_same_command(tutorial: pytest.Pytester) -> None:
    result = tutorial.run(sys.executable, "-m", "pytest_cnncheck", "init", "net.py:Net",
                          "--input-size", "1,3,32,32", "--name", "lenet", "--layers", "none")
    assert result.ret == 0
    assert result.stdout.lines[4:7] == ["lenet:", "  model: net.py:Net", "  input_size: [1, 3, 32, 32]"]


def test_init_writes_the_model_path_relative_to_where_the_spec_lands(
        pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    (pytester.path / "models").mkdir()
    (pytester.path / "models" / "lenet.py").write_text((EXAMPLES / "lenet.py").read_text())
    monkeypatch.chdir(pytester.path)
    # -o into folders that do not exist yet: made, and the path is relative to the spec.
    assert main(["init", "models/lenet.py:Net", "--input-size", "1,3,32,32",
                 "-o", "specs/deep/lenet.cnncheck.yaml"]) == 0
    text = (pytester.path / "specs" / "deep" / "lenet.cnncheck.yaml").read_text()
    assert "  model: ../../models/lenet.py:Net\n" in text
    assert "wrote specs/deep/lenet.cnncheck.yaml" in capsys.readouterr().err
    pytester.runpytest("specs").assert_outcomes(passed=1)
    # Printed: relative to the current folder, and stderr says so.
    assert main(["init", "models/lenet.py:Net", "--input-size", "1,3,32,32"]) == 0
    printed = capsys.readouterr()
    assert "  model: models/lenet.py:Net\n" in printed.out
    assert (f"`model: models/lenet.py:Net` is relative to {pytester.path}, where init ran: save "
            "the spec in that folder, or write it with -o FILE") in printed.err


def test_the_command_never_ends_in_a_traceback(tutorial: pytest.Pytester,
                                               capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import pytest_cnncheck.cli.init

    monkeypatch.chdir(tutorial.path)

    def broken(*args: object, **kwargs: object) -> str:
        raise KeyError("conv9")

    monkeypatch.setattr(pytest_cnncheck.cli.init, "spec_text", broken)
    assert main(["init", "net.py:Net", "--input-size", "1,3,32,32"]) == 3
    err = capsys.readouterr().err
    assert "cnncheck init: internal error: KeyError: 'conv9'" in err
    assert "This is a bug in pytest-cnncheck, not in your model or spec. Please report it" in err
    assert "Traceback" not in err


def test_init_states_nested_outputs_of_recurrent_layers(pytester: pytest.Pytester) -> None:
    from test_checks import RECURRENT

    pytester.makepyfile(tagger=RECURRENT)
    out = pytester.path / "tagger.cnncheck.yaml"
    assert main(["init", str(pytester.path / "tagger.py") + ":Tagger", "--input-size", "2,5,8",
                 "-o", str(out)]) == 0
    text = out.read_text()
    assert "    output: {tags: [2, 5, 3], state: [[1, 2, 20], [1, 2, 20]]}\n" in text
    assert "      lstm: {output: [[2, 5, 20], [[1, 2, 20], [1, 2, 20]]], params: 2400}\n" in text
    assert "      gru: {output: [[2, 5, 12], [4, 5, 6]], params: 1728}\n" in text
    pytester.runpytest().assert_outcomes(passed=1)


def test_init_with_a_budget_writes_bounds_with_headroom(tutorial: pytest.Pytester,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tutorial.path)
    assert main(["init", "net.py:Net", "--input-size", "1,3,32,32", "--budget", "10%", "--layers", "none",
                 "-o", "net.cnncheck.yaml"]) == 0
    text = (tutorial.path / "net.cnncheck.yaml").read_text()
    # 62,006 * 1.1 = 68,206.6: three significant digits, rounded up; bytes in whole KiB steps
    # No "# 62,006 today" comment: the update never rewrites a bound, so it would go stale.
    assert "    params: {max: 68.3K}\n" in text
    assert "    mult_adds: {max: 717K}\n" in text  # 651,720 * 1.1 = 716,892
    assert "    memory: {activations: {max: 56.5KiB}}\n" in text
    assert "today" not in text
    tutorial.runpytest().assert_outcomes(passed=1)
    # The update leaves bounds alone: a budget is intent.
    tutorial.runpytest("--cnncheck-update").assert_outcomes(passed=1)
    assert (tutorial.path / "net.cnncheck.yaml").read_text() == text


@pytest.mark.parametrize("value", [1, 999, 1000, 62_006, 658_238, 52_144, 4_089_238_376, 123_456_789])
@pytest.mark.parametrize("percent", [0, 10, 25])
def test_headroom_reads_well_and_always_holds(value: int, percent: int) -> None:
    from fractions import Fraction

    from pytest_cnncheck.report.scaffold import headroom
    from pytest_cnncheck.spec.model import BYTE_SUFFIXES, COUNT_SUFFIXES

    for suffixes in (COUNT_SUFFIXES, {k: v for k, v in BYTE_SUFFIXES.items() if "i" in k}):
        text = headroom(value, Fraction(percent, 100), suffixes)
        number, unit = text.rstrip("KMGTiB"), text[len(text.rstrip("KMGTiB")):]
        exact = Fraction(number) * (suffixes[unit] if unit else 1)
        assert exact.denominator == 1 and exact >= value * Fraction(100 + percent, 100)
        assert len(number.replace(".", "").lstrip("0")) <= 4, text
