"""The learning-rate schedule the applications share: a linear warm-up, then a cosine decay."""
from __future__ import annotations

import math


def warmup_cosine(step: int, steps: int, peak: float, warmup: int, floor: float = 0.0) -> float:
    """The learning rate of step ``step`` (0-based): linear from ``peak / warmup`` up to ``peak``
    over the first ``warmup`` steps, then a cosine decay to ``floor`` at step ``steps``, and
    ``floor`` after it."""
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, steps - warmup))
    return floor + 0.5 * (peak - floor) * (1 + math.cos(math.pi * progress))
