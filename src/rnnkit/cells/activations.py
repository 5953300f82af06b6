"""The activation functions a cell may use, each with its backward.

Every backward is written in terms of the activation's *output* y = act(x), so the
hand-written backward steps never need to keep the pre-activation x:

    tanh         y = tanh(x)              dy/dx = 1 - y^2
    sigmoid      y = 1 / (1 + e^-x)       dy/dx = y (1 - y)
    relu         y = max(x, 0)            dy/dx = [y > 0]
    identity     y = x                    dy/dx = 1
    hardsigmoid  y = clamp(x/6 + 1/2)     dy/dx = [0 < y < 1] / 6

`backward(y, dy)` returns dL/dx = dL/dy * dy/dx; where torch has one kernel for that
product (tanh_backward, sigmoid_backward, threshold_backward) it is used, one dispatch
instead of three. `bounds` is the range of y, which tells a gate (in [0, 1]) from the rest.
An activation pickles by its name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

_aten = torch.ops.aten


@dataclass(frozen=True)
class Activation:
    name: str
    forward: Callable[[Tensor], Tensor]
    backward: Callable[[Tensor, Tensor], Tensor]  # (y, dL/dy) -> dL/dx
    bounds: tuple[float, float]  # the range of y

    def __call__(self, x: Tensor) -> Tensor:
        return self.forward(x)

    def __reduce__(self):
        return get_activation, (self.name,)


ACTIVATIONS = {
    a.name: a
    for a in (
        Activation("tanh", torch.tanh, lambda y, dy: _aten.tanh_backward.default(dy, y), (-1.0, 1.0)),
        Activation("sigmoid", torch.sigmoid, lambda y, dy: _aten.sigmoid_backward.default(dy, y), (0.0, 1.0)),
        Activation("relu", torch.relu, lambda y, dy: _aten.threshold_backward.default(dy, y, 0), (0.0, math.inf)),
        Activation("identity", lambda x: x, lambda y, dy: dy, (-math.inf, math.inf)),
        # not F.hardsigmoid: its float64 backward uses a float32 1/6 (off by 5e-9)
        Activation(
            "hardsigmoid",
            lambda x: (x / 6 + 0.5).clamp(0, 1),
            lambda y, dy: dy * ((y > 0) & (y < 1)).to(y.dtype) / 6,
            (0.0, 1.0),
        ),
    )
}


def get_activation(name: str, option: str = "activation") -> Activation:
    """The activation called `name`; `option` names the argument in the error message."""
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"{option}={name!r} is not one of: {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]
