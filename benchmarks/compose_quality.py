"""The quality table of docs/compose.md: negative log-likelihood (nats per frame, summed over
the keys) and frame accuracy on the chorales' test split, for every rnnkit network at the
recipe of `rnnkit compose train`, beside the plain torch.nn peers of the issue (1 layer of
128, Adam, 2.5 minutes) and the independent per-key baseline.

    .venv/bin/python benchmarks/compose_quality.py                         # everything, 3 seeds: hours
    .venv/bin/python benchmarks/compose_quality.py --rows lstm,gru --seeds 1 --jobs 2
    .venv/bin/python benchmarks/compose_quality.py --record jordan RUN_DIR SECONDS   # a run made by hand
    .venv/bin/python benchmarks/compose_quality.py --rows ""               # only write the table again

A network's row runs `rnnkit compose train --cell C --steps 9000 --threads 1 --seed S` (9,000
steps fit in the default 10 minutes for every network on one thread of the project's 2-core
machine; a fixed count makes a row independent of the machine's load), then `rnnkit compose
eval` on the best checkpoint. Results are kept in benchmarks/compose_results.json; the table
between the markers of docs/compose.md is written again from that file.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import torch
from quality_runs import keep, mean_spread, run_all, run_logged, write_table
from torch import nn

from rnnkit.app.networks import NAMES
from rnnkit.compose.config import TrainConfig, network_recipe
from rnnkit.compose.corpus import KEYS, chorales, split
from rnnkit.compose.model import batch_of, evaluate, frame_nll, independent_logits, independent_score

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "compose_results.json"
DOC = ROOT / "docs" / "compose.md"
BEGIN, END = "<!-- quality table: written by benchmarks/compose_quality.py -->", "<!-- end of the quality table -->"
STEPS = 9000
PEERS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}
ISSUE = {"baseline": 11.41, "rnn": 9.24, "gru": 9.08, "lstm": 8.91}  # the issue's measured peer, nats/frame
GOAL, BEST_GOAL = 9.0, 8.5


class Peer(nn.Module):
    """The torch.nn peer: input frame -> torch.nn.RNN/GRU/LSTM (1 layer of 128) -> linear read-out."""

    def __init__(self, kind: str):
        super().__init__()
        self.rnn, self.head = PEERS[kind](KEYS, 128, batch_first=True), nn.Linear(128, KEYS)

    def forward(self, frames, state=None):
        out, state = self.rnn(frames, state)
        return self.head(out), state


def rolls() -> dict[str, list[torch.Tensor]]:
    """The piano rolls of each split: train, valid, test."""
    return {k: [p.roll for p in v] for k, v in split(chorales()).items()}


def run_peer(kind: str, seed: int, minutes: float = 2.5) -> dict:
    """Train a peer for ``minutes`` (Adam at torch's default rate, 16 pieces a step, the best on
    validation every 100 steps kept) and score it on the test split."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    parts = rolls()
    model, g = Peer(kind), torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters())
    best, best_state, best_step, step, start = float("inf"), None, 0, 0, time.perf_counter()
    while time.perf_counter() - start < minutes * 60:
        picks = torch.randint(len(parts["train"]), (16,), generator=g).tolist()
        inputs, targets, mask = batch_of([parts["train"][i] for i in picks], torch.device("cpu"))
        loss = frame_nll(model(inputs)[0], targets, mask).sum() / mask.sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        if step % 100 == 0 and (val := evaluate(model, parts["valid"]).nll_per_frame) < best:
            best, best_state, best_step = val, {k: v.clone() for k, v in model.state_dict().items()}, step
    model.load_state_dict(best_state)
    test = evaluate(model, parts["test"])
    return {"command": f"compose_quality.py --rows peer-{kind} --seeds {seed}", "nll": test.nll_per_frame,
            "accuracy": test.accuracy, "steps": step, "best_step": best_step,
            "seconds": round(time.perf_counter() - start)}


def run_baseline() -> dict:
    parts = rolls()
    base = independent_score(independent_logits(parts["train"]), parts["test"])
    return {"command": "rnnkit compose baseline", "nll": base.nll_per_frame, "accuracy": base.accuracy}


def command(cell: str, seed: int) -> list[str]:
    return ["rnnkit", "compose", "train", "--cell", cell, "--steps", str(STEPS),
            "--threads", "1", "--seed", str(seed)]


def scores_of(run: Path) -> dict:
    """Test scores of a run's best checkpoint (`rnnkit compose eval`), and where it stopped."""
    out = subprocess.run([sys.executable, "-m", "rnnkit", "compose", "eval", "--checkpoint", str(run), "--device", "cpu"],
                         check=True, capture_output=True, text=True).stdout
    found = re.search(r"([0-9.]+) nats per frame, frame accuracy ([0-9.]+)", out)
    if not found:
        raise SystemExit(f"rnnkit compose eval --checkpoint {run} printed no scores:\n{out}")
    nll, accuracy = map(float, found.groups())
    best = json.loads((run / "best.json").read_text())["step"]
    return {"nll": nll, "accuracy": accuracy, "steps": json.loads((run / "last.json").read_text())["step"],
            "best_step": best}


