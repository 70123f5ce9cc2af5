"""Bad specs and broken models: each fails its own item with file:line and a plain sentence."""

from __future__ import annotations

import pytest

from conftest import assert_in_order, run, write_spec

GOOD = """
    good:
      model: net.py:Net
      input_size: [1, 3, 32, 32]
      expect: {output: [1, 10]}
"""


def assert_fails_alone(result: pytest.RunResult, out: str) -> None:
    """The broken spec fails, the good one passes, and the plugin did not crash."""
    result.assert_outcomes(passed=1, failed=1)
    assert "INTERNALERROR" not in out
    assert "pytest_cnncheck" not in out  # no traceback of the plugin's own frames
    assert "Traceback" not in out


# (the broken spec, its line, the plugin's sentence). tests/test_schema.py runs each one
# through the JSON Schema too.
MISTAKES = [
    ("""
    broken:
      model: net.py:Net
      input_size: [1, 3, 32, 32]
      expect:
        ouput: [1, 10]
    """, 6, "Unknown key 'ouput' in `expect`. Did you mean 'output'? Known keys: output,"),
    ("""
    broken:
      modle: net.py:Net
      input_size: [1, 3, 32, 32]
    """, 3, "Unknown key 'modle' in spec. Did you mean 'model'?"),
    ("""
    broken:
      model: net.py:Net
      input_size: [1, 3, 32, 32]
      expect:
        layers:
          conv1: {outptu: [1, 6, 28, 28]}
    """, 7, "Unknown key 'outptu' in `expect.layers.conv1`. Did you mean 'output'?"),
    ("""
    broken:
      model: net.py:Net
      input_size: [1, 3, 32, 32]
      expect:
        params: "16*5*5 + __import__('os').getpid()"
    """, 6, "contains a function call, which is not allowed"),
    ("""
    broken:
      model: net.py:Net
      input_size: [1, 3, 32, 32]
      expect:
        output: [1, "10 / 3"]
    """, 6, "divides 10 by 3, which leaves a remainder (write // to round down)"),
    ("""
    broken:
      model: net.py:Net
      input_size: [1, 3, 32, 32]
      expect:
        output: [1, "2**64"]
    """, 6, "uses the operator **, which is not allowed"),
    ("""
    broken:
      model: net.py:Net
      input_size: [1, 3, 32, 32]
      expect:
        output: [1, -1]
    """, 6, "`expect.output[1]` must be zero or more, but -1 is not."),
    ("""
    broken:
      model: net.py:Net
      input_size: "1, 3, 32, 32"
    """, 4, "`input_size` must be a shape such as [1, 16, 5, 5], not the text '1, 3, 32, 32'."),
    ("""
    broken:
      model: net.py:Net
      input_size: [1, 3, 32, 32]
      device: gpu
    """, 5, "`device` must be one of meta, cpu, cuda, not the text 'gpu'. Did you mean 'cuda'? "
            "torch calls a GPU 'cuda'"),
    ("""
    broken:
      model: net.py:Net
      input_size: [1, 3, 32, 32]
      dtype: float23
    """, 5, "`dtype`: the text 'float23' is not a dtype cnncheck knows. Did you mean 'float32'?"),
    ("""
    broken:
      model: net.py:Net
      input_size: [1, 3, 32, 32]
      rules: {pooling: [2, 2]}
    """, 5, "`rules.pooling` must be true, false, or a list of allowed [F, S] pairs"),
    ("""
    broken:
      input_size: [1, 3, 32, 32]
    """, 2, "The spec has no `model`"),
    ("""
    broken:
      model: net.py:Net
      input_size: [1, 3, 32, 32]
      expect:
        output: [1, 10]
        output: [1, 11]
    """, 7, "The key 'output' is written twice in one mapping, on line 11 and line 12; PyYAML "
              "would silently keep the last."),
    ("""
    broken:
      model: net.py:Net
      input_size: [1, 3, 32, 32]
      expect:
        layers:
          0.1: {output: [1, 2]}
    """, 7, "(quote it: YAML reads 0.10 as the number 0.1)"),
    ("""
    broken:
      model: net.py:Net
      input_size: [1, 3, 32, 32]
      expect:
        params: {max: 5m}
    """, 6, "`expect.params.max`: '5m' has the suffix 'm', which is not one cnncheck knows (K, M, G, T). "
            "Did you mean 5M?"),
    ("""
    broken:
      model: net.py:Net
      input_size: [1, 3, 32, 32]
      expect:
        memory: {activations: {max: 16Gib}}
    """, 6, "'16Gib' has the suffix 'Gib', which is not one cnncheck knows (B, KiB, MiB, GiB, TiB, K, M, G, T, "
            "KB, MB, GB, TB). Did you mean 16GiB?"),
    ("""
    broken:
      model: net.py:Net
      input_size: [1, 3, 32, 32]
      expect:
        memory: {params: 16m}
    """, 6, "'16m' has the suffix 'm', which is not one cnncheck knows"),
    ("""
    broken:
      model: net.py:Net
      input_size: [1, 3, 32, 32]
      expect:
        flatten: {fc1: "16 x 5 x 5"}
    """, 6, "`expect.flatten.fc1`: the expression '16 x 5 x 5' is not integer arithmetic"),
    ("""
    broken:
      model: net.py:Net
      input_size: [1, 3, 32, 32]
      expect:
        output: [1, 10M]
    """, 6, "not the text '10M'"),
    ("""
    broken:
      model: net.py:Net
      input_size: [1, 3, 32, 32]
      expect:
        params: {min: 10M, max: 5M}
    """, 6, "`expect.params`: min 10M = 10000000 is above max 5M = 5000000."),
]


