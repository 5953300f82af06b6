"""Where applications keep what they download or compute once (corpora, parsed data sets)."""
from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/rnnkit``, else ``~/.cache/rnnkit`` (not created here)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rnnkit"
