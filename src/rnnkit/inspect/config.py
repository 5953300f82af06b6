"""Typed configs of `rnnkit inspect` and `rnnkit gradients`; each one also makes its command's flags."""
from __future__ import annotations

from dataclasses import dataclass

from rnnkit.app.options import SEEDS, THREADS, at_least, checkpoint_option, device_option, option


@dataclass
class InspectConfig:
    checkpoint: str = checkpoint_option()
    text: str | None = option(None, "text", "the text to run the model on", metavar="TEXT")
    text_file: str | None = option(None, "text", "or a UTF-8 file holding it", metavar="FILE")
    max_chars: int = option(5000, "text", "use the text's first N characters (statistics, page); "
                             "memory and page size grow with N times the units", valid=at_least(1))
    heatmap_chars: int = option(100, "pictures", "characters shown in the heat maps (the text's first N)",
                                 valid=at_least(1))
    heatmap_units: int = option(64, "pictures", "units shown in the heat maps (the first N)",
                                 valid=at_least(1))
    top: int = option(8, "pictures", "units listed per text feature in the HTML page", valid=at_least(1))
    out: str | None = option(None, "output", "folder to write (default: inspect/ in the run folder)", metavar="DIR")
    device: str = device_option()


@dataclass
class GradientsConfig:
    cell: str = option("rnn,lstm,gru", "task", "comma-separated cells: rnn, lstm, gru, jordan, ctrnn")
    lag: int = option(100, "task", "steps of the adding problem: the loss at the last one reaches back this far",
                     valid=at_least(4))
    init: str = option("torch,chrono", "task", "comma-separated initialisations: torch (its default), "
                        "chrono (Tallec and Ollivier's gate biases; LSTM and GRU only)")
    hidden: int = option(32, "task", "hidden units", valid=at_least(1))
    batch: int = option(32, "task", "sequences the norms are averaged over (and the training batch)",
                       valid=at_least(1))
    train_steps: int = option(0, "task", "Adam steps on the adding problem before measuring (0: at initialisation)",
                             valid=at_least(0))
    seed: int = option(0, "task", "random seed; the same seed gives the same numbers", valid=SEEDS)
    out: str = option("gradients", "output", "folder for gradients.png and gradients.csv", metavar="DIR")
    threads: int = option(0, "system", "CPU threads for torch (0: torch's default)", valid=THREADS)
