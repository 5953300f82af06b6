"""Training a character LM with truncated BPTT, one process or many (torchrun + DDP).

The training text is cut into B rows ("streams") read side by side; step s trains on the
chunk of T characters at column (s mod chunks) * T of every row, starting from the state the
previous chunk left (detached), so a run is a pure function of its config and seed. Under
torchrun each of the W processes owns B / W consecutive rows; gradients are averaged, so W
processes follow the same trajectory as one process with all B rows.

Shape legend: B streams (global), b = B / W streams of this process, T chunk length, V vocabulary.
"""
from __future__ import annotations

import dataclasses
import math
import signal
import time
from pathlib import Path

import torch
from torch import nn

from rnnkit.app import checkpoint, distributed, resume
from rnnkit.app.device import resolve_device
from rnnkit.app.errors import UserError
from rnnkit.app.metrics import MetricsLog, plot
from rnnkit.app.networks import state_from_tensors, state_tensors
from rnnkit.app.options import not_default
from rnnkit.app.runs import prepare_run_folder
from rnnkit.app.schedule import steps_that_fit, warmup_cosine
from rnnkit.app.signals import StopRequest
from rnnkit.app.text import STDIN, text_name

from .config import TrainConfig
from .corpus import Vocab, load_text, split, text_sha256
from .model import APPLICATION, BITS, CharLM, evaluate
from .recipes import Machine, apply
from .sample import generate

CALIBRATION_STEPS = 10  # steps timed before a run with a time budget fixes its step count
# flags a resumed run applies (any other one that differs from the run's is refused): where
# the run goes on and for how long, how often it validates and stops, how it runs on this machine;
# --text may name the same text elsewhere (its sha256 is checked)
MAY_CHANGE_ON_RESUME = ("resume", "text", "steps", "minutes", "eval_every", "patience", "sample_length",
                        "device", "threads", "engine", "precision")


def learning_rate(cfg: TrainConfig, step: int) -> float:
    """Linear warm-up to ``lr``, then cosine decay to ``min_lr`` at the last step."""
    if not cfg.steps and step >= cfg.warmup:  # not calibrated yet (see _calibrate)
        return cfg.lr
    return warmup_cosine(step, cfg.steps, cfg.lr, cfg.warmup, cfg.min_lr)


def _settled_config(cfg: TrainConfig, typed: frozenset[str]) -> tuple[TrainConfig, dict, dict, list[str]]:
    """The run's config, the checkpoint (meta, tensors) it resumes from (empty for a new run),
    and the changes a resumed run applies."""
    if cfg.text and cfg.text != STDIN:  # the run remembers where its text is, whatever the working directory later
        cfg = dataclasses.replace(cfg, text=str(Path(cfg.text).absolute()))  # not resolved: /dev/stdin stays itself
    if not cfg.resume:
        return cfg, {}, {}, []
    if "run_dir" in typed and Path(cfg.run_dir).absolute() != Path(cfg.resume).absolute():
        raise UserError(f"--run-dir {cfg.run_dir} with --resume {cfg.resume}: a resumed run stays in its folder")
    meta, tensors = checkpoint.load(str(checkpoint.newest(cfg.resume)), application=APPLICATION)
    if "rng" not in tensors:
        raise UserError(f"the checkpoint of {cfg.resume} (step {meta['step']}) was written by an older rnnkit "
                        "without the optimiser state a resumed run needs; sample or eval it, or start a new run")
    resumed, changes = resume.resumed_config(cfg, typed - {"run_dir"}, meta.get("config"), MAY_CHANGE_ON_RESUME,
                                             cfg.resume)
    if "steps" in typed and 0 < resumed.steps <= meta["step"]:
        raise UserError(f"--steps {resumed.steps}: the run is already at step {meta['step']}; "
                        "give it more steps to continue it")
    if "minutes" in typed and "steps" not in typed:  # a new time budget, from now: counted again after 10 steps
        changes.append(f"the step count is fixed again {CALIBRATION_STEPS} steps from now")
    return dataclasses.replace(resumed, run_dir=cfg.resume), meta, tensors, changes


