"""Every cell's pointwise stages as Triton kernels, one file per cell family as in `cells/`
(the triton engine runs them; `import rnnkit` never imports this package).

Each file holds the kernels of its family, a line-by-line transcription of the cell's
`pointwise` and `pointwise_backward` (same names, same order, the equation beside each
line), and a subclass of the cell whose two stage methods launch them: that cell has the
cell's spec, parameters, products and parameter gradients, so an engine runs it exactly as
it runs the cell. `tests/test_triton.py` holds each stage equal to the cell's, step by step.
"""

from __future__ import annotations

from functools import lru_cache

from ...cells.base import CellMath, CellSpec
from .base import INTERPRETED
from .ctrnn import CTRNNKernels
from .elman import ElmanKernels
from .gru import GRUKernels
from .jordan import JordanKernels
from .lstm import LSTMKernels

__all__ = ["INTERPRETED", "KERNELS", "kernel_cell"]

KERNELS: dict[str, type[CellMath]] = {
    cls.family: cls for cls in (ElmanKernels, LSTMKernels, GRUKernels, JordanKernels, CTRNNKernels)
}


@lru_cache(maxsize=None)
def kernel_cell(spec: CellSpec) -> CellMath:
    """The cell of `spec` with its pointwise stages run by Triton kernels."""
    return KERNELS[spec.family](hidden_size=spec.hidden_size, bias=spec.bias, **dict(spec.options))
