"""Scoring a trained model on a text: nats and bits per character."""
from __future__ import annotations

import torch

from . import checkpoint
from .config import CharLMError, EvalConfig
from .corpus import load_text, read_text, split
from .metrics import BITS
from .model import evaluate, load_model, resolve_device


def run_eval(cfg: EvalConfig) -> int:
    device = resolve_device(cfg.device)
    model, vocab, train_cfg = load_model(*checkpoint.load(cfg.checkpoint), device)
    if cfg.text is None:
        text, what = split(load_text(train_cfg.text), train_cfg.val_fraction)[1], "the run's validation split"
    else:
        text, what = read_text(cfg.text), cfg.text
    if len(text) < 2:
        raise CharLMError(f"{what} has fewer than 2 characters: nothing to score")
    ids = torch.tensor(vocab.encode(text, what), dtype=torch.long, device=device)
    loss = evaluate(model, ids, cfg.batch, cfg.bptt)
    print(f"{what}: {len(text) - 1} characters scored, loss {loss:.4f} nats = {loss * BITS:.4f} bits per character")
    return 0