class Trainer:
    """One process's share of a run: its config, data, model, optimiser and checkpoints."""

    def __init__(self, cfg: TrainConfig, rank: int = 0, world: int = 1, typed: frozenset[str] = frozenset()):
        self.rank, self.world = rank, world
        self.cfg, meta, tensors, self.changes = _settled_config(cfg, typed)
        if meta:  # the recipe is the run's: its config, with the changes a resumed run applies
            self.recipe_line = (f"recipe: {self.cfg.recipe} because a resumed run keeps its own"
                                if self.cfg.recipe != "auto" else "recipe: none because the run began before recipes")
        else:
            machine = Machine.of(resolve_device(self.cfg.device), self.cfg.threads)
            self.cfg, self.recipe_line = apply(self.cfg, typed, machine)
        self._set_up_system()
        self._load_data(meta)
        self.run = prepare_run_folder(self.cfg.run_dir, bool(self.cfg.resume)) if rank == 0 else None
        self._build_model(meta, tensors)
        self.log = MetricsLog(self.run / "metrics.jsonl") if self.run else None
        if self.log:
            self.log.truncate(self.step)
        # the step at the end of which the step count is first fixed from the time steps take (None:
        # fixed); a run with a time budget then fixes it again at every validation (_validate)
        self.budgeted = not self.cfg.steps or ("minutes" in typed and "steps" not in typed and bool(meta))
        self.calibrate_at = self.step + CALIBRATION_STEPS if self.budgeted else None
        self.saved_last = None  # the step of the last `last` saved by this process

    # -- setting up ----------------------------------------------------------------------------

    def _set_up_system(self) -> None:
        cfg = self.cfg
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.device = resolve_device(cfg.device)
        if cfg.steps <= 0 and cfg.minutes <= 0:
            raise UserError("give the run a length: --steps N or --minutes M")
        if cfg.batch % self.world:
            raise UserError(f"--batch {cfg.batch} must be divisible by the number of processes ({self.world})")

    def _load_data(self, meta: dict) -> None:
        """The vocabulary, this process's training streams and the validation text."""
        cfg = self.cfg
        text = load_text(cfg.text, cfg.corpus)
        self.vocab = Vocab(meta["vocab"] if meta else text)
        self.text_sha256 = text_sha256(text)
        if meta and meta["text_sha256"] != self.text_sha256:
            raise UserError(f"the text {text_name(cfg.text) if cfg.text else cfg.corpus} is not the text "
                            "the run began on; cannot resume on another text")
        train_text, val_text = split(text, cfg.val_fraction)
        per_stream = len(train_text) // cfg.batch
        if per_stream < cfg.bptt + 1:
            raise UserError(f"text too short: {len(train_text)} training characters in {cfg.batch} streams "
                            f"give {per_stream} each, less than one chunk of --bptt {cfg.bptt} plus 1; "
                            "use a longer text or a smaller --batch / --bptt")
        if len(val_text) < 2:
            raise UserError(f"the validation split ({len(val_text)} characters) is too small to score; "
                            "raise --val-fraction or use a longer text")
        ids = torch.tensor(self.vocab.encode(train_text), dtype=torch.long)
        b, rank = cfg.batch // self.world, self.rank
        # this process's rows of the (B, per_stream) stream matrix: (b, per_stream)
        self.data = ids[: cfg.batch * per_stream].view(cfg.batch, per_stream)[rank * b:(rank + 1) * b].to(self.device)
        self.chunks = (per_stream - 1) // cfg.bptt  # chunks per pass over the text
        self.val = torch.tensor(self.vocab.encode(val_text), dtype=torch.long, device=self.device)

    def _build_model(self, meta: dict, tensors: dict) -> None:
        """Model and optimiser, fresh or as the resumed checkpoint left them."""
        cfg = self.cfg
        torch.manual_seed(cfg.seed)  # the same initial weights in every process
        self.model = CharLM(len(self.vocab), cfg.model).to(self.device)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        torch.manual_seed(cfg.seed + 1 + self.rank)  # dropout differs between processes' streams
        self.step, self.state, self.best, self.bad_evals = 0, None, math.inf, 0
        if meta:
            try:
                self._restore(meta, tensors)
            except (KeyError, ValueError, RuntimeError) as e:
                first = (str(e).strip().splitlines() or [type(e).__name__])[0]
                raise UserError(f"checkpoint {cfg.resume} does not fit the model its config describes "
                                f"(weights of another model or vocabulary?): {first}") from None
        self.net = nn.parallel.DistributedDataParallel(self.model) if self.world > 1 else self.model

    # -- checkpoints ---------------------------------------------------------------------------

    def _meta(self) -> dict:
        return {"step": self.step, "model": dataclasses.asdict(self.cfg.model), "config": dataclasses.asdict(self.cfg),
                "vocab": self.vocab.chars, "text_sha256": self.text_sha256, "best_val_loss": self.best,
                "bad_evals": self.bad_evals, "world_size": self.world}

    def save(self, kind: str) -> None:
        """Write a checkpoint with what resuming needs (``best`` too: a kill between the two
        checkpoints of a validation leaves it the newest). Every process must call it."""
        tensors = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        tensors |= {f"optim.{k}": v for k, v in resume.optimizer_tensors(self.opt).items()}
        if self.state is not None:  # carried state of all B streams, batch on dim 1
            tensors |= {f"state.{i}": distributed.gather(s, 1, self.world, self.device)
                        for i, s in enumerate(state_tensors(self.state))}
        tensors |= resume.rng_tensors(self.world, self.device)
        if self.rank == 0:
            checkpoint.save(self.run, kind, self._meta(), tensors, application=APPLICATION)
        if kind == "last":
            self.saved_last = self.step

    def _restore(self, meta: dict, tensors: dict) -> None:
        self.model.load_state_dict(checkpoint.prefixed(tensors, "model."))
        resume.load_optimizer(self.opt, checkpoint.prefixed(tensors, "optim."))
        self.step, self.best, self.bad_evals = meta["step"], meta["best_val_loss"], meta["bad_evals"]
        carried = checkpoint.prefixed(tensors, "state.")
        if carried:
            b = self.cfg.batch // self.world
            self.state = state_from_tensors([carried[str(i)][:, self.rank * b:(self.rank + 1) * b]
                                             .to(self.device) for i in range(len(carried))])
        if meta["world_size"] == self.world:  # the same processes: continue their random streams
            resume.restore_rng(tensors, self.rank, self.device)

    # -- the loop ------------------------------------------------------------------------------

    def train_step(self) -> float:
        """One optimiser step on the next chunk of every stream; returns the mean loss (nats/char)."""
        cfg = self.cfg
        for group in self.opt.param_groups:
            group["lr"] = learning_rate(cfg, self.step)
        p = (self.step % self.chunks) * cfg.bptt
        if p == 0:
            self.state = None  # a new pass over the text starts from a zero state
        x, y = self.data[:, p:p + cfg.bptt], self.data[:, p + 1:p + cfg.bptt + 1]  # (b, T)
        with torch.autocast(self.device.type, torch.bfloat16, enabled=cfg.precision == "bfloat16"):
            logits, state = self.net(x, self.state)  # (b, T, V)
            loss = nn.functional.cross_entropy(logits.flatten(0, 1).float(), y.flatten())
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.clip > 0:
            nn.utils.clip_grad_norm_(self.model.parameters(), cfg.clip)
        self.opt.step()
        # carried in float32 whatever autocast computed in: a layer takes a state of its input's dtype
        self.state = state_from_tensors([s.detach().float() for s in state_tensors(state)])
        self.step += 1
        return distributed.mean(loss.detach(), self.world).item()

    def validate(self) -> tuple[float, bool]:
        """Validation loss in nats/char, and whether it is the best so far."""
        val_loss = evaluate(self.model, self.val, self.cfg.batch, self.cfg.bptt)
        improved = val_loss < self.best
        if improved:
            self.best, self.bad_evals = val_loss, 0
        else:
            self.bad_evals += 1
        return val_loss, improved

    def sample_text(self) -> str:
        """A sample printed at each validation, from its own generator: training's randomness is untouched."""
        prime = "\n" if "\n" in self.vocab.index else self.vocab.chars[0]
        g = torch.Generator(device=self.device).manual_seed(self.cfg.seed * 1_000_003 + self.step)
        return "".join(generate(self.model, self.vocab, prime, self.cfg.sample_length, 0.8, 0, g))


