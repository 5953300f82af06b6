"""Training the tagger: epochs of shuffled utterance batches, validation by slot F1 after each
epoch, the best checkpoint kept, the test split scored at the end.

Epoch e visits the training utterances in the order ``random.Random(seed * 1000 + e)``
shuffles them into, so step s is a pure function of the config: a run stopped mid-epoch
resumes exactly. The loss is the mean cross-entropy over the batch's words, plus
``intent_weight`` times the mean intent cross-entropy over its utterances.
"""
from __future__ import annotations

import dataclasses
import math
import os
import signal
import time
from pathlib import Path

import torch
from torch import nn

from rnnkit.app import checkpoint, resume
from rnnkit.app.device import resolve_device
from rnnkit.app.errors import UserError
from rnnkit.app.metrics import MetricsLog, plot
from rnnkit.app.options import not_default
from rnnkit.app.runs import prepare_run_folder
from rnnkit.app.schedule import warmup_cosine
from rnnkit.app.signals import StopRequest

from .config import TrainConfig, upgraded
from .data import ATIS, Utterance, Vocab, atis_tags, batches, load, load_test, make_batch
from .metrics import Scores, score
from .model import APPLICATION, Tagger
from .run import tag

MAY_CHANGE_ON_RESUME = ("resume", "run_dir", "device", "threads", "engine")  # may differ from the interrupted run's


def learning_rate(cfg: TrainConfig, step: int, steps: int) -> float:
    """Linear warm-up to ``lr``, then cosine decay to 0 at step ``steps``."""
    return warmup_cosine(step, steps, cfg.lr, cfg.warmup)


