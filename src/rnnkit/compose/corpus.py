"""Music as piano rolls: Bach's chorales from music21's corpus, the user's files, and back to a score.

A piano roll is a (T, 88) float tensor of 0 and 1: key k (MIDI pitch 21 + k, A0 to C8) is on in
frame t if a note sounds at beat t, one frame per quarter note (Boulanger-Lewandowski et al.
2012 prepared JSB Chorales so): a note from offset o for d quarter notes is on in the frames
t with o <= t < o + d, so a note shorter than a beat between two beats is lost, and a note
held over several beats is the same as one repeated on each.

The chorales are those of ``music21.corpus.chorales.Iterator`` (371 entries, 350 distinct
files), parsed once and cached as JSON under the rnnkit cache folder. They are split by
sorted corpus name: the first 60 % train, the next 20 % validation, the last 20 % test.
"""
from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass
from pathlib import Path

import torch

from rnnkit.app.cache import cache_dir
from rnnkit.app.checkpoint import atomic_write_text
from rnnkit.app.errors import UserError

KEYS = 88
LOWEST_MIDI = 21  # A0, the piano's lowest key
CACHE_FORMAT = "rnnkit.compose.chorales/1"


def key_name(key: int) -> str:
    """The name of key ``key`` (0 to 87) with its octave: 0 is A0, 39 is C4, 87 is C8."""
    midi = key + LOWEST_MIDI
    return ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")[midi % 12] + str(midi // 12 - 1)


def roll_of(score, what: str) -> torch.Tensor:
    """The piano roll (T, 88) of a music21 stream; a UserError if a note lies outside the piano
    or nothing sounds on a beat."""
    notes = list(score.flatten().notes)
    end = max((n.offset + n.quarterLength for n in notes), default=0)
    roll = torch.zeros(math.ceil(end), KEYS)
    for n in notes:
        for pitch in n.pitches:
            key = pitch.midi - LOWEST_MIDI
            if not 0 <= key < KEYS:
                raise UserError(f"{what} has the note {pitch.nameWithOctave} (MIDI {pitch.midi}), "
                                f"outside the piano's 88 keys (A0 to C8, MIDI 21 to 108)")
            roll[math.ceil(n.offset):math.ceil(n.offset + n.quarterLength), key] = 1
    if not roll.any():
        raise UserError(f"{what} has no note that sounds on a beat: nothing to read")
    return roll


def read_music(path: str) -> torch.Tensor:
    """The piano roll of a music file music21 reads (MusicXML, MIDI, ABC, ...), or a one-line UserError."""
    from music21 import converter, stream

    if not Path(path).is_file():
        raise UserError(f"music file {path} does not exist")
    try:
        score = converter.parse(path)
    except Exception as e:  # music21 raises many kinds, all meaning "not music it can read"
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise UserError(f"cannot read {path} as music (MusicXML, MIDI or ABC expected): {first}") from None
    if isinstance(score, stream.Opus):  # a file of several pieces: the first one
        score = score.scores[0] if score.scores else stream.Score()
    return roll_of(score, path)


def score_of(roll: torch.Tensor):
    """A two-staff music21 score (treble from middle C up, bass below) playing a piano roll:
    each run of frames a key is on becomes one note."""
    from music21 import clef, meter, note, stream

    score = stream.Score()
    for name, keys, staff_clef in (("upper", range(39, KEYS), clef.TrebleClef()),
                                   ("lower", range(0, 39), clef.BassClef())):
        sounding = stream.Stream()
        for key in keys:
            start = None
            for t, on in enumerate([*roll[:, key].tolist(), 0.0]):
                if on and start is None:
                    start = t
                elif not on and start is not None:
                    sounded = note.Note(key + LOWEST_MIDI, quarterLength=t - start)
                    if not sounded.pitch.alter:
                        sounded.pitch.accidental = None  # music21 gives a white key a natural sign
                    sounding.insert(start, sounded)
                    start = None
        staff = stream.PartStaff(id=name)
        staff.insert(0, staff_clef)
        staff.insert(0, meter.TimeSignature("4/4"))
        chords = sounding.chordify() if sounding.notes else stream.Stream()
        for element in chords.flatten().notesAndRests:
            staff.insert(element.offset, element)
        if not staff.notesAndRests:
            staff.insert(0, note.Rest(quarterLength=len(roll)))
        score.insert(0, staff)
    return score


@dataclass
class Piece:
    name: str  # music21's corpus name, e.g. bach/bwv269
    roll: torch.Tensor  # (T, 88)


def _parse_chorales() -> list[dict]:
    from music21 import corpus

    names = sorted(set(corpus.chorales.Iterator(returnType="filename")))
    pieces = []
    for name in names:
        roll = roll_of(corpus.parse(name), name)
        pieces.append({"name": name, "frames": [torch.nonzero(f).flatten().tolist() for f in roll]})
    return pieces


def chorales() -> list[Piece]:
    """Every chorale as a piano roll, sorted by name; parsed on first use (about a minute)
    and cached under the rnnkit cache folder, one file per music21 version."""
    import music21

    path = cache_dir() / f"chorales-music21-{music21.__version__}.json"
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cached = None
    if not isinstance(cached, dict) or cached.get("format") != CACHE_FORMAT:
        print(f"parsing Bach's chorales from music21's corpus once; cached in {path}", flush=True)
        cached = {"format": CACHE_FORMAT, "pieces": _parse_chorales()}
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(cached) + "\n")
    return [Piece(p["name"], _roll_from_frames(p["frames"])) for p in cached["pieces"]]


def _roll_from_frames(frames: list[list[int]]) -> torch.Tensor:
    roll = torch.zeros(len(frames), KEYS)
    for t, keys in enumerate(frames):
        roll[t, keys] = 1
    return roll


def split(pieces: list[Piece]) -> dict[str, list[Piece]]:
    """train, valid and test: the first 60 %, the next 20 % and the rest of the pieces by sorted name."""
    pieces = sorted(pieces, key=lambda p: p.name)
    a, b = int(0.6 * len(pieces)), int(0.8 * len(pieces))
    return {"train": pieces[:a], "valid": pieces[a:b], "test": pieces[b:]}


def key_range(rolls: list[torch.Tensor], transpose: int = 0) -> tuple[int, int]:
    """The lowest and highest key that training on ``rolls``, each shifted by up to ``transpose``
    semitones (never off the piano), can show the network."""
    low = min(max(0, int(torch.nonzero(r.any(0)).min()) - transpose) for r in rolls)
    high = max(min(KEYS - 1, int(torch.nonzero(r.any(0)).max()) + transpose) for r in rolls)
    return low, high


def transposed(roll: torch.Tensor, limit: int, rng: random.Random) -> torch.Tensor:
    """``roll`` shifted by a random number of semitones in [-limit, limit], kept on the piano."""
    if not limit:
        return roll
    keys = torch.nonzero(roll.any(0)).flatten()
    shift = rng.randint(max(-limit, -int(keys.min())), min(limit, KEYS - 1 - int(keys.max())))
    return torch.roll(roll, shift, dims=1)
