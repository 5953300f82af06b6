"""The confusion picture: which slot types the model mistakes for which."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from rnnkit.app.checkpoint import atomic_write

from .metrics import MISSED


def confusion_picture(confused: Counter, path: str, title: str, top: int = 12) -> None:
    """A matrix of the ``top`` (gold, predicted) pairs with the most errors: gold types down,
    predicted types across, ``(none)`` for a chunk found on one side only."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = confused.most_common(top)
    rows = sorted({g for (g, _), _ in pairs}, key=lambda t: (t == MISSED, t))
    cols = sorted({p for (_, p), _ in pairs}, key=lambda t: (t == MISSED, t))
    grid = [[confused.get((g, p), 0) for p in cols] for g in rows]
    fig, ax = plt.subplots(figsize=(2 + 0.6 * len(cols), 1.5 + 0.4 * len(rows)), dpi=100)
    ax.imshow(grid or [[0]], cmap="Reds", aspect="auto")
    for i, row in enumerate(grid):
        for j, n in enumerate(row):
            if n:
                ax.text(j, i, str(n), ha="center", va="center", fontsize=8)
    ax.set_xticks(range(len(cols)), cols, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    ax.set_xlabel("predicted slot type")
    ax.set_ylabel("gold slot type")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    atomic_write(Path(path), lambda tmp: fig.savefig(tmp, format="png"))
    plt.close(fig)
