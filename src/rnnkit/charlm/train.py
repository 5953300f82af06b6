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
import os
import signal
import time
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

from . import checkpoint
from .config import CharLMError, TrainConfig
from .corpus import DEFAULT_CORPUS, Vocab, load_text, split, text_sha256
from .metrics import BITS, MetricsLog, plot
from .model import CharLM, detach, evaluate, resolve_device, state_from_tensors, state_tensors
from .sample import generate

CALIBRATION_STEPS = 10  # steps timed before a run with a time budget fixes its step count
KEEP_ON_RESUME = ("resume", "run_dir", "device", "threads", "engine")  # may differ from the interrupted run's


def learning_rate(cfg: TrainConfig, step: int) -> float:
    """Linear warm-up to ``lr``, then cosine decay to ``min_lr`` at the last step."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    if not cfg.steps:  # not calibrated yet (see _calibrate)
        return cfg.lr
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * min(1.0, progress)))


class _Stop:
    """Turns SIGINT / SIGTERM into a request to stop after the current step."""

    def __init__(self):
        self.signal = 0
        self._old = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}

    def _handle(self, signum, frame):
        self.signal = signum

    def restore(self):
        for s, handler in self._old.items():
            signal.signal(s, handler)


def _resumed_config(cfg: TrainConfig, meta: dict) -> TrainConfig:
    """The interrupted run's config; a flag set to something else is an error, not a silent change."""
    try:
        saved = TrainConfig(**meta["config"])
    except (KeyError, TypeError) as e:
        raise CharLMError(f"checkpoint {cfg.resume} has no usable config ({e})") from None
    defaults = TrainConfig()
    for f in dataclasses.fields(TrainConfig):
        given, had = getattr(cfg, f.name), getattr(saved, f.name)
        if f.name not in KEEP_ON_RESUME and given != getattr(defaults, f.name) and given != had:
            raise CharLMError(f"--{f.name.replace('_', '-')} {given} differs from the resumed run's {had}; "
                              "a resumed run keeps its configuration")
    return dataclasses.replace(saved, **{k: getattr(cfg, k) for k in KEEP_ON_RESUME} | {"run_dir": cfg.resume})


def _prepare_run_folder(cfg: TrainConfig) -> Path:
    run = Path(cfg.run_dir or time.strftime("runs/%Y%m%d-%H%M%S"))
    if not cfg.resume and any((run / f"{k}.json").exists() for k in ("last", "best")):
        raise CharLMError(f"run folder {run} already holds a run; continue it with --resume {run} "
                          "or choose another folder with --run-dir")
    try:
        run.mkdir(parents=True, exist_ok=True)
        probe = run / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise CharLMError(f"cannot write run folder {run}: {e.strerror or e}") from None
    return run