def loss_of(model: Tagger, batch, intent_weight: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(total loss, slot loss) of a batch, each a mean: over words, and over utterances for intents."""
    slots, intents = model(batch)
    slot_loss = nn.functional.cross_entropy(slots.flatten(0, 1), batch.tags.flatten(), ignore_index=-100)
    if intents is None or not intent_weight:
        return slot_loss, slot_loss
    return slot_loss + intent_weight * nn.functional.cross_entropy(intents, batch.intents), slot_loss


def _settled_config(cfg: TrainConfig, typed: frozenset[str]) -> tuple[TrainConfig, dict, dict]:
    """The run's config, and the checkpoint (meta, tensors) it resumes from (empty for a new
    run); `typed` names the flags the user gave, which alone are compared on resume."""
    if not cfg.resume:
        paths = {k: str(Path(getattr(cfg, k)).resolve()) for k in ("data", "test_data") if getattr(cfg, k)}
        return dataclasses.replace(cfg, **paths), {}, {}
    meta, tensors = checkpoint.load(cfg.resume, prefer=("last",), application=APPLICATION)
    resumed, changes = resume.resumed_config(cfg, typed, upgraded(meta.get("config")), MAY_CHANGE_ON_RESUME,
                                             cfg.resume)
    if changes:
        print("changed: " + ", ".join(changes))
    return dataclasses.replace(resumed, run_dir=cfg.resume), meta, tensors


class Trainer:
    """A run: its config, data, model, optimiser and checkpoints."""

    def __init__(self, cfg: TrainConfig, typed: frozenset[str]):
        self.cfg, meta, tensors = _settled_config(cfg, typed)
        self._set_up_system()
        self._load_data(meta)
        self.run = prepare_run_folder(self.cfg.run_dir, bool(self.cfg.resume))
        self._build_model(meta, tensors)
        self.log = MetricsLog(self.run / "metrics.jsonl")
        self.log.truncate(self.step)

    def _set_up_system(self) -> None:
        cfg = self.cfg
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:
            raise UserError("rnnkit tag train runs in one process; start it without torchrun")
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.device = resolve_device(cfg.device)
        for name in ("epochs", "batch", "hidden", "embedding", "layers", "min_count"):
            if getattr(cfg, name) < 1:
                raise UserError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(cfg, name)}")
        if cfg.window < 0:
            raise UserError(f"--window must be 0 or more, got {cfg.window}")
        if not 0 <= cfg.dropout < 1:
            raise UserError(f"--dropout must be in [0, 1), got {cfg.dropout}")

    def _load_data(self, meta: dict) -> None:
        """Training, validation and test utterances, and the vocabulary (the resumed run's)."""
        cfg = self.cfg
        self.train_set, self.val_set = load(cfg.data, cfg.val_fraction)
        if meta:
            self.vocab = Vocab(**meta["vocab"])
        else:  # ATIS: its whole tag inventory, which has types only its test set uses
            self.vocab = Vocab.build(self.train_set, cfg.min_count, atis_tags() if cfg.data is None else [],
                                     intents=cfg.intent_weight > 0)
        self.vocab.check_tags(self.val_set, f"{cfg.data} (validation part)")
        self.test_set, self.test_name = ([], None) if cfg.data and not cfg.test_data else load_test(cfg.test_data)
        self.vocab.check_tags(self.test_set, self.test_name)
        self.steps_per_epoch = math.ceil(len(self.train_set) / cfg.batch)
        self.steps = cfg.epochs * self.steps_per_epoch

    def _build_model(self, meta: dict, tensors: dict) -> None:
        cfg = self.cfg
        torch.manual_seed(cfg.seed)
        self.model = Tagger(self.vocab, cfg.model).to(self.device)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.step, self.best, self.bad_epochs = 0, -1.0, 0
        if meta:
            try:
                self.model.load_state_dict(checkpoint.prefixed(tensors, "model."))
                resume.load_optimizer(self.opt, checkpoint.prefixed(tensors, "optim."))
            except (KeyError, ValueError, RuntimeError) as e:
                first = (str(e).strip().splitlines() or [type(e).__name__])[0]
                raise UserError(f"checkpoint {cfg.resume} does not fit the model its config describes: {first}") from None
            self.step, self.best, self.bad_epochs = meta["step"], meta["best_val_f1"], meta["bad_epochs"]
            resume.restore_rng(tensors, 0, self.device)

    def _meta(self) -> dict:
        return {"step": self.step, "model": dataclasses.asdict(self.cfg.model), "config": dataclasses.asdict(self.cfg),
                "vocab": self.vocab.as_dict(), "best_val_f1": self.best, "bad_epochs": self.bad_epochs}

    def save(self, kind: str) -> None:
        """Write a checkpoint; ``last`` adds what resuming needs."""
        tensors = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        if kind == "last":
            tensors |= {f"optim.{k}": v for k, v in resume.optimizer_tensors(self.opt).items()}
            tensors |= resume.rng_tensors(1, self.device)
        checkpoint.save(self.run, kind, self._meta(), tensors, application=APPLICATION)

    def epoch_batches(self, epoch: int) -> list[list[Utterance]]:
        return batches(self.train_set, self.cfg.batch, seed=self.cfg.seed * 1000 + epoch)

    def train_step(self, utterances: list[Utterance]) -> tuple[float, float]:
        """One optimiser step on a batch; returns its loss and slot loss."""
        cfg = self.cfg
        for group in self.opt.param_groups:
            group["lr"] = learning_rate(cfg, self.step, self.steps)
        self.model.train()
        loss, slot_loss = loss_of(self.model, make_batch(utterances, self.vocab, self.device), cfg.intent_weight)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.clip > 0:
            nn.utils.clip_grad_norm_(self.model.parameters(), cfg.clip)
        self.opt.step()
        self.step += 1
        return loss.item(), slot_loss.item()

    def validate(self) -> tuple[Scores, float, bool]:
        """Validation scores and slot loss, and whether its F1 is the best so far (then saved as ``best``)."""
        scores, val_loss = evaluate(self.model, self.vocab, self.val_set, self.device)
        improved = scores.f1 > self.best
        if improved:
            self.best, self.bad_epochs = scores.f1, 0
            self.save("best")
        else:
            self.bad_epochs += 1
        return scores, val_loss, improved


@torch.no_grad()
def evaluate(model: Tagger, vocab: Vocab, gold: list[Utterance], device, batch: int = 64) -> tuple[Scores, float]:
    """Scores of the model on ``gold`` and its mean slot cross-entropy per word there."""
    total, words = 0.0, 0
    for group in batches(gold, batch):
        b = make_batch(group, vocab, device)
        total += loss_of(model, b, 0.0)[1].item() * int(b.lengths.sum())
        words += int(b.lengths.sum())
    return score(gold, tag(model, vocab, gold, device, batch)), total / words


def train(cfg: TrainConfig, on_step=None, typed: frozenset[str] | None = None) -> int:
    """Run (or resume) training; returns the exit status. ``on_step(trainer)``, if given, is
    called after every optimiser step (tests use it to interrupt a run at a chosen step);
    ``typed`` names the flags the user gave (by default those that differ from the defaults)."""
    from tqdm import tqdm

    stop = StopRequest()
    try:
        return _loop(Trainer(cfg, not_default(cfg) if typed is None else typed), stop, on_step, tqdm)
    finally:
        stop.restore()


def _announce(t: Trainer) -> None:
    cfg = t.cfg
    n_params = sum(p.numel() for p in t.model.parameters())
    print(f"run {t.run}: {'bidirectional ' if cfg.bidirectional else ''}{cfg.cell} {cfg.layers}x{cfg.hidden}, "
          f"window {cfg.window}, {n_params / 1e6:.2f}M parameters; {len(t.vocab.words)} words, "
          f"{len(t.vocab.tags)} tags, {len(t.vocab.intents)} intents; {len(t.train_set)} training, "
          f"{len(t.val_set)} validation utterances; {t.steps} steps on {t.device}"
          + (f", resumed at step {t.step}" if t.step else ""))


def _loop(t: Trainer, stop: StopRequest, on_step, tqdm) -> int:
    cfg = t.cfg
    _announce(t)
    bar = tqdm(total=t.steps, initial=t.step, unit="step", dynamic_ncols=True, mininterval=0.5)
    start, signum, ended_early = time.perf_counter(), 0, False
    while t.step < t.steps and not (signum or ended_early):
        epoch, first = divmod(t.step, t.steps_per_epoch)
        for utterances in t.epoch_batches(epoch)[first:]:
            loss, slot_loss = t.train_step(utterances)
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}", epoch=epoch + 1, refresh=False)
            t.log.append({"step": t.step, "loss": slot_loss, "total_loss": loss, "lr": learning_rate(cfg, t.step - 1, t.steps),
                          "epoch": epoch + 1, "seconds": round(time.perf_counter() - start, 3)})
            if on_step:
                on_step(t)
            signum = stop.signal
            if signum:
                break
        else:
            ended_early = _validate(t, bar, epoch + 1)
    bar.close()
    t.save("last")
    return _finish(t, signum)


