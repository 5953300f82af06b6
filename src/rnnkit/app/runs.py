"""Folders a command writes into: a training run's folder (checkpoints, metrics, pictures), and
the output folder of a command that writes files."""
from __future__ import annotations

import os
import time
from pathlib import Path

from .checkpoint import clean_leftovers
from .errors import UserError


def output_folder(path: str | Path, what: str = "output folder") -> Path:
    """``path``, made if need be and checked writable before any work starts; a one-line
    UserError if it cannot be (a file in the way, no permission)."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        why = "a file is in the way" if isinstance(e, (FileExistsError, NotADirectoryError)) else e.strerror or e
        raise UserError(f"cannot write {what} {folder}: {why}") from None
    return folder


def prepare_run_folder(run_dir: str | None, resuming: bool) -> Path:
    """``run_dir`` (default ``runs/<time>``), made and checked writable, without the files a run
    killed while saving left; a new run may not take a folder that already holds one
    (``--resume`` continues it)."""
    run = Path(run_dir or time.strftime("runs/%Y%m%d-%H%M%S"))
    if not resuming and any((run / f"{k}.json").exists() for k in ("last", "best")):
        raise UserError(f"run folder {run} already holds a run; continue it with --resume {run} "
                        "or choose another folder with --run-dir")
    output_folder(run, "run folder")
    removed = clean_leftovers(run)
    if removed:
        print(f"removed what a killed run left in {run}: {', '.join(removed)}")
    return run
