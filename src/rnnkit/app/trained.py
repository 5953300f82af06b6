"""A trained model of any application, opened so that another application can look inside it.

``rnnkit inspect`` runs a checkpoint's recurrent network on a text; how text becomes that
network's input, and what the model is called, only the application that trained it knows.
The checkpoint's format names that application; ``applications.APPLICATIONS`` names its
module, whose ``trained_model(meta, tensors, device)`` answers with a ``TrainedModel``.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from . import checkpoint
from .applications import APPLICATIONS
from .errors import UserError


@dataclass
class TrainedModel:
    network: nn.Module  # the rnnkit layer, batch-first, in eval mode
    inputs: Callable[[str, str], torch.Tensor]  # (text, what it is called in errors) -> network input (1, T, I)
    description: str  # e.g. "lstm, 1 layer(s) of 256"


def open_trained(path: str, device: torch.device) -> tuple[TrainedModel, dict, Path]:
    """(model, its checkpoint's JSON, the JSON's path) of the checkpoint ``path`` names, whatever
    application wrote it; a UserError if it is not sound or its application has no opener."""
    meta_path = checkpoint.find(path)
    meta, tensors = checkpoint.load(str(meta_path), application=None)
    application = checkpoint.application_of(meta)
    app = APPLICATIONS[application]
    if app.opener is None:
        readable = " or ".join(a.title for a in APPLICATIONS.values() if a.opener)
        raise UserError(f"{meta_path} is a checkpoint of rnnkit's {app.title}, whose network reads {app.reads}; "
                        f"this command runs a network on a text's characters: give it a {readable} checkpoint")
    return importlib.import_module(app.opener).trained_model(meta, tensors, device), meta, meta_path
