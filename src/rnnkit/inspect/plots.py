"""The pictures, drawn with matplotlib's Agg backend (no display needed).

Shapes: T characters, H units.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # after choosing the backend
import numpy as np

SHOWN = {"\n": "↵", " ": "␣", "\t": "⇥"}  # characters a tick label could not show


def shown(c: str) -> str:
    return SHOWN.get(c, c)


def heatmap(path: Path, values: np.ndarray, text: str, title: str, bounded01: bool) -> None:
    """values (T, H) as a picture: one row per unit, one column per character of `text`.

    Gates in [0, 1] use a sequential map over [0, 1]; everything else a diverging map
    centred on 0, over [-1, 1] or wider when the values go beyond (an LSTM's c).
    """
    T, H = values.shape
    if bounded01:
        cmap, vmin, vmax = "viridis", 0.0, 1.0
    else:
        limit = max(1.0, float(np.abs(values).max()))
        cmap, vmin, vmax = "RdBu_r", -limit, limit
    fig, ax = plt.subplots(figsize=(1.5 + 0.13 * T, 1.4 + min(0.05 * H, 8)), dpi=100)
    image = ax.imshow(values.T, aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xticks(range(T), [shown(c) for c in text], fontsize=8, family="monospace")
    ax.tick_params(axis="x", length=0)
    ax.set_ylabel("unit")
    ax.set_title(title, fontsize=10, loc="left")
    fig.colorbar(image, ax=ax, fraction=0.02, pad=0.01)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def saturation_scatter(path: Path, points: dict[str, tuple[np.ndarray, np.ndarray]], title: str) -> None:
    """One dot per unit and gate: x the left-saturated fraction, y the right-saturated one."""
    fig, ax = plt.subplots(figsize=(4.2, 4.2), dpi=100)
    ax.plot([0, 1], [1, 0], color="0.8", lw=1, zorder=0)  # left + right can never pass 1
    for gate, (left, right) in points.items():
        ax.scatter(left, right, s=12, alpha=0.7, label=gate)
    ax.set(xlim=(-0.02, 1.02), ylim=(-0.02, 1.02), xlabel="fraction left-saturated (< 0.1)",
           ylabel="fraction right-saturated (> 0.9)")
    ax.set_title(title, fontsize=10)
    ax.legend(title="gate", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def gradient_curves(path: Path, curves: dict[str, np.ndarray], title: str) -> None:
    """||dL/dh_t|| against t on a log scale, one curve per labelled network.

    A label is a cell's name, then maybe its init ("lstm (chrono init)"): one colour per
    cell, solid at torch's init and dashed at any other.
    """
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    colours = {}
    for label, norms in curves.items():
        cell = label.split(" ")[0]
        colour = colours.setdefault(cell, f"C{len(colours)}")
        ax.semilogy(np.arange(len(norms)), norms, label=label, lw=1.6, color=colour, ls="-" if cell == label else "--")
    ax.set(xlabel="time step t (loss at the last step)", ylabel="mean ||dL/dh_t||")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