def run_network(jobs: int, cell: str, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        argv = command(cell, seed)
        seconds = run_logged(argv, Path(tmp) / "run")
        result = {"command": " ".join(argv), "seconds": seconds, "jobs": jobs, **scores_of(Path(tmp) / "run")}
    print(f"{cell}, seed {seed}: {result['nll']:.4f} nats/frame, {seconds} s", flush=True)
    return result


def record(results: dict, row: str, run: Path, seconds: int, jobs: int) -> None:
    """Keep a run of ``row``'s command made by hand, once its checkpoint shows it is one."""
    if row not in NAMES:
        raise SystemExit(f"--record {row}: expected a network row, one of {', '.join(NAMES)}")
    meta = json.loads((run / "last.json").read_text())
    config, recipe = meta["config"], network_recipe(TrainConfig(cell=row), frozenset())[0]
    argv = command(row, config["seed"])
    made = (config["cell"], config["steps"], config["threads"], config["lr"], config["dropout"],
            meta["model"].get("learn_tau", False))
    if made != (row, STEPS, 1, recipe.lr, recipe.dropout, recipe.model.learn_tau):
        raise SystemExit(f"--record {row}: {run} was not made by `{' '.join(argv)}` (its config: {config})")
    keep(results, row, {"seed": config["seed"], "command": " ".join(argv), "seconds": seconds, "jobs": jobs,
                        **scores_of(run)})


def verdict(row: str, nll: float, best: bool) -> str:
    if row == "baseline" or row.startswith("peer-"):
        return ""
    goals = [f"below {GOAL}: " + ("met" if nll < GOAL else "missed")]
    if best:
        goals.append(f"at or below {BEST_GOAL}: " + ("met" if nll <= BEST_GOAL else "missed"))
    return "; ".join(goals)


def table(results: dict) -> str:
    lines = ["| network | test nats/frame | frame accuracy | seeds | steps (best at) | wall per run | issue's peer "
             "| goal | command |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    rows = ["baseline", *NAMES, *(f"peer-{k}" for k in PEERS)]
    means = {r: statistics.mean(x["nll"] for x in results[r]) for r in NAMES if results.get(r)}
    best = min(means, key=means.get, default=None)
    for row in rows:
        name = ("independent per-key baseline" if row == "baseline" else
                f"torch.nn.{PEERS[row[5:]].__name__} 1x128, 2.5 min" if row.startswith("peer-") else f"`{row}`")
        peer = ISSUE.get(row[5:] if row.startswith("peer-") else row, "–")
        runs = sorted(results.get(row, []), key=lambda r: r["seed"])
        if not runs:
            cmd = " ".join(command(row, 1)) if row in NAMES else f"compose_quality.py --rows {row}"
            lines.append(f"| {name} | not yet measured | | | | | {peer} | | `{cmd}` |")
            continue
        nll = [r["nll"] for r in runs]
        steps = ", ".join(f"{r['steps']:,} ({r['best_step']:,})" for r in runs if "steps" in r) or "–"
        wall = ", ".join(f"{r['seconds']} s" + (" (2 at once)" if r.get("jobs", 1) > 1 else "")
                         for r in runs if "seconds" in r) or "–"
        lines.append(f"| {name} | {mean_spread(nll, 3)} | {statistics.mean(r['accuracy'] for r in runs):.3f} | "
                     f"{', '.join(str(r['seed']) for r in runs) if runs[0]['seed'] else '–'} | {steps} | {wall} | "
                     f"{peer} | {verdict(row, statistics.mean(nll), row == best)} | `{runs[0]['command']}` |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    rows = ["baseline", *NAMES, *(f"peer-{k}" for k in PEERS)]
    parser.add_argument("--rows", default=",".join(rows), help="rows to run: baseline, a network, peer-rnn|gru|lstm")
    parser.add_argument("--seeds", default="1,2,3", help="seeds to run each row with")
    parser.add_argument("--jobs", type=int, default=1,
                        help="runs at once, one thread each (default 1); with --record: how many ran at once")
    parser.add_argument("--record", nargs=3, metavar=("ROW", "RUN_DIR", "SECONDS"),
                        help="record a finished run of ROW's command instead of running one")
    args = parser.parse_args()
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if args.record:
        row, run, seconds = args.record
        record(results, row, Path(run), int(seconds), args.jobs)
    else:
        chosen = [r for r in args.rows.split(",") if r]
        if unknown := sorted(set(chosen) - set(rows)):
            parser.error(f"--rows: unknown {', '.join(unknown)}; expected some of {', '.join(rows)}")
        seeds = [int(s) for s in args.seeds.split(",")]
        if "baseline" in chosen:
            keep(results, "baseline", {"seed": 0, **run_baseline()})
        for kind in (r.removeprefix("peer-") for r in chosen if r.startswith("peer-")):
            for seed in seeds:  # one at a time, here: a peer trains in this process, on its global seed
                keep(results, f"peer-{kind}", {"seed": seed, **run_peer(kind, seed)})
                RESULTS.write_text(json.dumps(results, indent=1) + "\n")
        todo = [(r, s) for r in chosen if r in NAMES for s in seeds]
        run_all(todo, partial(run_network, args.jobs), args.jobs, results, RESULTS)
    if results:
        RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    write_table(DOC, BEGIN, END, table(results))


if __name__ == "__main__":
    main()
