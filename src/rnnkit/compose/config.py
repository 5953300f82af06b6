"""Typed configs of the compose application; each command's config also makes its flags.

``ModelConfig`` is what the network is, all a checkpoint needs to rebuild it; ``TrainConfig``
holds the training flags, the model's among them (``TrainConfig.model``).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from rnnkit.app.networks import NAMES
from rnnkit.app.options import SEEDS, THREADS, Range, above, at_least, checkpoint_option, device_option, flag, option

SPLITS = ("train", "valid", "test")
SCHEDULES = ("constant", "cosine")
# The flags of a network that learns better with other values than the defaults, which are the
# LSTM's (docs/compose.md, How the recipe was chosen); a typed flag wins.
NETWORK_RECIPES = {
    "rnn": {"lr": 1e-3, "dropout": 0.3},  # the tanh RNN: its validation score jumps about at 3e-3
    "ctrnn": {"learn_tau": 1},  # tau 10 averages over ten beats, where the next chord hangs on the last one or two
}


def _own(name: str) -> str:
    """What the networks of NETWORK_RECIPES take for flag ``name``, for its help."""
    return "; ".join(f"--cell {cell}: {values[name]:g}" for cell, values in NETWORK_RECIPES.items() if name in values)


@dataclass(frozen=True)
class ModelConfig:
    """The network of a composer; its defaults and help are the training flags'."""
    cell: str  # a name of rnnkit.app.networks
    layers: int
    hidden: int
    dropout: float
    engine: str  # how rnnkit runs the network; the weights do not depend on it
    learn_tau: bool = False  # a CTRNN whose units learn their time constants (checkpoints before it: fixed)


@dataclass
class TrainConfig:
    transpose: int = option(6, "data", "shift each training piece by a random number of semitones, up to N "
                            "either way (0: never)", valid=Range(0, 11))

    cell: str = option("lstm", "model", "recurrent network", choices=NAMES)
    layers: int = option(1, "model", "number of stacked recurrent layers", valid=at_least(1))
    hidden: int = option(256, "model", "hidden units per layer", valid=at_least(1))
    dropout: float = option(0.5, "model", f"dropout between layers and before the read-out ({_own('dropout')})",
                            valid=Range(0, 1, open_high=True))
    engine: str = option("auto", "model", "how rnnkit runs the network: auto, reference, fused or native")
    learn_tau: int = option(0, "model", "a CTRNN's time constants: 1: each unit learns its own, from the "
                            f"registry's 10 frames; 0: every unit keeps 10 ({_own('learn_tau')})", choices=(0, 1))

    batch: int = option(16, "batching", "pieces per step", valid=at_least(1))

    steps: int = option(0, "optimisation", "optimiser steps in the whole run (0: as many as fit in --minutes)",
                        valid=at_least(0))
    minutes: float = option(10.0, "optimisation", "time budget of a run without --steps", valid=above(0))
    lr: float = option(3e-3, "optimisation", f"peak learning rate of AdamW ({_own('lr')})", valid=above(0))
    schedule: str = option("constant", "optimisation", "learning rate after the warm-up: constant, or cosine "
                           "(a cosine decay to 0 at the run's last step)", choices=SCHEDULES)
    warmup: int = option(0, "optimisation", "steps of linear learning-rate warm-up", valid=at_least(0))
    weight_decay: float = option(0.0, "optimisation", "AdamW's (decoupled) weight decay", valid=at_least(0))
    clip: float = option(5.0, "optimisation", "clip the gradient to this global norm (0: off)", valid=at_least(0))

    eval_every: int = option(100, "validation", "score the validation split and keep the best every N steps",
                             valid=at_least(1))
    patience: int = option(0, "validation", "stop after N validations without improvement (0: never)",
                           valid=at_least(0))

    run_dir: str | None = option(None, "output", "run folder for checkpoints, metrics.jsonl and loss.png "
                                  "(default: runs/<time>)", metavar="DIR")

    device: str = option("auto", "system", "cpu, cuda, cuda:N, or auto (cuda when present)")
    threads: int = option(0, "system", "CPU threads for torch (0: torch's default)", valid=THREADS)
    seed: int = option(1, "system", "random seed; the same seed and --steps give the same run", valid=SEEDS)

    @property
    def model(self) -> ModelConfig:
        return ModelConfig(cell=self.cell, layers=self.layers, hidden=self.hidden, dropout=self.dropout,
                           engine=self.engine, learn_tau=bool(self.learn_tau))


def network_recipe(cfg: TrainConfig, typed: frozenset[str]) -> tuple[TrainConfig, str]:
    """The config with its network's own values (NETWORK_RECIPES) for the flags not typed, and
    what they are, as flags ("" when none)."""
    chosen = {k: v for k, v in NETWORK_RECIPES.get(cfg.cell, {}).items() if k not in typed}
    return dataclasses.replace(cfg, **chosen), ", ".join(f"{flag(k)} {v:g}" for k, v in chosen.items())


@dataclass
class EvalConfig:
    checkpoint: str = checkpoint_option()
    split: str = option("test", "data", "the chorales to score", choices=SPLITS)
    file: str | None = option(None, "data", "score this music file (MusicXML, MIDI, ABC) instead of a split",
                              metavar="FILE")
    device: str = device_option()


@dataclass
class BaselineConfig:
    split: str = option("test", "data", "the chorales to score", choices=SPLITS)


@dataclass
class SampleConfig:
    checkpoint: str = checkpoint_option()
    length: int = option(64, "generation", "frames (quarter notes) to generate", valid=at_least(1))
    prime: str | None = option(None, "generation", "music file (MusicXML, MIDI, ABC) the piece starts from",
                               metavar="FILE")
    temperature: float = option(1.0, "generation", "divides the logits (lower: safer, higher: wilder)",
                                valid=above(0))
    max_notes: int = option(4, "generation", "at most this many keys at once (chorales have four voices)",
                            valid=Range(1, 88))
    seed: int = option(1, "generation", "random seed of the sampler", valid=SEEDS)
    out: str | None = option(None, "output", "write OUT.mid, OUT.musicxml, OUT.svg, OUT.png (and OUT.wav) "
                             "(default: RUN/sample-SEED)", metavar="OUT")
    soundfont: str = option("/usr/share/sounds/sf2/FluidR3_GM.sf2", "output",
                            "General MIDI soundfont fluidsynth renders OUT.wav with", metavar="FILE")
    device: str = device_option()


@dataclass
class AbcConfig:
    file: str = option(None, "data", "ABC text, one tune or several (e.g. rnnkit sample of a char-LM trained "
                       "with --corpus folk)", required=True, metavar="FILE")
    out: str | None = option(None, "output", "write OUT-N.mid for the N-th tune (default: FILE without its "
                             "extension)", metavar="OUT")
