"""The quality table of docs/compose.md: negative log-likelihood (nats per frame) and frame
accuracy on the chorales' test split, for every rnnkit network at the default recipe of
`rnnkit compose train` (10 minutes a run), the plain torch.nn peers (1 layer of 128, Adam,
2.5 minutes) and the independent per-key baseline. One run at a time; each run's result is
appended to runs/compose-quality/results.jsonl, and the table rows are printed at the end.

    .venv/bin/python benchmarks/compose_quality.py                      # all: 9 networks x 3 seeds + 3 peers, about 5 hours
    .venv/bin/python benchmarks/compose_quality.py --cells lstm --seeds 1 --peers lstm
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch import nn

from rnnkit.app.networks import NAMES
from rnnkit.compose.corpus import KEYS, chorales, split
from rnnkit.compose.model import batch_of, evaluate, frame_nll, independent_logits, independent_score

OUT = Path("runs/compose-quality")
PEERS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


class Peer(nn.Module):
    """The torch.nn peer: input frame -> torch.nn.RNN/GRU/LSTM (1 layer of 128) -> linear read-out."""

    def __init__(self, kind: str):
        super().__init__()
        self.rnn, self.head = PEERS[kind](KEYS, 128, batch_first=True), nn.Linear(128, KEYS)

    def forward(self, frames, state=None):
        out, state = self.rnn(frames, state)
        return self.head(out), state


def peer(kind: str, seed: int, minutes: float = 2.5) -> dict:
    """Train a peer for ``minutes`` (Adam at torch's default rate, 16 pieces a step, the best on
    validation every 100 steps kept) and score it on the test split."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    parts = {k: [p.roll for p in v] for k, v in split(chorales()).items()}
    model, g = Peer(kind), torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters())
    best, best_state, step, start = float("inf"), None, 0, time.perf_counter()
    while time.perf_counter() - start < minutes * 60:
        picks = torch.randint(len(parts["train"]), (16,), generator=g).tolist()
        inputs, targets, mask = batch_of([parts["train"][i] for i in picks], torch.device("cpu"))
        loss = frame_nll(model(inputs)[0], targets, mask).sum() / mask.sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % 100 == 0 and (val := evaluate(model, parts["valid"]).nll_per_frame) < best:
            best, best_state = val, {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    test = evaluate(model, parts["test"])
    return {"row": f"torch.nn.{PEERS[kind].__name__} (peer)", "seed": seed, "steps": step,
            "nll": test.nll_per_frame, "accuracy": test.accuracy, "wall_s": round(time.perf_counter() - start)}


def rnnkit_run(cell: str, seed: int) -> dict:
    """`rnnkit compose train` at its defaults for this network and seed, then eval on the test split."""
    run = OUT / f"{cell}-seed{seed}"
    train = ["rnnkit", "compose", "train", "--cell", cell, "--seed", str(seed), "--threads", "1", "--run-dir", str(run)]
    start = time.perf_counter()
    subprocess.run(train, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = round(time.perf_counter() - start)
    out = subprocess.run(["rnnkit", "compose", "eval", "--checkpoint", str(run), "--device", "cpu"],
                         check=True, capture_output=True, text=True).stdout
    nll, accuracy = map(float, re.search(r"([0-9.]+) nats per frame, frame accuracy ([0-9.]+)", out).groups())
    steps = json.loads((run / "last.json").read_text())["step"]
    return {"row": cell, "seed": seed, "steps": steps, "nll": nll, "accuracy": accuracy, "wall_s": wall,
            "command": " ".join(train)}


def table(results: list[dict]) -> str:
    rows = {}
    for r in results:
        rows.setdefault(r["row"], []).append(r)
    lines = ["| network | nats/frame (test) | frame accuracy | seeds | steps | wall s |", "|---|---|---|---|---|---|"]
    for name, rs in rows.items():
        nll = [r["nll"] for r in rs]
        spread = f" ± {statistics.stdev(nll):.2f}" if len(nll) > 1 else ""
        lines.append(f"| {name} | {statistics.mean(nll):.2f}{spread} | "
                     f"{statistics.mean(r['accuracy'] for r in rs):.3f} | {len(rs)} | "
                     f"{', '.join(str(r['steps']) for r in rs)} | {', '.join(str(r['wall_s']) for r in rs)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", default=",".join(NAMES))
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--peers", default=",".join(PEERS))
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    parts = {k: [p.roll for p in v] for k, v in split(chorales()).items()}
    base = independent_score(independent_logits(parts["train"]), parts["test"])
    results = [{"row": "independent per-key baseline", "seed": 0, "steps": 0, "nll": base.nll_per_frame,
                "accuracy": base.accuracy, "wall_s": 0}]
    seeds = [int(s) for s in args.seeds.split(",")]
    jobs = [(peer, kind, s) for kind in filter(None, args.peers.split(",")) for s in seeds]
    jobs += [(rnnkit_run, cell, s) for cell in filter(None, args.cells.split(",")) for s in seeds]
    for run, name, seed in jobs:
        result = run(name, seed)
        print(json.dumps(result), flush=True)
        with open(OUT / "results.jsonl", "a", encoding="utf-8") as f:
            f.write(json.dumps(result) + "\n")
        results.append(result)
    print(table(results))


if __name__ == "__main__":
    sys.exit(main())
