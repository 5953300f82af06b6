"""The activation viewer: one self-contained HTML page (inline CSS and JS, data as JSON).

The text is shown with each character coloured by one unit's activation after reading it,
red above 0 and blue below; controls pick the layer, the state and the unit, and buttons
list the units most correlated with simple text features. Nothing is fetched: no network,
no external script, style or font.

Activations travel as int8 (T, H) arrays, base64-encoded, scaled per unit by
max(1, max |value|), so a page for 512 units and a few thousand characters stays a few MB.
"""
from __future__ import annotations

import base64
import html
import json
from importlib.resources import files

import numpy as np

from .analysis import FEATURES, correlations, text_features, top_units


def quantise(values: np.ndarray) -> tuple[list[float], str]:
    """(scale per unit, base64 of int8 round(values / scale * 127)) for values (T, H)."""
    scale = np.maximum(1.0, np.abs(values).max(0))
    q = np.clip(np.round(values / scale * 127), -127, 127).astype(np.int8)
    return [float(s) for s in scale], base64.b64encode(q.tobytes()).decode("ascii")


def page_data(text: str, layers: dict[str, dict[str, np.ndarray]], top: int = 8) -> dict:
    """The page's JSON: layers maps a layer's name to {state name: (T, H) activations}."""
    features = text_features(text)
    out = {"text": text, "features": FEATURES, "layers": {}}
    for layer, states in layers.items():
        entry = {"size": next(iter(states.values())).shape[1], "states": {}, "correlated": {}}
        for state, values in states.items():
            scale, encoded = quantise(values)
            entry["states"][state] = {"scale": scale, "values": encoded}
            entry["correlated"][state] = {
                name: None if (r := correlations(values, f)) is None else top_units(r, top)
                for name, f in features.items()}
        out["layers"][layer] = entry
    return out


def render(title: str, data: dict) -> str:
    """The page as a string; "</" is escaped so that no text can close the data's script tag."""
    template = files(__package__).joinpath("viewer.html").read_text(encoding="utf-8")
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return template.replace("__TITLE__", html.escape(title)).replace("__DATA__", payload)
