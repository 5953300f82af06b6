"""The quality table of `rnnkit tag` on ATIS: every network, one- and bidirectional, several seeds.

    python benchmarks/tagger_quality.py                       # or: make tagger-quality (the whole table: hours)
    python benchmarks/tagger_quality.py --rows bi-lstm,rnn,jordan --seeds 1
    python benchmarks/tagger_quality.py --record bi-lstm RUN_DIR SECONDS   # a run made by hand with the row's command

Each row runs its command (`rnnkit tag train ... --threads 2 --seed S`; `--jobs 2 --threads 1`
runs two at once, one thread each), times it, reads the test scores the run logs at its end,
and keeps them in benchmarks/tagger_results.json;
then the table between the markers of docs/tagger.md is written again from that file, rows
without results marked "not yet measured".
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from functools import partial
from pathlib import Path

from quality_runs import keep, mean_spread, run_all, run_logged, write_table

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "tagger_results.json"
DOC = ROOT / "docs" / "tagger.md"
BEGIN, END = "<!-- quality table: written by benchmarks/tagger_quality.py -->", "<!-- end of the quality table -->"

# One-way networks tag slots alone, as Mesnil et al.'s did: an intent read from the final state
# of a network that reads one way cost the Elman RNN two points of slot F1 (docs/tagger.md).
ONE_WAY = ["--bidirectional", "0", "--window", "3", "--intent-weight", "0"]
# row -> (network, flags beyond the defaults, the published F1 (source), our target)
ROWS = {
    "rnn": ("Elman RNN", ["--cell", "rnn", *ONE_WAY], "94.98 (Mesnil et al. 2015)", 94.5),
    "jordan": ("Jordan RNN", ["--cell", "jordan", *ONE_WAY], "94.29 (Mesnil et al. 2015)", 94.0),
    "bi-lstm": ("bidirectional LSTM (the default)", [], "95.66 (Kurata et al. 2016, encoder-labeler LSTM)", 95.5),
}
for cell, name in (("rnn", "Elman RNN"), ("jordan", "Jordan RNN"), ("lstm", "LSTM"), ("lstm-peephole", "peephole LSTM"),
                   ("lstm-no-forget", "LSTM without forget gate"), ("gru", "GRU (reset after)"),
                   ("gru-reset-before", "GRU (reset before)"), ("ctrnn", "CTRNN")):
    if cell != "lstm":
        ROWS.setdefault(f"bi-{cell}", (f"bidirectional {name}", ["--cell", cell], "—", None))
    if cell not in ("rnn", "jordan"):
        ROWS.setdefault(cell, (name, ["--cell", cell, *ONE_WAY], "—", None))


def command(row: str, seed: int, extra: list[str], threads: int = 2) -> list[str]:
    return ["rnnkit", "tag", "train", *ROWS[row][1], *extra, "--threads", str(threads), "--seed", str(seed)]


def scores_of(run: Path) -> dict:
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    test = next(r for r in reversed(records) if "test_f1" in r)
    return {"f1": test["test_f1"], "intent_accuracy": test["test_intent_accuracy"], "step": test["step"]}


def run_row(extra: list[str], threads: int, jobs: int, row: str, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        argv = command(row, seed, extra, threads)
        seconds = run_logged(argv, Path(tmp) / "run")
        result = {"command": " ".join(argv), "seconds": seconds, "jobs": jobs, **scores_of(Path(tmp) / "run")}
    intent = result["intent_accuracy"]
    print(f"{row}, seed {seed}: slot F1 {result['f1']:.2f}"
          + ("" if intent is None else f", intent accuracy {intent:.2f}%") + f", {seconds} s", flush=True)
    return result


def table(results: dict) -> str:
    lines = ["| network | paper F1 | slot F1 (test) | intent accuracy | seeds | wall time per run | command |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for row, (name, _, paper, target) in ROWS.items():
        runs = sorted(results.get(row, []), key=lambda r: r["seed"])
        if not runs:
            lines.append(f"| {name} | {paper} | not yet measured | | | | `{' '.join(command(row, 1, []))}` |")
            continue
        f1 = [r["f1"] for r in runs]
        verdict = "" if target is None else (" (target met)" if statistics.mean(f1) >= target else
                                             f" (target {target} missed)")
        intents = [r["intent_accuracy"] for r in runs if r["intent_accuracy"] is not None]
        seconds = ", ".join(f"{r['seconds'] / 60:.1f} min" + (f" ({r['jobs']} runs at once)" if r.get("jobs", 1) > 1 else "")
                            for r in runs)
        notes = "; ".join(sorted({r["note"] for r in runs if r.get("note")}))
        intent = f"{mean_spread(intents)}%" if intents else "— (no intent head)"
        lines.append(f"| {name} | {paper} | {mean_spread(f1)}{verdict} | {intent} | "
                     f"{', '.join(str(r['seed']) for r in runs)} | {seconds} | `{runs[0]['command']}`"
                     + (f" ({notes})" if notes else "") + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default=",".join(ROWS), help="rows to run, by key (default: all)")
    parser.add_argument("--seeds", default="1,2,3", help="seeds to run each row with")
    parser.add_argument("--extra", default="", help="flags added to every command (say '--epochs 3' for a short run)")
    parser.add_argument("--record", nargs=3, metavar=("ROW", "RUN_DIR", "SECONDS"),
                        help="record a finished run of ROW's command instead of running one")
    parser.add_argument("--note", default="", help="a note shown beside the recorded row")
    parser.add_argument("--threads", type=int, default=2, help="torch threads of each run (default 2)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="runs at once (default 1; 2 runs of --threads 1 share a 2-core machine best when it is busy)")
    args = parser.parse_args()
    if args.jobs < 1:
        parser.error(f"--jobs {args.jobs}: expected at least 1")
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if args.record:
        row, run, seconds = args.record
        config = json.loads((Path(run) / "last.json").read_text())["config"]
        argv = command(row, config["seed"], args.extra.split(), config["threads"])
        result = {"seed": config["seed"], "command": " ".join(argv), "seconds": int(seconds), "note": args.note,
                  **scores_of(Path(run))}
        keep(results, row, result)
    else:
        rows = filter(None, args.rows.split(","))  # --rows "": only write the table again
        todo = [(row, seed) for row in rows for seed in map(int, args.seeds.split(","))]
        run_all(todo, partial(run_row, args.extra.split(), args.threads, args.jobs), args.jobs, results, RESULTS)
    if results:
        RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    write_table(DOC, BEGIN, END, table(results))


if __name__ == "__main__":
    main()
