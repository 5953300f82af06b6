"""The quality tables of docs/tagger.md and docs/compose.md are written by their benchmarks
between two markers, from results kept per row and seed (benchmarks/quality_runs.py)."""
import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = sys.modules[name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sys.path.insert(0, str(ROOT / "benchmarks"))  # as when a benchmark runs: its folder comes first
runs = load("quality_runs")
compose = load("compose_quality")


def test_a_table_replaces_what_lies_between_its_markers_and_nothing_else(tmp_path):
    doc = tmp_path / "page.md"
    doc.write_text("intro\n<!-- a -->\nold | table\n<!-- b -->\nafter\n", encoding="utf-8")
    runs.write_table(doc, "<!-- a -->", "<!-- b -->", "| new |")
    assert doc.read_text(encoding="utf-8") == "intro\n<!-- a -->\n| new |\n<!-- b -->\nafter\n"
    doc.write_text("intro, no markers\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="expected the markers"):
        runs.write_table(doc, "<!-- a -->", "<!-- b -->", "| new |")


def test_a_new_result_replaces_the_same_seed_and_keeps_the_others():
    results = {"lstm": [{"seed": 1, "nll": 9.0}, {"seed": 2, "nll": 8.6}]}
    runs.keep(results, "lstm", {"seed": 1, "nll": 8.5})
    runs.keep(results, "gru", {"seed": 3, "nll": 8.7})
    assert results == {"lstm": [{"seed": 2, "nll": 8.6}, {"seed": 1, "nll": 8.5}], "gru": [{"seed": 3, "nll": 8.7}]}


def test_mean_and_spread_are_the_mean_and_sample_standard_deviation():
    assert runs.mean_spread([8.4865, 8.5069, 8.5418]) == "8.51 ± 0.03"  # sd by hand: 0.02795
    assert runs.mean_spread([94.71, 94.28, 94.32], 3) == "94.437 ± 0.238"
    assert runs.mean_spread([9.0]) == "9.00"


def test_the_compose_table_gives_each_network_its_goal_and_names_the_unmeasured():
    results = {"baseline": [{"seed": 0, "command": "rnnkit compose baseline", "nll": 11.41, "accuracy": 0.0}],
               "lstm": [{"seed": s, "command": "c", "nll": v, "accuracy": 0.2, "steps": 9000, "best_step": 7000,
                         "seconds": 400} for s, v in ((1, 8.25), (2, 8.5), (3, 8.75))],
               "rnn": [{"seed": 1, "command": "c", "nll": 9.1, "accuracy": 0.1, "steps": 9000, "best_step": 8000,
                        "seconds": 200, "jobs": 2}]}
    rows = {line.split(" | ")[0]: line for line in compose.table(results).splitlines()}
    assert "| 8.500 ± 0.250 | 0.200 | 1, 2, 3 | 9,000 (7,000), 9,000 (7,000), 9,000 (7,000) |" in rows["| `lstm`"]
    assert "below 9.0: met; at or below 8.5: met |" in rows["| `lstm`"]  # the best network, at 8.5
    assert "below 9.0: missed |" in rows["| `rnn`"] and "200 s (2 at once)" in rows["| `rnn`"]
    assert "not yet measured" in rows["| `jordan`"] and "--cell jordan --steps 9000" in rows["| `jordan`"]
    assert "| 11.410 | 0.000 | – |" in rows["| independent per-key baseline"]


def test_the_committed_pages_have_their_markers_and_results_their_commands():
    for name in ("tagger", "compose"):
        doc = (ROOT / "docs" / f"{name}.md").read_text(encoding="utf-8")
        assert doc.count(f"<!-- quality table: written by benchmarks/{name}_quality.py -->") == 1
        assert doc.count("<!-- end of the quality table -->") == 1
    for row, found in json.loads(compose.RESULTS.read_text()).items():
        if row in compose.NAMES:
            assert all(r["command"] == " ".join(compose.command(row, r["seed"])) for r in found), row


def made_by(tmp_path, cell: str, **changed) -> Path:
    """A run folder whose last.json says how `rnnkit compose train --cell CELL --steps 9000
    --threads 1 --seed 2` ran (its network's own recipe), with ``changed`` fields apart."""
    recipe = compose.network_recipe(compose.TrainConfig(cell=cell, steps=9000, threads=1, seed=2), frozenset())[0]
    config = {**vars(recipe), **changed}
    run = tmp_path / f"{cell}-{len(list(tmp_path.iterdir()))}"
    run.mkdir()
    model = {"cell": cell, "dropout": config["dropout"], "learn_tau": bool(config["learn_tau"])}
    (run / "last.json").write_text(json.dumps({"config": config, "model": model}))
    return run


@pytest.mark.parametrize("cell, changed, kept", [
    ("rnn", {}, True), ("ctrnn", {}, True), ("lstm", {}, True),
    ("rnn", {"dropout": 0.5}, False), ("rnn", {"lr": 3e-3}, False), ("ctrnn", {"learn_tau": 0}, False),
    ("lstm", {"steps": 3000}, False)])
def test_a_run_is_recorded_only_if_its_rows_command_made_it(tmp_path, monkeypatch, cell, changed, kept):
    monkeypatch.setattr(compose, "scores_of", lambda run: {"nll": 8.6, "accuracy": 0.2, "steps": 9000, "best_step": 1})
    results, run = {}, made_by(tmp_path, cell, **changed)
    if kept:
        compose.record(results, cell, run, 300, 1)
        assert results == {cell: [{"seed": 2, "command": " ".join(compose.command(cell, 2)), "seconds": 300, "jobs": 1,
                                   "nll": 8.6, "accuracy": 0.2, "steps": 9000, "best_step": 1}]}
    else:
        with pytest.raises(SystemExit, match=f"--record {cell}: .* was not made by"):
            compose.record(results, cell, run, 300, 1)
        assert results == {}
