"""Bad options and bad input: one clear ValueError or TypeError naming what was expected
and what was given."""

import warnings

import pytest
import torch
from torch.nn.utils.rnn import pack_sequence

import rnnkit

ACTIVATION_NAMES = "tanh, sigmoid, relu, identity, hardsigmoid"


@pytest.mark.parametrize(
    "make, option",
    [
        (lambda: rnnkit.RNN(3, 4, nonlinearity="tahn"), "nonlinearity='tahn'"),
        (lambda: rnnkit.RNNCell(3, 4, nonlinearity="tahn"), "nonlinearity='tahn'"),
        (lambda: rnnkit.CTRNN(3, 4, nonlinearity="tahn"), "nonlinearity='tahn'"),
        (lambda: rnnkit.JordanRNN(3, 4, 2, nonlinearity="tahn"), "nonlinearity='tahn'"),
        (lambda: rnnkit.JordanRNN(3, 4, 2, output_activation="softmax"), "output_activation='softmax'"),
        (lambda: rnnkit.LSTM(3, 4, activation="gelu"), "activation='gelu'"),
        (lambda: rnnkit.LSTM(3, 4, recurrent_activation="hard_sigmoid"), "recurrent_activation='hard_sigmoid'"),
        (lambda: rnnkit.GRU(3, 4, activation=None), "activation=None"),
        (lambda: rnnkit.GRUCell(3, 4, recurrent_activation="Sigmoid"), "recurrent_activation='Sigmoid'"),
    ],
)
def test_unknown_activation_lists_the_valid_names(make, option):
    with pytest.raises(ValueError, match=f"{option} is not one of: {ACTIVATION_NAMES}"):
        make()


