"""Typed configs of the tagger; each command's config also makes its flags.

``ModelConfig`` is what the network is (with the vocabularies, all a checkpoint needs to
rebuild it); ``TrainConfig`` holds the training flags, the model's among them.
"""
from __future__ import annotations

from dataclasses import dataclass

from rnnkit.app.networks import NAMES
from rnnkit.app.options import SEEDS, THREADS, Range, above, at_least, checkpoint_option, device_option, option


@dataclass(frozen=True)
class ModelConfig:
    """The tagger's network; its defaults and help are the training flags'."""
    cell: str  # a name of rnnkit.app.networks
    bidirectional: int
    layers: int
    hidden: int
    embedding: int
    window: int  # neighbouring words on each side joined to a word's input
    dropout: float
    engine: str
    intent_from: str  # what the intent read-out reads: "max" over the words, or the final states at the "ends"


INTENT_FROM = ("max", "ends")


def upgraded(saved):
    """A config a checkpoint holds (a dict of a ModelConfig's or TrainConfig's fields), with
    what one written before ``intent_from`` existed read: the final states. Anything else is
    returned as it is, for the caller's error."""
    return {"intent_from": "ends", **saved} if isinstance(saved, dict) else saved


@dataclass
class TrainConfig:
    data: str | None = option(None, "data", "utterances to train on, 'word:TAG ... <=> intent' lines or CoNLL "
                               "'token TAG' columns (default: ATIS, downloaded once)", metavar="FILE")
    test_data: str | None = option(None, "data", "utterances scored at the end (default: the ATIS test set; "
                                    "none with --data)", metavar="FILE")
    val_fraction: float = option(0.1, "data", "fraction of a --data file, taken from its end, held out for "
                                 "validation (ATIS: its standard 500 dev utterances)",
                                 valid=Range(0, 1, open_low=True, open_high=True))
    min_count: int = option(2, "data", "words seen fewer times in training become <unk>, which is how <unk> is learned",
                            valid=at_least(1))

    cell: str = option("lstm", "model", "recurrent network", choices=NAMES)
    bidirectional: int = option(1, "model", "1: read each utterance both ways; 0: left to right only", choices=(0, 1))
    layers: int = option(1, "model", "number of stacked recurrent layers", valid=at_least(1))
    hidden: int = option(200, "model", "hidden units per layer and direction", valid=at_least(1))
    embedding: int = option(100, "model", "size of the word embedding", valid=at_least(1))
    window: int = option(1, "model", "context window: the embeddings of this many neighbouring words on each "
                         "side are joined to each word's (Mesnil et al.'s d = 2 * window + 1)", valid=at_least(0))
    dropout: float = option(0.3, "model", "dropout on the network's input and before the read-outs",
                            valid=Range(0, 1, open_high=True))
    engine: str = option("auto", "model", "how rnnkit runs the network: auto, reference, fused or native")
    intent_from: str = option("max", "model", "what the intent read-out reads: max: each output unit's largest value "
                              "over the utterance's words; ends: the last layer's final states, each direction's "
                              "at its own end", choices=INTENT_FROM)
    intent_weight: float = option(1.0, "model", "weight of the joint intent loss beside the slot loss "
                                  "(0: slots only, no intent head, as for data without intents)", valid=at_least(0))

    batch: int = option(32, "optimisation", "utterances per step", valid=at_least(1))
    epochs: int = option(30, "optimisation", "passes over the training utterances", valid=at_least(1))
    lr: float = option(3e-3, "optimisation", "peak learning rate of AdamW", valid=above(0))
    warmup: int = option(100, "optimisation", "steps of linear learning-rate warm-up, then a cosine decay to 0",
                         valid=at_least(0))
    weight_decay: float = option(0.0, "optimisation", "AdamW weight decay", valid=at_least(0))
    clip: float = option(5.0, "optimisation", "clip the gradient to this global norm (0: off)", valid=at_least(0))

    patience: int = option(0, "validation", "stop after N epochs without a better validation F1 (0: never)",
                           valid=at_least(0))

    run_dir: str | None = option(None, "output", "run folder for checkpoints, metrics.jsonl and loss.png "
                                  "(default: runs/<time>)", metavar="DIR")
    resume: str | None = option(None, "output", "continue the interrupted run in this folder", metavar="DIR")

    device: str = option("auto", "system", "cpu, cuda, cuda:N, or auto (cuda when present)")
    threads: int = option(0, "system", "CPU threads for torch (0: torch's default)", valid=THREADS)
    seed: int = option(1, "system", "random seed; the same seed gives the same run", valid=SEEDS)

    @property
    def model(self) -> ModelConfig:
        return ModelConfig(cell=self.cell, bidirectional=self.bidirectional, layers=self.layers, hidden=self.hidden,
                           embedding=self.embedding, window=self.window, dropout=self.dropout, engine=self.engine,
                           intent_from=self.intent_from)


@dataclass
class EvalConfig:
    checkpoint: str = checkpoint_option()
    data: str | None = option(None, "data", "utterances to score, in either format (default: the run's test "
                               "data, ATIS's test set for an ATIS run)", metavar="FILE")
    confusion: str | None = option(None, "output", "also draw the most-confused slot types into this PNG",
                                    metavar="FILE")
    batch: int = option(64, "data", "utterances per forward pass", valid=at_least(1))
    device: str = device_option()


@dataclass
class PredictConfig:
    checkpoint: str = checkpoint_option()
    text: str | None = option(None, "input", "one utterance to tag, words apart by spaces", metavar="TEXT")
    text_file: str | None = option(None, "input", "utterances to tag, one a line", metavar="FILE")
    batch: int = option(64, "input", "utterances per forward pass", valid=at_least(1))
    device: str = device_option()
