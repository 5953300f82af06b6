"""rnnkit: the classic recurrent neural networks as drop-in torch.nn layers.

Elman and Jordan RNNs, the LSTM (with peephole and no-forget-gate variants), the GRU
(both reset conventions) and the continuous-time RNN; stacked, bidirectional, packed;
every gate of a run recordable with `rnnkit.record`.
"""

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
    "record",
]
