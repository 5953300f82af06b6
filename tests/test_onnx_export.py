"""ONNX export (rnnkit.interop.onnx), held to onnxruntime running the exported file.

Every network and option of tests/test_engines.py is exported, stacked and bidirectional,
in two models (those ONNX has a node for, and those that run as a Scan), once on padded
batches and once with lengths; each file passes onnx.checker and runs in onnxruntime on two
batch sizes times two lengths, outputs and final states within 1e-5 of rnnkit's in float32.
"""

import itertools
import warnings

import pytest
import torch
from torch import nn

import rnnkit
from rnnkit.interop import onnx as rx

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from conftest import assert_close  # noqa: E402
from test_engines import NETWORKS  # noqa: E402

I, H = 3, 5
SIZES = list(itertools.product((1, 3), (2, 7)))  # (batch, length): two of each
NATIVE = [k for k, (make, options) in NETWORKS.items() if rx.native(make(I, H, **options).cell.spec)]
SCANNED = [k for k in NETWORKS if k not in NATIVE]


class Bank(nn.Module):
    """Several rnnkit layers side by side on one input (T, B, I): every output and state.
    Each has two layers in both directions; with `lean` (a Scan costs the exporter seconds)
    only the first has, the others alternate one bidirectional layer and one forward."""

    def __init__(self, names, lean=False):
        super().__init__()
        layers = []
        for k, name in enumerate(names):
            make, options = NETWORKS[name]
            layout = dict(num_layers=2, bidirectional=True) if not lean or k == 0 else dict(bidirectional=k % 2 == 1)
            layers.append(make(I, H, bias=k % 2 == 0, batch_first=k % 3 == 0, **layout, **options))
            with torch.no_grad():  # small weights: a gate without a squashing activation stays finite
                for pname, p in layers[-1].named_parameters():
                    p.uniform_(0.0, 1.5) if "log_tau" in pname else p.mul_(0.5)
        self.layers = nn.ModuleList(layers)

    def forward(self, x, lengths=None):
        results = []
        for layer in self.layers:
            out, state = layer(x.transpose(0, 1) if layer.batch_first else x, lengths=lengths)
            results += [out.transpose(0, 1) if layer.batch_first else out, *(state if isinstance(state, tuple) else (state,))]
        return tuple(results)


def export(model, args, dynamic_shapes, path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = rx.export(model.eval(), args, dynamic_shapes=dynamic_shapes, verbose=False, **kwargs)
    program.save(str(path))
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    return proto, ort.InferenceSession(str(path))


def run(session, *inputs):
    names = [i.name for i in session.get_inputs()]
    return session.run(None, {n: v.numpy() for n, v in zip(names, inputs)})


def assert_matches(expected, got, what):
    """onnxruntime's outputs within 1e-5 of rnnkit's (conftest.assert_close: relative to each
    element and to the tensor's scale)."""
    assert len(expected) == len(got)
    for k, (e, g) in enumerate(zip(expected, got)):
        try:
            assert_close(torch.from_numpy(g), e.detach(), tol=1e-5)
        except AssertionError as error:
            raise AssertionError(f"{what}, output #{k}: {error}") from None


def ops(proto):
    return [n.op_type for n in proto.graph.node]


@pytest.mark.parametrize("with_lengths", [False, True], ids=["padded", "lengths"])
@pytest.mark.parametrize("kind", ["native", "scan"])
def test_every_network_exports_and_runs_in_onnxruntime(tmp_path, kind, with_lengths):
    # the scanned networks: all of them with lengths, every third on padded batches
    names = NATIVE if kind == "native" else SCANNED if with_lengths else SCANNED[::3]
    model = Bank(names, lean=kind == "scan")
    T, B = torch.export.Dim("T"), torch.export.Dim("B")
    x = torch.randn(5, 2, I)
    if with_lengths:
        args, shapes = (x, torch.tensor([5, 3])), ({0: T, 1: B}, {0: B})
    else:
        args, shapes = (x,), ({0: T, 1: B},)
    proto, session = export(model, args, shapes, tmp_path / "bank.onnx")

    recurrent = [op for op in ops(proto) if op in ("LSTM", "GRU", "RNN", "Scan", "Loop")]
    if kind == "native":  # one node per layer, both directions in it
        assert sorted(recurrent) == sorted(rx.native(layer.cell.spec) for layer in model.layers for _ in range(layer.num_layers))
    else:  # one Scan per layer and direction
        assert recurrent == ["Scan"] * sum(layer.num_layers * (1 + layer.bidirectional) for layer in model.layers)
    for batch, length in SIZES:
        x = torch.randn(length, batch, I)
        lengths = torch.randint(1, length + 1, (batch,))
        lengths[-1] = length
        inputs = (x, lengths) if with_lengths else (x,)
        with torch.no_grad():
            expected = model(*inputs)
        got = run(session, *inputs)
        for k, name in enumerate(names):
            per = 1 + len(model.layers[k].cell.states)
            start = sum(1 + len(m.cell.states) for m in model.layers[:k])
            assert_matches(expected[start : start + per], got[start : start + per], f"{name}, B={batch}, T={length}")


def test_lengths_run_as_the_packed_batch():
    lstm = rnnkit.LSTM(I, 4, num_layers=2, bidirectional=True, batch_first=True)
    x, lengths = torch.randn(3, 6, I), torch.tensor([2, 6, 4])
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out, (h, c) = lstm(packed)
    out_l, (h_l, c_l) = lstm(x, lengths=lengths)
    torch.testing.assert_close(out_l, nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=6)[0])
    torch.testing.assert_close((h_l, c_l), (h, c))


