"""Every expectation and rule of the contract, passing and failing, through real pytest runs."""

from __future__ import annotations

import pytest

from conftest import assert_in_order, run

LENET_FULL = """
    lenet:
      model: net.py:Net
      kwargs: {num_classes: 10}
      input_size: [1, 3, 32, 32]
      dtype: float32
      mode: eval
      expect:
        output: [1, 10]
        params:
          total: 62006
          trainable: 62006
        layers:
          conv1: {output: [1, 6, 28, 28], params: 456}
          conv2: {output: [1, 16, 10, 10]}
          pool:
            calls:
              - {output: [1, 6, 14, 14]}
              - {output: [1, 16, 5, 5]}
          fc1: {input: [1, 400], type: Linear}
        flatten:
          fc1: 16*5*5
      rules:
        pooling: [[2, 2], [3, 2]]
        exact_division: true
"""


def test_the_contract_example_passes(tutorial: pytest.Pytester) -> None:
    result, _ = run(tutorial, LENET_FULL)
    result.assert_outcomes(passed=1)


def test_every_mismatch_is_reported_in_one_failure(tutorial: pytest.Pytester) -> None:
    spec = (LENET_FULL.replace("output: [1, 10]", "output: [1, 12]")
            .replace("total: 62006", "total: 62000")
            .replace("conv2: {output: [1, 16, 10, 10]}", "conv2: {output: [1, 16, 12, 12]}")
            .replace("fc1: 16*5*5", "fc1: 16*6*6"))
    result, out = run(tutorial, spec)
    result.assert_outcomes(failed=1)
    assert "4 mismatches in spec 'lenet'" in out
    assert_in_order(out,
                    "arch.cnncheck.yaml:9: expect.output", "expected: [1, 12]", "actual:   [1, 10]",
                    "arch.cnncheck.yaml:11: expect.params.total", "expected: 62,000",
                    "actual:   62,006",
                    "arch.cnncheck.yaml:15: expect.layers.conv2.output",
                    "expected: [1, 16, 12, 12]", "actual:   [1, 16, 10, 10]",
                    "arch.cnncheck.yaml:22: expect.flatten.fc1")


def test_conv_arithmetic_explains_an_output_size(tutorial: pytest.Pytester) -> None:
    spec = LENET_FULL.replace("conv2: {output: [1, 16, 10, 10]}", "conv2: {output: [1, 16, 12, 12]}")
    _, out = run(tutorial, spec)
    assert_in_order(out, "conv2 = Conv2d(6, 16, kernel_size=5, stride=1, padding=0) on input "
                         "[1, 6, 14, 14]:",
                    "H: (14 - 5 + 2*0) / 1 + 1 = 10", "W: (14 - 5 + 2*0) / 1 + 1 = 10")
    assert "    15 |       conv2: {output: [1, 16, 12, 12]}" in out  # the spec's own line


def test_params_show_the_per_layer_formula_and_the_layers_of_a_total(tutorial: pytest.Pytester) -> None:
    spec = (LENET_FULL.replace("params: 456", "params: 6 * 5*5*3")
            .replace("total: 62006", "total: 61706"))
    _, out = run(tutorial, spec)
    assert_in_order(out, "expect.params.total", "expected: 61,706", "actual:   62,006",
                    "made up of:", "conv1: 6 * (5*5*3 + 1) = 456", "conv2: 16 * (5*5*6 + 1) = 2,416",
                    "fc1: 120 * (400 + 1) = 48,120", "fc2: 84 * (120 + 1) = 10,164",
                    "fc3: 10 * (84 + 1) = 850",
                    "expect.layers.conv1.params", "expected: 6 * 5*5*3 = 450", "actual:   456",
                    "conv1: 6 * (5*5*3 + 1) = 456")


def test_flatten_mismatch_shows_the_flattened_shape_and_product(tutorial: pytest.Pytester) -> None:
    _, out = run(tutorial, LENET_FULL.replace("fc1: 16*5*5", "fc1: 16*6*6"))
    assert_in_order(out, "expect.flatten.fc1", "expected: 16*6*6 = 576", "actual:   400",
                    "flattened: [1, 16, 5, 5] -> 16*5*5 = 400")


