"""The numbers behind the pictures: gate saturation, text features, unit-feature correlations.

Shapes: T characters (time steps), H units. Activations here are one sequence, (T, H) numpy.
"""
from __future__ import annotations

import numpy as np

LEFT, RIGHT = 0.1, 0.9  # a gate in [0, 1] below LEFT is left-saturated, above RIGHT right-saturated


def saturation(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(left, right), each (H,): the fraction of steps where a unit is < LEFT, and where > RIGHT.

    values: (T, H) or (T, B, H), every step (and sequence) counted alike.
    """
    values = values.reshape(-1, values.shape[-1])
    return (values < LEFT).mean(0), (values > RIGHT).mean(0)


FEATURES = {
    "inside quotes": "1 from an opening double quote up to its closing one (exclusive), else 0",
    "line position": "characters since the last newline (0 at a line's first character)",
    "after a newline": "1 at the first character of a line (the one right after a newline), else 0",
}


def text_features(text: str) -> dict[str, np.ndarray]:
    """One (T,) float array per entry of FEATURES, for each character of `text`."""
    quotes = np.cumsum([c == '"' for c in text]) % 2  # odd count so far: inside a quotation
    position, after = np.zeros(len(text)), np.zeros(len(text))
    for t in range(1, len(text)):
        after[t] = text[t - 1] == "\n"
        position[t] = 0 if after[t] else position[t - 1] + 1
    return {"inside quotes": quotes.astype(float), "line position": position, "after a newline": after}


def correlations(values: np.ndarray, feature: np.ndarray) -> np.ndarray | None:
    """Pearson's r of each unit of `values` (T, H) with `feature` (T,): (H,), 0 for a constant unit;
    None when the feature itself is constant over the text (no correlation to speak of)."""
    f = feature - feature.mean()
    if not f.any():
        return None
    v = values - values.mean(0)
    norms = np.linalg.norm(v, axis=0) * np.linalg.norm(f)
    return np.divide(f @ v, norms, out=np.zeros(values.shape[1]), where=norms > 0)


def top_units(r: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The k units of largest |r|, as (unit, r), strongest first."""
    order = np.argsort(-np.abs(r), kind="stable")[:k]
    return [(int(u), float(r[u])) for u in order]
