"""The math of every cell, one file per family: see `base.CellMath` for the contract."""

from .activations import ACTIVATIONS, Activation, get_activation
from .base import CellMath
from .ctrnn import CTRNNMath
from .elman import ElmanMath
from .gru import GRUMath
from .jordan import JordanMath
from .lstm import LSTMMath

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "CTRNNMath",
    "CellMath",
    "ElmanMath",
    "GRUMath",
    "JordanMath",
    "LSTMMath",
    "get_activation",
]
