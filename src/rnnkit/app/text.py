"""Reading a user's text file, with a one-line error for each way it can be unusable."""
from __future__ import annotations

from pathlib import Path

from .errors import UserError


def read_text(path: str) -> str:
    """A user's text file as str, or a one-line UserError saying what is wrong with it."""
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise UserError(f"cannot read text {path}: {e.strerror or e}") from None
    if not raw:
        raise UserError(f"text {path} is empty")
    if b"\0" in raw:
        raise UserError(f"text {path} looks binary (it contains NUL bytes); expected UTF-8 text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UserError(f"text {path} is not UTF-8 (invalid byte at offset {e.start})") from None