def train(cfg: TrainConfig, on_step=None, typed: frozenset[str] | None = None) -> int:
    """Run (or resume) training; returns the process exit status.

    ``typed`` names the flags the user typed (a resumed run compares those with its config);
    None, for a config made in code: those that differ from their defaults.
    ``on_step(trainer)``, if given, is called after every optimiser step (tests use it to
    interrupt a run at a chosen step).
    """
    from tqdm import tqdm

    typed = not_default(cfg) if typed is None else typed
    with distributed.process_group(cfg.device) as (rank, world, device):
        stop = StopRequest()
        try:  # the trainer (and its DDP model) is gone before the process group is left
            return _loop(Trainer(dataclasses.replace(cfg, device=device), rank, world, typed), stop, on_step, tqdm)
        finally:
            stop.restore()


def _calibrate(t: Trainer, step_seconds: float, val_seconds: float, spent: float) -> str:
    """Fix ``t.cfg.steps`` so that the run, its validations included, ends about ``minutes`` after it began."""
    cfg = t.cfg  # the time of the last validation is kept aside
    fit, line = steps_that_fit(t.step, cfg.minutes, spent + val_seconds, step_seconds, val_seconds, cfg.eval_every)
    passes = max(t.step, math.ceil(cfg.max_passes * t.chunks)) if cfg.max_passes else fit  # --max-passes' end
    t.cfg = dataclasses.replace(cfg, steps=distributed.from_lead(min(fit, passes), t.world, t.device))  # rank 0's
    return line + (f"; the run ends at step {t.cfg.steps}, after {cfg.max_passes:g} passes over the text"
                   if passes < fit else "")