class Trainer:
    def __init__(self, cfg: TrainConfig, rank: int = 0, world: int = 1):
        self.rank, self.world = rank, world
        meta, tensors = checkpoint.load(cfg.resume, prefer=("last",)) if cfg.resume else ({}, {})
        if cfg.resume:
            cfg = _resumed_config(cfg, meta)
        elif cfg.text:  # the run remembers where its text is, whatever the working directory later
            cfg = dataclasses.replace(cfg, text=str(Path(cfg.text).resolve()))
        self.cfg = cfg
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.device = resolve_device(cfg.device)
        if cfg.steps <= 0 and cfg.minutes <= 0:
            raise CharLMError("give the run a length: --steps N or --minutes M")
        if cfg.batch % world:
            raise CharLMError(f"--batch {cfg.batch} must be divisible by the number of processes ({world})")

        text = load_text(cfg.text)
        self.vocab = Vocab(meta["vocab"] if meta else text)
        self.text_sha256 = text_sha256(text)
        if meta and meta["text_sha256"] != self.text_sha256:
            raise CharLMError(f"the text {cfg.text or DEFAULT_CORPUS} changed since the run began; "
                              "cannot resume on another text")
        train_text, val_text = split(text, cfg.val_fraction)
        per_stream = len(train_text) // cfg.batch
        if per_stream < cfg.bptt + 1:
            raise CharLMError(f"text too short: {len(train_text)} training characters in {cfg.batch} streams "
                              f"give {per_stream} each, less than one chunk of --bptt {cfg.bptt} plus 1; "
                              "use a longer text or a smaller --batch / --bptt")
        if len(val_text) < 2:
            raise CharLMError(f"the validation split ({len(val_text)} characters) is too small to score; "
                              "raise --val-fraction or use a longer text")
        ids = torch.tensor(self.vocab.encode(train_text), dtype=torch.long)
        b = cfg.batch // world
        # this process's rows of the (B, per_stream) stream matrix: (b, per_stream)
        self.data = ids[: cfg.batch * per_stream].view(cfg.batch, per_stream)[rank * b:(rank + 1) * b].to(self.device)
        self.chunks = (per_stream - 1) // cfg.bptt  # chunks per pass over the text
        self.val = torch.tensor(self.vocab.encode(val_text), dtype=torch.long, device=self.device)

        self.run = _prepare_run_folder(cfg) if rank == 0 else None
        torch.manual_seed(cfg.seed)  # the same initial weights in every process
        self.model = CharLM(len(self.vocab), cfg).to(self.device)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        torch.manual_seed(cfg.seed + 1 + rank)  # dropout differs between processes' streams
        self.step, self.state, self.best, self.bad_evals = 0, None, math.inf, 0
        if meta:
            try:
                self._restore(meta, tensors)
            except (KeyError, ValueError, RuntimeError) as e:
                first = (str(e).strip().splitlines() or [type(e).__name__])[0]
                raise CharLMError(f"checkpoint {cfg.resume} does not fit the model its config describes "
                                  f"(weights of another model or vocabulary?): {first}") from None
        self.net = nn.parallel.DistributedDataParallel(self.model) if world > 1 else self.model
        self.log = MetricsLog(self.run / "metrics.jsonl") if self.run else None
        if self.log:
            self.log.truncate(self.step)

    # -- checkpoints ---------------------------------------------------------------------------

    def _meta(self) -> dict:
        return {"step": self.step, "config": dataclasses.asdict(self.cfg), "vocab": self.vocab.chars,
                "text_sha256": self.text_sha256, "best_val_loss": self.best, "bad_evals": self.bad_evals,
                "world_size": self.world}

    def _gather(self, t: torch.Tensor, dim: int) -> torch.Tensor:
        """``t`` of every process, concatenated along ``dim`` (on this process's device: nccl needs it)."""
        if self.world == 1:
            return t
        t = t.to(self.device).contiguous()
        parts = [torch.empty_like(t) for _ in range(self.world)]
        dist.all_gather(parts, t)
        return torch.cat(parts, dim)

    def save(self, kind: str) -> None:
        """Write a checkpoint; ``last`` adds what resuming needs. Every process must call it."""
        tensors = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        if kind == "last":
            optim = self.opt.state_dict()["state"]
            tensors |= {f"optim.{i}.{k}": v for i, s in optim.items() for k, v in s.items()}
            if self.state is not None:  # carried state of all B streams, batch on dim 1
                tensors |= {f"state.{i}": self._gather(s, 1) for i, s in enumerate(state_tensors(self.state))}
            tensors["rng"] = self._gather(torch.get_rng_state().unsqueeze(0), 0)  # (W, n) uint8
            if self.device.type == "cuda":
                tensors["cuda_rng"] = self._gather(torch.cuda.get_rng_state(self.device).unsqueeze(0), 0)
        if self.rank == 0:
            checkpoint.save(self.run, kind, self._meta(), tensors)

    def _restore(self, meta: dict, tensors: dict) -> None:
        self.model.load_state_dict(checkpoint.prefixed(tensors, "model."))
        groups = self.opt.state_dict()["param_groups"]
        state: dict[int, dict] = {}
        for k, v in checkpoint.prefixed(tensors, "optim.").items():
            i, name = k.split(".", 1)
            state.setdefault(int(i), {})[name] = v
        self.opt.load_state_dict({"state": state, "param_groups": groups})
        self.step, self.best, self.bad_evals = meta["step"], meta["best_val_loss"], meta["bad_evals"]
        carried = checkpoint.prefixed(tensors, "state.")
        if carried:
            b = self.cfg.batch // self.world
            self.state = state_from_tensors([carried[str(i)][:, self.rank * b:(self.rank + 1) * b]
                                             .to(self.device) for i in range(len(carried))])
        if meta["world_size"] == self.world:  # the same processes: continue their random streams
            torch.set_rng_state(tensors["rng"][self.rank].clone())
            if self.device.type == "cuda" and "cuda_rng" in tensors:
                torch.cuda.set_rng_state(tensors["cuda_rng"][self.rank].clone(), self.device)

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
        logits, state = self.net(x, self.state)  # (b, T, V)
        loss = nn.functional.cross_entropy(logits.flatten(0, 1), y.flatten())
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.clip > 0:
            nn.utils.clip_grad_norm_(self.model.parameters(), cfg.clip)
        self.opt.step()
        self.state = detach(state)
        self.step += 1
        loss = loss.detach()
        if self.world > 1:
            dist.all_reduce(loss)
            loss /= self.world
        return loss.item()

    def validate(self) -> tuple[float, bool]:
        """Validation loss in nats/char, and whether it is the best so far (then saved as ``best``)."""
        val_loss = evaluate(self.model, self.val, self.cfg.batch, self.cfg.bptt)
        improved = val_loss < self.best
        if improved:
            self.best, self.bad_evals = val_loss, 0
            self.save("best")
        else:
            self.bad_evals += 1
        return val_loss, improved

    def sample_text(self) -> str:
        """A sample printed at each validation, from its own generator: training's randomness is untouched."""
        prime = "\n" if "\n" in self.vocab.index else self.vocab.chars[0]
        g = torch.Generator(device=self.device).manual_seed(self.cfg.seed * 1_000_003 + self.step)
        return "".join(generate(self.model, self.vocab, prime, self.cfg.sample_length, 0.8, 0, g))


