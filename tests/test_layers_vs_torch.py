"""rnnkit layers against torch.nn with copied weights, in float64: outputs, final states
and the gradients of the input, the initial states and every parameter."""

import itertools

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

import rnnkit
from conftest import assert_close, loss_of

T, B, I, H = 5, 3, 4, 6
NETWORKS = {  # name: (rnnkit class, torch class, extra keyword arguments)
    "rnn_tanh": (rnnkit.RNN, nn.RNN, {}),
    "rnn_relu": (rnnkit.RNN, nn.RNN, {"nonlinearity": "relu"}),
    "lstm": (rnnkit.LSTM, nn.LSTM, {}),
    "lstm_proj": (rnnkit.LSTM, nn.LSTM, {"proj_size": 3}),
    "gru": (rnnkit.GRU, nn.GRU, {}),
}
OPTIONS = [
    dict(num_layers=L, bidirectional=bi, batch_first=bf, bias=bias)
    for L, bi, bf, bias in itertools.product((1, 2), (False, True), (False, True), (True, False))
]


def pair(network, **options):
    ours_cls, torch_cls, extra = NETWORKS[network]
    ours = ours_cls(I, H, **extra, **options).double()
    theirs = torch_cls(I, H, **extra, **options).double()
    theirs.load_state_dict(ours.state_dict())
    return ours, theirs


def initial_state(module, batch=(B,)):
    D = 2 if module.bidirectional else 1
    out = getattr(module, "proj_size", 0) or H
    h = torch.randn(module.num_layers * D, *batch, out, dtype=torch.double, requires_grad=True)
    if isinstance(module, (nn.LSTM, rnnkit.LSTM)):
        return h, torch.randn(module.num_layers * D, *batch, H, dtype=torch.double, requires_grad=True)
    return h


def as_tuple(hx):
    return hx if isinstance(hx, tuple) else (hx,)


def run(module, x, hx):
    out, state = module(x, hx)
    data = out.data if hasattr(out, "batch_sizes") else out
    inputs = [x.data if hasattr(x, "batch_sizes") else x, *as_tuple(hx), *module.parameters()]
    return (data, *as_tuple(state)), torch.autograd.grad(loss_of(data, state), inputs)


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
@pytest.mark.parametrize("network", NETWORKS)
def test_matches_torch(network, options):
    ours, theirs = pair(network, **options)
    shape = (B, T, I) if options["batch_first"] else (T, B, I)
    x = torch.randn(shape, dtype=torch.double, requires_grad=True)
    hx = initial_state(ours)
    assert_close(run(ours, x, hx), run(theirs, x, hx))


@pytest.mark.parametrize("bidirectional", (False, True))
@pytest.mark.parametrize("network", NETWORKS)
def test_packed_sequences_of_unequal_lengths(network, bidirectional):
    ours, theirs = pair(network, num_layers=2, bidirectional=bidirectional)
    x = torch.randn(T, 4, I, dtype=torch.double, requires_grad=True)
    hx = initial_state(ours, (4,))
    packed = pack_padded_sequence(x, [3, 5, 1, 4], enforce_sorted=False)  # not sorted: exercises the permutation
    assert_close(run(ours, packed, hx), run(theirs, packed, hx))


@pytest.mark.parametrize("network", NETWORKS)
def test_unbatched_input(network):
    ours, theirs = pair(network, num_layers=2, bidirectional=True)
    x = torch.randn(T, I, dtype=torch.double, requires_grad=True)
    hx = initial_state(ours, ())
    assert_close(run(ours, x, hx), run(theirs, x, hx))


@pytest.mark.parametrize("network", NETWORKS)
def test_zero_initial_state_by_default(network):
    ours, theirs = pair(network, num_layers=2)
    x = torch.randn(T, B, I, dtype=torch.double)
    assert_close(ours(x)[0], theirs(x)[0])


@pytest.mark.parametrize("network", NETWORKS)
def test_state_dict_loads_both_ways(network):
    ours_cls, torch_cls, extra = NETWORKS[network]
    theirs = torch_cls(I, H, num_layers=2, bidirectional=True, **extra).double()
    ours = ours_cls(I, H, num_layers=2, bidirectional=True, **extra).double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [p.shape for p in ours.parameters()] == [p.shape for p in theirs.parameters()]
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(T, B, I, dtype=torch.double)
    assert_close(ours(x)[0], theirs(x)[0])


def test_dropout_between_layers_matches_torch():
    ours, theirs = pair("lstm", num_layers=3, dropout=0.5)
    x = torch.randn(T, B, I, dtype=torch.double)
    torch.manual_seed(7)
    a = ours(x)[0]
    torch.manual_seed(7)
    b = theirs(x)[0]
    assert_close(a, b)
    assert not torch.allclose(a, ours.eval()(x)[0])  # dropout did act in training mode
    assert_close(ours(x)[0], theirs.eval()(x)[0])


def test_to_double_and_dtype_argument():
    m = rnnkit.LSTM(I, H, dtype=torch.float64)
    assert all(p.dtype == torch.float64 for p in m.parameters())
    assert all(p.dtype == torch.float32 for p in m.float().parameters())
    out, (h, c) = m(torch.randn(T, B, I))
    assert out.dtype == h.dtype == c.dtype == torch.float32


CELLS = {
    "rnn_tanh": (rnnkit.RNNCell, nn.RNNCell, {}),
    "rnn_relu": (rnnkit.RNNCell, nn.RNNCell, {"nonlinearity": "relu"}),
    "lstm": (rnnkit.LSTMCell, nn.LSTMCell, {}),
    "gru": (rnnkit.GRUCell, nn.GRUCell, {}),
}


@pytest.mark.parametrize("batch", ((B,), ()), ids=("batched", "unbatched"))
@pytest.mark.parametrize("bias", (True, False))
@pytest.mark.parametrize("cell", CELLS)
def test_cells_match_torch(cell, bias, batch):
    ours_cls, torch_cls, extra = CELLS[cell]
    ours = ours_cls(I, H, bias=bias, **extra).double()
    theirs = torch_cls(I, H, bias=bias, **extra).double()
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(*batch, I, dtype=torch.double, requires_grad=True)
    h = torch.randn(*batch, H, dtype=torch.double, requires_grad=True)
    hx = (h, torch.randn(*batch, H, dtype=torch.double, requires_grad=True)) if cell == "lstm" else h

    def step(module):
        new = module(x, hx)
        inputs = [x, *as_tuple(hx), *module.parameters()]
        return as_tuple(new), torch.autograd.grad(loss_of(*as_tuple(new)[:1], as_tuple(new)[1:]), inputs)

    assert_close(step(ours), step(theirs))
    assert_close(as_tuple(ours(x)), as_tuple(theirs(x)))  # zero state by default
