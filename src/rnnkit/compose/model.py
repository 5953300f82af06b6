"""The composing network and how it is scored.

The network reads a piano roll frame by frame and gives, for every frame, the probability of
each of the 88 keys being on in the next one: input frame (88) -> recurrent network -> dropout
-> linear read-out (88 logits), each key an independent Bernoulli given the frames before.
Frame 0 is predicted from a silent frame, so every frame of a piece is scored.

Shape legend: B pieces, T frames, K = 88 keys, H hidden.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from rnnkit.app import networks
from rnnkit.app.checkpoint import prefixed
from rnnkit.app.errors import UserError

from .config import ModelConfig
from .corpus import KEYS

APPLICATION = "compose"  # the name its checkpoints carry: format rnnkit.compose/1


class Composer(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.rnn = networks.build(cfg.cell, KEYS, cfg.hidden, num_layers=cfg.layers, batch_first=True,
                                  dropout=cfg.dropout if cfg.layers > 1 else 0.0, engine=cfg.engine,
                                  **({"learn_tau": True} if cfg.learn_tau else {}))
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.hidden, KEYS)

    def forward(self, frames: torch.Tensor, state=None):
        """frames: (B, T, K) of 0 and 1 -> logits (B, T, K) of the frame after each, and the state."""
        out, state = self.rnn(frames, state)
        return self.head(self.drop(out)), state


def batch_of(rolls: list[torch.Tensor], device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(inputs, targets, mask) of rolls padded to the longest: inputs and targets (B, T, K), mask
    (B, T) true on real frames; the inputs are the targets one frame late, after a silent frame."""
    longest = max(len(r) for r in rolls)
    targets = torch.zeros(len(rolls), longest, KEYS)
    mask = torch.zeros(len(rolls), longest, dtype=torch.bool)
    for i, r in enumerate(rolls):
        targets[i, :len(r)], mask[i, :len(r)] = r, True
    inputs = torch.cat([torch.zeros(len(rolls), 1, KEYS), targets[:, :-1]], 1)
    return inputs.to(device), targets.to(device), mask.to(device)


def frame_nll(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The negative log-likelihood in nats of each frame (B, T), summed over its 88 keys; 0 where masked."""
    per_key = nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    return per_key.sum(-1) * mask


@dataclass
class Score:
    """What a model scores on a set of pieces, summed over every frame."""
    nll: float = 0.0  # nats
    frames: int = 0
    tp: int = 0  # keys predicted on (probability above 1/2) that are on
    fp: int = 0  # predicted on, off
    fn: int = 0  # predicted off, on

    def add(self, logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> None:
        self.nll += frame_nll(logits, targets, mask).sum().item()
        self.frames += int(mask.sum())
        on, predicted = targets.bool() & mask[..., None], (logits > 0) & mask[..., None]
        self.tp += int((predicted & on).sum())
        self.fp += int((predicted & ~on).sum())
        self.fn += int((~predicted & on).sum())

    @property
    def nll_per_frame(self) -> float:
        return self.nll / self.frames

    @property
    def accuracy(self) -> float:
        """Frame-level accuracy TP / (TP + FP + FN) of Bay et al. 2009, counted over all frames together."""
        return self.tp / max(1, self.tp + self.fp + self.fn)


@torch.no_grad()
def evaluate(model: nn.Module, rolls: list[torch.Tensor], batch: int = 32) -> Score:
    """The model's score on whole pieces, each read from a zero state."""
    device = next(model.parameters()).device
    was_training, score = model.training, Score()
    model.eval()
    for i in range(0, len(rolls), batch):
        inputs, targets, mask = batch_of(rolls[i:i + batch], device)
        score.add(model(inputs)[0], targets, mask)
    model.train(was_training)
    return score


def independent_logits(rolls: list[torch.Tensor]) -> torch.Tensor:
    """The baseline that plays each key on its own, ignoring the past: key k is on with
    probability (n_k + 1) / (N + 2), n_k of the N frames of ``rolls`` having it on (add-one
    smoothing: a key never seen is not impossible); as logits (88,)."""
    frames = torch.cat(rolls)
    p = (frames.sum(0) + 1) / (len(frames) + 2)
    return torch.log(p) - torch.log1p(-p)


def independent_score(logits: torch.Tensor, rolls: list[torch.Tensor]) -> Score:
    """The score of the same logits (88,) for every frame of ``rolls``."""
    score = Score()
    for r in rolls:
        score.add(logits.expand(1, len(r), KEYS), r[None], torch.ones(1, len(r), dtype=torch.bool))
    return score


def load_model(meta: dict, tensors: dict[str, torch.Tensor], device: torch.device) -> tuple[Composer, ModelConfig]:
    """(model in eval mode, its config) rebuilt from a compose checkpoint's JSON and verified tensors."""
    try:
        cfg = ModelConfig(**meta["model"])
        model = Composer(cfg)
        model.load_state_dict(prefixed(tensors, "model."))
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UserError(f"checkpoint does not fit the model its config describes: {first}") from None
    return model.to(device).eval(), cfg
