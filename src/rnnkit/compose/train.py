"""Training a composer on the chorales' training split, scored on the validation split.

Each step reads ``batch`` training pieces drawn at random (each shifted by a random number of
semitones with ``--transpose``), whole, from a zero state; the loss is the negative
log-likelihood in nats per frame, summed over the keys. Adam at a constant learning rate;
every ``eval_every`` steps the validation split is scored and the best model kept. A run
stops after ``--steps`` steps or, without it, at the first step past ``--minutes``: the same
seed and step count give the same run.
"""
from __future__ import annotations

import dataclasses
import random
import signal
import time

import torch
from torch import nn

from rnnkit.app import checkpoint, options
from rnnkit.app.device import resolve_device
from rnnkit.app.errors import UserError
from rnnkit.app.metrics import MetricsLog, plot
from rnnkit.app.runs import prepare_run_folder
from rnnkit.app.signals import StopRequest

from .config import TrainConfig
from .corpus import chorales, key_range, split, transposed
from .model import APPLICATION, Composer, batch_of, evaluate, frame_nll


class Trainer:
    def __init__(self, cfg: TrainConfig):
        options.check(cfg)  # a config made in code, not from flags, meets the flags' ranges too
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.cfg, self.device = cfg, resolve_device(cfg.device)
        torch.manual_seed(cfg.seed)
        self.model = Composer(cfg.model).to(self.device)
        pieces = split(chorales())
        self.train_rolls = [p.roll for p in pieces["train"]]
        self.valid_rolls = [p.roll for p in pieces["valid"]]
        self.keys = key_range(self.train_rolls, cfg.transpose)
        self.run = prepare_run_folder(cfg.run_dir, False)
        self.log = MetricsLog(self.run / "metrics.jsonl")
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        self.rng = random.Random(cfg.seed)  # which pieces a step reads, and their shifts
        self.step, self.best = 0, float("inf")
        self.bad_evals = 0

    def save(self, kind: str) -> None:
        meta = {"step": self.step, "model": dataclasses.asdict(self.cfg.model), "config": dataclasses.asdict(self.cfg),
                "corpus": "chorales", "key_range": list(self.keys), "best_val_nll": self.best}
        checkpoint.save(self.run, kind, meta, {f"model.{k}": v for k, v in self.model.state_dict().items()},
                        application=APPLICATION)

    def train_step(self) -> float:
        """One optimiser step; returns the loss in nats per frame."""
        rolls = [transposed(r, self.cfg.transpose, self.rng) for r in self.rng.choices(self.train_rolls, k=self.cfg.batch)]
        inputs, targets, mask = batch_of(rolls, self.device)
        loss = frame_nll(self.model(inputs)[0], targets, mask).sum() / mask.sum()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.clip > 0:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.clip)
        self.opt.step()
        self.step += 1
        return loss.item()

    def validate(self) -> str:
        """Score the validation split, keep the model as ``best`` if it is; the line to print."""
        score = evaluate(self.model, self.valid_rolls)
        improved = score.nll_per_frame < self.best
        if improved:
            self.best, self.bad_evals = score.nll_per_frame, 0
            self.save("best")
        else:
            self.bad_evals += 1
        self.log.append({"step": self.step, "val_nll": score.nll_per_frame, "val_accuracy": score.accuracy,
                         "best": improved})
        return (f"step {self.step}: validation {score.nll_per_frame:.3f} nats/frame, frame accuracy "
                f"{score.accuracy:.3f}" + (" (best)" if improved else ""))


def train(cfg: TrainConfig, on_step=None) -> int:
    """Train a composer; returns the exit status. ``on_step(trainer)`` is called after each step."""
    from tqdm import tqdm

    t = Trainer(cfg)
    stop = StopRequest()
    try:
        n_params = sum(p.numel() for p in t.model.parameters())
        print(f"run {t.run}: {cfg.cell} {cfg.layers}x{cfg.hidden}, {n_params / 1e6:.3f}M parameters, "
              f"{len(t.train_rolls)} training and {len(t.valid_rolls)} validation chorales, on {t.device}")
        start = time.perf_counter()
        bar = tqdm(total=cfg.steps or None, unit="step", dynamic_ncols=True, mininterval=0.5)
        while not stop.signal:
            loss = t.train_step()
            seconds = time.perf_counter() - start
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
            t.log.append({"step": t.step, "loss": loss, "seconds": round(seconds, 3)})
            if on_step:
                on_step(t)
            done = t.step >= cfg.steps if cfg.steps else seconds >= cfg.minutes * 60
            if t.step % cfg.eval_every == 0 or done:
                bar.write(t.validate())
                done = done or bool(cfg.patience and t.bad_evals >= cfg.patience)
            if done:
                break
        bar.close()
    finally:
        stop.restore()
    t.save("last")
    plot(t.log.read(), t.run / "loss.png", f"{cfg.cell} {cfg.layers}x{cfg.hidden} on Bach's chorales",
         x="step", x_label="step", y_label="nats per frame", val="val_nll")
    if stop.signal:
        print(f"stopped by {signal.Signals(stop.signal).name} at step {t.step}; checkpoints saved in {t.run}")
        return 128 + stop.signal
    print(f"done: {t.step} steps in {time.perf_counter() - start:.0f} s, best validation {t.best:.3f} nats/frame; "
          f"run folder {t.run}")
    return 0