def _announce(t: Trainer) -> None:
    cfg = t.cfg
    n_params = sum(p.numel() for p in t.model.parameters())
    print(f"run {t.run}: {cfg.cell} {cfg.layers}x{cfg.hidden}, {n_params / 1e6:.2f}M parameters, "
          f"vocabulary {len(t.vocab)}, {cfg.batch}x{cfg.bptt} characters a step, "
          f"{t.world} process(es) on {t.device}" + (f", resumed at step {t.step}" if t.step else "")
          + (f"; changed: {', '.join(t.changes)}" if t.changes else ""))


class _Clock:
    """Wall time of the run, of the steps after the first (slower: allocation) and of the
    validations, for calibration."""

    def __init__(self, first_step: int):
        self.start, self.first_step, self.after_first = time.perf_counter(), first_step, None
        self.validating, self.validations = 0.0, 0

    def seconds(self) -> float:
        return time.perf_counter() - self.start

    def at_step(self, step: int) -> None:
        if step == self.first_step:
            self.after_first = time.perf_counter()

    def validated(self, seconds: float) -> None:
        if self.after_first is not None:  # one at the first step falls outside training()'s span
            self.validating += seconds
            self.validations += 1

    def training(self) -> float:
        """Seconds of the steps after the first: all since then but the validations."""
        return time.perf_counter() - self.after_first - self.validating


