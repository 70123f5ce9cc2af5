"""`pytest --cnncheck-update`: only the wrong values change, atomically, never anything else."""

from __future__ import annotations

import textwrap

import pytest

from conftest import assert_in_order

SPEC = textwrap.dedent("""\
    # The tutorial net. Comments, anchors, quoting and expressions must survive.
    .base: &base
      model: net.py:Net
      input_size: [1, 3, 32, 32]

    lenet:   # two values below are wrong
      <<: *base
      expect:
        output: [1, "5*2"]
        params: {total: 61706, trainable: 62006}

        layers:
          conv2: {output: [1, 16, 12, 10]}   # the 12 is wrong
          fc1: {input: [_, 16*5*5]}
        flatten:
          'fc1': '16 * 5 * 5'
""")


def spec_file(pytester: pytest.Pytester, text: str = SPEC) -> pytest.Pytester:
    pytester.path.joinpath("arch.cnncheck.yaml").write_bytes(text.encode())
    return pytester


def test_only_the_wrong_values_change(tutorial: pytest.Pytester) -> None:
    spec_file(tutorial)
    result = tutorial.runpytest("--cnncheck-update")
    result.assert_outcomes(passed=1)
    assert_in_order(result.stdout.str(), "cnncheck updates",
                    "arch.cnncheck.yaml:10: lenet: expect.params.total: 61,706 -> 62,006",
                    "arch.cnncheck.yaml:13: lenet: expect.layers.conv2.output: [1, 16, 12, 10] -> "
                    "[1, 16, 10, 10]")
    expected = (SPEC.replace("total: 61706", "total: 62006")
                .replace("[1, 16, 12, 10]", "[1, 16, 10, 10]"))
    assert tutorial.path.joinpath("arch.cnncheck.yaml").read_bytes() == expected.encode()
    tutorial.runpytest().assert_outcomes(passed=1)


def test_a_wrong_expression_becomes_the_number(tutorial: pytest.Pytester) -> None:
    spec_file(tutorial, SPEC.replace("'16 * 5 * 5'", "'16 * 6 * 6'").replace("61706", "62006")
              .replace("[1, 16, 12, 10]", "[1, 16, 10, 10]"))
    tutorial.runpytest("--cnncheck-update").assert_outcomes(passed=1)
    assert "'fc1': 400\n" in tutorial.path.joinpath("arch.cnncheck.yaml").read_text()


def test_without_the_flag_nothing_is_written(tutorial: pytest.Pytester) -> None:
    spec_file(tutorial)
    tutorial.runpytest().assert_outcomes(failed=1)
    assert tutorial.path.joinpath("arch.cnncheck.yaml").read_bytes() == SPEC.encode()


def test_crlf_and_byte_order_mark_survive(tutorial: pytest.Pytester) -> None:
    text = SPEC.replace("\n", "\r\n")
    tutorial.path.joinpath("arch.cnncheck.yaml").write_bytes(b"\xef\xbb\xbf" + text.encode())
    tutorial.runpytest("--cnncheck-update").assert_outcomes(passed=1)
    expected = text.replace("total: 61706", "total: 62006").replace("[1, 16, 12, 10]", "[1, 16, 10, 10]")
    assert tutorial.path.joinpath("arch.cnncheck.yaml").read_bytes() == b"\xef\xbb\xbf" + expected.encode()


def test_values_shared_through_an_anchor_are_not_rewritten(tutorial: pytest.Pytester) -> None:
    text = textwrap.dedent("""\
        .expect: &expect
          output: [1, 11]
        first:
          model: net.py:Net
          input_size: [1, 3, 32, 32]
          expect: *expect
        second:
          model: net.py:Net
          input_size: [1, 3, 32, 32]
          expect: {output: [1, 12]}
    """)
    spec_file(tutorial, text)
    result = tutorial.runpytest("--cnncheck-update")
    result.assert_outcomes(passed=1, failed=1)
    after = tutorial.path.joinpath("arch.cnncheck.yaml").read_text()
    assert after == text.replace("[1, 12]", "[1, 10]")
    # The spec that keeps failing says why, and where to edit.
    assert "not updated: expect.output is inherited from line 2, through an anchor other specs " \
           "may share; edit it there" in result.stdout.str()


