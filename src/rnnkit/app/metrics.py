"""A run's metrics log (one JSON object a line) and its loss-curve picture."""
from __future__ import annotations

import json
from pathlib import Path

from .checkpoint import atomic_write, atomic_write_text
from .errors import UserError


class MetricsLog:
    """``metrics.jsonl``: one record a line, each with the ``step`` it belongs to; what else a
    record holds is the application's (the char-LM's are listed in docs/charlm.md)."""

    def __init__(self, path: Path):
        self.path = path

    def read(self) -> list[dict]:
        """The records; a last line cut short by a kill is dropped, and a file this class did not
        write (a user's own metrics.jsonl in the folder) is a UserError, never overwritten."""
        if not self.path.exists():
            return []
        text = self.path.read_text(encoding="utf-8", errors="replace")
        lines = text.split("\n")
        records = []
        for number, line in enumerate(lines, 1):
            if not line:
                continue
            try:
                record = json.loads(line)
                if not isinstance(record, dict) or not isinstance(record.get("step"), int):
                    raise ValueError("no step")
            except ValueError:
                if number == len(lines):  # the line being written when the run was killed
                    break
                raise UserError(f"{self.path} was not written by rnnkit (line {number} is not a record with "
                                "a step); choose another --run-dir") from None
            records.append(record)
        return records

    def truncate(self, step: int) -> None:
        """Forget records after ``step``: a resumed run writes them again."""
        kept = [r for r in self.read() if r["step"] <= step]
        atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in kept))

    def append(self, record: dict) -> None:
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")


def plot(records: list[dict], path: Path, title: str, *, x: str, x_label: str, y_label: str,
         loss_scale: float = 1.0, val: str = "val_loss") -> None:
    """Training loss (records with ``loss``, times ``loss_scale``; raw and smoothed) and the
    validation value ``val`` against the training records' ``x`` at the same step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train = [r for r in records if "loss" in r]
    validations = [r for r in records if val in r]
    xs = {r["step"]: r[x] for r in train}
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    if train:
        seen, y = [r[x] for r in train], [r["loss"] * loss_scale for r in train]
        ax.plot(seen, y, color="tab:blue", alpha=0.25, lw=0.8, label="train (per step)")
        smooth, avg = [], 0.0
        for k, v in enumerate(y, 1):  # exponential moving average, bias-corrected
            avg = 0.95 * avg + 0.05 * v
            smooth.append(avg / (1 - 0.95 ** k))
        ax.plot(seen, smooth, color="tab:blue", lw=1.5, label="train (smoothed)")
    if validations:
        ax.plot([xs.get(r["step"], 0) for r in validations], [r[val] for r in validations], "o-",
                color="tab:red", label="validation")
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    plt.close(fig)
