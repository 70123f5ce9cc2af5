"""The meta device, with shapes by formula, records exactly what a CPU run records."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import write_spec
from pytest_cnncheck.spec import Spec

ROOT = Path(__file__).resolve().parent.parent

ZOO = textwrap.dedent('''
    import torch
    from torch import nn

    class Zoo(nn.Module):
        """One of each leaf module the meta fast path knows, in the corners of its formula."""

        def __init__(self):
            super().__init__()
            self.c1 = nn.Conv1d(4, 6, 3, stride=2, padding=2, dilation=2)
            self.p1 = nn.AvgPool1d(3, stride=2, padding=1, ceil_mode=True)
            self.bn1 = nn.BatchNorm1d(6)
            self.c2 = nn.Conv2d(6, 8, (3, 5), stride=(2, 1), padding=(1, 2), padding_mode="reflect")
            self.same = nn.Conv2d(8, 8, 3, padding="same", groups=4)
            self.valid = nn.Conv2d(8, 8, 2, padding="valid", bias=False)
            self.p2 = nn.MaxPool2d(3, stride=2, padding=1, dilation=1, ceil_mode=True)
            self.gn = nn.GroupNorm(2, 8)
            self.ad = nn.AdaptiveAvgPool2d((None, 3))
            self.am = nn.AdaptiveMaxPool2d(2)
            self.c3 = nn.Conv3d(1, 2, 3, padding=1)
            self.p3 = nn.MaxPool3d(2)
            self.bn3 = nn.BatchNorm3d(2)
            self.ln = nn.LayerNorm([2, 2])
            self.acts = nn.ModuleList([nn.ReLU(inplace=True), nn.GELU(), nn.SiLU(), nn.Hardswish(),
                                       nn.LeakyReLU(0.1), nn.Identity(), nn.Dropout(0.2)])
            self.head = nn.Linear(8 * 2 * 2 + 6 + 2 * 4 * 4 * 4, 5)
            self.bn0 = nn.BatchNorm1d(5)

        def forward(self, x1, x2, x3):
            a = self.bn1(self.p1(self.c1(x1)))                     # 1-D
            b = self.p2(self.valid(self.same(self.c2(x2))))         # 2-D
            b = self.gn(b)
            b = self.am(self.ad(b))
            c = self.bn3(self.p3(self.c3(x3)))                      # 3-D
            c = c.flatten(1)
            for act in self.acts:
                b = act(b)
            b = 1 - torch.sigmoid(torch.nn.functional.gelu(b) * 2 + 1)   # functions by formula too
            b.add_(b.mean(1, keepdim=True))
            b = torch.nn.functional.relu(torch.cat([b, b[..., :1]], dim=-1))[..., :2]
            unbatched = self.c1(x1[0])                              # no batch dimension
            features = torch.cat([b.flatten(1), a.mean(-1), c], dim=1)
            return self.bn0(self.head(features)), unbatched, self.ln(b)
''')


def write_models(folder: Path) -> None:
    """The models written out in this file, into `folder`."""
    folder.joinpath("zoo.py").write_text(ZOO)
    folder.joinpath("recurrent.py").write_text(RECURRENT)
    folder.joinpath("functional.py").write_text(FUNCTIONAL)


def _spec(model: str, sizes: tuple[tuple[int, ...], ...], device: str, folder: Path,
          mode: str = "eval") -> Spec:
    return Spec(name="x", path=folder / "x.cnncheck.yaml", line=1, model=model, model_line=1,
                input_sizes=sizes, input_line=1, dtypes=("float32",) * len(sizes), device=device,
                mode=mode)


RECURRENT = textwrap.dedent('''
    from torch import nn

    class Recurrent(nn.Module):
        """Recurrent layers in each of their options: their shapes come by formula on meta."""

        def __init__(self):
            super().__init__()
            self.rnn = nn.RNN(6, 8, nonlinearity="relu")
            self.lstm = nn.LSTM(8, 5, num_layers=2, bidirectional=True, batch_first=True)
            self.proj = nn.LSTM(10, 7, proj_size=3, batch_first=True)
            self.gru = nn.GRU(3, 4, num_layers=3, bidirectional=True, bias=False)
            self.unbatched = nn.GRU(8, 2)

        def forward(self, x):
            y, h = self.rnn(x)                        # (L, N, H): time first
            z, (h2, c2) = self.lstm(y.transpose(0, 1))
            p, (h3, c3) = self.proj(z)                # proj_size: h_n is 3 wide, c_n 7
            g, h4 = self.gru(p.transpose(0, 1))
            u, h5 = self.unbatched(y[:, 0])           # (L, H): no batch
            return g, h, h2, c2, h3, c3, h4, u, h5
''')

FUNCTIONAL = textwrap.dedent('''
    import torch
    import torch.nn.functional as F
    from torch import nn

    class BatchNormAct(nn.BatchNorm2d):
        """timm's way: a BatchNorm subclass whose forward calls F.batch_norm itself."""

        def forward(self, x):
            x = F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                             self.training, self.momentum, self.eps)
            return F.hardswish(x)

    class LayerNorm2d(nn.LayerNorm):
        def forward(self, x):
            return F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias,
                                self.eps).permute(0, 3, 1, 2)

    class Functional(nn.Module):
        """Normalisations and reductions called as functions: by formula on meta too."""

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.bn = BatchNormAct(8)
            self.ln = LayerNorm2d(8)
            self.fc1 = nn.Conv2d(8, 4, 1)
            self.fc2 = nn.Conv2d(4, 8, 1)

        def forward(self, x):
            x = self.ln(self.bn(self.conv(x)))
            x = F.group_norm(x, 2)
            gate = F.hardsigmoid(self.fc2(F.relu(self.fc1(x.mean((2, 3), keepdim=True)))))
            x = x * gate
            up = F.interpolate(x, scale_factor=2)                                  # nearest
            smooth = F.interpolate(x, size=(5, 11), mode="bilinear", align_corners=False)
            odd = F.interpolate(x, scale_factor=(1.5, 0.7), mode="bicubic")       # floor(9*1.5), floor(7*0.7)
            return (x.sum(dim=1), torch.amax(x, dim=(-1,)), x.mean(-1), torch.sum(x, 2, True), up, smooth,
                    odd, nn.functional.interpolate(x[:, :, 0], size=4, mode="linear"))
