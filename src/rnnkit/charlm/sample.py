"""Generating text from a trained model, one character at a time."""
from __future__ import annotations

import math
import sys
from collections.abc import Iterator

import torch

from rnnkit.app import checkpoint
from rnnkit.app.device import resolve_device
from rnnkit.app.errors import UserError

from .config import SampleConfig
from .corpus import Vocab


@torch.no_grad()
def generate(model, vocab: Vocab, prime: str, length: int, temperature: float = 1.0,
             top_k: int = 0, generator: torch.Generator | None = None) -> Iterator[str]:
    """Yield ``length`` characters following ``prime``, each drawn from softmax(logits / temperature).

    ``top_k`` > 0 keeps only the k likeliest characters. ``generator`` makes the draw reproducible
    without touching torch's global random state.
    """
    if not prime:
        raise UserError("--prime must have at least one character")
    if not 0 < temperature < math.inf:
        raise UserError(f"--temperature {temperature} is out of range: expected X > 0 and finite")
    device = next(model.parameters()).device
    ids = torch.tensor([vocab.encode(prime, "--prime")], device=device)  # (1, len(prime))
    was_training = model.training
    model.eval()
    logits, state = model(ids)
    for _ in range(length):
        # the likeliest character scores 0: however small the temperature, no score overflows to +inf
        scores = (logits[0, -1] - logits[0, -1].max()) / temperature  # (V,)
        if 0 < top_k < len(vocab):
            kth = torch.topk(scores, top_k).values[-1]
            scores = scores.masked_fill(scores < kth, float("-inf"))
        nxt = torch.multinomial(torch.softmax(scores, -1), 1, generator=generator)  # (1,)
        yield vocab.chars[nxt.item()]
        logits, state = model(nxt.view(1, 1), state)
    model.train(was_training)


def run_sample(cfg: SampleConfig) -> int:
    from .model import APPLICATION, load_model

    device = resolve_device(cfg.device)
    model, vocab, _ = load_model(*checkpoint.load(cfg.checkpoint, application=APPLICATION), device)
    generator = torch.Generator(device=device).manual_seed(cfg.seed)
    chars = generate(model, vocab, cfg.prime, cfg.length, cfg.temperature, cfg.top_k, generator)
    first = next(chars, "")  # the prime is checked before anything is printed
    sys.stdout.write(cfg.prime + first)
    for c in chars:
        sys.stdout.write(c)
        sys.stdout.flush()
    sys.stdout.write("\n")
    return 0
