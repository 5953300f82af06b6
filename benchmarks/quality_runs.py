"""What the quality tables of the applications (tagger_quality.py, compose_quality.py) share:
runs side by side, results kept in a JSON file as they finish, and the table written between
two markers of a page of docs/."""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Callable


def run_all(todo: list[tuple[str, int]], run_one: Callable[[str, int], dict], jobs: int, results: dict,
            path: Path) -> None:
    """Run each (row, seed) of ``todo``, ``jobs`` at once; each result replaces the row's earlier
    one of that seed in ``results``, which is written to ``path`` as soon as it is in. A failed
    run or Ctrl-C starts no further run."""
    with ThreadPoolExecutor(jobs) as pool:
        done = {pool.submit(run_one, row, seed): (row, seed) for row, seed in todo}
        try:
            for future in as_completed(done):
                (row, seed), result = done[future], future.result()
                keep(results, row, {"seed": seed, **result})
                path.write_text(json.dumps(results, indent=1) + "\n")
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def run_logged(argv: list[str], run: Path) -> int:
    """Run the rnnkit command ``argv`` (``argv[0]`` is "rnnkit") with ``--run-dir run``, its
    output to a file beside ``run``, not the terminal (runs at once would mix their progress
    bars); the seconds it took. A failed run stops the benchmark with the end of its output."""
    log, start = run.parent / "output", time.perf_counter()
    with open(log, "w") as out:
        code = subprocess.run([sys.executable, "-m", "rnnkit", *argv[1:], "--run-dir", str(run)],
                              stdout=out, stderr=subprocess.STDOUT).returncode
    if code:
        raise SystemExit(f"{' '.join(argv)} failed (exit {code}):\n{log.read_text()[-3000:]}")
    return round(time.perf_counter() - start)


def keep(results: dict, row: str, result: dict) -> None:
    """Put ``result`` in ``row``'s list, in place of an earlier one of the same seed."""
    results[row] = [r for r in results.get(row, []) if r["seed"] != result["seed"]] + [result]


def mean_spread(values: list[float], digits: int = 2) -> str:
    """'mean ± sample standard deviation' (the mean alone for one value)."""
    spread = f" ± {statistics.stdev(values):.{digits}f}" if len(values) > 1 else ""
    return f"{statistics.mean(values):.{digits}f}{spread}"


def write_table(doc: Path, begin: str, end: str, table: str) -> None:
    """Replace what lies between the markers ``begin`` and ``end`` of ``doc`` by ``table``."""
    text = doc.read_text(encoding="utf-8")
    if text.count(begin) != 1 or text.count(end) != 1:
        raise SystemExit(f"{doc}: expected the markers {begin!r} and {end!r} once each")
    head, rest = text.split(begin)
    doc.write_text(f"{head}{begin}\n{table}\n{end}{rest.split(end)[1]}", encoding="utf-8")