def _validate(t: Trainer, bar, clock: _Clock) -> bool:
    """Validate (fixing the step count at ``t.calibrate_at``), log, save ``best`` if it improved
    and ``last``, then print; True if the run should stop early. A run killed at any moment
    resumes from its latest validation: what is logged here is logged again if the
    checkpoints that follow are not written."""
    before_val, steps_before, first = time.perf_counter(), t.cfg.steps, t.step == t.calibrate_at
    recount = first or (t.budgeted and t.calibrate_at is None and t.step < t.cfg.steps)
    step_seconds = clock.training() / (t.step - clock.first_step) if recount else 0.0
    val_loss, improved = t.validate()
    if recount:
        # first from this validation alone; then again at each validation from the average of
        # the whole ones so far (checkpoints and sample included), so that a run whose steps
        # slow down still ends on time (one fixed only from its first steps ran 28% over)
        val_seconds = time.perf_counter() - before_val
        if not first and clock.validations:
            val_seconds = clock.validating / clock.validations
        line = _calibrate(t, step_seconds, val_seconds, clock.seconds())
        if first:
            bar.write(line)
        t.calibrate_at = None
        bar.total = t.cfg.steps * t.cfg.batch * t.cfg.bptt
    if t.rank == 0:
        t.log.append({"step": t.step, "val_loss": val_loss, "val_bpc": val_loss * BITS, "best": improved})
    if improved:
        t.save("best")
    t.save("last")
    if t.rank == 0:  # after the checkpoints: output to a closed pipe cannot lose them
        bar.write(f"step {t.step}: validation {val_loss:.4f} nats = {val_loss * BITS:.4f} bits/char"
                  + (" (best)" if improved else "")
                  + (f"; the time budget now ends the run at step {t.cfg.steps}"
                     if not first and abs(t.cfg.steps - steps_before) > steps_before / 100 else "")
                  + "\n" + t.sample_text() + "\n")
    cfg = t.cfg
    if cfg.patience and t.bad_evals >= cfg.patience:
        if t.rank == 0:
            bar.write(f"early stop: {cfg.patience} validations without improvement")
        return True
    return False


def _loop(t: Trainer, stop: StopRequest, on_step, tqdm) -> int:
    cfg, lead = t.cfg, t.rank == 0
    chars_per_step = cfg.batch * cfg.bptt
    if lead:
        print(t.recipe_line)
        _announce(t)
    signum = 0
    clock = _Clock(t.step + 1)
    with tqdm(total=cfg.steps * chars_per_step or None, initial=t.step * chars_per_step, unit="char",
              unit_scale=True, dynamic_ncols=True, disable=not lead, mininterval=0.5) as bar:  # closed before any error line
        while t.calibrate_at or t.step < t.cfg.steps:
            clock.at_step(t.step)
            loss = t.train_step()
            bar.update(chars_per_step)
            bar.set_postfix(loss=f"{loss:.3f}", bpc=f"{loss * BITS:.3f}", refresh=False)
            if lead:
                t.log.append({"step": t.step, "loss": loss, "lr": learning_rate(t.cfg, t.step - 1),
                              "chars": t.step * chars_per_step, "seconds": round(clock.seconds(), 3)})
            if on_step:
                on_step(t)
            due = t.step % cfg.eval_every == 0 or t.step == t.cfg.steps or t.step == t.calibrate_at
            if due:
                started = time.perf_counter()
                if _validate(t, bar, clock):
                    break
                clock.validated(time.perf_counter() - started)
            signum = distributed.largest(stop.signal, t.world, t.device)  # all processes stop together
            if signum:
                break
    if t.saved_last != t.step:
        t.save("last")
    if lead:
        _finish(t, signum)
    return 128 + signum if signum else 0


def _finish(t: Trainer, signum: int) -> None:
    """The loss curve and the last line: how the run ended and how to continue it."""
    cfg = t.cfg
    plot(t.log.read(), t.run / "loss.png",
         f"{cfg.cell} {cfg.layers}x{cfg.hidden} on {Path(cfg.text).name if cfg.text else cfg.corpus}",
         x="chars", x_label="characters trained on", y_label="bits per character", loss_scale=BITS, val="val_bpc")
    if signum:
        print(f"stopped by {signal.Signals(signum).name} at step {t.step}; checkpoint saved; "
              f"continue with: rnnkit train --resume {t.run}")
    else:
        print(f"done: {t.step} steps, best validation {t.best:.4f} nats = {t.best * BITS:.4f} bits/char; "
              f"run folder {t.run}")