def test_a_linear_that_does_not_fit_the_flatten_is_explained(tutorial: pytest.Pytester) -> None:
    spec = """
        wrong_fc1:
          model: net.py:Net
          kwargs: {fc1_in: 576}
          input_size: [1, 3, 32, 32]
          expect:
            output: [1, 10]
            layers:
              fc2: {output: [1, 84]}
    """
    result, out = run(tutorial, spec)
    result.assert_outcomes(failed=1)
    assert_in_order(out, "arch.cnncheck.yaml:5: forward",
                    # the cause in the model's terms first, torch's words last
                    "The forward pass on input [1, 3, 32, 32] failed in fc1: receives "
                    "16*5*5 = 400, in_features 576",
                    "fc1 = Linear(in_features=576, out_features=120) receives [1, 400]: "
                    "400 features, but in_features is 576",
                    "flattened: [1, 16, 5, 5] -> 16*5*5 = 400",
                    "at net.py:20: x = F.relu(self.fc1(x))",
                    "torch on meta said: RuntimeError: ",
                    # the line to edit, then the fix
                    "fc1 is made at net.py:12: self.fc1 = nn.Linear(fc1_in, 120)",
                    # the value is the spec's kwarg: the fix is there, tried on the model first
                    "fix: in_features=400 in fc1: applied by `cnncheck fix`, verified on the model",
                    "in the spec: kwargs: {fc1_in: 400} (now 576)",
                    "! fc1", "(raised here)")
    assert "1 mismatch in" in out  # fc2 was never reached: not a second finding


def test_the_same_crash_explanation_on_the_cpu(tutorial: pytest.Pytester) -> None:
    spec = """
        wrong_fc1:
          model: net.py:Net
          kwargs: {fc1_in: 576}
          input_size: [1, 3, 32, 32]
          device: cpu
    """
    _, out = run(tutorial, spec)
    assert "on cpu" in out
    assert_in_order(out, "receives [1, 400]", "flattened: [1, 16, 5, 5] -> 16*5*5 = 400",
                    "fix: in_features=400 in fc1", "kwargs: {fc1_in: 400}")


def test_wildcards_and_expressions(tutorial: pytest.Pytester) -> None:
    spec = """
        lenet:
          model: net.py:Net
          input_size: [4, 3, 32, 32]
          expect:
            output: [_, 10]
            params: "(6*(5*5*3 + 1)) + 16*(5*5*6 + 1) + 120*(400 + 1) + 84*121 + 10*85"
            layers:
              conv1: {output: [_, 6, (32 - 5) // 1 + 1, 56 / 2]}
    """
    result, _ = run(tutorial, spec)
    result.assert_outcomes(passed=1)


def test_tuple_outputs_several_inputs_and_dtypes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(twohead="""
        import torch
        from torch import nn

        class TwoHead(nn.Module):
            def __init__(self):
                super().__init__()
                self.embed = nn.Embedding(100, 8)
                self.conv = nn.Conv1d(8, 4, 3)
                self.cls = nn.Linear(4 * 14, 5)

            def forward(self, tokens, scale):
                x = self.conv(self.embed(tokens).transpose(1, 2)) * scale
                return self.cls(x.flatten(1)), x
    """)
    spec = """
        two_heads:
          model: twohead.py:TwoHead
          input_size: [[2, 16], [2, 1, 1]]
          dtype: [int64, float32]
          expect:
            output: [[2, 5], [2, 4, 14]]
            layers:
              embed: {input: [2, 16], output: [2, 16, 8]}
              conv: {output: [2, 4, 14]}
    """
    result, _ = run(pytester, spec)
    result.assert_outcomes(passed=1)
    result, out = run(pytester, spec.replace("[[2, 5], [2, 4, 14]]", "[[2, 5], [2, 4, 15]]"))
    assert_in_order(out, "expect.output", "expected: [[2, 5], [2, 4, 15]]",
                    "actual:   [[2, 5], [2, 4, 14]]")


