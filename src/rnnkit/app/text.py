"""Reading a user's text, with a one-line error for each way it can be unusable."""
from __future__ import annotations

import codecs
import sys
from pathlib import Path

from .errors import UserError

STDIN = "-"  # the path that names standard input


def text_name(path: str) -> str:
    """How messages call the text at ``path``."""
    return "standard input" if path == STDIN else path


def read_text(path: str) -> str:
    """A user's UTF-8 text as str, without a byte-order mark; ``-`` reads standard input (a
    named pipe such as /dev/stdin is read as it is given, never resolved first). A one-line
    UserError says what is wrong with a text that cannot be used."""
    name = text_name(path)
    if path == STDIN and sys.stdin.isatty():
        raise UserError("--text - reads standard input, which is a terminal here: pipe the text in (< FILE)")
    try:
        raw = sys.stdin.buffer.read() if path == STDIN else Path(path).read_bytes()
    except OSError as e:
        raise UserError(f"cannot read text {name}: {e.strerror or e}") from None
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UserError(f"text {name} is UTF-16 (it starts with a UTF-16 byte-order mark); expected UTF-8")
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]  # a mark of the encoding, not a character of the text
    if not raw:
        raise UserError(f"text {name} is empty")
    if b"\0" in raw:
        raise UserError(f"text {name} looks binary (it contains NUL bytes); expected UTF-8 text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UserError(f"text {name} is not UTF-8 (invalid byte at offset {e.start})") from None