@pytest.mark.parametrize(("broken", "line", "sentence"), MISTAKES)
def test_spec_mistakes(tutorial: pytest.Pytester, broken: str, line: int, sentence: str) -> None:
    result, out = run(tutorial, GOOD + broken)
    assert_fails_alone(result, out)
    line += GOOD.count("\n")
    assert f"arch.cnncheck.yaml:{line}: " in out
    assert sentence in out


def test_several_mistakes_in_one_spec_are_all_reported(tutorial: pytest.Pytester) -> None:
    result, out = run(tutorial, GOOD + """
    broken:
      model: net.py:Net
      input_size: [1, 3, 32, 32]
      mode: training
      expect:
        ouput: [1, 10]
    """)
    assert_fails_alone(result, out)
    assert_in_order(out, ":10: `mode` must be one of eval, train", ":12: Unknown key 'ouput'")


NEAR_MISSES = {
    "device: GPU": "not the text 'GPU'. Did you mean 'cuda'? torch calls a GPU 'cuda'",
    "device: cuda:0": "not the text 'cuda:0'. Did you mean 'cuda'? A spec names no device index: "
                      "cuda runs on the current one; pick it with CUDA_VISIBLE_DEVICES=0.",
    "device: CPU": "not the text 'CPU'. Did you mean 'cpu'? Device names are lowercase.",
    "device: mps": "torch's mps device is not one cnncheck runs specs on: shapes are the same on "
                   "every device, so leave `device` out (meta, no memory) or write cpu.",
    "device: auto": "Leave `device` out for the default: meta, falling back to the CPU",
    "dtype: fp16": "the text 'fp16' is not a dtype cnncheck knows. torch calls it 'float16'.",
    "dtype: bf16": "the text 'bf16' is not a dtype cnncheck knows. torch calls it 'bfloat16'.",
    "dtype: [float, fp16]": "the text 'fp16' is not a dtype cnncheck knows. torch calls it 'float16'.",
    "dtype: 16-mixed": "`dtype` is the dummy input's dtype, not a training precision: mixed "
                       "precision (autocast) keeps float32 inputs.",
    "dtype: Float32": "Did you mean 'float32'? dtype names are lowercase.",
}


def test_a_kwargs_value_the_model_cannot_build_with_is_blamed_on_its_key(
        tutorial: pytest.Pytester) -> None:
    result, out = run(tutorial, GOOD + """
    broken:
      model: net.py:Net
      kwargs:
        fc1_in: 400
        num_classes: "ten"
      input_size: [1, 3, 32, 32]
    """)
    assert_fails_alone(result, out)
    assert_in_order(out, "arch.cnncheck.yaml:11: `kwargs.num_classes`: net.py:Net could not be "
                         "built with num_classes='ten': net.py:14: self.fc3 = nn.Linear(84, "
                         "num_classes) raised TypeError: ",
                    "Is 'ten' the kind of value num_classes takes?",
                    '  11 |     num_classes: "ten"')