def test_a_merge_key_value_is_named_not_updated_and_the_rest_is_written(
        tutorial: pytest.Pytester) -> None:
    text = textwrap.dedent("""\
        .base: &base
          model: net.py:Net
          input_size: [1, 3, 32, 32]
          expect: {output: [1, 11]}
        net:
          <<: *base
          expect: {output: [1, 11], params: 5}
        inherits:
          <<: *base
    """)
    spec_file(tutorial, text)
    result = tutorial.runpytest("--cnncheck-update")
    result.assert_outcomes(passed=1, failed=1)
    assert tutorial.path.joinpath("arch.cnncheck.yaml").read_text() == text.replace(
        "output: [1, 11], params: 5", "output: [1, 10], params: 62006")
    assert "not updated: expect.output is inherited from line 4" in result.stdout.str()


def test_spec_errors_and_crashes_are_never_fixed(tutorial: pytest.Pytester) -> None:
    text = textwrap.dedent("""\
        typo:
          model: net.py:Net
          input_size: [1, 3, 32, 32]
          expect: {ouput: [1, 11]}
        crash:
          model: net.py:Net
          kwargs: {fc1_in: 576}
          input_size: [1, 3, 32, 32]
          expect: {output: [1, 11]}
        missing:
          model: nowhere.py:Net
          input_size: [1, 3, 32, 32]
          expect: {output: [1, 11]}
    """)
    spec_file(tutorial, text)
    result = tutorial.runpytest("--cnncheck-update")
    result.assert_outcomes(failed=3)
    assert tutorial.path.joinpath("arch.cnncheck.yaml").read_text() == text
    assert "cnncheck updates" not in result.stdout.str()


def test_nothing_of_a_crashing_model_is_written(tutorial: pytest.Pytester) -> None:
    # The Linear sized for the wrong input makes the forward pass raise; its build still
    # has parameter counts, and they are the broken model's: none may become the spec.
    text = textwrap.dedent("""\
        crash:
          model: net.py:Net
          kwargs: {fc1_in: 576}
          input_size: [1, 3, 32, 32]
          expect:
            output: [1, 10]
            params: {total: 62006, trainable: 62006}
            layers:
              fc1: {params: 48120, output: [1, 120]}
              conv1: {output: [1, 6, 30, 30]}
    """)
    spec_file(tutorial, text)
    for extra in ((), ("-n", "2")):
        result = tutorial.runpytest_subprocess("--cnncheck-update", *extra)
        result.assert_outcomes(failed=1)
        out = result.stdout.str()
        assert "not updated: the forward pass raised, so none of its numbers are written" in out
        assert "cnncheck updates" not in out
        assert tutorial.path.joinpath("arch.cnncheck.yaml").read_text() == text


def test_every_rewrite_is_listed_with_its_spec(tutorial: pytest.Pytester) -> None:
    # Two specs of one file change the same key: both are written, and both are listed.
    text = textwrap.dedent("""\
        one:
          model: net.py:Net
          input_size: [1, 3, 32, 32]
          expect: {params: 1}
        two:
          model: net.py:Net
          input_size: [2, 3, 32, 32]
          expect: {params: 2}
    """)
    for extra in ((), ("-n", "2")):
        spec_file(tutorial, text)
        result = tutorial.runpytest_subprocess("--cnncheck-update", *extra)
        result.assert_outcomes(passed=2)
        assert_in_order(result.stdout.str(), "cnncheck updates",
                        "arch.cnncheck.yaml:4: one: expect.params: 1 -> 62,006",
                        "arch.cnncheck.yaml:8: two: expect.params: 2 -> 62,006")
        assert tutorial.path.joinpath("arch.cnncheck.yaml").read_text() == text.replace(
            "params: 1}", "params: 62006}").replace("params: 2}", "params: 62006}")


