"""The run's metrics log (one JSON object a line) and its loss-curve picture."""
from __future__ import annotations

import json
import math
from pathlib import Path

from .checkpoint import atomic_write, atomic_write_text

BITS = 1 / math.log(2)  # nats -> bits


class MetricsLog:
    """``metrics.jsonl``: ``{"step", "loss", "lr", "chars", "seconds"}`` per training step and
    ``{"step", "val_loss", "val_bpc", ...}`` per validation; losses in nats per character."""

    def __init__(self, path: Path):
        self.path = path

    def read(self) -> list[dict]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line]

    def truncate(self, step: int) -> None:
        """Forget records after ``step``: a resumed run writes them again."""
        kept = [r for r in self.read() if r["step"] <= step]
        atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in kept))

    def append(self, record: dict) -> None:
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")


def plot(records: list[dict], path: Path, title: str) -> None:
    """Training loss (raw and smoothed) and validation bits/char against characters seen."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train = [r for r in records if "loss" in r]
    val = [r for r in records if "val_bpc" in r]
    chars = {r["step"]: r["chars"] for r in train}
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    if train:
        x, y = [r["chars"] for r in train], [r["loss"] * BITS for r in train]
        ax.plot(x, y, color="tab:blue", alpha=0.25, lw=0.8, label="train (per step)")
        smooth, avg = [], 0.0
        for k, v in enumerate(y, 1):  # exponential moving average, bias-corrected
            avg = 0.95 * avg + 0.05 * v
            smooth.append(avg / (1 - 0.95 ** k))
        ax.plot(x, smooth, color="tab:blue", lw=1.5, label="train (smoothed)")
    if val:
        ax.plot([chars.get(r["step"], 0) for r in val], [r["val_bpc"] for r in val], "o-",
                color="tab:red", label="validation")
    ax.set_xlabel("characters trained on")
    ax.set_ylabel("bits per character")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    plt.close(fig)
