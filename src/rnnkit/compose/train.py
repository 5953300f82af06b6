"""Training a composer on the chorales' training split, scored on the validation split.

Each step reads ``batch`` training pieces drawn at random (each shifted by a random number of
semitones with ``--transpose``), whole, from a zero state; the loss is the negative
log-likelihood in nats per frame, summed over the keys. AdamW, its learning rate warmed up
then constant or decayed to 0 at the last step; every ``eval_every`` steps the validation
split is scored and the best model kept. A run stops after ``--steps`` steps; without it, the
run times its first steps and a validation, then fixes its step count to what fits in
``--minutes``. The same seed and step count give the same run.
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
from rnnkit.app.schedule import steps_that_fit, warmup_cosine
from rnnkit.app.signals import StopRequest

from .config import TrainConfig, network_recipe
from .corpus import chorales, key_range, split, transposed
from .model import APPLICATION, Composer, batch_of, evaluate, frame_nll

CALIBRATION_STEPS = 20  # steps timed before a run with a time budget fixes its step count


def learning_rate(cfg: TrainConfig, step: int) -> float:
    """The learning rate of step ``step`` (0-based): a linear warm-up to ``lr`` over ``warmup``
    steps, then ``lr``, or a cosine decay to 0 at step ``steps`` (once it is known)."""
    if cfg.schedule == "cosine" and cfg.steps:
        return warmup_cosine(step, cfg.steps, cfg.lr, cfg.warmup)
    return cfg.lr * min(1.0, (step + 1) / cfg.warmup) if cfg.warmup else cfg.lr


class Trainer:
    def __init__(self, cfg: TrainConfig):
        options.check(cfg)  # a config made in code, not from flags, meets the flags' ranges too
        if cfg.learn_tau and cfg.cell != "ctrnn":
            raise UserError(f"--learn-tau 1: only --cell ctrnn has time constants to learn, not --cell {cfg.cell}")
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
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
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
        for group in self.opt.param_groups:
            group["lr"] = learning_rate(self.cfg, self.step)
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

    def calibrate(self, step_seconds: float, val_seconds: float, spent: float) -> str:
        """Fix ``cfg.steps`` so that the run, its validations included, ends about ``minutes`` after
        it began; the line to print."""
        cfg = self.cfg
        fit, line = steps_that_fit(self.step, cfg.minutes, spent, step_seconds, val_seconds, cfg.eval_every)
        self.cfg = dataclasses.replace(cfg, steps=fit)
        return line


def train(cfg: TrainConfig, on_step=None, typed: frozenset[str] | None = None) -> int:
    """Train a composer; returns the exit status. The network's own values (NETWORK_RECIPES)
    replace those of the flags not in ``typed``: the flags the user typed, or for a config made
    in code, the fields whose value differs from their default (``typed={"lr"}`` keeps a
    default ``lr``). ``on_step(trainer)`` is called after each step."""
    from tqdm import tqdm

    cfg, own = network_recipe(cfg, options.not_default(cfg) if typed is None else typed)
    t = Trainer(cfg)
    if own:
        print(f"the {cfg.cell} network's own recipe: {own} (a typed flag wins)")
    stop = StopRequest()
    try:
        n_params = sum(p.numel() for p in t.model.parameters())
        print(f"run {t.run}: {cfg.cell} {cfg.layers}x{cfg.hidden}, {n_params / 1e6:.3f}M parameters, "
              f"lr {cfg.lr:g}, dropout {cfg.dropout:g}, {len(t.train_rolls)} training and {len(t.valid_rolls)} "
              f"validation chorales, on {t.device}")
        start = time.perf_counter()
        calibrate_at = None if cfg.steps else CALIBRATION_STEPS
        stepping = 0.0  # seconds of the steps after the first (slower: allocation), for calibration
        bar = tqdm(total=cfg.steps or None, unit="step", dynamic_ncols=True, mininterval=0.5)
        while not stop.signal:
            began = time.perf_counter()
            loss = t.train_step()
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
            t.log.append({"step": t.step, "loss": loss, "lr": t.opt.param_groups[0]["lr"],
                          "seconds": round(time.perf_counter() - start, 3)})
            if on_step:
                on_step(t)
            if t.step > 1:
                stepping += time.perf_counter() - began
            done = t.step >= t.cfg.steps and not calibrate_at
            if t.step % cfg.eval_every == 0 or done or t.step == calibrate_at:
                before_val = time.perf_counter()
                bar.write(t.validate())
                now = time.perf_counter()
                if t.step == calibrate_at:
                    bar.write(t.calibrate(stepping / (t.step - 1), now - before_val, now - start))
                    calibrate_at, bar.total = None, t.cfg.steps
                    done = t.step >= t.cfg.steps
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
