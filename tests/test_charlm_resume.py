"""A run killed at any moment resumes from its latest validation, exactly; what a kill leaves is
cleaned; a resumed run applies the safe flags the user typed and refuses the others."""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from charlm_helpers import TINY, first_count, make_text, tiny_train, train_losses

from rnnkit.charlm.config import TrainConfig
from rnnkit.charlm.train import train
from rnnkit.cli import main

LONG = ["--steps", "100000", "--eval-every", "5", "--dropout", "0.2", "--layers", "2"]  # stopped from outside


@pytest.fixture(scope="module")
def text(tmp_path_factory):
    return make_text(tmp_path_factory.mktemp("text") / "tiny.txt")


def records(run: Path) -> list[dict]:
    path = run / "metrics.jsonl"
    lines = path.read_text().split("\n")[:-1] if path.exists() else []  # complete lines only
    return [json.loads(line) for line in lines]


def kill_when(argv: list[str], run: Path, ready) -> int:
    """Start ``rnnkit ARGV`` in a process of its own, SIGKILL it as soon as ``ready(records)``,
    and return the last step it logged."""
    proc = subprocess.Popen([sys.executable, "-m", "rnnkit", *argv], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not ready(records(run)):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.005)
    proc.kill()
    proc.wait(timeout=60)
    return max(r["step"] for r in records(run))


def step_of(run: Path, kind: str) -> int:
    return json.loads((run / f"{kind}.json").read_text())["step"]


def stop_at(step: int):
    def hook(trainer):
        if trainer.step == step:
            signal.raise_signal(signal.SIGINT)
    return hook


def test_a_run_killed_at_several_moments_resumes_exactly(text, tmp_path):
    end = 40
    whole = TrainConfig(text=str(text), run_dir=str(tmp_path / "whole"), hidden=24, embedding=8, batch=4, bptt=16,
                        warmup=2, sample_length=20, device="cpu", threads=1, steps=100000, eval_every=5,
                        dropout=0.2, layers=2)
    assert train(whole, on_step=stop_at(end)) == 128 + signal.SIGINT

    run = tmp_path / "killed"
    # --recipe cpu, as the whole run above got: this process chooses from the machine (no test fixture reaches it)
    new_run = ["train", "--text", str(text), "--run-dir", str(run), *TINY, *LONG, "--recipe", "cpu"]
    killed = kill_when(new_run, run, lambda rs: any(r["step"] >= 8 for r in rs))  # between validations
    assert 5 <= step_of(run, "last") <= killed and step_of(run, "last") % 5 == 0
    # as soon as a validation is logged: while its checkpoints are being written
    killed = kill_when(["train", "--resume", str(run)], run, lambda rs: any("val_loss" in r and r["step"] >= 15 for r in rs))
    resumed_from = max(step_of(run, "last"), step_of(run, "best"))
    assert 10 <= resumed_from <= killed
    kill_when(["train", "--resume", str(run)], run, lambda rs: any(r["step"] >= 27 for r in rs))
    (run / ".tmp-999999999").mkdir()  # as a kill while saving leaves it (safetensors' own temporary inside)
    (run / ".tmp-999999999" / ".tmpuemxkj").write_bytes(b"half a fi")
    (run / "last-0000026.safetensors").write_bytes(b"weights never committed")

    assert train(TrainConfig(resume=str(run)), on_step=stop_at(end)) == 128 + signal.SIGINT
    assert train_losses(run) == train_losses(tmp_path / "whole")
    assert len(train_losses(run)) == end
    names = sorted(p.name for p in run.iterdir())
    assert names == sorted(["best.json", f"best-{step_of(run, 'best'):07d}.safetensors", "last.json",
                            f"last-{end:07d}.safetensors", "loss.png", "metrics.jsonl"])


def test_a_run_killed_before_its_first_validation_is_started_again(text, tmp_path, capsys):
    run = tmp_path / "run"
    kill_when(["train", "--text", str(text), "--run-dir", str(run), *TINY, "--steps", "100000", "--eval-every", "100000"],
              run, lambda rs: len(rs) >= 2)
    assert main(["train", "--resume", str(run)]) == 1
    assert "start it again with --run-dir" in capsys.readouterr().err
    assert tiny_train(text, run, "--steps", "3") == 0
    assert [r["step"] for r in records(run) if "loss" in r] == [1, 2, 3]  # the killed run's records are gone


def test_a_folder_with_only_best_resumes_from_it(text, tmp_path):
    assert tiny_train(text, tmp_path / "whole", "--steps", "14", "--dropout", "0.2") == 0
    run = tmp_path / "cut"
    assert train(TrainConfig(text=str(text), run_dir=str(run), hidden=24, embedding=8, batch=4, bptt=16, warmup=2,
                             sample_length=20, device="cpu", threads=1, steps=14, eval_every=5, dropout=0.2),
                 on_step=stop_at(12)) == 128 + signal.SIGINT
    for p in run.glob("last*"):
        p.unlink()  # as a kill between the two checkpoints of a validation leaves it
    assert main(["train", "--resume", str(run)]) == 0
    assert train_losses(run) == train_losses(tmp_path / "whole")


@pytest.fixture
def six_steps(text, tmp_path):
    run = tmp_path / "run"
    assert tiny_train(text, run, "--steps", "6", "--lr", "0.01") == 0
    return run


def test_a_typed_flag_is_compared_whatever_its_value(six_steps, capsys):
    assert main(["train", "--resume", str(six_steps), "--lr", "0.008"]) == 1  # the default, not this run's value
    assert "--lr 0.008 differs from the resumed run's 0.01" in capsys.readouterr().err
    assert main(["train", "--resume", str(six_steps), "--lr", "0.01", "--hidden", "24"]) == 0  # the run's own values


def test_more_steps_are_applied_and_said(six_steps, capsys):
    assert main(["train", "--resume", str(six_steps), "--steps", "9", "--eval-every", "3"]) == 0
    out = capsys.readouterr().out
    assert "resumed at step 6; changed: --eval-every 3 (was 5), --steps 9 (was 6)" in out
    assert len(train_losses(six_steps)) == 9 and step_of(six_steps, "last") == 9
    assert [r["step"] for r in records(six_steps) if "val_loss" in r] == [5, 6, 9]


def test_a_new_time_budget_counts_the_steps_again(six_steps, capsys):
    assert main(["train", "--resume", str(six_steps), "--minutes", "0.02"]) == 0
    steps = json.loads((six_steps / "last.json").read_text())["config"]["steps"]
    assert steps >= 16 and len(train_losses(six_steps)) == steps  # 10 steps timed, then what fits
    out = capsys.readouterr().out
    assert "changed: --minutes 0.02 (was 10.0)" in out and first_count(out, "0.02") >= 16


def test_the_same_text_may_be_given_at_another_path(six_steps, text, tmp_path):
    moved = tmp_path / "moved.txt"
    moved.write_bytes(text.read_bytes())
    assert main(["train", "--resume", str(six_steps), "--text", str(moved), "--steps", "7"]) == 0
    assert json.loads((six_steps / "last.json").read_text())["config"]["text"] == str(moved)
