"""Keras 3 recurrent layers to rnnkit layers and back, weights included.

    from_keras(layers) -> an rnnkit LSTM, GRU or RNN (batch_first=True, as Keras is)
    to_keras(layer)    -> one Keras layer per rnnkit layer (Bidirectional when bidirectional)

`layers` is one Keras `LSTM`, `GRU` or `SimpleRNN`, a `Bidirectional` wrapping one, or a
stack of them (a list or a `keras.Sequential`) that all have the same options: a stack
becomes one rnnkit layer with num_layers. Keras stores kernels input-major, (I, G), and
orders the gates i, f, c, o (LSTM, as torch does) and z, r, h (GRU; torch r, z, n); its
LSTM has one bias (b_ih + b_hh), its GRU two rows with reset_after=True (input, recurrent)
and one without (the recurrent bias, added outside the product, folds into it).
Activations: tanh, sigmoid, relu, linear (identity), hard_sigmoid (Keras 3's is
clip(x/6 + 1/2), rnnkit's hardsigmoid). What either side has and the other lacks
(peepholes, projections, stateful layers, another merge_mode) raises a ValueError naming it.

Needs the `keras` package (any backend; `KERAS_BACKEND=torch` needs no TensorFlow).
"""

from __future__ import annotations

import numpy as np
import torch

from ..layers import GRU, LSTM, RNN

# Keras activation name <-> rnnkit activation name
_ACTIVATIONS = {"tanh": "tanh", "sigmoid": "sigmoid", "relu": "relu", "linear": "identity", "hard_sigmoid": "hardsigmoid"}
_TO_KERAS = {v: k for k, v in _ACTIVATIONS.items()}
_GATES = {"LSTM": ("i", "f", "g", "o"), "GRU": ("z", "r", "n")}  # Keras's order, in rnnkit's gate names


def from_keras(layers):
    """An rnnkit layer computing what the Keras layer (or stack) computes, with its weights."""
    import keras

    stack = list(layers.layers if isinstance(layers, keras.Sequential) else layers if isinstance(layers, (list, tuple)) else [layers])
    stack = [layer for layer in stack if not isinstance(layer, keras.layers.InputLayer)]
    bidirectional = isinstance(stack[0], keras.layers.Bidirectional)
    cells = []
    for layer in stack:
        if isinstance(layer, keras.layers.Bidirectional) != bidirectional:
            raise ValueError("a stack converts only if every layer is Bidirectional or none is")
        if bidirectional:
            if layer.merge_mode != "concat":
                raise ValueError(f"Bidirectional merge_mode={layer.merge_mode!r} has no rnnkit twin: only 'concat'")
            cells += [(layer.forward_layer, False), (layer.backward_layer, True)]
        else:
            cells.append((layer, False))
    options = [_options(layer, backward) for layer, backward in cells]
    if any(o != options[0] for o in options):
        raise ValueError(f"the layers of a stack must share their options, got {options}")
    kind, units, option = options[0]
    first = cells[0][0].get_weights()[0]
    module = {"LSTM": LSTM, "GRU": GRU, "SimpleRNN": RNN}[kind](
        first.shape[0], units, num_layers=len(stack), bidirectional=bidirectional, batch_first=True, **option
    )
    with torch.no_grad():
        for (layer, _), names in zip(cells, module._names):
            for short, value in _to_rnnkit(kind, module.cell, layer.get_weights(), option.get("bias", True)).items():
                getattr(module, names[short]).copy_(torch.from_numpy(value))
    return module


def to_keras(module):
    """One Keras layer per layer of the rnnkit `module` (return_sequences=True), built and
    holding its weights: `keras.Sequential(to_keras(module))` computes what `module` does on
    batch-first input."""
    import keras

    kind, config = _keras_config(module)
    D = 2 if module.bidirectional else 1
    layers = []
    for k in range(module.num_layers):
        layer = getattr(keras.layers, kind)(**config, return_sequences=True)
        if D == 2:
            layer = keras.layers.Bidirectional(layer, merge_mode="concat")
        layer.build((None, None, module.input_size if k == 0 else D * module.hidden_size))
        directions = [layer.forward_layer, layer.backward_layer] if D == 2 else [layer]
        for d, direction in enumerate(directions):
            p = {short: getattr(module, full).detach().cpu().numpy() for short, full in module._names[k * D + d].items()}
            direction.set_weights(_to_keras(kind, module.cell, p))
        layers.append(layer)
    return layers


