"""The applications that write checkpoints, by the name their checkpoints carry.

The layer names each application's modules as strings and imports one only when a checkpoint
of that application is opened by another one (``trained.open_trained``) or exported
(``export.run_export``): it never imports an application's code otherwise, and no application
imports another's.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Application:
    title: str  # in messages: "not an rnnkit char-LM checkpoint"
    reads: str  # what its network steps through, in messages: "characters"
    opener: str | None  # module with trained_model(meta, tensors, device) -> trained.TrainedModel, or None
    exporter: str | None  # module with export_onnx(meta, tensors, path) writing the model as ONNX, or None


APPLICATIONS = {
    "charlm": Application("char-LM", "characters", "rnnkit.charlm.model", "rnnkit.charlm.export"),
    "tagger": Application("slot tagger", "words", None, "rnnkit.tagger.export"),  # inspect's views are of characters
    "compose": Application("composer", "piano-roll frames", None, None),
}


def title(name: str) -> str:
    return APPLICATIONS[name].title if name in APPLICATIONS else name
