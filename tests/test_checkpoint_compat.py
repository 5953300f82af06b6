"""Checkpoints written by earlier code still load: sample, eval and inspect on a kept one.

tests/fixtures/charlm_v1 is the ``best`` checkpoint of a 2-step run of the char-LM as it was
before the application layer (format rnnkit.charlm/1, the model built from the training
config), made with

    rnnkit train --text text.txt --hidden 8 --embedding 4 --batch 2 --bptt 16 --steps 2
                 --eval-every 2 --warmup 1 --sample-length 5 --device cpu --threads 1 --val-fraction 0.2

and then two absolute paths of the machine it was made on replaced in best.json: ``text`` by
``text.txt`` (the text beside it) and ``run_dir`` by ``.``.
"""
import json
from pathlib import Path

import pytest

from rnnkit.cli import main

FIXTURE = Path(__file__).parent / "fixtures" / "charlm_v1"


def loss_of(line: str) -> float:
    return float(line.split("loss ")[1].split(" nats")[0])


def test_the_kept_checkpoint_scores_its_validation_split_as_its_run_did(capsys, monkeypatch):
    monkeypatch.chdir(FIXTURE)  # its config names its text relative to its folder
    best = json.loads((FIXTURE / "best.json").read_text())["best_val_loss"]
    assert main(["eval", "--checkpoint", ".", "--batch", "2", "--bptt", "16", "--device", "cpu"]) == 0
    line = capsys.readouterr().out
    # 62 characters, 61 to predict, cut into 2 rows of 30: 60 scored (the 61st is left over)
    assert "the run's validation split: 60 characters scored" in line
    assert loss_of(line) == pytest.approx(best, abs=1e-4)


def test_the_kept_checkpoint_scores_a_text_and_samples_as_it_did(capsys):
    assert main(["eval", "--checkpoint", str(FIXTURE / "best.json"), "--text", str(FIXTURE / "text.txt"),
                 "--device", "cpu"]) == 0
    assert loss_of(capsys.readouterr().out) == pytest.approx(3.1196, abs=1e-4)
    assert main(["sample", "--checkpoint", str(FIXTURE), "--prime", "ANNE:", "--length", "30", "--seed", "3",
                 "--device", "cpu"]) == 0
    assert capsys.readouterr().out == "ANNE:\ncortE::irAAcenc.:hBhecBic\nooB\n"


def test_the_kept_checkpoint_can_be_inspected(tmp_path):
    assert main(["inspect", "--checkpoint", str(FIXTURE), "--text", "ANNE: the cat", "--out", str(tmp_path),
                 "--device", "cpu"]) == 0
    assert {p.name for p in tmp_path.glob("heatmap_*")} == {f"heatmap_l0_{n}.png" for n in "ifgohc"}
    assert "| l0 | f | 8 |" in (tmp_path / "saturation.md").read_text()