def test_params_count_shared_weights_once_and_skip_buffers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(tied="""
        from torch import nn

        class Tied(nn.Module):
            def __init__(self):
                super().__init__()
                self.encode = nn.Linear(10, 10, bias=False)
                self.decode = nn.Linear(10, 10, bias=False)
                self.decode.weight = self.encode.weight       # tied: counted once
                self.norm = nn.BatchNorm1d(10)                 # running stats are buffers
                self.frozen = nn.Linear(10, 2)
                self.frozen.requires_grad_(False)

            def forward(self, x):
                return self.frozen(self.norm(self.decode(self.encode(x))))
    """)
    spec = """
        tied:
          model: tied.py:Tied
          input_size: [2, 10]
          expect:
            params: {total: 100 + 20 + 22, trainable: 120}
            layers:
              decode: {params: 100}
              norm: {params: 2 * 10}
    """
    result, _ = run(pytester, spec)
    result.assert_outcomes(passed=1)
    _, out = run(pytester, spec.replace("trainable: 120", "trainable: 142"))
    assert_in_order(out, "expect.params.trainable", "expected: 142", "actual:   120",
                    "22 of 142 parameters have requires_grad=False")


def test_layer_params_count_everything_under_a_module(tutorial: pytest.Pytester) -> None:
    tutorial.makepyfile(blocks="""
        from torch import nn

        def make():
            return nn.Sequential(
                nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU()),
                nn.Flatten(), nn.LazyLinear(10))
    """)
    spec = """
        blocks:
          model: blocks.py:make
          input_size: [1, 3, 8, 8]
          expect:
            params: 224 + 16 + 8*6*6*10 + 10
            layers:
              "0": {params: 8 * (3*3*3 + 1) + 2*8, output: [1, 8, 6, 6]}
              "2": {params: 10 * (288 + 1), input: [1, 288], type: Linear}  # a lazy module becomes its eager class
    """
    result, _ = run(tutorial, spec)
    result.assert_outcomes(passed=1)
    _, out = run(tutorial, spec.replace("+ 2*8, output", "+ 8, output"))
    assert_in_order(out, "expect.layers.0.params", "expected: 8 * (3*3*3 + 1) + 8 = 232",
                    "actual:   240", "made up of:", "0.0: 8 * (3*3*3 + 1) = 224", "0.1: 2 * 8 = 16")


def test_type_and_input_mismatches(tutorial: pytest.Pytester) -> None:
    spec = LENET_FULL.replace("fc1: {input: [1, 400], type: Linear}",
                              "fc1: {input: [1, 576], type: Conv2d}")
    _, out = run(tutorial, spec)
    assert_in_order(out, "expect.layers.fc1.type", "expected: Conv2d", "actual:   Linear",
                    "expect.layers.fc1.input", "expected: [1, 576]", "actual:   [1, 400]",
                    "flattened: [1, 16, 5, 5] -> 16*5*5 = 400")


def test_type_may_be_the_full_class_path(tutorial: pytest.Pytester) -> None:
    spec = LENET_FULL.replace("type: Linear", "type: torch.nn.modules.linear.Linear")
    run(tutorial, spec)[0].assert_outcomes(passed=1)


def test_calls_one_entry_per_call(tutorial: pytest.Pytester) -> None:
    spec = LENET_FULL.replace("- {output: [1, 16, 5, 5]}", "- {output: [1, 16, 4, 4]}")
    _, out = run(tutorial, spec)
    assert_in_order(out, "expect.layers.pool.calls[1].output", "expected: [1, 16, 4, 4]",
                    "actual:   [1, 16, 5, 5]", "on input [1, 16, 10, 10]",
                    "H: (10 - 2 + 2*0) / 2 + 1 = 5")
    _, out = run(tutorial, LENET_FULL.replace("\n              - {output: [1, 16, 5, 5]}", ""))
    assert_in_order(out, "expect.layers.pool.calls", "expected: 1 call(s)",
                    "actual:   2 call(s): [1, 6, 14, 14], [1, 16, 5, 5]")


def test_a_module_called_twice_needs_calls(tutorial: pytest.Pytester) -> None:
    spec = """
        lenet:
          model: net.py:Net
          input_size: [1, 3, 32, 32]
          expect:
            layers:
              pool: {output: [1, 6, 14, 14]}
    """
    _, out = run(tutorial, spec)
    assert "pool is called 2 times (outputs [1, 6, 14, 14], [1, 16, 5, 5]): list one entry per call " \
           "under `calls`" in out


