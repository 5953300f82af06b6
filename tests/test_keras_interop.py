"""Keras 3 layers to rnnkit and back (rnnkit.interop.keras), held to Keras itself (torch
backend, no TensorFlow): same inputs, outputs within 1e-5 in float32 both ways."""

import os

import numpy as np
import pytest
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

import rnnkit  # noqa: E402
from rnnkit.interop.keras import from_keras, to_keras  # noqa: E402

from conftest import assert_close  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # keras's numpy 2 __array__ notices

I, H = 3, 5


def keras_layer(kind, **options):
    return getattr(keras.layers, kind)(H, return_sequences=True, **options)


CASES = {
    "lstm": lambda: [keras_layer("LSTM")],
    "lstm_acts": lambda: [keras_layer("LSTM", activation="relu", recurrent_activation="hard_sigmoid")],
    "lstm_linear_no_bias": lambda: [keras_layer("LSTM", activation="linear", recurrent_activation="sigmoid", use_bias=False)],
    "gru_reset_after": lambda: [keras_layer("GRU", reset_after=True)],
    "gru_reset_before": lambda: [keras_layer("GRU", reset_after=False, activation="relu", recurrent_activation="hard_sigmoid")],
    "simple_rnn": lambda: [keras_layer("SimpleRNN")],
    "simple_rnn_acts": lambda: [keras_layer("SimpleRNN", activation="sigmoid")],
    "bidirectional_lstm": lambda: [keras.layers.Bidirectional(keras_layer("LSTM"))],
    "bidirectional_gru_stack": lambda: [keras.layers.Bidirectional(keras_layer("GRU", reset_after=False)) for _ in range(2)],
    "lstm_stack": lambda: [keras_layer("LSTM", activation="linear") for _ in range(3)],
    "simple_rnn_stack": lambda: [keras_layer("SimpleRNN", activation="relu") for _ in range(2)],
}


def keras_model(layers):
    model = keras.Sequential([keras.Input((None, I)), *layers])
    for w in model.weights:  # random biases too (Keras starts them at zero)
        w.assign(np.random.default_rng(len(w.path)).uniform(-0.5, 0.5, w.shape).astype("float32"))
    return model


def keras_out(model, x):
    return torch.as_tensor(np.asarray(keras.ops.convert_to_numpy(model(x.numpy()))))


@pytest.mark.parametrize("case", CASES)
def test_keras_to_rnnkit_and_back(case):
    model = keras_model(CASES[case]())
    x = torch.randn(2, 7, I)
    expected = keras_out(model, x)

    layer = from_keras(model)
    with torch.no_grad():
        assert_close(layer(x)[0], expected, tol=1e-5)

    back = keras.Sequential([keras.Input((None, I)), *to_keras(layer)])
    assert_close(keras_out(back, x), expected, tol=1e-5)


@pytest.mark.parametrize(
    "make",
    [
        lambda: rnnkit.LSTM(I, H, num_layers=2, bidirectional=True, batch_first=True, recurrent_activation="hardsigmoid"),
        lambda: rnnkit.GRU(I, H, batch_first=True, reset_after=False, activation="identity"),
        lambda: rnnkit.GRU(I, H, num_layers=2, batch_first=True, bias=False),
        lambda: rnnkit.RNN(I, H, bidirectional=True, batch_first=True, nonlinearity="relu"),
    ],
    ids=["lstm", "gru_reset_before", "gru_no_bias", "rnn"],
)
def test_rnnkit_to_keras(make):
    layer = make()
    x = torch.randn(3, 6, I)
    with torch.no_grad():
        expected = layer(x)[0]
    assert_close(keras_out(keras.Sequential([keras.Input((None, I)), *to_keras(layer)]), x), expected, tol=1e-5)


def test_what_does_not_convert_says_why():
    with pytest.raises(ValueError, match="Keras's LSTM has no peephole=True"):
        to_keras(rnnkit.LSTM(I, H, peephole=True))
    with pytest.raises(ValueError, match="Keras has no Jordan layer"):
        to_keras(rnnkit.JordanRNN(I, H, 2))
    with pytest.raises(ValueError, match=r"merge_mode='sum' has no rnnkit twin"):
        from_keras(keras_model([keras.layers.Bidirectional(keras_layer("GRU"), merge_mode="sum")]))
    with pytest.raises(ValueError, match=r"activation='selu' has no rnnkit twin"):
        from_keras(keras_model([keras_layer("SimpleRNN", activation="selu")]))
    with pytest.raises(ValueError, match=r"go_backwards=True has no rnnkit twin"):
        from_keras(keras_model([keras_layer("LSTM", go_backwards=True)]))
