"""The activation functions a cell may use, each with its derivative.

Every derivative is written in terms of the activation's *output* y = act(x), so the
hand-written backward steps never need to keep the pre-activation x:

    tanh         y = tanh(x)              dy/dx = 1 - y^2
    sigmoid      y = 1 / (1 + e^-x)       dy/dx = y (1 - y)
    relu         y = max(x, 0)            dy/dx = [y > 0]
    identity     y = x                    dy/dx = 1
    hardsigmoid  y = clamp(x/6 + 1/2)     dy/dx = [0 < y < 1] / 6
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor


@dataclass(frozen=True)
class Activation:
    name: str
    forward: Callable[[Tensor], Tensor]
    derivative: Callable[[Tensor], Tensor] | None  # dy/dx from y; None means 1

    def __call__(self, x: Tensor) -> Tensor:
        return self.forward(x)

    def backward(self, y: Tensor, dy: Tensor) -> Tensor:
        """dL/dx from the output y and dL/dy."""
        return dy if self.derivative is None else dy * self.derivative(y)


ACTIVATIONS = {
    a.name: a
    for a in (
        Activation("tanh", torch.tanh, lambda y: 1 - y * y),
        Activation("sigmoid", torch.sigmoid, lambda y: y * (1 - y)),
        Activation("relu", torch.relu, lambda y: (y > 0).to(y.dtype)),
        Activation("identity", lambda x: x, None),
        # not F.hardsigmoid: its float64 backward uses a float32 1/6 (off by 5e-9)
        Activation("hardsigmoid", lambda x: (x / 6 + 0.5).clamp(0, 1), lambda y: ((y > 0) & (y < 1)).to(y.dtype) / 6),
    )
}


def get_activation(name: str, option: str = "activation") -> Activation:
    """The activation called `name`; `option` names the argument in the error message."""
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ValueError(f"{option}={name!r} is not one of: {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]