def test_unknown_layer_names_get_suggestions(tutorial: pytest.Pytester) -> None:
    spec = """
        lenet:
          model: net.py:Net
          input_size: [1, 3, 32, 32]
          expect:
            layers:
              conv_1: {output: [1, 6, 28, 28]}
            flatten:
              fc_1: 400
    """
    _, out = run(tutorial, spec)
    assert_in_order(out, "arch.cnncheck.yaml:7: expect.layers.conv_1",
                    "The model has no layer named 'conv_1'. Did you mean 'conv1'",
                    "arch.cnncheck.yaml:9: expect.flatten.fc_1", "Did you mean 'fc1'")


def test_flatten_names_must_be_linear_layers(tutorial: pytest.Pytester) -> None:
    spec = """
        lenet:
          model: net.py:Net
          input_size: [1, 3, 32, 32]
          expect:
            flatten:
              conv2: 400
    """
    _, out = run(tutorial, spec)
    assert "conv2 is a Conv2d, not a Linear" in out


POOLS = """
    from torch import nn

    def make(kernel=2, stride=2, ceil_mode=False, dilation=1):
        return nn.Sequential(
            nn.Conv2d(3, 4, 3, padding=1, dilation=dilation),
            nn.MaxPool2d(kernel, stride, ceil_mode=ceil_mode),
            nn.AvgPool2d(2),
            nn.AdaptiveAvgPool2d(1),
        )
"""


