"""Typed configs of the char-LM application; each command's config also makes its flags.

``ModelConfig`` is what the network is, and all a checkpoint needs to rebuild it apart from
the vocabulary; ``TrainConfig`` holds the training flags, the model's among them
(``TrainConfig.model``), so that renaming a training flag leaves checkpoints loadable.
"""
from __future__ import annotations

from dataclasses import dataclass

from rnnkit.app.errors import UserError
from rnnkit.app.networks import NAMES
from rnnkit.app.options import option

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
    text: str | None = option(None, "data", "UTF-8 text file to train on (default: Shakespeare's plays, downloaded once)",
                               metavar="FILE")
    val_fraction: float = option(0.05, "data", "fraction of the text, taken from its end, held out for validation")

    cell: str = option("lstm", "model", "recurrent network", choices=NAMES)
    layers: int = option(1, "model", "number of stacked recurrent layers")
    hidden: int = option(256, "model", "hidden units per layer")
    embedding: int = option(64, "model", "size of the character embedding")
    dropout: float = option(0.0, "model", "dropout between layers and before the read-out")
    engine: str = option("auto", "model", "how rnnkit runs the network: auto, reference, fused or native")

    batch: int = option(32, "batching", "parallel text streams per step (global, split across processes)")
    bptt: int = option(128, "batching", "characters per chunk: the truncated-BPTT length")

    steps: int = option(0, "optimisation", "optimiser steps in the whole run (0: as many as fit in --minutes)")
    minutes: float = option(10.0, "optimisation", "time budget of a run without --steps: after 10 steps and one "
                             "validation the step count is fixed so that the run takes about this long")
    lr: float = option(6e-3, "optimisation", "peak learning rate of AdamW")
    min_lr: float = option(1e-4, "optimisation", "learning rate at the end of the cosine decay")
    warmup: int = option(50, "optimisation", "steps of linear learning-rate warm-up")
    weight_decay: float = option(0.0, "optimisation", "AdamW weight decay")
    clip: float = option(5.0, "optimisation", "clip the gradient to this global norm (0: off)")

    eval_every: int = option(200, "validation", "validate, keep the best and print a sample every N steps")
    patience: int = option(0, "validation", "stop after N validations without improvement (0: never)")
    sample_length: int = option(200, "validation", "characters of sample text printed at each validation")

    run_dir: str | None = option(None, "output", "run folder for checkpoints, metrics.jsonl and loss.png "
                                  "(default: runs/<time>)", metavar="DIR")
    resume: str | None = option(None, "output", "continue the interrupted run in this folder", metavar="DIR")

    device: str = option("auto", "system", "cpu, cuda, cuda:N, or auto (cuda when present)")
    threads: int = option(0, "system", "CPU threads for torch (0: torch's default)")
    seed: int = option(1, "system", "random seed; the same seed gives the same run")

    @property
    def model(self) -> ModelConfig:
        return ModelConfig(cell=self.cell, layers=self.layers, hidden=self.hidden, embedding=self.embedding,
                           dropout=self.dropout, engine=self.engine)


@dataclass
class SampleConfig:
    checkpoint: str = option(None, "model", "run folder (its best checkpoint) or a checkpoint .json file",
                              required=True, metavar="PATH")
    prime: str = option("\n", "generation", "text the sample starts from", metavar="TEXT")
    length: int = option(500, "generation", "characters to generate")
    temperature: float = option(0.8, "generation", "softmax temperature (lower: safer, higher: wilder)")
    top_k: int = option(0, "generation", "sample only among the k likeliest characters (0: all)")
    seed: int = option(1, "generation", "random seed of the sampler")
    device: str = option("auto", "system", "cpu, cuda, cuda:N, or auto")


@dataclass
class EvalConfig:
    checkpoint: str = option(None, "model", "run folder (its best checkpoint) or a checkpoint .json file",
                              required=True, metavar="PATH")
    text: str | None = option(None, "data", "UTF-8 text to score (default: the run's validation split)",
                               metavar="FILE")
    batch: int = option(32, "data", "parallel streams the text is cut into")
    bptt: int = option(256, "data", "characters per forward chunk")
    device: str = option("auto", "system", "cpu, cuda, cuda:N, or auto")


@dataclass
class ExportConfig:
    checkpoint: str = option(None, "model", "run folder (its best checkpoint) or a checkpoint .json file",
                              required=True, metavar="PATH")
    format: str = option("onnx", "export", "file format", choices=["onnx"])
    output: str = option(None, "export", "the file to write", positional=True, metavar="OUT.onnx")
