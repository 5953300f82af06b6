"""Shared helpers of the tagger tests: a small synthetic slot-filling set written here, tiny runs."""
import random
from pathlib import Path

from rnnkit.cli import main

CITIES = ["boston", "denver", "dallas", "atlanta", "new york", "san francisco"]
DAYS = ["monday", "friday", "sunday"]


def utterance(rng: random.Random) -> str:
    """One line 'word:TAG ... <=> intent': flights between two cities, maybe on a day and with a number, or fares."""
    def city(name, slot):
        first, *rest = name.split()
        return [f"{first}:B-{slot}"] + [f"{w}:I-{slot}" for w in rest]

    a, b = rng.sample(CITIES, 2)
    if rng.random() < 0.3:
        words = ["how:O", "much:O", "is:O", "a:O", "ticket:O", "from:O", *city(a, "fromloc"), "to:O", *city(b, "toloc")]
        return " ".join(words) + " <=> fare"
    words = ["show:O", "flights:O", "from:O", *city(a, "fromloc"), "to:O", *city(b, "toloc")]
    if rng.random() < 0.5:
        words += ["on:O", f"{rng.choice(DAYS)}:B-day"]
    if rng.random() < 0.3:  # mostly seen once: what <num> is learned from
        words += ["number:O", f"{rng.randint(100, 9999)}:B-flight_number"]
    return " ".join(words) + " <=> flight"


def make_data(path: Path, n: int = 120, seed: int = 0) -> Path:
    rng = random.Random(seed)
    path.write_text("".join(utterance(rng) + "\n" for _ in range(n)), encoding="utf-8")
    return path


def as_conll(lines_file: Path, path: Path) -> Path:
    """The same utterances in CoNLL two-column form."""
    blocks = []
    for line in lines_file.read_text().splitlines():
        tokens = line.split(" <=> ")[0].split()
        blocks.append("".join(f"{t.rpartition(':')[0]} {t.rpartition(':')[2]}\n" for t in tokens))
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path


TINY = ["--hidden", "24", "--embedding", "12", "--batch", "8", "--warmup", "5", "--lr", "1e-2", "--dropout", "0",
        "--device", "cpu", "--threads", "1"]


def tiny_train(data: Path, run: Path, *extra: str) -> int:
    return main(["tag", "train", "--data", str(data), "--run-dir", str(run), *TINY, *extra])