''')

MODELS = [
    ("examples/models/lenet.py:Net", ((1, 3, 32, 32),)),
    ("examples/models/timeseries.py:SensorCNN", ((4, 9, 128),)),
    ("examples/models/vgg.py:vgg_small", ((2, 3, 32, 32),)),
    ("examples/models/resnet.py:ResNetSmall", ((1, 3, 224, 224),)),
    ("benchmarks/models.py:resnet50", ((1, 3, 224, 224),)),
    ("benchmarks/models.py:vgg16", ((1, 3, 224, 224),)),
    ("zoo.py:Zoo", ((2, 4, 17), (2, 6, 15, 11), (2, 1, 8, 8, 8))),
    ("recurrent.py:Recurrent", ((7, 2, 6),)),
    ("functional.py:Functional", ((2, 3, 9, 7),)),
    ("tests/models/classic.py:alexnet", ((1, 3, 224, 224),)),
    ("tests/models/classic.py:squeezenet1_1", ((1, 3, 225, 225),)),
    ("tests/models/classic.py:mobilenet_v2", ((2, 3, 224, 224),)),
]


@pytest.mark.parametrize("mode", ["eval", "train"])
@pytest.mark.parametrize(("model", "sizes"), MODELS, ids=[m[0].split(":")[1] for m in MODELS])
def test_meta_records_what_the_cpu_records(tmp_path: Path, model: str, sizes: tuple[tuple[int, ...], ...],
                                           mode: str) -> None:
    from pytest_cnncheck.probe import probe

    write_models(tmp_path)
    folder = tmp_path if model.startswith(("zoo", "recurrent", "functional")) else ROOT
    on_meta = probe(_spec(model, sizes, "meta", folder, mode), ROOT)
    on_cpu = probe(_spec(model, sizes, "cpu", folder, mode), ROOT)
    assert on_meta.crash is None and on_cpu.crash is None, (on_meta.crash, on_cpu.crash)
    assert on_meta.calls == on_cpu.calls
    assert on_meta.output == on_cpu.output
    assert on_meta.layers == on_cpu.layers
    assert (on_meta.params_total, on_meta.params_trainable) == (on_cpu.params_total, on_cpu.params_trainable)


def test_errors_still_come_from_the_real_kernels(tmp_path: Path) -> None:
    """Where the formula's assumptions fail, the real forward runs and raises as on the CPU."""
    from pytest_cnncheck.probe import probe

    tmp_path.joinpath("bad.py").write_text(textwrap.dedent('''
        from torch import nn

        def too_small():
            return nn.Sequential(nn.Conv2d(3, 4, 3), nn.MaxPool2d(4))

        def wrong_channels():
            return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(5))

        def one_value_per_channel():
            return nn.Sequential(nn.Flatten(), nn.Linear(3, 4), nn.BatchNorm1d(4))

        class Functional(nn.Module):
            def __init__(self, which):
                super().__init__()
                self.which = which
                self.bn = nn.BatchNorm2d(5)

            def forward(self, x):
                if self.which == "batch_norm":  # 3 channels into statistics of 5
                    return F.batch_norm(x, self.bn.running_mean, self.bn.running_var)
                if self.which == "layer_norm":  # normalized over a shape the input lacks
                    return F.layer_norm(x, (7,))
                if self.which == "group_norm":  # 3 channels in 2 groups
                    return F.group_norm(x, 2)
                if self.which == "mean":  # a dimension the input lacks
                    return x.mean((2, 4))
                if self.which == "interpolate":  # a linear mode for a 2-D input
                    return F.interpolate(x, scale_factor=2, mode="linear")
                if self.which == "interpolate_both":  # a size and a scale
                    return F.interpolate(x, size=4, scale_factor=2)
                return F.batch_norm(x.flatten(1), None, None, training=True)  # one value per channel

        def functional(which):
            return Functional(which)
    ''').replace("from torch import nn", "import torch.nn.functional as F\nfrom torch import nn"))
    for name, sizes, mode in (("too_small", (1, 3, 5, 5), "eval"), ("wrong_channels", (1, 3, 8, 8), "eval"),
                              ("one_value_per_channel", (1, 3), "train")):
        meta = probe(_spec(f"bad.py:{name}", (sizes,), "meta", tmp_path, mode), tmp_path)
        cpu = probe(_spec(f"bad.py:{name}", (sizes,), "cpu", tmp_path, mode), tmp_path)
        assert meta.crash is not None and cpu.crash is not None, name
        assert meta.calls == cpu.calls, name
    for which in ("batch_norm", "layer_norm", "group_norm", "mean", "interpolate", "interpolate_both", "training"):
        spec = replace(_spec("bad.py:functional", ((1, 3, 4, 4),), "meta", tmp_path), kwargs={"which": which})
        meta = probe(spec, tmp_path)
        cpu = probe(replace(spec, device="cpu"), tmp_path)
        assert meta.crash is not None and cpu.crash is not None, which
        assert meta.crash.exception.split(":")[0] == cpu.crash.exception.split(":")[0], which


@pytest.mark.parametrize(("model", "sizes"), MODELS[:4], ids=[m[0].split(":")[1] for m in MODELS[:4]])
def test_torchinfo_counts_the_same_mult_adds_on_meta(tmp_path: Path, model: str,
                                                     sizes: tuple[tuple[int, ...], ...]) -> None:
    from pytest_cnncheck.probe import probe

    on_meta = probe(_spec(model, sizes, "meta", ROOT), ROOT, summary=True)
    on_cpu = probe(_spec(model, sizes, "cpu", ROOT), ROOT, summary=True)
    assert on_meta.summary_mult_adds is not None and on_meta.summary_mult_adds == on_cpu.summary_mult_adds


@pytest.mark.parametrize(("model", "sizes"), MODELS, ids=[m[0].split(":")[1] for m in MODELS])
def test_mult_adds_are_torchs_flop_counter_halved_on_meta_and_cpu(tmp_path: Path, model: str,
                                                                 sizes: tuple[tuple[int, ...], ...]) -> None:
    # cnncheck counts in the pass it records, on meta (formula layers report theirs);
    # torch's FlopCounterMode runs the model on the CPU, with oneDNN's fused recurrent
    # kernel off so that it sees an LSTM's matrix products.
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from pytest_cnncheck.probe import probe, resolve_model

    write_models(tmp_path)
    folder = tmp_path if model.startswith(("zoo", "recurrent", "functional")) else ROOT
    on_meta = probe(_spec(model, sizes, "meta", folder), ROOT, count=True)
    on_cpu = probe(_spec(model, sizes, "cpu", folder), ROOT, count=True)
    assert on_meta.compute is not None and on_cpu.compute is not None
    assert on_meta.compute.mult_adds == on_cpu.compute.mult_adds
    assert on_meta.compute.complete and on_cpu.compute.complete
    built = resolve_model(_spec(model, sizes, "cpu", folder), ROOT)().eval()
    with torch.no_grad(), torch.backends.mkldnn.flags(enabled=False), FlopCounterMode(display=False) as counter:
        built(*[torch.zeros(size) for size in sizes])
    assert on_meta.compute.mult_adds == counter.get_total_flops() // 2
    if model == "benchmarks/models.py:resnet50":
        assert round(on_meta.compute.mult_adds / 1e9, 2) == 4.09  # the published figure


def test_torchs_initialisers_are_put_back_after_a_build_on_meta(pytester: pytest.Pytester) -> None:
    # On meta, torch's own reset_parameters do nothing while a model is built; they
    # must be themselves again afterwards, also when the build raised.
    from torch import nn

    originals = (nn.Linear.reset_parameters, nn.modules.conv._ConvNd.reset_parameters,
                 nn.modules.batchnorm._NormBase.reset_running_stats)
    pytester.makepyfile(models='''
        from torch import nn

        class Breaks(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 2)
                raise ValueError("no")

        def initialised():
            layer = nn.Linear(4, 2)
            assert layer.weight.is_meta
            return nn.Sequential(layer, nn.BatchNorm1d(2))
    ''')
    write_spec(pytester, """
        breaks:
          model: models.py:Breaks
          input_size: [1, 4]
        builds:
          model: models.py:initialised
          input_size: [3, 4]
          expect: {output: [3, 2], params: 14}
    """)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    assert (nn.Linear.reset_parameters, nn.modules.conv._ConvNd.reset_parameters,
            nn.modules.batchnorm._NormBase.reset_running_stats) == originals
    layer = nn.Linear(4, 2)  # and they initialise again
    assert layer.weight.abs().sum() > 0


def test_without_torchs_device_mode_meta_still_gives_the_same_shapes(
        tutorial: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    # The fast meta mode builds on torch's private DeviceContext; a torch that moved it
    # gets plain `torch.device("meta")`: slower, the same results.
    from pytest_cnncheck.run import fastmeta

    monkeypatch.setattr(fastmeta, "_META_CONTEXT", None)
    write_spec(tutorial, """
        net:
          model: net.py:Net
          input_size: [1, 3, 32, 32]
          expect:
            output: [1, 10]
            params: 62006
            layers: {conv2: {output: [1, 16, 10, 10]}}
            flatten: {fc1: 16*5*5}
    """)
    result = tutorial.runpytest("-v")
    result.assert_outcomes(passed=1)
    assert "on meta" in result.stdout.str()


def test_recurrent_layers_take_their_shapes_by_formula_on_meta(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # torch's meta LSTM runs every time step in Python (seconds for a model the CPU runs
    # in a fraction of one); on meta the kernels must not run at all.
    from torch.nn.modules import rnn

    from pytest_cnncheck.probe import probe

    ran = []
    for kernel in ("lstm", "gru", "rnn_relu", "rnn_tanh"):
        real = getattr(rnn._VF, kernel)
        monkeypatch.setattr(rnn._VF, kernel, lambda *a, real=real, kernel=kernel, **k: ran.append(kernel)
                            or real(*a, **k), raising=False)
    tmp_path.joinpath("recurrent.py").write_text(RECURRENT)
    trace = probe(_spec("recurrent.py:Recurrent", ((7, 2, 6),), "meta", tmp_path), ROOT)
    assert trace.crash is None and trace.device == "meta"
    assert ran == []
    on_cpu = probe(_spec("recurrent.py:Recurrent", ((7, 2, 6),), "cpu", tmp_path), ROOT)
    assert sorted(set(ran)) == ["gru", "lstm", "rnn_relu"]  # the patch does see the kernels
    assert trace.calls == on_cpu.calls


@pytest.mark.parametrize(("model", "sizes"), MODELS, ids=[m[0].split(":")[1] for m in MODELS])
def test_memory_on_meta_is_what_the_cpu_holds_and_torchinfo_estimates(
        tmp_path: Path, model: str, sizes: tuple[tuple[int, ...], ...]) -> None:
    import torch
    import torchinfo

    from pytest_cnncheck.check.memory import figures
    from pytest_cnncheck.probe import probe
    from pytest_cnncheck.run.resolve import resolve_model

    write_models(tmp_path)
    folder = tmp_path if model.startswith(("zoo", "recurrent", "functional")) else ROOT
    spec = _spec(model, sizes, "meta", folder)
    measured = figures(probe(spec, ROOT))
    # The CPU: what the model's real tensors hold, storage by storage (torch exposes no
    # allocator figures on the CPU; the storages are what it allocated for them).
    built = resolve_model(spec, ROOT)()
    storages = {id(t.untyped_storage()): t.untyped_storage().nbytes() for t in built.parameters()}
    assert measured["params"] == sum(storages.values())
    buffers = {id(t.untyped_storage()): t.untyped_storage().nbytes() for t in built.buffers()}
    assert measured["buffers"] == sum(buffers.values())
    stats = torchinfo.summary(built, input_data=[torch.zeros(size) for size in sizes], verbose=0)
    assert measured["params"] == stats.total_param_bytes
    if not model.startswith("recurrent"):  # torchinfo sizes a tuple output by its first tensor
        assert measured["activations"] == stats.total_output_bytes


def test_functional_norms_and_reductions_take_their_shapes_by_formula(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # timm's BatchNormAct2d calls F.batch_norm itself, squeeze-and-excitation takes a mean,
    # an FPN decoder upsamples bilinearly: on meta torch runs each as a Python
    # decomposition, most of a small mobile model's (or a decoder's) time. Each call here
    # must take the formula.
    from pytest_cnncheck.probe import probe
    from pytest_cnncheck.run import fastmeta

    taken: list[str] = []
    for name in ("_norm", "_reduced", "_interpolated"):
        real = getattr(fastmeta, name)
        monkeypatch.setattr(fastmeta, name, lambda *a, real=real, name=name: taken.append(name) or real(*a))
    write_models(tmp_path)
    trace = probe(_spec("functional.py:Functional", ((2, 3, 9, 7),), "meta", tmp_path), ROOT)
    assert trace.crash is None and trace.device == "meta"
    assert taken.count("_norm") == 3 and taken.count("_reduced") == 5 and taken.count("_interpolated") == 4, taken
