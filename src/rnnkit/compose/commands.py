"""The ``rnnkit compose`` commands eval, baseline, sample and abc, one function each (``rnnkit
compose train`` is ``compose.train.train``, which takes the flags typed too)."""
from __future__ import annotations

import re
from pathlib import Path

import torch

from rnnkit.app import checkpoint
from rnnkit.app.device import resolve_device
from rnnkit.app.errors import UserError
from rnnkit.app.text import read_text

from .config import AbcConfig, BaselineConfig, EvalConfig, SampleConfig
from .corpus import KEYS, chorales, read_music, score_of, split
from .model import APPLICATION, Score, evaluate, independent_logits, independent_score, load_model
from .outputs import draw_roll, engraved, render_wav, wav_unavailable, write_score
from .sample import compose


def _rolls(split_name: str, file: str | None = None) -> tuple[list[torch.Tensor], str]:
    """The rolls to score and what they are called: a music file's, or a split's of the chorales."""
    if file is not None:
        return [read_music(file)], file
    pieces = split(chorales())[split_name]
    return [p.roll for p in pieces], f"{split_name} split ({len(pieces)} chorales)"


def _report(what: str, score: Score) -> None:
    print(f"{what}: {score.frames} frames, {score.nll_per_frame:.4f} nats per frame, "
          f"frame accuracy {score.accuracy:.4f}")


def score(cfg: EvalConfig) -> int:
    device = resolve_device(cfg.device)
    model, _ = load_model(*checkpoint.load(cfg.checkpoint, application=APPLICATION), device)
    rolls, what = _rolls(cfg.split, cfg.file)
    _report(what, evaluate(model, rolls))
    return 0


def baseline(cfg: BaselineConfig) -> int:
    logits = independent_logits([p.roll for p in split(chorales())["train"]])
    rolls, what = _rolls(cfg.split)
    _report(f"independent per-key baseline, {what}", independent_score(logits, rolls))
    return 0


def sample(cfg: SampleConfig) -> int:
    device = resolve_device(cfg.device)
    meta_path = checkpoint.find(cfg.checkpoint)
    meta, tensors = checkpoint.load(str(meta_path), application=APPLICATION)
    model, model_cfg = load_model(meta, tensors, device)
    stem = Path(cfg.out) if cfg.out else meta_path.parent / f"sample-{cfg.seed}"
    if not stem.parent.is_dir():
        raise UserError(f"--out {stem}: folder {stem.parent} does not exist")
    prime = read_music(cfg.prime) if cfg.prime else torch.zeros(0, KEYS)
    generator = torch.Generator(device=device).manual_seed(cfg.seed)
    new = compose(model, cfg.length, tuple(meta["key_range"]), prime, cfg.temperature, cfg.max_notes, generator)
    roll = torch.cat([prime, new])
    score = score_of(roll)
    svg = engraved(score)  # before anything is written: a score Verovio cannot engrave leaves nothing
    written = write_score(score, stem)
    written.append(stem.with_name(stem.name + ".svg"))
    checkpoint.atomic_write_text(written[-1], svg)
    picture = stem.with_name(stem.name + ".png")
    draw_roll(roll, picture, f"{model_cfg.cell} {model_cfg.layers}x{model_cfg.hidden}: {cfg.length} frames, "
              f"seed {cfg.seed}, temperature {cfg.temperature:g}", primed=len(prime))
    written.append(picture)
    wav = stem.with_name(stem.name + ".wav")
    why = wav_unavailable(cfg.soundfont) or render_wav(written[0], cfg.soundfont, wav)
    written += [] if why else [wav]
    print("wrote " + ", ".join(str(p) for p in written))
    if why:
        print(why)
    return 0


_TUNE_START = re.compile(r"^X:", re.MULTILINE)
_KEY_FIELD = re.compile(r"^K:", re.MULTILINE)


def abc_tunes(text: str, what: str) -> list[str]:
    """The tunes of an ABC text (each from its ``X:`` line, or the whole text if it has none);
    a UserError if none has the ``K:`` (key) line that ends an ABC tune's header."""
    starts = [m.start() for m in _TUNE_START.finditer(text)] or [0]
    tunes = [text[a:b].strip() for a, b in zip(starts, [*starts[1:], len(text)])]
    tunes = [t for t in tunes if _KEY_FIELD.search(t)]
    if not tunes:
        raise UserError(f"{what} is not ABC notation: no tune with a K: (key) line")
    return tunes


def abc(cfg: AbcConfig) -> int:
    from music21 import converter

    tunes = abc_tunes(read_text(cfg.file), cfg.file)
    stem = Path(cfg.out) if cfg.out else Path(cfg.file).with_suffix("")
    if not stem.parent.is_dir():
        raise UserError(f"--out {stem}: folder {stem.parent} does not exist")
    written = 0
    for n, tune in enumerate(tunes, 1):
        try:
            score = converter.parse(tune, format="abc")
            if not score.flatten().notes:
                raise ValueError("no notes")
        except Exception as e:  # music21 raises many kinds for text it cannot read as a tune
            print(f"tune {n} does not parse as ABC: {(str(e).strip().splitlines() or [type(e).__name__])[0]}")
            continue
        path = stem.with_name(f"{stem.name}-{n}.mid")
        checkpoint.atomic_write(path, lambda tmp, score=score: score.write("midi", fp=str(tmp)))
        print(f"tune {n}: wrote {path}")
        written += 1
    if not written:
        raise UserError(f"none of the {len(tunes)} tune(s) of {cfg.file} parses as ABC: nothing written")
    return 0


COMMANDS = {"eval": score, "baseline": baseline, "sample": sample, "abc": abc}  # rnnkit compose NAME
