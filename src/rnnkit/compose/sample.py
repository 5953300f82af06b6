"""Composing with a trained model, frame by frame, within what the chorales allow.

Each frame is drawn from the model's 88 probabilities (its logits divided by the temperature),
each key on or off on its own; then two rules of the music: a key outside the range the model
was trained on (``key_range`` in its checkpoint) is never played, and when more than
``max_notes`` keys come up on, only the ``max_notes`` likeliest of them are kept.
"""
from __future__ import annotations

import torch

from rnnkit.app.errors import UserError

from .corpus import KEYS


@torch.no_grad()
def compose(model, length: int, key_range: tuple[int, int], prime: torch.Tensor | None = None,
            temperature: float = 1.0, max_notes: int = 4, generator: torch.Generator | None = None) -> torch.Tensor:
    """``length`` new frames (length, 88) after ``prime`` (T, 88; T may be 0), which the model reads first."""
    if length < 1 or max_notes < 1:
        raise UserError(f"--length ({length}) and --max-notes ({max_notes}) must be at least 1")
    if temperature <= 0:
        raise UserError(f"--temperature must be positive, got {temperature}")
    device = next(model.parameters()).device
    allowed = torch.zeros(KEYS, dtype=torch.bool, device=device)
    allowed[key_range[0]:key_range[1] + 1] = True
    frames = torch.zeros(1, 1, KEYS, device=device)  # the silent frame every piece starts after
    if prime is not None:
        frames = torch.cat([frames, prime[None].to(device)], 1)
    logits, state = model(frames)  # (1, 1 + T, 88)
    out = []
    for t in range(length):
        p = torch.sigmoid(logits[0, -1] / temperature) * allowed  # (88,)
        on = torch.rand(KEYS, generator=generator, device=device) < p
        if on.sum() > max_notes:
            kept = torch.topk(torch.where(on, p, -1.0), max_notes).indices
            on = torch.zeros_like(on).index_fill_(0, kept, True)
        out.append(on.float())
        if t + 1 < length:
            logits, state = model(out[-1].view(1, 1, KEYS), state)
    return torch.stack(out).cpu()