def test_near_misses_of_device_and_dtype_say_what_to_write(tutorial: pytest.Pytester) -> None:
    specs = "".join(f"""
    miss{n}:
      model: net.py:Net
      input_size: [1, 3, 32, 32]
      {line}
    """ for n, line in enumerate(NEAR_MISSES))
    result, out = run(tutorial, GOOD + specs)
    result.assert_outcomes(passed=1, failed=len(NEAR_MISSES))
    for n, sentence in enumerate(NEAR_MISSES.values()):
        assert f"arch.cnncheck.yaml:{10 + 5 * n}: " in out
        assert sentence in out, sentence


@pytest.mark.parametrize(("model", "sentence"), [
    ("missing_module:Net", "cannot import 'missing_module': no module named 'missing_module'"),
    ("net:Nett", "net has no attribute 'Nett'. Did you mean 'Net'?"),
    ("nowhere.py:Net", "the file"),
    ("raises_on_import.py:Net", "importing raises_on_import.py raised ZeroDivisionError: "
                                "division by zero at raises_on_import.py:2: 1 / 0"),
    ("factories.py:not_a_module", "factories.py:not_a_module returned list, not an nn.Module"),
    ("factories.py:raises", "building factories.py:raises raised ValueError: no such depth: 7 at "
                            "factories.py:9: raise ValueError"),
    ("factories.py:CONSTANT", "is an object of type int, not an nn.Module class or a function "
                              "returning one"),
])
def test_model_problems(tutorial: pytest.Pytester, model: str, sentence: str) -> None:
    tutorial.makepyfile(raises_on_import="import torch\n1 / 0\n", factories="""
        from torch import nn

        CONSTANT = 3

        def not_a_module():
            return [nn.Linear(1, 1)]

        def raises(depth=7):
            raise ValueError(f"no such depth: {depth}")
    """)
    result, out = run(tutorial, GOOD + f"""
    broken:
      model: {model}
      input_size: [1, 3, 32, 32]
    """)
    assert_fails_alone(result, out)
    assert f"arch.cnncheck.yaml:{GOOD.count(chr(10)) + 3}: `model`: " in out
    assert sentence in out


def test_kwargs_the_model_rejects(tutorial: pytest.Pytester) -> None:
    result, out = run(tutorial, GOOD + """
    broken:
      model: net.py:Net
      kwargs: {num_class: 10}
      input_size: [1, 3, 32, 32]
    """)
    assert_fails_alone(result, out)
    assert "arch.cnncheck.yaml:9: `kwargs` do not fit net.py:Net: got an unexpected keyword " \
           "argument 'num_class'. Did you mean 'num_classes' for 'num_class'? (it takes: num_classes=10, " \
           "fc1_in=400)." in out


def test_a_forward_pass_that_raises(tutorial: pytest.Pytester) -> None:
    tutorial.makepyfile(crashing="""
        from torch import nn

        class Crashing(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 4, 3)

            def forward(self, x):
                x = self.conv(x)
                raise KeyError("head")
    """)
    result, out = run(tutorial, GOOD + """
    broken:
      model: crashing.py:Crashing
      input_size: [1, 3, 8, 8]
    """)
    assert_fails_alone(result, out)
    assert_in_order(out, "arch.cnncheck.yaml:9: forward",
                    "The forward pass on input [1, 3, 8, 8] raised KeyError: 'head'",
                    "it raised in the model's own forward code, after conv (output [1, 4, 6, 6] -> "
                    "4*6*6 = 144)", "at crashing.py:10: raise KeyError(\"head\")")


def test_a_file_that_is_not_yaml_is_one_failed_item(tutorial: pytest.Pytester) -> None:
    write_spec(tutorial, GOOD, "good")
    tutorial.path.joinpath("broken.cnncheck.yaml").write_text(
        "lenet:\n  model: net.py:Net\n  input_size: [1, 3, 32, 32\n  expect: {}\n")
    result = tutorial.runpytest("-v")
    out = result.stdout.str()
    assert_fails_alone(result, out)
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # not interrupted
    assert_in_order(out, "broken.cnncheck.yaml::<file> FAILED",
                    # the line to edit first, then where the parser noticed, each with its text
                    "broken.cnncheck.yaml:3: This file is not valid YAML: the `[` opened on line "
                    "3 is never closed: a `]` is missing.",
                    "   3 |   input_size: [1, 3, 32, 32",
                    "broken.cnncheck.yaml:4: ...so the parser gave up on line 4: expected ',' or "
                    "']', but got ':'.",
                    "   4 |   expect: {}")


