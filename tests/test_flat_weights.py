"""The native engine's weights in one buffer, as torch.nn keeps them on CUDA.

There is no GPU here: the tests add "cpu" to native.FLATTEN_ON, which runs all of the
logic (when to flatten, the views, what survives .to(), load_state_dict and a replaced
parameter) with the weights concatenated in `_flat_weights` order; on CUDA only the
buffer's layout differs, cuDNN's own (torch._cudnn_rnn_flatten_weight, as torch.nn)."""

import pytest
import torch
from torch import nn

import rnnkit
from conftest import assert_close
from rnnkit.engines import native

T, B, I, H = 5, 3, 4, 6
NATIVE = {
    "rnn": (rnnkit.RNN, nn.RNN, {}),
    "rnn_relu": (rnnkit.RNN, nn.RNN, {"nonlinearity": "relu"}),
    "lstm": (rnnkit.LSTM, nn.LSTM, {}),
    "lstm_proj": (rnnkit.LSTM, nn.LSTM, {"proj_size": 2}),
    "gru": (rnnkit.GRU, nn.GRU, {}),
}


@pytest.fixture
def flatten_on_cpu(monkeypatch):
    monkeypatch.setattr(native, "FLATTEN_ON", {"cuda", "cpu"})


def assert_one_buffer(module):
    """Every weight a contiguous view of one storage, back to back in _flat_weights order."""
    weights = module._flat_weights
    assert all(isinstance(w, nn.Parameter) and w.is_leaf and w.is_contiguous() for w in weights)
    assert len({w.untyped_storage().data_ptr() for w in weights}) == 1
    offsets = [w.storage_offset() for w in weights]
    assert offsets == [sum(w.numel() for w in weights[:i]) for i in range(len(weights))]
    assert weights[0].untyped_storage().nbytes() == sum(w.numel() for w in weights) * weights[0].element_size()


def assert_separate(module):
    assert len({w.untyped_storage().data_ptr() for w in module._flat_weights}) == len(module._flat_weights)


def pair(network, **options):
    ours_cls, torch_cls, extra = NATIVE[network]
    ours = ours_cls(I, H, num_layers=2, bidirectional=True, engine="native", **extra, **options)
    theirs = torch_cls(I, H, num_layers=2, bidirectional=True, **extra, **options)
    return ours, theirs


def results(module, x):
    out, state = module(x)
    states = state if isinstance(state, tuple) else (state,)
    grads = torch.autograd.grad(out.square().sum() + sum(s.square().sum() for s in states), list(module.parameters()))
    return (out, *states, *grads)


@pytest.mark.parametrize("bias", (True, False))
@pytest.mark.parametrize("network", NATIVE)
def test_weights_are_views_of_one_buffer(flatten_on_cpu, network, bias):
    ours, theirs = pair(network, bias=bias)
    assert_one_buffer(ours)
    theirs.load_state_dict(ours.state_dict())
    ours.double(), theirs.double()
    assert_one_buffer(ours)  # .to(float64) made new tensors: flattened again
    x = torch.randn(T, B, I, dtype=torch.double)
    assert_close(results(ours, x), results(theirs, x))


@pytest.mark.parametrize("network", NATIVE)
def test_load_state_dict_keeps_the_views(flatten_on_cpu, network):
    ours, theirs = pair(network)
    buffer = ours.weight_ih_l0.untyped_storage().data_ptr()
    ours.load_state_dict(theirs.state_dict())
    assert_one_buffer(ours)
    assert ours.weight_ih_l0.untyped_storage().data_ptr() == buffer
    assert all(torch.equal(p, q) for p, q in zip(ours.parameters(), theirs.parameters()))


def test_load_state_dict_assign_is_flattened_by_the_next_forward(flatten_on_cpu):
    ours, theirs = pair("lstm")
    ours.load_state_dict(theirs.state_dict(), assign=True)
    assert_separate(ours)
    x = torch.randn(T, B, I)
    torch.testing.assert_close(ours(x)[0], theirs(x)[0])
    assert_one_buffer(ours)


def test_replaced_parameter_and_flatten_parameters(flatten_on_cpu):
    ours, theirs = pair("gru")
    theirs.load_state_dict(ours.state_dict())
    replacement = nn.Parameter(torch.randn(3 * H, 2 * H))
    ours.weight_ih_l1 = replacement
    theirs.weight_ih_l1 = nn.Parameter(replacement.detach().clone())
    assert ours._flat_weights[8] is replacement  # still the parameter the user set, not yet flattened
    ours.flatten_parameters()
    assert_one_buffer(ours)
    assert ours.weight_ih_l1 is replacement  # the same parameter, now a view of the new buffer
    x = torch.randn(T, B, I)
    torch.testing.assert_close(ours(x), theirs(x))


def test_an_optimizer_step_updates_the_buffer(flatten_on_cpu):
    ours, theirs = pair("lstm")
    theirs.load_state_dict(ours.state_dict())
    for module in (ours, theirs):
        optimizer = torch.optim.SGD(module.parameters(), lr=0.1)
        module(torch.ones(T, B, I))[0].sum().backward()
        optimizer.step()
    assert_one_buffer(ours)
    x = torch.randn(T, B, I)
    torch.testing.assert_close(ours(x), theirs(x))


def flattened(module) -> bool:
    """Whether the native engine's flatten put `module`'s weights in one buffer."""
    return native.flatten(module.cell, module._flat_weights, module._all_weights, module.num_layers, module.bidirectional)


def test_not_flattened_when_weights_alias_or_are_computed(flatten_on_cpu):
    tied = rnnkit.RNN(H, H, num_layers=2, engine="native")
    tied.weight_hh_l1 = tied.weight_hh_l0
    assert not flattened(tied)
    raw = nn.Parameter(torch.randn(H, H))  # weight drop: a weight computed from another each forward
    dropped = rnnkit.RNN(I, H, engine="native")
    del dropped.weight_hh_l0
    dropped.weight_hh_l0 = raw * 1.0
    assert not flattened(dropped)
    dropped(torch.randn(T, B, I))[0].sum().backward()
    assert raw.grad is not None


def test_networks_torch_lacks_are_not_flattened(flatten_on_cpu):
    for module in (rnnkit.LSTM(I, H, peephole=True), rnnkit.GRU(I, H, reset_after=False), rnnkit.CTRNN(I, H)):
        assert not flattened(module)
        assert_separate(module)


@pytest.mark.parametrize("network", NATIVE)
def test_on_the_cpu_by_default_as_torch_nn_weights_are_separate(network):
    ours, _ = pair(network)
    ours.flatten_parameters()
    ours(torch.randn(T, B, I))
    assert_separate(ours)
