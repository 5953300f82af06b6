"""The character language model: embedding -> recurrent network -> dropout -> linear read-out.

Shape legend: B streams, T time steps, V vocabulary, E embedding, H hidden.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from rnnkit.app import networks
from rnnkit.app.checkpoint import prefixed
from rnnkit.app.errors import UserError
from rnnkit.app.trained import TrainedModel

from .config import ModelConfig
from .corpus import Vocab

APPLICATION = "charlm"  # the name its checkpoints carry: format rnnkit.charlm/1
BITS = 1 / math.log(2)  # nats -> bits


class CharLM(nn.Module):
    def __init__(self, vocab_size: int, cfg: ModelConfig):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, cfg.embedding)
        # batch-first, with dropout between its layers
        self.rnn = networks.build(cfg.cell, cfg.embedding, cfg.hidden, num_layers=cfg.layers, batch_first=True,
                                  dropout=cfg.dropout if cfg.layers > 1 else 0.0, engine=cfg.engine)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.hidden, vocab_size)

    def forward(self, ids: torch.Tensor, state=None):
        """ids: (B, T) int64 -> logits (B, T, V) and the network's state after the last step."""
        out, state = self.rnn(self.embed(ids), state)  # out: (B, T, H)
        return self.head(self.drop(out)), state


def streams_for(length: int, streams: int, bptt: int) -> tuple[int, int]:
    """(rows, characters scored per row) when a text of ``length`` characters is cut into at
    most ``streams`` rows read ``bptt`` characters at a time: at least one chunk per row."""
    if length < 2 or streams < 1 or bptt < 1:
        raise ValueError(f"nothing to score: {length} characters, {streams} streams of chunks of {bptt}")
    rows = max(1, min(streams, (length - 1) // bptt))
    return rows, (length - 1) // rows


@torch.no_grad()
def evaluate(model: nn.Module, ids: torch.Tensor, streams: int, bptt: int) -> float:
    """Mean cross-entropy in nats per character of predicting ``ids[1:]`` from what precedes it.

    The text is cut into ``streams`` rows read side by side, the state carried chunk to chunk,
    so each character but a row's first is predicted from its whole row so far; the
    characters scored are ``streams_for``'s rows times their length (a ValueError if none).
    """
    streams, n = streams_for(len(ids), streams, bptt)
    x, y = ids[: streams * n].view(streams, n), ids[1: streams * n + 1].view(streams, n)  # (B, n)
    was_training, total, state = model.training, 0.0, None
    model.eval()
    for p in range(0, n, bptt):
        logits, state = model(x[:, p:p + bptt], state)
        total += nn.functional.cross_entropy(logits.flatten(0, 1), y[:, p:p + bptt].flatten(),
                                             reduction="sum").item()
    model.train(was_training)
    return total / (streams * n)


def model_config(meta: dict) -> ModelConfig:
    """The model config of a checkpoint's JSON: its ``model``, or in a checkpoint written before
    the model had its own config, the same fields of the training ``config``."""
    if "model" in meta:
        return ModelConfig(**meta["model"])
    config = meta["config"]
    return ModelConfig(cell=config["cell"], layers=config["layers"], hidden=config["hidden"],
                       embedding=config["embedding"], dropout=config["dropout"], engine=config["engine"])


def load_model(meta: dict, tensors: dict[str, torch.Tensor], device: torch.device) -> tuple[CharLM, Vocab, ModelConfig]:
    """(model, vocab, model config) rebuilt from a checkpoint's JSON and its verified tensors."""
    try:
        cfg = model_config(meta)
        vocab = Vocab(meta["vocab"])
        model = CharLM(len(vocab), cfg)
        model.load_state_dict(prefixed(tensors, "model."))
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UserError(f"checkpoint does not fit the model its config describes "
                        f"(weights of another model or vocabulary?): {first}") from None
    return model.to(device), vocab, cfg


def trained_model(meta: dict, tensors: dict[str, torch.Tensor], device: torch.device) -> TrainedModel:
    """The recurrent network of a char-LM checkpoint, fed the embedding of a text's characters:
    what ``rnnkit.app.trained.open_trained`` gives another application (``rnnkit inspect``)."""
    model, vocab, cfg = load_model(meta, tensors, device)
    model.eval()

    def inputs(text: str, what: str) -> torch.Tensor:
        ids = torch.tensor([vocab.encode(text, what)], dtype=torch.long, device=device)  # (1, T)
        return model.embed(ids)  # (1, T, E)

    return TrainedModel(model.rnn, inputs, f"{cfg.cell}, {cfg.layers} layer(s) of {cfg.hidden}")
