"""Shared helpers of the char-LM tests: small texts made here, tiny runs, reading run folders."""
import hashlib
import json
import random
from pathlib import Path

from rnnkit.cli import main

WORDS = "the cat sat on a mat and the dog ran to it while we sang of kings".split()


def make_text(path: Path, chars: int = 6000, seed: int = 0) -> Path:
    """A text with structure to learn: speakers and lines of words drawn from a small list."""
    rng, parts = random.Random(seed), []
    while sum(map(len, parts)) < chars:
        parts.append(rng.choice(["ANNE:\n", "BOB:\n"]) + " ".join(rng.choices(WORDS, k=8)) + ".\n\n")
    path.write_text("".join(parts), encoding="utf-8")
    return path


TINY = ["--hidden", "24", "--embedding", "8", "--batch", "4", "--bptt", "16", "--warmup", "2",
        "--eval-every", "5", "--sample-length", "20", "--device", "cpu", "--threads", "1"]


def tiny_train(text: Path, run: Path, *extra: str) -> int:
    return main(["train", "--text", str(text), "--run-dir", str(run), *TINY, *extra])


def train_losses(run: Path) -> list[float]:
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [r["loss"] for r in map(json.loads, lines) if "loss" in r]


def folder_digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def first_count(out: str, minutes: str) -> int:
    """The step count a time-budgeted run printed when it first fixed it."""
    return int(out.split(f" steps fit in {minutes} minutes")[0].rsplit("\n", 1)[-1])
