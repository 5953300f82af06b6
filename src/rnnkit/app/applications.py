"""The applications that write checkpoints, by the name their checkpoints carry.

The layer names each application's module as a string and imports it only when a checkpoint
of that application is opened by another one (``trained.open_trained``): it never imports an
application's code otherwise, and no application imports another's.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Application:
    title: str  # in messages: "not an rnnkit char-LM checkpoint"
    opener: str | None  # module with trained_model(meta, tensors, device) -> trained.TrainedModel, or None


APPLICATIONS = {
    "charlm": Application("char-LM", "rnnkit.charlm.model"),
    "tagger": Application("slot tagger", None),  # a word-level model: inspect's character views do not fit it
    "compose": Application("composer", None),  # its network reads piano rolls, not text
}


def title(name: str) -> str:
    return APPLICATIONS[name].title if name in APPLICATIONS else name
