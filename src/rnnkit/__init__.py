"""rnnkit: the classic recurrent neural networks as drop-in torch.nn layers.

Elman and Jordan RNNs, the LSTM (with peephole and no-forget-gate variants), the GRU
(both reset conventions) and the continuous-time RNN; stacked, bidirectional, packed;
every gate of a run recordable with `rnnkit.record`.
"""

from .cells import CTRNNMath, ElmanMath, GRUMath, JordanMath, LSTMMath, get_activation
from .cells.base import CellSpec, Product

from .layers import (
    CTRNN,
    GRU,
    LSTM,
    RNN,
    CTRNNCell,
    GRUCell,
    JordanCell,
    JordanRNN,
    LSTMCell,
    RNNCell,
)
from .trace import Recording, record

__version__ = "0.1.0"

# Everything of rnnkit's that a model saved whole (torch.save(model)) refers to: the layers
# and cells, the math of each cell (its spec and products), and the lookup of an activation by its name. Allow them
# to load such a file with weights_only=True:
#     torch.serialization.add_safe_globals(rnnkit.SAFE_GLOBALS)
SAFE_GLOBALS = (
    CTRNN,
    CTRNNCell,
    GRU,
    GRUCell,
    JordanCell,
    JordanRNN,
    LSTM,
    LSTMCell,
    RNN,
    RNNCell,
    CTRNNMath,
    ElmanMath,
    GRUMath,
    JordanMath,
    LSTMMath,
    CellSpec,
    Product,
    get_activation,
)

__all__ = [
    "CTRNN",
    "CTRNNCell",
    "GRU",
    "GRUCell",
    "JordanCell",
    "JordanRNN",
    "LSTM",
    "LSTMCell",
    "RNN",
    "RNNCell",
    "Recording",
    "SAFE_GLOBALS",
    "record",
]
