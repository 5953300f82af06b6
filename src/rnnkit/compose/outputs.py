"""What a composition is written as: MIDI and MusicXML (music21 writes both), its score
engraved as an SVG picture (Verovio), a piano-roll picture, and a WAV where fluidsynth and a
General MIDI soundfont are installed. Every file is written under a temporary name and renamed
into place."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import torch

from rnnkit.app.checkpoint import atomic_write
from rnnkit.app.errors import UserError

from .corpus import KEYS, LOWEST_MIDI, key_name

NO_WAV = "no WAV: {why} (on Debian: apt install fluidsynth fluid-soundfont-gm)"


def write_score(score, stem: Path) -> list[Path]:
    """STEM.mid and STEM.musicxml of a music21 score (``corpus.score_of`` a piano roll)."""
    written = []
    for fmt, suffix in (("midi", ".mid"), ("musicxml", ".musicxml")):
        path = stem.with_name(stem.name + suffix)
        atomic_write(path, lambda tmp, fmt=fmt: score.write(fmt, fp=str(tmp)))
        written.append(path)
    return written


PAGE_HEIGHT = 60000  # Verovio's tallest page: about 900 bars of a chorale at scale 45


def engraved(score, page_height: int = PAGE_HEIGHT) -> str:
    """A music21 score (``corpus.score_of`` a piano roll) as one SVG picture, engraved by Verovio
    (the Music Encoding Initiative's engraver): its pages, each as tall as its systems need, one
    under the other."""
    import verovio
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    toolkit = verovio.toolkit()
    verovio.enableLog(verovio.LOG_OFF)  # a failure is one UserError, not Verovio's lines on stderr
    toolkit.setOptions({"pageWidth": 2100, "pageHeight": page_height, "adjustPageHeight": True, "scale": 45,
                        "header": "none", "footer": "none", "xmlIdSeed": 1})  # the same score, the same file
    if not toolkit.loadData(GeneralObjectExporter(score).parse().decode("utf-8")):
        raise UserError("Verovio cannot engrave the score music21 wrote")
    pages, width, top = [], 0.0, 0.0
    for number in range(1, toolkit.getPageCount() + 1):
        page = toolkit.renderToSVG(number)
        root = page[:page.index(">")]
        width = max(width, float(re.search(r'\bwidth="([0-9.]+)px"', root).group(1)))
        pages.append(page.replace("<svg ", f'<svg y="{top:g}" ', 1))
        top += float(re.search(r'\bheight="([0-9.]+)px"', root).group(1))
    return (f'<svg width="{width:g}px" height="{top:g}px" version="1.1" xmlns="http://www.w3.org/2000/svg" '
            f'xmlns:xlink="http://www.w3.org/1999/xlink">\n{"".join(pages)}</svg>\n')


def draw_roll(roll: torch.Tensor, path: Path, title: str, primed: int = 0) -> None:
    """The piano roll as a picture: time across, the keys that sound (and an octave around) up,
    the first ``primed`` frames (the prime) shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    used = torch.nonzero(roll.any(0)).flatten()
    low, high = (max(0, int(used.min()) - 6), min(KEYS - 1, int(used.max()) + 6)) if len(used) else (27, 63)
    fig, ax = plt.subplots(figsize=(max(6.0, min(20.0, len(roll) / 8)), 4.5), dpi=100)
    ax.imshow(roll[:, low:high + 1].T.numpy(), origin="lower", aspect="auto", cmap="Greys", interpolation="nearest",
              extent=(-0.5, len(roll) - 0.5, low - 0.5, high + 0.5))
    if primed:
        ax.axvspan(-0.5, primed - 0.5, color="tab:blue", alpha=0.15, label="prime")
        ax.legend(loc="upper right")
    cs = [k for k in range(low, high + 1) if (k + LOWEST_MIDI) % 12 == 0]  # the Cs
    ax.set_yticks(cs, [key_name(k) for k in cs])
    ax.set_xlabel("frame (quarter note)")
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))
    plt.close(fig)


def wav_unavailable(soundfont: str) -> str | None:
    """Why no WAV can be rendered (fluidsynth or the soundfont missing), or None."""
    if shutil.which("fluidsynth") is None:
        return NO_WAV.format(why="fluidsynth is not installed")
    if not Path(soundfont).is_file():
        return NO_WAV.format(why=f"no soundfont at {soundfont} (give one with --soundfont FILE)")
    return None


def render_wav(midi: Path, soundfont: str, path: Path) -> str | None:
    """Write PATH, a 44.1 kHz WAV of MIDI played by fluidsynth with ``soundfont``; None, or the
    line saying why fluidsynth failed (then nothing is written)."""
    def write(tmp: Path) -> None:
        done = subprocess.run(["fluidsynth", "-ni", "-q", "-T", "wav", "-F", str(tmp), "-r", "44100",
                               soundfont, str(midi)], capture_output=True, text=True)
        if done.returncode != 0 or not tmp.is_file():
            why = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
            raise RuntimeError(f"no WAV: fluidsynth failed: {why}")

    try:
        atomic_write(path, write)
    except RuntimeError as e:
        return str(e)
    return None