def test_rule_violations_still_fail_while_values_are_fixed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(pool="from torch import nn\n\ndef make():\n    return nn.MaxPool2d(4, 4)\n")
    text = "pool:\n  model: pool.py:make\n  input_size: [1, 1, 8, 8]\n" \
           "  expect: {output: [1, 1, 4, 4]}\n  rules: {pooling: true}\n"
    spec_file(pytester, text)
    result = pytester.runpytest("--cnncheck-update")
    result.assert_outcomes(failed=1)
    assert "rules.pooling" in result.stdout.str()
    assert pytester.path.joinpath("arch.cnncheck.yaml").read_text() == text.replace("[1, 1, 4, 4]",
                                                                                   "[1, 1, 2, 2]")


def test_an_interrupted_write_leaves_the_original_file(tutorial: pytest.Pytester,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import pytest_cnncheck.files

    def interrupted(source: object, target: object) -> None:
        raise OSError(28, "No space left on device")

    spec_file(tutorial)
    monkeypatch.setattr(pytest_cnncheck.files.os, "replace", interrupted)
    result = tutorial.runpytest("--cnncheck-update")
    assert "arch.cnncheck.yaml: not updated: writing it failed: [Errno 28] No space left on " \
           "device" in result.stdout.str()
    assert "INTERNALERROR" not in result.stdout.str()
    assert tutorial.path.joinpath("arch.cnncheck.yaml").read_bytes() == SPEC.encode()
    assert sorted(p.name for p in tutorial.path.iterdir() if "cnncheck" in p.name) == [
        "arch.cnncheck.yaml"]  # no temporary file left behind


def test_a_file_edited_during_the_run_is_left_alone(tutorial: pytest.Pytester) -> None:
    spec_file(tutorial)
    tutorial.makeconftest("""
        from pathlib import Path

        def pytest_runtest_teardown(item):
            path = Path(item.path)
            path.write_text(path.read_text().replace("params: {total", "params: {total "))
    """)
    result = tutorial.runpytest("--cnncheck-update")
    assert "arch.cnncheck.yaml: not updated: it changed since it was read" in result.stdout.str()
    assert "61706" in tutorial.path.joinpath("arch.cnncheck.yaml").read_text()
    # The item passed on the promise of that write: the run does not end green and silent.
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=1, warnings=1)
    assert "CnncheckWarning" in result.stdout.str()


def test_a_file_changed_before_its_item_ran_fails_the_item(tutorial: pytest.Pytester) -> None:
    spec_file(tutorial)
    tutorial.makeconftest("""
        from pathlib import Path

        def pytest_runtest_setup(item):
            path = Path(item.path)
            path.write_text(path.read_text() + "# edited\\n")
    """)
    result = tutorial.runpytest("--cnncheck-update")
    result.assert_outcomes(failed=1)
    assert "not updated: the file changed since it was read; run again to update it" in \
        result.stdout.str()
    assert "61706" in tutorial.path.joinpath("arch.cnncheck.yaml").read_text()


SLOW_NET = textwrap.dedent("""\
    import os, time
    from pathlib import Path
    from torch import nn


    class Slow(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2)

        def forward(self, x):
            Path(os.environ["SLOW_STARTED"]).touch()
            time.sleep(60)
            return self.fc(x)
""")


