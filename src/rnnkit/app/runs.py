"""The run folder: where a training run keeps its checkpoints, metrics and pictures."""
from __future__ import annotations

import os
import time
from pathlib import Path

from .errors import UserError


def prepare_run_folder(run_dir: str | None, resuming: bool) -> Path:
    """``run_dir`` (default ``runs/<time>``), made and checked writable; a new run may not take
    a folder that already holds one (``--resume`` continues it)."""
    run = Path(run_dir or time.strftime("runs/%Y%m%d-%H%M%S"))
    if not resuming and any((run / f"{k}.json").exists() for k in ("last", "best")):
        raise UserError(f"run folder {run} already holds a run; continue it with --resume {run} "
                        "or choose another folder with --run-dir")
    try:
        run.mkdir(parents=True, exist_ok=True)
        probe = run / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise UserError(f"cannot write run folder {run}: {e.strerror or e}") from None
    return run
