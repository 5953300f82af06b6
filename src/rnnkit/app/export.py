"""``rnnkit export``: a trained model of any application as a file that runs without rnnkit.

The checkpoint's format names the application that wrote it; ``applications.APPLICATIONS``
names that application's exporter module, imported only here and only then, whose
``export_onnx(meta, tensors, path)`` writes the file.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass

from .applications import APPLICATIONS, title
from .errors import UserError
from .options import checkpoint_option, option


@dataclass
class ExportConfig:
    checkpoint: str = checkpoint_option()
    format: str = option("onnx", "export", "file format", choices=["onnx"])
    output: str = option(None, "export", "the file to write", positional=True, metavar="OUT.onnx")


def run_export(cfg: ExportConfig) -> int:
    from . import checkpoint  # safetensors, of the app extra: imported when the command runs, as rnnkit.cli wants

    meta_path = checkpoint.find(cfg.checkpoint)
    meta, tensors = checkpoint.load(str(meta_path), application=None)
    application = checkpoint.application_of(meta)
    exporter = APPLICATIONS[application].exporter
    if exporter is None:
        exported = " and ".join(title(name) for name, a in APPLICATIONS.items() if a.exporter)
        raise UserError(f"rnnkit export does not support {title(application)} checkpoints ({meta_path}); "
                        f"it exports those of the {exported}")
    try:
        importlib.import_module(exporter).export_onnx(meta, tensors, cfg.output)
    except OSError as e:
        raise UserError(f"cannot write {cfg.output}: {e.strerror or e}") from None
    print(f"wrote {cfg.output}")
    return 0
