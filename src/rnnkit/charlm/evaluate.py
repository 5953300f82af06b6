"""Scoring a trained model on a text: nats and bits per character."""
from __future__ import annotations

import torch

from rnnkit.app import checkpoint
from rnnkit.app.device import resolve_device
from rnnkit.app.errors import UserError
from rnnkit.app.text import STDIN, read_text, text_name

from .config import EvalConfig
from .corpus import DEFAULT_CORPUS, load_text, split
from .model import APPLICATION, BITS, evaluate, load_model, streams_for


def run_eval(cfg: EvalConfig) -> int:
    device = resolve_device(cfg.device)
    meta, tensors = checkpoint.load(cfg.checkpoint, application=APPLICATION)
    model, vocab, _ = load_model(meta, tensors, device)
    if cfg.text is None:
        trained_on = meta["config"]  # the training config: its text and how it was split
        if trained_on["text"] == STDIN:
            raise UserError("the run was trained on standard input: give the text to score with --text FILE")
        text, what = split(load_text(trained_on["text"], trained_on.get("corpus", DEFAULT_CORPUS)),
                           trained_on["val_fraction"])[1], "the run's validation split"
    else:
        text, what = read_text(cfg.text), text_name(cfg.text)
    if len(text) < 2:
        raise UserError(f"{what} has fewer than 2 characters: nothing to score")
    ids = torch.tensor(vocab.encode(text, what), dtype=torch.long, device=device)
    streams, per_stream = streams_for(len(ids), cfg.batch, cfg.bptt)
    loss = evaluate(model, ids, cfg.batch, cfg.bptt)
    print(f"{what}: {streams * per_stream} characters scored, loss {loss:.4f} nats = {loss * BITS:.4f} bits per character")
    return 0
