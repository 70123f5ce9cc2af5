"""Collection: which files, which items, and pytest's own options on them."""

from __future__ import annotations

import pytest

from conftest import assert_in_order, write_spec

TWO_SPECS = """
    ok:
      model: net.py:Net
      input_size: [1, 3, 32, 32]
      expect: {output: [1, 10]}
    wrong:
      model: net.py:Net
      input_size: [1, 3, 32, 32]
      expect: {output: [1, 11]}
"""


def test_one_item_per_spec_with_file_and_name_as_id(tutorial: pytest.Pytester) -> None:
    write_spec(tutorial, TWO_SPECS)
    result = tutorial.runpytest("-v")
    result.stdout.fnmatch_lines([
        "arch.cnncheck.yaml::ok PASSED*",
        "arch.cnncheck.yaml::wrong FAILED*",
    ])
    result.assert_outcomes(passed=1, failed=1)


def test_yml_files_and_subfolders_are_collected(tutorial: pytest.Pytester) -> None:
    sub = tutorial.mkdir("models")
    sub.joinpath("net.py").write_text((tutorial.path / "net.py").read_text())
    sub.joinpath("small.cnncheck.yml").write_text(
        "small:\n  model: net.py:Net\n  input_size: [1, 3, 32, 32]\n")
    result = tutorial.runpytest("--collect-only", "-q")
    result.stdout.fnmatch_lines(["models/small.cnncheck.yml::small"])


def test_other_yaml_files_are_left_alone(tutorial: pytest.Pytester) -> None:
    tutorial.path.joinpath("config.yaml").write_text("not: [a, spec\n")
    tutorial.path.joinpath("ci.yml").write_text("jobs: {}\n")
    result = tutorial.runpytest()
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_cnncheck_patterns_ini_changes_the_globs(tutorial: pytest.Pytester) -> None:
    tutorial.makeini("[pytest]\ncnncheck_patterns = *.arch.yaml\n")
    tutorial.path.joinpath("lenet.arch.yaml").write_text(
        "lenet:\n  model: net.py:Net\n  input_size: [1, 3, 32, 32]\n")
    write_spec(tutorial, TWO_SPECS)  # no longer matches
    result = tutorial.runpytest("-v")
    result.stdout.fnmatch_lines(["lenet.arch.yaml::lenet PASSED*"])
    result.assert_outcomes(passed=1)


def test_templates_starting_with_a_dot_are_not_specs(tutorial: pytest.Pytester) -> None:
    write_spec(tutorial, """
        .base: &base
          model: net.py:Net
          input_size: [1, 3, 32, 32]
        small:
          <<: *base
          expect: {output: [1, 10]}
        large:
          <<: *base
          input_size: [4, 3, 32, 32]
          expect: {output: [4, 10]}
    """)
    result = tutorial.runpytest("-v")
    result.stdout.fnmatch_lines(["*::small PASSED*", "*::large PASSED*"])
    result.assert_outcomes(passed=2)


def test_marker_selects_spec_items(tutorial: pytest.Pytester) -> None:
    write_spec(tutorial, TWO_SPECS)
    tutorial.makepyfile(test_plain="def test_plain():\n    pass\n")
    only_specs = tutorial.runpytest("-m", "cnncheck")
    only_specs.assert_outcomes(passed=1, failed=1, deselected=1)
    no_specs = tutorial.runpytest("-m", "not cnncheck")
    no_specs.assert_outcomes(passed=1, deselected=2)


def test_k_x_and_lf_work_on_spec_items(tutorial: pytest.Pytester) -> None:
    write_spec(tutorial, TWO_SPECS)
    tutorial.runpytest("-k", "ok").assert_outcomes(passed=1, deselected=1)
    tutorial.runpytest().assert_outcomes(passed=1, failed=1)  # records the failure for --lf
    last_failed = tutorial.runpytest("--lf", "-v")
    last_failed.assert_outcomes(failed=1)
    last_failed.stdout.fnmatch_lines(["run-last-failure: rerun previous 1 failure*",
                                      "*::wrong FAILED*"])


def test_x_stops_after_the_first_failure(tutorial: pytest.Pytester) -> None:
    write_spec(tutorial, TWO_SPECS.replace("[1, 10]", "[1, 12]"))
    tutorial.runpytest("-x").assert_outcomes(failed=1)


def test_junitxml_carries_the_explanation(tutorial: pytest.Pytester) -> None:
    write_spec(tutorial, TWO_SPECS)
    result = tutorial.runpytest("--junitxml=report.xml")
    result.assert_outcomes(passed=1, failed=1)
    xml = (tutorial.path / "report.xml").read_text()
    assert 'name="ok"' in xml and 'name="wrong"' in xml
    assert "expect.output" in xml and "expected: [1, 11]" in xml and "actual:   [1, 10]" in xml


def test_xdist_gives_the_same_results(tutorial: pytest.Pytester) -> None:
    write_spec(tutorial, TWO_SPECS)
    write_spec(tutorial, TWO_SPECS.replace("ok:", "ok2:").replace("wrong:", "wrong2:"), "more")
    result = tutorial.runpytest_subprocess("-n", "2", "-p", "xdist")
    result.assert_outcomes(passed=2, failed=2)
    assert_in_order(result.stdout.str(), "[gw", "expected: [1, 11]", "actual:   [1, 10]")


def test_a_run_without_specs_does_not_import_torch(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="""
        import sys

        def test_torch_not_imported():
            assert "torch" not in sys.modules
            assert "torchinfo" not in sys.modules
            assert "pytest_cnncheck.plugin" in sys.modules
            assert "pytest_cnncheck.items" not in sys.modules  # nor YAML reading, nor checks
    """)
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)