def test_unknown_engine_lists_the_valid_names():
    with pytest.raises(ValueError, match=r"engine='fast' is not one of: auto, reference, fused, native"):
        rnnkit.LSTM(3, 4, engine="fast")


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: rnnkit.LSTM(3, 0), "hidden_size must be an integer >= 1, got 0"),
        (lambda: rnnkit.LSTM(0, 4), "input_size must be an integer >= 1, got 0"),
        (lambda: rnnkit.GRU(3, 4.0), "hidden_size must be an integer >= 1, got 4.0"),
        (lambda: rnnkit.RNN(3, 4, num_layers=0), "num_layers must be an integer >= 1, got 0"),
        (lambda: rnnkit.GRU(3, 4, dropout=1.5), r"dropout must be a number in \[0, 1\], got 1.5"),
        (lambda: rnnkit.LSTM(3, 4, proj_size=4), r"proj_size must be smaller than hidden_size \(4\), got 4"),
        (lambda: rnnkit.LSTM(3, 4, proj_size=-1), "proj_size must be an integer >= 0, got -1"),
        (lambda: rnnkit.CTRNN(3, 4, dt=0.0), "dt must be a positive number, got 0.0"),
        (lambda: rnnkit.CTRNN(3, 4, tau=-2), "tau must be a positive number, got -2"),
        (lambda: rnnkit.JordanRNN(3, 4, 0), "output_size must be an integer >= 1, got 0"),
    ],
)
def test_bad_sizes_and_options(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_unknown_option_name_is_a_type_error():
    with pytest.raises(TypeError, match="peepholes"):
        rnnkit.LSTM(3, 4, peepholes=True)


def test_dropout_on_one_layer_warns():
    with pytest.warns(UserWarning, match="num_layers=1"):
        rnnkit.LSTM(3, 4, dropout=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rnnkit.LSTM(3, 4, num_layers=2, dropout=0.5)


@pytest.mark.parametrize(
    "x, error, message",
    [
        (torch.randn(5), ValueError, r"expected input of shape \(T, B, 3\) or \(T, 3\), got \(5\)"),
        (torch.randn(5, 2, 4), ValueError, r"expected input of shape \(T, B, 3\) or \(T, 3\), got \(5, 2, 4\)"),
        (torch.randn(1, 5, 2, 3), ValueError, r"got \(1, 5, 2, 3\)"),
        (torch.randn(0, 2, 3), ValueError, r"at least one step, got input of shape \(0, 2, 3\)"),
        (torch.randn(5, 2, 3, dtype=torch.float64), TypeError, "expected input of dtype torch.float32 .* got torch.float64"),
        (torch.ones(5, 2, 3, dtype=torch.long), TypeError, "got torch.int64"),
        (torch.randn(5, 2, 3, device="meta"), ValueError, "expected input on device cpu .* got meta"),
        ([[1.0, 2.0, 3.0]], TypeError, "expected input to be a Tensor or PackedSequence, got list"),
    ],
)
def test_bad_input(x, error, message):
    with pytest.raises(error, match=message):
        rnnkit.LSTM(3, 4)(x)


def test_batch_first_names_its_layout():
    with pytest.raises(ValueError, match=r"\(B, T, 3\) or \(T, 3\)"):
        rnnkit.GRU(3, 4, batch_first=True)(torch.randn(2, 5, 7))


def test_bad_packed_sequence_data():
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 3\) as a PackedSequence's data, got \(6, 2\)"):
        rnnkit.GRU(3, 4)(pack_sequence([torch.randn(4, 2), torch.randn(2, 2)]))


@pytest.mark.parametrize(
    "hx, error, message",
    [
        (torch.zeros(2, 2, 4), TypeError, r"expected the initial state as a tuple \(h, c\) of 2 tensors, got Tensor"),
        ((torch.zeros(2, 2, 4),), TypeError, "of 2 tensors, got tuple of length 1"),
        ((torch.zeros(1, 2, 4), torch.zeros(2, 2, 4)), ValueError, r"expected initial h of shape \(2, 2, 4\) = \(num_layers \* directions, batch, size\), got \(1, 2, 4\)"),
        ((torch.zeros(2, 3, 4), torch.zeros(2, 2, 4)), ValueError, r"expected initial h of shape \(2, 2, 4\).* got \(2, 3, 4\)"),
        ((torch.zeros(2, 2, 4), torch.zeros(2, 2, 5)), ValueError, r"expected initial c of shape \(2, 2, 4\).* got \(2, 2, 5\)"),
        ((torch.zeros(2, 2, 4, dtype=torch.float64), torch.zeros(2, 2, 4)), TypeError, "expected initial h of dtype torch.float32 on cpu like the input, got torch.float64"),
        ((torch.zeros(2, 2, 4), "c"), TypeError, "expected initial c to be a Tensor, got str"),
    ],
)
def test_bad_initial_state(hx, error, message):
    with pytest.raises(error, match=message):
        rnnkit.LSTM(3, 4, num_layers=2)(torch.randn(5, 2, 3), hx)


def test_bad_initial_state_of_a_single_state_layer_and_unbatched_input():
    with pytest.raises(TypeError, match=r"expected the initial state h as a Tensor, got tuple"):
        rnnkit.GRU(3, 4)(torch.randn(5, 2, 3), (torch.zeros(1, 2, 4),))
    with pytest.raises(ValueError, match=r"expected initial h of shape \(1, 4\) = \(num_layers \* directions, size\), got \(1, 1, 4\)"):
        rnnkit.RNN(3, 4)(torch.randn(5, 3), torch.zeros(1, 1, 4))
    with pytest.raises(ValueError, match=r"expected initial y of shape \(2, 2, 6\)"):
        rnnkit.JordanRNN(3, 4, 6, bidirectional=True)(torch.randn(5, 2, 3), torch.zeros(2, 2, 4))


def test_cell_errors():
    cell = rnnkit.LSTMCell(3, 4)
    with pytest.raises(ValueError, match=r"expected input of shape \(B, 3\) or \(3,\), got \(5, 2, 3\)"):
        cell(torch.randn(5, 2, 3))
    with pytest.raises(ValueError, match=r"expected initial h of shape \(2, 4\) = \(batch, size\), got \(3, 4\)"):
        cell(torch.randn(2, 3), (torch.zeros(3, 4), torch.zeros(2, 4)))
    with pytest.raises(ValueError, match=r"expected initial h of shape \(4\) = \(size,\), got \(1, 4\)"):
        rnnkit.GRUCell(3, 4)(torch.randn(3), torch.zeros(1, 4))
