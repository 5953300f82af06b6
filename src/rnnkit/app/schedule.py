"""The learning-rate schedule the applications share (a linear warm-up, then a cosine decay), and
how many steps a run of a time budget holds, so that the decay ends with the budget."""
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


def steps_that_fit(done: int, minutes: float, spent: float, step_seconds: float, val_seconds: float,
                   eval_every: int) -> tuple[int, str]:
    """The step a run of ``minutes`` ends at, ``done`` steps and ``spent`` seconds into it, a step
    taking ``step_seconds`` and a validation every ``eval_every`` steps ``val_seconds``; and the
    line that says so."""
    fit = done + max(0, int((minutes * 60 - spent) / (step_seconds + val_seconds / eval_every)))
    return fit, f"{fit} steps fit in {minutes:g} minutes ({step_seconds:.3f} s a step, {val_seconds:.1f} s a validation)"