def _options(layer, backward: bool) -> tuple[str, int, dict]:
    """(Keras class name, units, the rnnkit layer's options) of one Keras RNN layer;
    `backward`: the backward layer of a Bidirectional (which goes backwards)."""
    kind = type(layer).__name__
    if kind not in ("LSTM", "GRU", "SimpleRNN"):
        raise ValueError(f"{kind} has no rnnkit twin: LSTM, GRU, SimpleRNN and Bidirectional convert")
    config = layer.get_config()
    for name in ("stateful", "go_backwards"):
        if config[name] and not (name == "go_backwards" and backward):
            raise ValueError(f"{kind} {name}=True has no rnnkit twin")
    names = ("activation", "recurrent_activation") if kind != "SimpleRNN" else ("activation",)
    for name in names:
        if config[name] not in _ACTIVATIONS:
            raise ValueError(f"{kind} {name}={config[name]!r} has no rnnkit twin: one of {', '.join(_ACTIVATIONS)}")
    option = {"bias": config["use_bias"]}
    if kind == "SimpleRNN":
        option["nonlinearity"] = _ACTIVATIONS[config["activation"]]
    else:
        option |= {"activation": _ACTIVATIONS[config["activation"]],
                   "recurrent_activation": _ACTIVATIONS[config["recurrent_activation"]]}
    if kind == "GRU":
        option["reset_after"] = config["reset_after"]
    return kind, config["units"], option


def _keras_config(module) -> tuple[str, dict]:
    """The Keras class name and constructor options of an rnnkit LSTM, GRU or RNN."""
    spec, kind = module.cell.spec, {"LSTM": "LSTM", "GRU": "GRU", "Elman": "SimpleRNN"}.get(module.cell.spec.family)
    if kind is None:
        raise ValueError(f"Keras has no {spec.family} layer: LSTM, GRU and RNN convert")
    for name, plain in (("proj_size", 0), ("peephole", False), ("forget_gate", True)):
        if kind == "LSTM" and spec[name] != plain:
            raise ValueError(f"Keras's LSTM has no {name}={spec[name]!r}")
    acts = ("nonlinearity",) if kind == "SimpleRNN" else ("activation", "recurrent_activation")
    config = {"units": spec.hidden_size, "use_bias": spec.bias}
    for name in acts:
        config["activation" if name == "nonlinearity" else name] = _TO_KERAS[spec[name]]
    if kind == "GRU":
        config["reset_after"] = spec["reset_after"]
    return kind, config


def _rows(cell, kind, w: np.ndarray, order) -> np.ndarray:
    """w's gate rows (or columns' blocks, axis 0) in `order` (rnnkit's gate names)."""
    if kind not in _GATES:
        return w
    return np.concatenate([w[cell.gate_rows(g)] for g in order])


def _to_rnnkit(kind, cell, weights, bias) -> dict[str, np.ndarray]:
    """Keras weights [kernel (I, G), recurrent_kernel (H, G), bias] -> rnnkit's {name: array}."""
    keras_order = _GATES.get(kind)

    def rnnkit_rows(w):  # Keras gate blocks (G, ...) -> rnnkit's gate order
        if keras_order is None:
            return w
        blocks = dict(zip(keras_order, np.split(w, len(keras_order))))
        return np.concatenate([blocks[g] for g in cell.gate_names])

    p = {"weight_ih": rnnkit_rows(weights[0].T), "weight_hh": rnnkit_rows(weights[1].T)}
    if bias:
        b = weights[2]
        if kind == "GRU" and cell.reset_after:  # (2, 3H): input and recurrent biases
            p |= {"bias_ih": rnnkit_rows(b[0]), "bias_hh": rnnkit_rows(b[1])}
        else:  # one bias: all of it on the input side
            p |= {"bias_ih": rnnkit_rows(b), "bias_hh": np.zeros_like(b)}
    return {k: np.ascontiguousarray(v) for k, v in p.items()}


def _to_keras(kind, cell, p) -> list[np.ndarray]:
    """rnnkit's {name: array} -> Keras weights [kernel, recurrent_kernel(, bias)]."""
    order = _GATES.get(kind)
    weights = [_rows(cell, kind, p["weight_ih"], order).T, _rows(cell, kind, p["weight_hh"], order).T]
    if "bias_ih" in p:
        b_ih, b_hh = _rows(cell, kind, p["bias_ih"], order), _rows(cell, kind, p["bias_hh"], order)
        weights.append(np.stack([b_ih, b_hh]) if kind == "GRU" and cell.reset_after else b_ih + b_hh)
    return weights