@pytest.mark.parametrize("name", ["lstm_peephole", "jordan"])
def test_the_recurrent_op_and_the_scan_compute_what_the_layer_does(name):
    """The custom op's and the scan route's own computation (what the exporter traces)."""
    make, options = NETWORKS[name]
    layer = make(I, H, num_layers=2, bidirectional=True, **options)
    x, lengths = torch.randn(6, 3, I), torch.tensor([2, 6, 4])
    hx = [torch.randn(4, 3, s) for s in layer.cell.state_sizes()]
    weights = [layer._params(names) for names in layer._names]
    got, h_n = rx.exported_run(layer.cell, weights, x, hx, lengths, 2, True, 0.0, False, False)
    out, state = layer(x, tuple(hx) if len(hx) > 1 else hx[0], lengths=lengths)
    torch.testing.assert_close(got, out)
    torch.testing.assert_close(tuple(h_n), state if isinstance(state, tuple) else (state,))


class Tagger(nn.Module):
    """A user's whole model: embedding, a stacked bidirectional rnnkit LSTM, a linear layer."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 6)
        self.lstm = rnnkit.LSTM(6, 8, num_layers=2, bidirectional=True, batch_first=True)
        self.out = nn.Linear(16, 5)

    def forward(self, tokens, h0, c0):
        y, (h, c) = self.lstm(self.embed(tokens), (h0, c0))
        return self.out(y), h, c


def test_a_whole_model_exports_through_torch_onnx_export(tmp_path):
    model = Tagger().eval()
    T, B = torch.export.Dim("T"), torch.export.Dim("B")
    args = (torch.randint(0, 10, (2, 5)), torch.randn(4, 2, 8), torch.randn(4, 2, 8))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            model, args, dynamo=True, custom_translation_table=rx.translations(), verbose=False,
            dynamic_shapes=({0: B, 1: T}, {1: B}, {1: B}),
        )
    program.save(str(tmp_path / "tagger.onnx"))
    proto = onnx.load(str(tmp_path / "tagger.onnx"))
    onnx.checker.check_model(proto, full_check=True)
    assert ops(proto).count("LSTM") == 2
    session = ort.InferenceSession(str(tmp_path / "tagger.onnx"))
    for batch, length in SIZES:
        inputs = (torch.randint(0, 10, (batch, length)), torch.randn(4, batch, 8), torch.randn(4, batch, 8))
        with torch.no_grad():
            assert_matches(model(*inputs), run(session, *inputs), f"B={batch}, T={length}")


def test_initial_states_of_a_scanned_network(tmp_path):
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = rnnkit.JordanRNN(I, 5, 4, bidirectional=True)

        def forward(self, x, y0, lengths):
            return self.rnn(x, y0, lengths=lengths)

    model = Model()
    T, B = torch.export.Dim("T"), torch.export.Dim("B")
    args = (torch.randn(5, 2, I), torch.randn(2, 2, 4), torch.tensor([5, 2]))
    _, session = export(model, args, ({0: T, 1: B}, {1: B}, {0: B}), tmp_path / "jordan.onnx")
    for batch, length in SIZES:
        inputs = (torch.randn(length, batch, I), torch.randn(2, batch, 4), torch.randint(1, length + 1, (batch,)))
        with torch.no_grad():
            assert_matches(model(*inputs), run(session, *inputs), f"B={batch}, T={length}")


def test_what_cannot_be_exported_says_why(tmp_path):
    lstm = rnnkit.LSTM(I, 4, num_layers=2, dropout=0.5)
    x = torch.randn(5, 2, I)
    with pytest.raises(Exception, match=r"dropout=0.5 acts in training mode .* model.eval\(\)"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(lstm.train(), (x,), dynamo=True, custom_translation_table=rx.translations())

    class Packed(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = rnnkit.GRU(I, 4)

        def forward(self, data, batch_sizes):
            return self.rnn(nn.utils.rnn.PackedSequence(data, batch_sizes))[1]

    with pytest.raises(Exception, match=r"a PackedSequence cannot be exported .* lengths="):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rx.export(Packed(), (torch.randn(5, I), torch.tensor([2, 2, 1])))
    with pytest.raises(ValueError, match=r"rnnkit.record is on"):
        rx.exported_run(lstm.cell, [lstm._params(n) for n in lstm._names], x, [x[:1], x[:1]], None, 1, False, 0.0, False, True)
    with pytest.raises(ValueError, match=r"lengths= takes one integer per sequence .* got \(3\)"):
        lstm(x, lengths=torch.tensor([1, 2, 3]))
