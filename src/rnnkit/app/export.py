"""``rnnkit export``: a trained model of any application as a file that runs without rnnkit.

The checkpoint's format names the application that wrote it; ``applications.APPLICATIONS``
names that application's exporter module, imported only here and only then, whose
``export_onnx(meta, tensors, path)`` writes the file.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from .applications import APPLICATIONS, title
from .errors import UserError
from .options import checkpoint_option, option


@dataclass
class ExportConfig:
    checkpoint: str = checkpoint_option()
    format: str = option("onnx", "export", "file format", choices=["onnx"])
    output: str = option(None, "export", "the file to write", positional=True, metavar="OUT.onnx")


def _check_writable(output: Path) -> None:
    """A UserError, before the export's seconds of work, if ``output`` cannot be a file."""
    if output.is_dir():
        raise UserError(f"cannot write {output}: it is a folder; name the file to write, e.g. {output / 'model.onnx'}")
    folder = output.parent
    if not folder.is_dir():
        raise UserError(f"cannot write {output}: " + (f"{folder} is not a folder" if folder.exists()
                                                      else f"its folder {folder} does not exist"))


def run_export(cfg: ExportConfig) -> int:
    from . import checkpoint  # safetensors, of the app extra: imported when the command runs, as rnnkit.cli wants

    meta_path = checkpoint.find(cfg.checkpoint)
    meta, tensors = checkpoint.load(str(meta_path), application=None)
    application = checkpoint.application_of(meta)
    exporter = APPLICATIONS[application].exporter
    if exporter is None:
        exported = " and ".join(f"the {title(name)}'s" for name, a in APPLICATIONS.items() if a.exporter)
        raise UserError(f"rnnkit export does not support {title(application)} checkpoints ({meta_path}); "
                        f"it exports {exported}")
    _check_writable(Path(cfg.output))
    try:
        importlib.import_module(exporter).export_onnx(meta, tensors, cfg.output)
    except OSError as e:
        raise UserError(f"cannot write {cfg.output}: {e.strerror or e}") from None
    print(f"wrote {cfg.output}")
    return 0
