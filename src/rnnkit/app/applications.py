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
    reads: str  # what its network steps through, in messages: "characters"
    opener: str | None  # module with trained_model(meta, tensors, device) -> trained.TrainedModel, or None


APPLICATIONS = {
    "charlm": Application("char-LM", "characters", "rnnkit.charlm.model"),
    "tagger": Application("slot tagger", "words", None),  # inspect's views are of a text's characters
    "compose": Application("composer", "piano-roll frames", None),
}


def title(name: str) -> str:
    return APPLICATIONS[name].title if name in APPLICATIONS else name