def test_an_interrupted_update_writes_nothing(tutorial: pytest.Pytester) -> None:
    # A real Ctrl-C (SIGINT) while the second spec runs: the first spec's fix is ready,
    # but an interrupted session writes no file.
    import os
    import signal
    import subprocess
    import sys
    import time

    tutorial.makepyfile(slow=SLOW_NET)
    text = SPEC + textwrap.dedent("""\
        slow:
          model: slow.py:Slow
          input_size: [1, 4]
          expect: {output: [1, 3]}
    """)
    spec_file(tutorial, text)
    started = tutorial.path / "started"
    env = {**os.environ, "SLOW_STARTED": str(started)}
    # SIGINT as a terminal has it: a shell's background job (`cmd &`, nohup) ignores it, and
    # a child would inherit that and sleep through the Ctrl-C.
    process = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p",
                                "no:randomly", "--cnncheck-update"], cwd=tutorial.path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not started.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started.exists(), process.communicate()[0]
    process.send_signal(signal.SIGINT)
    # An interrupt that did not stop the run is caught by the exit status below (the model
    # sleeps its minute out and the run passes on).
    out = process.communicate(timeout=120)[0]
    assert process.returncode == pytest.ExitCode.INTERRUPTED, out
    assert "arch.cnncheck.yaml: not updated: the run was interrupted, so nothing was written" in out
    assert tutorial.path.joinpath("arch.cnncheck.yaml").read_bytes() == text.encode()
    assert [p.name for p in tutorial.path.iterdir() if "cnncheck" in p.name] == ["arch.cnncheck.yaml"]


def test_xdist_workers_fixes_to_one_file_all_land(tutorial: pytest.Pytester) -> None:
    specs = "".join(f"""
spec{n}:
  model: net.py:Net
  input_size: [{n + 1}, 3, 32, 32]
  expect: {{output: [{n + 1}, 11], params: {62000 + n}}}
""" for n in range(6))
    spec_file(tutorial, specs)
    result = tutorial.runpytest_subprocess("-n", "2", "--cnncheck-update")
    result.assert_outcomes(passed=6)
    after = tutorial.path.joinpath("arch.cnncheck.yaml").read_text()
    for n in range(6):
        assert f"expect: {{output: [{n + 1}, 10], params: 62006}}" in after
    tutorial.runpytest().assert_outcomes(passed=6)


def test_block_style_shapes_are_rewritten_in_place(tutorial: pytest.Pytester) -> None:
    text = textwrap.dedent("""\
        lenet:
          model: net.py:Net
          input_size: [1, 3, 32, 32]
          expect:
            output:
              - 1
              - 10
              - 1
            layers:
              conv1:
                output:
                  - 1
                  - 7   # one wrong dimension
                  - 28
                  - 28
    """)
    spec_file(tutorial, text)
    tutorial.runpytest("--cnncheck-update").assert_outcomes(passed=1)
    after = tutorial.path.joinpath("arch.cnncheck.yaml").read_text()
    assert after == text.replace("      - 1\n      - 10\n      - 1\n", "      [1, 10]\n").replace(
        "- 7   # one", "- 6   # one")
    tutorial.runpytest().assert_outcomes(passed=1)


def test_a_bound_is_never_rewritten(tutorial: pytest.Pytester) -> None:
    # A bound is intent: the update fixes the exact value beside it and leaves the bound
    # alone, and the item keeps failing on it.
    text = textwrap.dedent("""\
        net:
          model: net.py:Net
          input_size: [1, 3, 32, 32]
          expect:
            output: [1, 11]
            params: {total: {max: 50K}, trainable: 62000}
    """)
    spec_file(tutorial, text)
    result = tutorial.runpytest("--cnncheck-update")
    result.assert_outcomes(failed=1)
    assert_in_order(result.stdout.str(), "expect.params.total", "expected: at most 50K = 50,000",
                    "12,006 parameters over the bound: 62,006 is 24.0% above 50,000",
                    "the layers that carry the most:", "fc1: 48,120 (77.6%)",
                    "cnncheck updates", "net: expect.output: [1, 11] -> [1, 10]",
                    "net: expect.params.trainable: 62,000 -> 62,006")
    assert tutorial.path.joinpath("arch.cnncheck.yaml").read_text() == text.replace(
        "[1, 11]", "[1, 10]").replace("trainable: 62000", "trainable: 62006")