def _validate(t: Trainer, bar, epoch: int) -> bool:
    """Validate at the end of an epoch, log and print; True if the run should stop early."""
    scores, val_loss, improved = t.validate()
    t.log.append({"step": t.step, "epoch": epoch, "val_loss": val_loss, "best": improved, **scores.as_dict("val")})
    bar.write(f"epoch {epoch}: validation {scores.summary()}" + (" (best)" if improved else ""))
    if t.cfg.patience and t.bad_epochs >= t.cfg.patience:
        bar.write(f"early stop: {t.cfg.patience} epochs without a better validation F1")
        return True
    return False


def _finish(t: Trainer, signum: int) -> int:
    """The loss curve, the test scores of the best checkpoint, and how the run ended."""
    cfg = t.cfg
    plot(t.log.read(), t.run / "loss.png",
         f"{cfg.cell} {cfg.layers}x{cfg.hidden} on {Path(cfg.data).name if cfg.data else ATIS}",
         x="step", x_label="optimiser step", y_label="slot cross-entropy per word (nats)")
    if signum:
        print(f"stopped by {signal.Signals(signum).name} at step {t.step}; checkpoint saved; "
              f"continue with: rnnkit tag train --resume {t.run}")
        return 128 + signum
    line = f"done: {t.step} steps, best validation slot F1 {t.best:.2f}"
    if t.test_set:
        best = Tagger(t.vocab, cfg.model).to(t.device)
        best.load_state_dict(checkpoint.prefixed(checkpoint.load(str(t.run), application=APPLICATION)[1], "model."))
        scores, _ = evaluate(best.eval(), t.vocab, t.test_set, t.device)
        t.log.append({"step": t.step, **scores.as_dict("test")})
        line += f"; {t.test_name}: {scores.summary()}"
    print(f"{line}; run folder {t.run}")
    return 0
