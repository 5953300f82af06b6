"""Typed configs of the char-LM application; each command's config also makes its flags.

``ModelConfig`` is what the network is, and all a checkpoint needs to rebuild it apart from
the vocabulary; ``TrainConfig`` holds the training flags, the model's among them
(``TrainConfig.model``), so that renaming a training flag leaves checkpoints loadable.
"""
from __future__ import annotations

from dataclasses import dataclass

from rnnkit.app.errors import UserError
from rnnkit.app.networks import ENGINES, NAMES
from rnnkit.app.options import SEEDS, THREADS, Range, above, at_least, checkpoint_option, device_option, option

from .corpus import CORPORA
from .recipes import RECIPES

CharLMError = UserError  # the name of the char-LM's user errors before the application layer


@dataclass(frozen=True)
class ModelConfig:
    """The network of a char-LM; its defaults and help are the training flags'."""
    cell: str  # a name of rnnkit.app.networks
    layers: int
    hidden: int
    embedding: int
    dropout: float
    engine: str  # how rnnkit runs the network; the weights do not depend on it


@dataclass
class TrainConfig:
    text: str | None = option(None, "data", "UTF-8 text file to train on (default: the --corpus)",
                               metavar="FILE")
    corpus: str = option("shakespeare", "data", "built-in text when --text is not given: Shakespeare's plays "
                         "(downloaded once) or folk tunes in ABC notation (music21's collections)",
                         choices=tuple(CORPORA))
    val_fraction: float = option(0.05, "data", "fraction of the text, taken from its end, held out for validation",
                                 valid=Range(0, 1, open_low=True, open_high=True))

    cell: str = option("lstm", "model", "recurrent network", choices=NAMES)
    layers: int = option(1, "model", "number of stacked recurrent layers", valid=at_least(1))
    hidden: int = option(256, "model", "hidden units per layer", valid=at_least(1))
    embedding: int = option(64, "model", "size of the character embedding", valid=at_least(1))
    dropout: float = option(0.0, "model", "dropout between layers and before the read-out",
                            valid=Range(0, 1, open_high=True))
    engine: str = option("auto", "model", "how rnnkit runs the network", choices=ENGINES)

    batch: int = option(64, "batching", "parallel text streams per step (global, split across processes)",
                        valid=at_least(1))
    bptt: int = option(128, "batching", "characters per chunk: the truncated-BPTT length", valid=at_least(1))

    steps: int = option(0, "optimisation", "optimiser steps in the whole run (0: as many as fit in --minutes)",
                        valid=at_least(0))
    minutes: float = option(10.0, "optimisation", "time budget of a run without --steps: after 10 steps and one "
                             "validation the step count is fixed so that the run takes about this long",
                             valid=at_least(0))
    lr: float = option(8e-3, "optimisation", "peak learning rate of AdamW", valid=above(0))
    min_lr: float = option(1e-4, "optimisation", "learning rate at the end of the cosine decay", valid=at_least(0))
    warmup: int = option(50, "optimisation", "steps of linear learning-rate warm-up", valid=at_least(0))
    weight_decay: float = option(0.0, "optimisation", "AdamW weight decay", valid=at_least(0))
    max_passes: float = option(0.0, "optimisation", "a run with a time budget makes at most this many passes over "
                               "the training text, its schedule ending there (0: no limit)", valid=at_least(0))
    clip: float = option(5.0, "optimisation", "clip the gradient to this global norm (0: off)", valid=at_least(0))

    eval_every: int = option(200, "validation", "validate, save the checkpoints and print a sample every N steps",
                            valid=at_least(1))
    patience: int = option(0, "validation", "stop after N validations without improvement (0: never)",
                          valid=at_least(0))
    sample_length: int = option(200, "validation", "characters of sample text printed at each validation",
                               valid=at_least(0))

    run_dir: str | None = option(None, "output", "run folder for checkpoints, metrics.jsonl and loss.png "
                                  "(default: runs/<time>)", metavar="DIR")
    resume: str | None = option(None, "output", "continue the interrupted run in this folder", metavar="DIR")

    recipe: str = option("auto", "system", "the values of the flags not typed: auto chooses them from the device "
                         "(CPU threads, a GPU and its memory); the defaults shown are the cpu recipe's",
                         choices=("auto", *RECIPES))
    precision: str = option("float32", "system", "arithmetic of the training steps: float32, or bfloat16 under "
                            "autocast", choices=("float32", "bfloat16"))
    device: str = option("auto", "system", "cpu, cuda, cuda:N, or auto (cuda when present)")
    threads: int = option(0, "system", "CPU threads for torch (0: torch's default)", valid=THREADS)
    seed: int = option(1, "system", "random seed; the same seed gives the same run", valid=SEEDS)

    @property
    def model(self) -> ModelConfig:
        return ModelConfig(cell=self.cell, layers=self.layers, hidden=self.hidden, embedding=self.embedding,
                           dropout=self.dropout, engine=self.engine)


@dataclass
class SampleConfig:
    checkpoint: str = checkpoint_option()
    prime: str = option("\n", "generation", "text the sample starts from", metavar="TEXT")
    length: int = option(500, "generation", "characters to generate", valid=at_least(0))
    temperature: float = option(0.8, "generation", "softmax temperature (lower: safer, higher: wilder)",
                               valid=above(0))
    top_k: int = option(0, "generation", "sample only among the k likeliest characters (0: all)",
                       valid=at_least(0))
    seed: int = option(1, "generation", "random seed of the sampler", valid=SEEDS)
    device: str = device_option()


@dataclass
class EvalConfig:
    checkpoint: str = checkpoint_option()
    text: str | None = option(None, "data", "UTF-8 text to score (default: the run's validation split)",
                               metavar="FILE")
    batch: int = option(32, "data", "parallel streams the text is cut into", valid=at_least(1))
    bptt: int = option(256, "data", "characters per forward chunk", valid=at_least(1))
    device: str = device_option()