def _should_stop(stop: _Stop, world: int, device: torch.device) -> int:
    """The signal number if any process was asked to stop (all processes agree), else 0."""
    if world == 1:
        return stop.signal
    flag = torch.tensor([stop.signal], device=device)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return int(flag.item())


def train(cfg: TrainConfig, on_step=None) -> int:
    """Run (or resume) training; returns the process exit status.

    ``on_step(trainer)``, if given, is called after every optimiser step (tests use it to
    interrupt a run at a chosen step).
    """
    from tqdm import tqdm

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if resolve_device(cfg.device).type == "cuda" else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend)
    rank = dist.get_rank() if world > 1 else 0
    if world > 1 and cfg.device in ("auto", "cuda") and torch.cuda.is_available():
        cfg = dataclasses.replace(cfg, device=f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}")
    stop = _Stop()
    try:
        trainer = Trainer(cfg, rank, world)
        return _loop(trainer, stop, on_step, tqdm)
    finally:
        stop.restore()
        if world > 1 and dist.is_initialized():
            dist.destroy_process_group()


def _calibrate(t: Trainer, step_seconds: float, val_seconds: float, spent: float) -> str:
    """Fix ``t.cfg.steps`` so that the run, its validations included, ends about ``minutes`` after it began."""
    cfg = t.cfg
    per_step = step_seconds + val_seconds / cfg.eval_every
    steps = torch.tensor([t.step + max(0, int((cfg.minutes * 60 - spent - val_seconds) / per_step))])
    if t.world > 1:  # every process takes rank 0's count
        steps = steps.to(t.device)
        dist.broadcast(steps, 0)
    t.cfg = dataclasses.replace(cfg, steps=int(steps.item()))
    return (f"{t.cfg.steps} steps fit in {cfg.minutes:g} minutes ({step_seconds:.3f} s a step, "
            f"{val_seconds:.1f} s a validation)")


def _loop(t: Trainer, stop: _Stop, on_step, tqdm) -> int:
    cfg, lead = t.cfg, t.rank == 0
    chars_per_step = cfg.batch * cfg.bptt
    if lead:
        n_params = sum(p.numel() for p in t.model.parameters())
        print(f"run {t.run}: {cfg.cell} {cfg.layers}x{cfg.hidden}, {n_params / 1e6:.2f}M parameters, "
              f"vocabulary {len(t.vocab)}, {cfg.batch}x{cfg.bptt} characters a step, "
              f"{t.world} process(es) on {t.device}" + (f", resumed at step {t.step}" if t.step else ""))
    bar = tqdm(total=cfg.steps * chars_per_step or None, initial=t.step * chars_per_step, unit="char",
               unit_scale=True, dynamic_ncols=True, disable=not lead, mininterval=0.5)
    start, signum, first = time.perf_counter(), 0, t.step + 1
    while not cfg.steps or t.step < cfg.steps:
        if t.step == first:
            after_first = time.perf_counter()  # the first step is slower (allocation): not timed
        loss = t.train_step()
        bar.update(chars_per_step)
        bar.set_postfix(loss=f"{loss:.3f}", bpc=f"{loss * BITS:.3f}", refresh=False)
        if lead:
            t.log.append({"step": t.step, "loss": loss, "lr": learning_rate(cfg, t.step - 1),
                          "chars": t.step * chars_per_step, "seconds": round(time.perf_counter() - start, 3)})
        if on_step:
            on_step(t)
        calibrate = not cfg.steps and t.step == first + CALIBRATION_STEPS - 1
        if t.step % cfg.eval_every == 0 or t.step == cfg.steps or calibrate:
            before_val = time.perf_counter()
            val_loss, improved = t.validate()
            if calibrate:
                now = time.perf_counter()
                step_seconds = (before_val - after_first) / (CALIBRATION_STEPS - 1)
                bar.write(_calibrate(t, step_seconds, now - before_val, now - start))
                cfg, bar.total = t.cfg, t.cfg.steps * chars_per_step
            if lead:
                t.log.append({"step": t.step, "val_loss": val_loss, "val_bpc": val_loss * BITS,
                              "best": improved})
                bar.write(f"step {t.step}: validation {val_loss:.4f} nats = {val_loss * BITS:.4f} bits/char"
                          + (" (best)" if improved else "") + "\n" + t.sample_text() + "\n")
            if cfg.patience and t.bad_evals >= cfg.patience:
                if lead:
                    bar.write(f"early stop: {cfg.patience} validations without improvement")
                break
        signum = _should_stop(stop, t.world, t.device)
        if signum:
            break
    bar.close()
    t.save("last")
    if lead:
        plot(t.log.read(), t.run / "loss.png", f"{cfg.cell} {cfg.layers}x{cfg.hidden} on "
             f"{Path(cfg.text).name if cfg.text else DEFAULT_CORPUS}")
        if signum:
            print(f"stopped by {signal.Signals(signum).name} at step {t.step}; checkpoint saved; "
                  f"continue with: rnnkit train --resume {t.run}")
        else:
            print(f"done: {t.step} steps, best validation {t.best:.4f} nats = {t.best * BITS:.4f} bits/char; "
                  f"run folder {t.run}")
    return 128 + signum if signum else 0
