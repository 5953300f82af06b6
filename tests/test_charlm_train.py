"""Training runs end to end: files left behind, learning, reproducibility, resume, signals, cells."""
import json
import math
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from charlm_helpers import TINY, first_count, folder_digest, make_text, tiny_train, train_losses
from safetensors.torch import load_file

from rnnkit.app import checkpoint
from rnnkit.app.networks import NAMES
from rnnkit.charlm.config import TrainConfig
from rnnkit.charlm.train import learning_rate, train
from rnnkit.cli import main


@pytest.fixture(scope="module")
def text(tmp_path_factory):
    return make_text(tmp_path_factory.mktemp("text") / "tiny.txt")


def test_a_run_learns_and_leaves_checkpoints_metrics_and_plot(text, tmp_path, capsys):
    run = tmp_path / "run"
    assert tiny_train(text, run, "--steps", "60", "--eval-every", "20", "--lr", "1e-2") == 0
    files = {p.name for p in run.iterdir()}
    assert {"best.json", "last.json", "metrics.jsonl", "loss.png"} <= files
    assert (run / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "loss" in r] == list(range(1, 61))
    val = [r["val_bpc"] for r in records if "val_bpc" in r]
    vocab = json.loads((run / "best.json").read_text())["vocab"]
    assert len(val) == 3 and val[0] > val[-1] and val[-1] < 0.75 * math.log2(len(vocab))  # well below uniform guessing
    assert json.loads((run / "best.json").read_text())["step"] == 20 * (1 + val.index(min(val)))
    out = capsys.readouterr().out
    assert "step 20: validation" in out and "bits/char" in out

    assert main(["sample", "--checkpoint", str(run), "--prime", "ANNE:", "--length", "50", "--seed", "3"]) == 0
    sampled = capsys.readouterr().out
    assert sampled.startswith("ANNE:") and len(sampled) == len("ANNE:") + 50 + 1
    assert set(sampled) <= set(vocab) | {"\n"}
    assert main(["sample", "--checkpoint", str(run), "--prime", "ANNE:", "--length", "50", "--seed", "3"]) == 0
    assert capsys.readouterr().out == sampled  # the sampler's seed makes it repeatable

    # scored like training's validation (same streams and chunks), the best checkpoint gives the best loss
    assert main(["eval", "--checkpoint", str(run), "--batch", "4", "--bptt", "16"]) == 0
    line = capsys.readouterr().out
    assert "validation split" in line
    best = min(r["val_loss"] for r in records if "val_loss" in r)
    assert float(line.split("loss ")[1].split(" nats")[0]) == pytest.approx(best, abs=1e-4)

    assert main(["eval", "--checkpoint", str(run / "last.json"), "--text", str(text)]) == 0
    line = capsys.readouterr().out
    nats, bits = float(line.split("loss ")[1].split(" nats")[0]), float(line.split("= ")[1].split(" bits")[0])
    assert bits == pytest.approx(nats / math.log(2), abs=1e-3)


def test_learning_rate_warms_up_then_decays():
    cfg = TrainConfig(lr=1.0, min_lr=0.1, warmup=10, steps=110)
    lrs = [learning_rate(cfg, s) for s in range(110)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:]))
    assert lrs[60] == pytest.approx(0.55) and lrs[-1] == pytest.approx(0.1, abs=1e-3)


def test_a_time_budget_fixes_the_step_count_after_ten_steps(text, tmp_path, capsys):
    run = tmp_path / "run"
    start = time.monotonic()
    assert tiny_train(text, run, "--minutes", "0.1", "--eval-every", "1000") == 0
    took = time.monotonic() - start
    first = first_count(capsys.readouterr().out, "0.1")
    steps = json.loads((run / "last.json").read_text())["config"]["steps"]  # fixed again at each validation
    # the count may move a lot at the validation (CI's first steps ran at half the speed of the
    # rest, 2250 then 4129): what is asserted is a loose range around the budget's 6 seconds
    assert first > 10 and len(train_losses(run)) == steps
    assert 3 < took < 30  # about 6 seconds of training, plus start-up and files (a loaded machine calibrates loosely)


def test_a_run_needs_steps_or_minutes(text, tmp_path, capsys):
    assert tiny_train(text, tmp_path / "run", "--minutes", "0") == 1
    assert "--steps N or --minutes M" in capsys.readouterr().err


def test_the_seed_makes_a_run_reproducible(text, tmp_path):
    for name, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        assert tiny_train(text, tmp_path / name, "--steps", "8", "--seed", seed, "--dropout", "0.2") == 0
    assert train_losses(tmp_path / "a") == train_losses(tmp_path / "b")
    assert train_losses(tmp_path / "a") != train_losses(tmp_path / "c")


