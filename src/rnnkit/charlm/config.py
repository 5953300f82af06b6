"""Typed configs of the char-LM application; each one also makes its command's flags.

A field's ``metadata`` holds its flag group and one-line help, so the dataclass is the single
place where a setting, its default and its documentation live (DESIGN.md point 9).
"""
from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field


class CharLMError(Exception):
    """A problem with the user's input: the CLI prints its one-line message and exits non-zero."""


def _opt(default, group: str, help: str, **extra):
    return field(default=default, metadata={"group": group, "help": help, **extra})


CELLS = ("lstm", "lstm-peephole", "lstm-no-forget", "gru", "gru-reset-before",
         "rnn", "rnn-relu", "jordan", "ctrnn")


@dataclass
class TrainConfig:
    text: str | None = _opt(None, "data", "UTF-8 text file to train on (default: Shakespeare's plays, downloaded once)",
                            metavar="FILE")
    val_fraction: float = _opt(0.05, "data", "fraction of the text, taken from its end, held out for validation")

    cell: str = _opt("lstm", "model", "recurrent network", choices=CELLS)
    layers: int = _opt(1, "model", "number of stacked recurrent layers")
    hidden: int = _opt(256, "model", "hidden units per layer")
    embedding: int = _opt(64, "model", "size of the character embedding")
    dropout: float = _opt(0.0, "model", "dropout between layers and before the read-out")
    engine: str = _opt("auto", "model", "how rnnkit runs the network: auto, reference, fused or native")

    batch: int = _opt(32, "batching", "parallel text streams per step (global, split across processes)")
    bptt: int = _opt(128, "batching", "characters per chunk: the truncated-BPTT length")

    steps: int = _opt(0, "optimisation", "optimiser steps in the whole run (0: as many as fit in --minutes)")
    minutes: float = _opt(10.0, "optimisation", "time budget of a run without --steps: after 10 steps and one "
                          "validation the step count is fixed so that the run takes about this long")
    lr: float = _opt(6e-3, "optimisation", "peak learning rate of AdamW")
    min_lr: float = _opt(1e-4, "optimisation", "learning rate at the end of the cosine decay")
    warmup: int = _opt(50, "optimisation", "steps of linear learning-rate warm-up")
    weight_decay: float = _opt(0.0, "optimisation", "AdamW weight decay")
    clip: float = _opt(5.0, "optimisation", "clip the gradient to this global norm (0: off)")

    eval_every: int = _opt(200, "validation", "validate, keep the best and print a sample every N steps")
    patience: int = _opt(0, "validation", "stop after N validations without improvement (0: never)")
    sample_length: int = _opt(200, "validation", "characters of sample text printed at each validation")

    run_dir: str | None = _opt(None, "output", "run folder for checkpoints, metrics.jsonl and loss.png "
                               "(default: runs/<time>)", metavar="DIR")
    resume: str | None = _opt(None, "output", "continue the interrupted run in this folder", metavar="DIR")

    device: str = _opt("auto", "system", "cpu, cuda, cuda:N, or auto (cuda when present)")
    threads: int = _opt(0, "system", "CPU threads for torch (0: torch's default)")
    seed: int = _opt(1, "system", "random seed; the same seed gives the same run")


@dataclass
class SampleConfig:
    checkpoint: str = _opt(None, "model", "run folder (its best checkpoint) or a checkpoint .json file",
                           required=True, metavar="PATH")
    prime: str = _opt("\n", "generation", "text the sample starts from", metavar="TEXT")
    length: int = _opt(500, "generation", "characters to generate")
    temperature: float = _opt(0.8, "generation", "softmax temperature (lower: safer, higher: wilder)")
    top_k: int = _opt(0, "generation", "sample only among the k likeliest characters (0: all)")
    seed: int = _opt(1, "generation", "random seed of the sampler")
    device: str = _opt("auto", "system", "cpu, cuda, cuda:N, or auto")


@dataclass
class EvalConfig:
    checkpoint: str = _opt(None, "model", "run folder (its best checkpoint) or a checkpoint .json file",
                           required=True, metavar="PATH")
    text: str | None = _opt(None, "data", "UTF-8 text to score (default: the run's validation split)",
                            metavar="FILE")
    batch: int = _opt(32, "data", "parallel streams the text is cut into")
    bptt: int = _opt(256, "data", "characters per forward chunk")
    device: str = _opt("auto", "system", "cpu, cuda, cuda:N, or auto")


def add_flags(parser: argparse.ArgumentParser, config_cls) -> None:
    """Add one ``--flag`` per field of ``config_cls``, in argument groups named by the fields."""
    groups: dict[str, argparse._ArgumentGroup] = {}
    for f in dataclasses.fields(config_cls):
        meta = f.metadata
        group = groups.get(meta["group"]) or parser.add_argument_group(meta["group"])
        groups[meta["group"]] = group
        flag = "--" + f.name.replace("_", "-")
        kind = {"int": int, "float": float}.get(str(f.type), str)
        shown = repr(f.default) if isinstance(f.default, str) and f.default.isspace() else f.default
        help_text = meta["help"] if f.default is None else f"{meta['help']} (default: {shown})"
        metavar = meta.get("metavar", {"int": "N", "float": "X"}.get(str(f.type), "NAME"))
        group.add_argument(flag, dest=f.name, type=kind, default=f.default, help=help_text,
                           metavar=None if "choices" in meta else metavar,
                           **{k: meta[k] for k in ("choices", "required") if k in meta})


def from_args(config_cls, args: argparse.Namespace):
    return config_cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(config_cls)})
