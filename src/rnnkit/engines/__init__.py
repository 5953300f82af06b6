"""Engines: how a cell runs over a sequence. Each one is a module with a `run` function
(see `reference.run` for the signature); layers pick one by name."""

from __future__ import annotations

import importlib

NAMES = ("auto", "reference")


def check_name(engine: str) -> str:
    if not isinstance(engine, str) or engine not in NAMES:
        raise ValueError(f"engine={engine!r} is not one of: {', '.join(NAMES)}")
    return engine


def select(engine: str):
    """The engine module for a name ('auto' picks the fastest that can run the layer)."""
    check_name(engine)
    return importlib.import_module(f"{__name__}.reference")