def test_resume_continues_exactly_where_the_interrupted_run_was(text, tmp_path):
    # dropout and several passes over the text: the random state and the carried state must both resume
    extra = ["--steps", "24", "--dropout", "0.2", "--layers", "2", "--eval-every", "5"]
    assert tiny_train(text, tmp_path / "whole", *extra) == 0

    def interrupt_at_step_13(trainer):
        if trainer.step == 13:
            signal.raise_signal(signal.SIGINT)  # what Ctrl-C does

    cfg = TrainConfig(text=str(text), run_dir=str(tmp_path / "cut"), hidden=24, embedding=8, batch=4, bptt=16,
                      warmup=2, sample_length=20, device="cpu", threads=1, steps=24, dropout=0.2, layers=2, eval_every=5)
    assert train(cfg, on_step=interrupt_at_step_13) == 128 + signal.SIGINT
    assert json.loads((tmp_path / "cut" / "last.json").read_text())["step"] == 13
    assert len(train_losses(tmp_path / "cut")) == 13

    assert main(["train", "--resume", str(tmp_path / "cut")]) == 0
    assert train_losses(tmp_path / "cut") == train_losses(tmp_path / "whole")
    whole = load_file(str(tmp_path / "whole" / json.loads((tmp_path / "whole" / "last.json").read_text())["weights"]))
    cut = load_file(str(tmp_path / "cut" / json.loads((tmp_path / "cut" / "last.json").read_text())["weights"]))
    assert all(torch.equal(whole[k], cut[k]) for k in whole if k.startswith("model."))


def test_sigterm_saves_a_checkpoint_and_exits_cleanly(text, tmp_path):
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "rnnkit", "train", "--text", str(text), "--run-dir", str(run),
                             *TINY, "--steps", "100000", "--eval-every", "100000"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not ((run / "metrics.jsonl").exists() and (run / "metrics.jsonl").read_text().count("\n") >= 3):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    assert "Traceback" not in err and "stopped by SIGTERM" in out
    step = json.loads((run / "last.json").read_text())["step"]
    assert step >= 3 and len(train_losses(run)) == step


def test_a_crash_while_saving_keeps_the_previous_checkpoint(text, tmp_path, monkeypatch):
    run = tmp_path / "run"
    assert tiny_train(text, run, "--steps", "5") == 0
    before = folder_digest(run)

    def disk_full(tensors, filename):
        open(filename, "wb").write(b"half a fi")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoint, "save_file", disk_full)
    meta, tensors = checkpoint.load(str(run), prefer=("last",), application="charlm")
    with pytest.raises(OSError):
        checkpoint.save(run, "last", {**meta, "step": 6}, tensors, application="charlm")
    assert folder_digest(run) == before
    assert checkpoint.load(str(run), prefer=("last",), application="charlm")[0]["step"] == 5


@pytest.mark.parametrize("cell", NAMES)
def test_every_network_trains(text, tmp_path, cell):
    run = tmp_path / cell
    assert tiny_train(text, run, "--cell", cell, "--steps", "3", "--layers", "2", "--dropout", "0.1") == 0
    losses = train_losses(run)
    assert len(losses) == 3 and all(math.isfinite(x) for x in losses)
    assert main(["sample", "--checkpoint", str(run), "--length", "5"]) == 0


def test_a_time_budget_is_kept_when_steps_slow_down_after_the_count_is_fixed(text, tmp_path, capsys):
    """The count fixed after ten steps would take several times the budget once each step is
    slowed by 50 ms; fixed again at every validation, the run ends near its 6 seconds."""
    def slow_after_the_first_count(trainer):
        if trainer.step > 10:
            time.sleep(0.05)

    cfg = TrainConfig(text=str(text), run_dir=str(tmp_path / "run"), hidden=24, embedding=8, batch=4, bptt=16,
                      warmup=2, sample_length=20, device="cpu", threads=1, minutes=0.1, eval_every=10)
    start = time.monotonic()
    assert train(cfg, on_step=slow_after_the_first_count) == 0
    took = time.monotonic() - start
    out = capsys.readouterr().out
    first = first_count(out, "0.1")
    steps = json.loads((tmp_path / "run" / "last.json").read_text())["config"]["steps"]  # saved with the last count
    assert len(train_losses(tmp_path / "run")) == steps < first / 2
    assert "the time budget now ends the run at step" in out  # said when the count moved
    assert took < 6 + 6  # the budget, plus start-up, files and one validation interval