def test_pooling_rule_default_and_custom(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(pools=POOLS)
    spec = """
        pools:
          model: pools.py:make
          kwargs: {kernel: 4, stride: 4}
          input_size: [1, 3, 32, 32]
          rules: {pooling: true}
    """
    result, out = run(pytester, spec)
    result.assert_outcomes(failed=1)
    assert_in_order(out, "arch.cnncheck.yaml:6: rules.pooling",
                    "1 = MaxPool2d(kernel_size=4, stride=4, padding=0) pools with H: F=4, S=4, "
                    "W: F=4, S=4; allowed: F=2,S=2, F=3,S=2")
    assert "AdaptiveAvgPool2d" not in out.split("layer ")[0]  # adaptive pooling is exempt
    run(pytester, spec.replace("pooling: true", "pooling: [[4, 4], [2, 2]]"))[0].assert_outcomes(passed=1)
    run(pytester, spec.replace("pooling: true", "pooling: false"))[0].assert_outcomes(passed=1)


def test_exact_division_rule(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(pools=POOLS)
    spec = """
        pools:
          model: pools.py:make
          kwargs: {kernel: 3, stride: 2}
          input_size: [1, 3, 32, 32]
          rules: {exact_division: true}
    """
    result, out = run(pytester, spec)
    result.assert_outcomes(failed=1)
    assert_in_order(out, "rules.exact_division",
                    "1 = MaxPool2d(kernel_size=3, stride=2, padding=0) on input [1, 4, 32, 32] "
                    "does not divide exactly",
                    "H: (32 - 3 + 2*0) / 2 + 1 = 15.5, rounded down to 15")
    run(pytester, spec.replace("input_size: [1, 3, 32, 32]", "input_size: [1, 3, 33, 33]"))[0] \
        .assert_outcomes(passed=1)


def test_ceil_mode_and_dilation_are_explained(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(pools=POOLS)
    spec = """
        pools:
          model: pools.py:make
          kwargs: {ceil_mode: true, dilation: 2}
          input_size: [1, 3, 9, 9]
          expect:
            layers:
              "0": {output: [1, 4, 9, 9]}
              "1": {output: [1, 4, 3, 3]}
    """
    _, out = run(pytester, spec)
    assert_in_order(out, "expect.layers.0.output", "actual:   [1, 4, 7, 7]",
                    "H: (9 - 5 + 2*1) / 1 + 1 = 7 (F = 2*(3-1) + 1 = 5 with dilation 2)",
                    "expect.layers.1.output", "expected: [1, 4, 3, 3]", "actual:   [1, 4, 4, 4]",
                    "H: (7 - 2 + 2*0) / 2 + 1 = 3.5, rounded up to 4 (ceil_mode=True)")


def test_mult_adds_are_counted_in_the_one_recorded_pass(tutorial: pytest.Pytester,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # The tutorial Net by hand: conv1 6*28*28 * 3*5*5 = 352,800; conv2 16*10*10 * 6*5*5 =
    # 240,000; fc1 400*120 = 48,000; fc2 120*84 = 10,080; fc3 84*10 = 840: 651,720.
    # No second pass: not torchinfo's, and the model's forward runs once.
    import torchinfo

    monkeypatch.setattr(torchinfo, "summary", lambda *a, **k: pytest.fail("a second forward pass"))
    net = tutorial.path / "net.py"
    net.write_text(net.read_text().replace("    def forward(self, x):\n",
                                           "    def forward(self, x):\n        print('forward ran')\n"))
    spec = """
        lenet:
          model: net.py:Net
          input_size: [1, 3, 32, 32]
          expect:
            mult_adds: 651720
    """
    result, out = run(tutorial, spec, "-s", "-v")
    result.assert_outcomes(passed=1)
    assert out.count("forward ran") == 1
    assert "mult-adds 652K (complete)" in out
    _, out = run(tutorial, spec.replace("651720", "1000"))
    assert_in_order(out, "expect.mult_adds", "expected: 1,000", "actual:   651,720",
                    "counted: every multiply-accumulate of the forward pass, for the batch as given "
                    "(complete)", "fix, if the model is right: write 651,720")


def test_train_mode_runs_the_training_graph(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(aux="""
        from torch import nn

        class WithAux(nn.Module):
            def __init__(self):
                super().__init__()
                self.body = nn.Linear(4, 3)
                self.aux = nn.Linear(4, 2)

            def forward(self, x):
                if self.training:
                    return self.body(x), self.aux(x)
                return self.body(x)
    """)
    spec = """
        eval_mode:
          model: aux.py:WithAux
          input_size: [1, 4]
          expect: {output: [1, 3]}
        train_mode:
          model: aux.py:WithAux
          input_size: [1, 4]
          mode: train
          expect: {output: [[1, 3], [1, 2]]}
    """
    run(pytester, spec)[0].assert_outcomes(passed=2)


def test_the_mode_reaches_every_module_and_a_models_own_train_has_the_last_word(
        pytester: pytest.Pytester) -> None:
    # Every submodule sees the spec's mode; a class with its own train() (a frozen
    # backbone kept in eval) or a `training` property is obeyed, as model.train() would be.
    pytester.makepyfile(modes="""
        from torch import nn

        class Branch(nn.Module):
            def forward(self, x):
                return x[:, :2] if self.training else x

        def nested():
            return nn.Sequential(nn.Linear(4, 4), nn.Sequential(nn.ReLU(), Branch()))

        class FrozenBackbone(nn.Module):
            def __init__(self):
                super().__init__()
                self.backbone = nn.Sequential(nn.Linear(4, 4), Branch())
                self.head = Branch()

            def train(self, mode=True):
                super().train(mode)
                self.backbone.eval()
                return self

            def forward(self, x):
                return self.head(self.backbone(x))

        class FlagProperty(Branch):
            @property
            def training(self):
                return self._mode

            @training.setter
            def training(self, value):
                self.__dict__["_mode"] = value

        def with_property():
            return nn.Sequential(nn.Linear(4, 4), FlagProperty())
    """)
    spec = """
        nested_eval:
          model: modes.py:nested
          input_size: [1, 4]
          expect: {output: [1, 4]}
        nested_train:
          model: modes.py:nested
          input_size: [1, 4]
          mode: train
          expect: {output: [1, 2], layers: {'1.1': {input: [1, 4], output: [1, 2]}}}
        frozen_train:
          model: modes.py:FrozenBackbone
          input_size: [1, 4]
          mode: train
          expect: {output: [1, 2], layers: {backbone: {output: [1, 4]}}}
        property_eval:
          model: modes.py:with_property
          input_size: [1, 4]
          expect: {output: [1, 4]}
    """
    run(pytester, spec)[0].assert_outcomes(passed=4)


def test_a_long_layer_table_shows_the_rows_around_the_mismatch(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(deep="""
        from torch import nn

        def make(depth=200):
            return nn.Sequential(*[nn.Linear(8, 8) for _ in range(depth)])
    """)
    spec = """
        deep:
          model: deep.py:make
          input_size: [1, 8]
          expect:
            layers:
              "120": {params: 71}
    """
    _, out = run(pytester, spec)
    assert_in_order(out, "expect.layers.120.params", "expected: 71", "actual:   72",
                    "120: 8 * (8 + 1) = 72",
                    "  0      Linear  [1, 8]  72", "  ... 115 more row(s)", "  118    Linear",
                    "! 120    Linear  [1, 8]  72", "  122    Linear", "  ... 76 more row(s)",
                    "  199    Linear  [1, 8]  72", "total params: 14,400")


RECURRENT = '''
from torch import nn


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(8, 20, batch_first=True)
        self.gru = nn.GRU(20, 6, num_layers=2, bidirectional=True)
        self.head = nn.Linear(12, 3)

    def forward(self, x):
        y, (h, c) = self.lstm(x)
        z, _ = self.gru(y)
        return {"tags": self.head(z), "state": (h, c)}
'''


def test_nested_and_dict_outputs_are_stated_checked_and_updated(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(tagger=RECURRENT)
    text = """\
tagger:
  model: tagger.py:Tagger
  input_size: [2, 5, 8]
  expect:
    output: {tags: [2, 5, 3], state: [[1, 2, 20], _]}
    layers:
      lstm: {output: [[2, 5, 20], [[1, 2, 20], [1, 2, 21]]]}
      gru: {output: [[2, 5, 12], _]}
"""
    pytester.path.joinpath("arch.cnncheck.yaml").write_text(text)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    assert_in_order(result.stdout.str(), "arch.cnncheck.yaml:7: expect.layers.lstm.output",
                    "expected: [[2, 5, 20], [[1, 2, 20], [1, 2, 21]]]",
                    "actual:   [[2, 5, 20], [[1, 2, 20], [1, 2, 20]]]")
    # The update rewrites the one wrong dimension, deep inside the nesting.
    pytester.runpytest("--cnncheck-update").assert_outcomes(passed=1)
    assert pytester.path.joinpath("arch.cnncheck.yaml").read_text() == text.replace(
        "[1, 2, 21]", "[1, 2, 20]")


def test_memory_exact_and_bounded_and_in_the_facts_line(tutorial: pytest.Pytester) -> None:
    spec = """
        mem:
          model: net.py:Net
          input_size: [8, 3, 32, 32]
          expect:
            memory: {params: 248024, buffers: 0, activations: {max: 400KiB}}
    """
    result, out = run(tutorial, spec, "-v")
    result.assert_outcomes(failed=1)
    assert_in_order(out, "memory: params 242.2 KiB, activations 407.4 KiB, on meta",
                    "expect.memory.activations", "expected: at most 400KiB = 409,600",
                    "actual:   417,152", "7,552 bytes over the bound: 417,152 is 1.8% above 409,600",
                    "the layers that carry the most:", "conv1: 301,056 (72.2%)")
    run(tutorial, spec.replace("400KiB", "0.5MiB"))[0].assert_outcomes(passed=1)
    _, out = run(tutorial, spec.replace("params: 248024", "params: 1MB"))
    assert_in_order(out, "expect.memory.params", "expected: 1MB = 1,000,000", "actual:   248,024 (242.2 KiB)")


def test_a_nested_output_mismatch_names_the_first_path_that_differs(pytester: pytest.Pytester) -> None:
    # A dict of a list of flows, as RAFT and detection models return: the failure says
    # where the trees part, not only both trees.
    pytester.makepyfile(flows="""
        from torch import nn
        import torch.nn.functional as F

        class Flows(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 2, 3, padding=1)

            def forward(self, x):
                f = self.conv(x)
                return {"flow": [f, f, f, F.avg_pool2d(f, 2)], "score": f.mean((2, 3))}
    """)
    result, out = run(pytester, """
        flows:
          model: flows.py:Flows
          input_size: [1, 3, 16, 16]
          expect:
            output: {flow: [[1, 2, 16, 16], [1, 2, 16, 16], [1, 2, 16, 16], [1, 2, 16, 16]], score: [1, 2]}
        fewer:
          model: flows.py:Flows
          input_size: [1, 3, 16, 16]
          expect:
            output: {flow: [[1, 2, 16, 16], [1, 2, 16, 16]], score: [1, 2]}
        keys:
          model: flows.py:Flows
          input_size: [1, 3, 16, 16]
          expect:
            output: {flows: _, score: [1, 2]}
    """)
    result.assert_outcomes(failed=3)
    assert "first difference: output.flow[3]: [1, 2, 16, 16] expected, actual [1, 2, 8, 8]" in out
    assert "first difference: output.flow: 2 elements expected, actual 4" in out
    assert "first difference: output: keys flows, score expected, actual flow, score" in out
