"""The recipe of ``rnnkit train``: the training flags' values chosen from the device it runs on.

``RECIPES`` is the table (docs/charlm.md gives the measurements behind each row); ``choose``
picks a row from a description of the machine (``Machine``), ``apply`` puts it into a new
run's config wherever the user typed no flag, and says in one line what it chose and why.
A run's config records the recipe's name, so a resumed run, which takes its config from its
checkpoint, keeps the recipe it began with, on whatever device it continues.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from rnnkit.app.options import flag

LARGE_GPU_GIB = 16  # a GPU with at least this much memory runs the large recipe
WIDE_CPU_THREADS = 8  # a CPU with at least this many torch threads runs the wide recipe

# Each recipe names every flag it sets. "cpu" is TrainConfig's defaults (a test holds them equal),
# so --help shows the recipe of the machine the defaults were measured on.
RECIPES: dict[str, dict[str, object]] = {
    # chosen by probes at 2 threads on the loaded 2-core machine (docs/charlm.md)
    "cpu": {"layers": 1, "hidden": 256, "dropout": 0.0, "batch": 64, "bptt": 128, "lr": 8e-3, "min_lr": 1e-4,
            "warmup": 50, "weight_decay": 0.0, "max_passes": 0.0, "eval_every": 200, "patience": 0,
            "precision": "float32"},
    # measured at 2 threads on a quiet 2-core AMD EPYC with AVX512-BF16 (docs/charlm.md): 2.019 bits/char in
    # 10 minutes, where the cpu recipe in bfloat16 reaches 2.097 (the same network twice as fast: too small)
    "cpu-bf16": {"layers": 1, "hidden": 512, "dropout": 0.0, "batch": 64, "bptt": 128, "lr": 4e-3, "min_lr": 1e-4,
                 "warmup": 50, "weight_decay": 0.0, "max_passes": 0.0, "eval_every": 200, "patience": 0,
                 "precision": "bfloat16"},
    # not yet measured: the 2-core recipe with a network twice as wide and a lower rate, for more threads
    "cpu-wide": {"layers": 1, "hidden": 512, "dropout": 0.0, "batch": 64, "bptt": 128, "lr": 6e-3, "min_lr": 1e-4,
                 "warmup": 50, "weight_decay": 0.0, "max_passes": 0.0, "eval_every": 200, "patience": 0,
                 "precision": "float32"},
    # not yet measured: issue 14's H100 run (2x1024, 128x256, lr 2e-3, dropout 0.1; best validation
    # after about 20 of its 41 passes, then memorising), with more dropout, weight decay, a schedule
    # that ends after 30 passes, early stopping and bfloat16
    "cuda": {"layers": 2, "hidden": 1024, "dropout": 0.25, "batch": 128, "bptt": 256, "lr": 2e-3, "min_lr": 1e-4,
             "warmup": 100, "weight_decay": 0.1, "max_passes": 30.0, "eval_every": 250, "patience": 4,
             "precision": "bfloat16"},
    # not yet measured: the same, half as wide, on half the streams, for a GPU with less memory
    "cuda-small": {"layers": 2, "hidden": 512, "dropout": 0.2, "batch": 64, "bptt": 256, "lr": 3e-3,
                   "min_lr": 1e-4, "warmup": 100, "weight_decay": 0.1, "max_passes": 30.0, "eval_every": 250,
                   "patience": 4, "precision": "bfloat16"},
}


@dataclass(frozen=True)
class Machine:
    """What a recipe is chosen from: the device's kind, torch's CPU threads, the GPU and its memory."""
    kind: str  # "cpu" or "cuda"
    threads: int
    gpu: str = ""
    gpu_gib: float = 0.0
    bfloat16: bool = False  # the device computes in bfloat16 (a GPU's cores, or a CPU's AVX512-BF16 or AMX)

    @classmethod
    def of(cls, device: torch.device, threads: int) -> Machine:
        """The machine a run on ``device`` with ``threads`` torch threads (0: torch's count) has."""
        threads = threads or torch.get_num_threads()
        if device.type != "cuda":
            return cls(device.type, threads, bfloat16=device.type == "cpu" and cpu_bfloat16())
        gpu = torch.cuda.get_device_properties(device)
        return cls("cuda", threads, gpu.name, gpu.total_memory / 2 ** 30, torch.cuda.is_bf16_supported())


def cpu_bfloat16() -> bool:
    """Whether this CPU computes bfloat16 in hardware (AVX512-BF16 or AMX), as torch's oneDNN
    kernels find it: there an LSTM 1x256 trains 1.6x as fast under bfloat16 autocast (87 against
    137 ms a step of 64x128 at 2 threads), 1x512 1.75x."""
    found = (getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))
    return any(f() for f in found if f)


def choose(machine: Machine) -> tuple[str, str]:
    """The name of the recipe for ``machine``, and why."""
    if machine.kind == "cuda":
        big = machine.gpu_gib >= LARGE_GPU_GIB
        return ("cuda" if big else "cuda-small",
                f"a CUDA GPU ({machine.gpu}) with {machine.gpu_gib:.0f} GiB, "
                f"{'at least' if big else 'less than'} {LARGE_GPU_GIB}")
    wide = machine.threads >= WIDE_CPU_THREADS
    why = f"no GPU, {machine.threads} CPU thread(s), {'at least' if wide else 'fewer than'} {WIDE_CPU_THREADS}"
    if wide:
        return "cpu-wide", why
    return ("cpu-bf16", why + ", bfloat16 in hardware") if machine.bfloat16 else ("cpu", why)


def _shown(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def apply(cfg, typed: frozenset[str], machine: Machine):
    """A new run's config with its recipe (``cfg.recipe``, or the one ``choose`` picks for
    ``auto``) wherever no flag was typed, and the line that says so: ``recipe: NAME because
    WHY: --flag value, ...; typed: --flag value``."""
    name, why = (cfg.recipe, "--recipe") if cfg.recipe != "auto" else choose(machine)
    settings = dict(RECIPES[name])
    if settings["precision"] == "bfloat16" and not machine.bfloat16 and "precision" not in typed:
        settings["precision"] = "float32"
        why += "; float32, the device having no bfloat16"
    chosen = {k: v for k, v in settings.items() if k not in typed}
    cfg = dataclasses.replace(cfg, recipe=name, **chosen)
    line = f"recipe: {name} because {why}: " + ", ".join(f"{flag(k)} {_shown(v)}" for k, v in chosen.items())
    overridden = [k for k in settings if k in typed]
    if overridden:
        line += "; typed: " + ", ".join(f"{flag(k)} {_shown(getattr(cfg, k))}" for k in overridden)
    return cfg, line