def test_an_unclosed_quote_names_the_line_that_opened_it(tutorial: pytest.Pytester) -> None:
    tutorial.path.joinpath("broken.cnncheck.yaml").write_text(
        'lenet:\n  model: "net.py:Net\n  input_size: [1, 3, 32, 32]\n')
    out = tutorial.runpytest().stdout.str()
    assert_in_order(out, 'broken.cnncheck.yaml:2: This file is not valid YAML: the `"` opened on '
                         'line 2 is never closed: a `"` is missing.',
                    '   2 |   model: "net.py:Net')


@pytest.mark.parametrize(("text", "sentence"), [
    ("", "This file holds no specs"),
    ("- lenet\n- vgg\n", "The top level of a spec file must be a mapping of spec names to specs, not a list."),
    ("lenet: !!python/object/apply:os.system ['touch hacked']\n",
     "uses the tag 'tag:yaml.org,2002:python/object/apply:os.system', which cnncheck does not load"),
    ("lenet:\n\tmodel: net.py:Net\n", "found character '\\t' that cannot start any token"),
])
def test_unreadable_files(tutorial: pytest.Pytester, text: str, sentence: str) -> None:
    write_spec(tutorial, GOOD, "good")
    tutorial.path.joinpath("broken.cnncheck.yaml").write_text(text)
    result = tutorial.runpytest()
    out = result.stdout.str()
    assert_fails_alone(result, out)
    assert sentence in out
    assert not tutorial.path.joinpath("hacked").exists()


def test_a_file_that_is_not_utf8(tutorial: pytest.Pytester) -> None:
    write_spec(tutorial, GOOD, "good")
    tutorial.path.joinpath("broken.cnncheck.yaml").write_bytes(b"lenet:\n  model: n\xe9t.py:Net\n")
    result = tutorial.runpytest()
    out = result.stdout.str()
    assert_fails_alone(result, out)
    assert "broken.cnncheck.yaml:2: is not UTF-8 text (byte 0xe9 at offset 17)" in out


def test_an_alias_bomb_is_not_expanded(tutorial: pytest.Pytester) -> None:
    levels = ["a0: &a0 [1, 2, 3, 4, 5, 6, 7, 8, 9]"]
    for n in range(1, 30):
        levels.append(f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 9) + "]")
    bomb = "\n".join(f".{line}" for line in levels)  # 9**30 items if expanded
    write_spec(tutorial, bomb + """
    lenet:
      model: net.py:Net
      input_size: *a29
    """.replace("\n    ", "\n"))
    result = tutorial.runpytest()
    result.assert_outcomes(failed=1)
    assert "`input_size` holds more than 10,000 values: a model's inputs are a few tensors." in \
        result.stdout.str()


def test_merge_keys_anchors_and_overrides(tutorial: pytest.Pytester) -> None:
    result, _ = run(tutorial, """
    .base: &base
      model: net.py:Net
      input_size: [1, 3, 32, 32]
      expect: &expect
        output: [1, 10]
    ten:
      <<: *base
    hundred:
      <<: *base
      kwargs: {num_classes: 100}
      expect:
        <<: *expect
        output: [1, 100]
    """)
    result.assert_outcomes(passed=2)


def test_merged_keys_point_at_their_own_lines(tutorial: pytest.Pytester) -> None:
    _, out = run(tutorial, """
    .base: &base
      model: net.py:Net
      input_size: [1, 3, 32, 32]
      expect: {output: [1, 11]}
    ten:
      <<: *base
    """)
    assert "arch.cnncheck.yaml:5: expect.output" in out


def test_cuda_without_cuda_is_a_skip(tutorial: pytest.Pytester) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    result, _ = run(tutorial, GOOD.replace("      input_size", "      device: cuda\n      input_size"), "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED * arch.cnncheck.yaml:2: the spec asks for device: cuda, "
                                 "and CUDA is not available here"])
