"""Recording every gate and state of every step of a run.

    with rnnkit.record(model) as rec:
        model(x)
    rec["lstm.l0"]["f"]        # the forget gate of layer 0 of submodule "lstm": (T, B, H)

Keys are the recorded module's name inside `model` ('' for `model` itself, no dot then),
then the layer and direction as in the parameter names: "l0", "l1_reverse". A single-step
cell module records under its name alone. Each key maps to a dict of every gate and state
the cell computes (LSTM i, f, g, o, h, c; GRU r, z, n, h; see each cell's `gates` and
`states`), time-major (T, B, size) whatever batch_first says, B = 1 for unbatched input,
in the caller's batch order for PackedSequence input (zeros past a sequence's end).
Successive calls inside one recording are joined along time, so a sequence fed a step or a
chunk at a time records as one run. Recorded tensors are detached copies.

Recording never changes what a forward pass computes or returns; layers run an engine
that can record while it is on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn

from .layers import RecurrentLayer, _Recurrent


class Recording:
    def __init__(self):
        self._calls: dict[str, list[dict[str, Tensor]]] = {}

    def _add(self, key: str, trace: dict[str, Tensor]) -> None:
        self._calls.setdefault(key, []).append({k: v.detach() for k, v in trace.items()})

    def keys(self) -> list[str]:
        return list(self._calls)

    def __contains__(self, key: str) -> bool:
        return key in self._calls

    def __getitem__(self, key: str) -> dict[str, Tensor]:
        if key not in self._calls:
            raise KeyError(f"nothing recorded under {key!r}; recorded: {', '.join(map(repr, self._calls)) or 'nothing'}")
        calls = self._calls[key]
        batches = {next(iter(c.values())).shape[1] for c in calls}
        if len(batches) > 1:
            raise ValueError(f"{key!r} was called with different batch sizes {sorted(batches)}: its calls cannot be joined")
        return {name: torch.cat([c[name] for c in calls]) for name in calls[0]}


@contextmanager
def record(module: nn.Module) -> Iterator[Recording]:
    """Record every rnnkit layer and cell inside `module` (itself included) while in the block."""
    recording = Recording()
    layers = [(name, m) for name, m in module.named_modules() if isinstance(m, _Recurrent)]
    if not layers:
        raise ValueError(f"{type(module).__name__} contains no rnnkit layer or cell to record")
    previous = [m._recording for _, m in layers]
    for name, m in layers:
        m._recording = (recording, name + "." if name and isinstance(m, RecurrentLayer) else name)
    try:
        yield recording
    finally:
        for (_, m), p in zip(layers, previous):
            m._recording = p
