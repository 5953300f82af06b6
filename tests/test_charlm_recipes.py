"""The recipe `rnnkit train` chooses from the device: the table, the choice on described
machines, flags over it, the line it prints, bfloat16, the pass limit, and a run that keeps
its recipe when it is resumed and evaluated."""
import dataclasses
import json
import math
import signal
from types import SimpleNamespace

import pytest
import torch
from charlm_helpers import make_text, tiny_train, train_losses
from safetensors.torch import load_file

from rnnkit.app.options import check
from rnnkit.charlm import train as train_module
from rnnkit.charlm.config import TrainConfig
from rnnkit.charlm.recipes import RECIPES, Machine, apply, choose
from rnnkit.charlm.train import _calibrate, train
from rnnkit.cli import main

H100 = Machine("cuda", 16, "NVIDIA H100 80GB HBM3", 79.1, True)
SMALL_GPU = Machine("cuda", 8, "NVIDIA GeForce GTX 1080", 7.9, False)


@pytest.fixture(scope="module")
def text(tmp_path_factory):
    return make_text(tmp_path_factory.mktemp("text") / "tiny.txt")


@pytest.mark.parametrize("machine, name", [
    (Machine("cpu", 1), "cpu"), (Machine("cpu", 2), "cpu"), (Machine("cpu", 7), "cpu"),
    (Machine("cpu", 2, bfloat16=True), "cpu-bf16"), (Machine("cpu", 8), "cpu-wide"), (Machine("cpu", 64), "cpu-wide"),
    (H100, "cuda"), (Machine("cuda", 4, "NVIDIA A16", 16.0, True), "cuda"), (SMALL_GPU, "cuda-small"),
])
def test_the_recipe_is_chosen_from_the_device(machine, name):
    assert choose(machine)[0] == name


def test_the_machine_is_described_from_torch(monkeypatch):
    for bf16 in (False, True):
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: bf16)
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
        assert Machine.of(torch.device("cpu"), 3) == Machine("cpu", 3, bfloat16=bf16)
    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported")  # a torch without them: float32
    assert Machine.of(torch.device("cpu"), 0) == Machine("cpu", torch.get_num_threads())
    monkeypatch.setattr(torch.cuda, "get_device_properties",
                        lambda device: SimpleNamespace(name="NVIDIA H100 80GB HBM3", total_memory=80 * 2 ** 30))
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    assert Machine.of(torch.device("cuda:0"), 4) == Machine("cuda", 4, "NVIDIA H100 80GB HBM3", 80.0, True)


def test_every_recipe_sets_the_same_flags_within_their_ranges():
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    for settings in RECIPES.values():
        assert settings.keys() == RECIPES["cpu"].keys() and settings.keys() <= fields
        check(dataclasses.replace(TrainConfig(), **settings))


def test_the_cpu_recipe_is_the_defaults_help_shows():
    assert {name: getattr(TrainConfig(), name) for name in RECIPES["cpu"]} == RECIPES["cpu"]


def test_the_line_says_what_was_chosen_and_why():
    cfg, line = apply(TrainConfig(), frozenset(), H100)
    assert line == ("recipe: cuda because a CUDA GPU (NVIDIA H100 80GB HBM3) with 79 GiB, at least 16: --layers 2, "
                    "--hidden 1024, --dropout 0.25, --batch 128, --bptt 256, --lr 0.002, --min-lr 0.0001, "
                    "--warmup 100, --weight-decay 0.1, --max-passes 30, --eval-every 250, --patience 4, "
                    "--precision bfloat16")
    assert {name: getattr(cfg, name) for name in RECIPES["cuda"]} == RECIPES["cuda"] and cfg.recipe == "cuda"
    assert apply(TrainConfig(), frozenset(), Machine("cpu", 2))[1].startswith(
        "recipe: cpu because no GPU, 2 CPU thread(s), fewer than 8: --layers 1, --hidden 256,")
    assert apply(TrainConfig(), frozenset(), Machine("cpu", 2, bfloat16=True))[1].startswith(
        "recipe: cpu-bf16 because no GPU, 2 CPU thread(s), fewer than 8, bfloat16 in hardware: --layers 1, "
        "--hidden 512,")


def test_a_typed_flag_overrides_the_recipe_even_with_the_default_value():
    cfg, line = apply(TrainConfig(hidden=256, lr=8e-3), frozenset({"hidden", "lr"}), H100)
    assert (cfg.hidden, cfg.lr, cfg.layers, cfg.batch) == (256, 8e-3, 2, 128)
    assert "--hidden 1024" not in line and line.endswith("--precision bfloat16; typed: --hidden 256, --lr 0.008")


def test_bfloat16_only_where_the_gpu_has_it_unless_typed():
    cfg, line = apply(TrainConfig(), frozenset(), SMALL_GPU)
    assert cfg.recipe == "cuda-small" and cfg.hidden == 512 and cfg.precision == "float32"
    assert "with 8 GiB, less than 16; float32, the device having no bfloat16:" in line
    assert apply(TrainConfig(precision="bfloat16"), frozenset({"precision"}), SMALL_GPU)[0].precision == "bfloat16"


def test_the_recipe_flag_names_the_recipe_on_any_device():
    cfg, line = apply(TrainConfig(recipe="cuda-small"), frozenset({"recipe"}), Machine("cpu", 2))
    assert (cfg.recipe, cfg.hidden, cfg.layers, cfg.precision) == ("cuda-small", 512, 2, "float32")
    assert line.startswith("recipe: cuda-small because --recipe; float32, the device having no bfloat16: --layers 2,")


def calibrated(max_passes: float, step_seconds: float) -> tuple[int, str]:
    t = SimpleNamespace(cfg=TrainConfig(minutes=10, eval_every=200, max_passes=max_passes), step=10, chunks=30,
                        world=1, device=torch.device("cpu"))
    said = _calibrate(t, step_seconds, 2.0, 5.0)
    return t.cfg.steps, said


def test_max_passes_ends_a_budgeted_run_after_that_many_passes():
    steps, said = calibrated(2.5, 0.1)
    assert steps == 75 and said.endswith("; the run ends at step 75, after 2.5 passes over the text")
    assert calibrated(0, 0.1)[0] == 10 + int((600 - 5 - 2) / (0.1 + 2 / 200))  # no limit: what fits
    steps, said = calibrated(2.5, 100.0)  # fewer steps fit than the passes allow
    assert steps == 15 and said == "15 steps fit in 10 minutes (100.000 s a step, 2.0 s a validation)"


def test_a_run_prints_its_recipe_first_and_records_it(text, tmp_path, capsys):
    run = tmp_path / "run"
    assert tiny_train(text, run, "--steps", "5") == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        "recipe: cpu because no GPU, 1 CPU thread(s), fewer than 8: --layers 1, --dropout 0, --lr 0.008, "
        "--min-lr 0.0001, --weight-decay 0, --max-passes 0, --patience 0, --precision float32; "
        "typed: --hidden 24, --batch 4, --bptt 16, --warmup 2, --eval-every 5")
    assert json.loads((run / "last.json").read_text())["config"]["recipe"] == "cpu"


def test_a_resumed_run_and_eval_keep_the_recipe(text, tmp_path, capsys, monkeypatch):
    run = tmp_path / "run"
    assert tiny_train(text, run, "--recipe", "cuda-small", "--steps", "6") == 0
    began = json.loads((run / "last.json").read_text())
    assert (began["config"]["dropout"], began["config"]["weight_decay"], began["model"]["layers"]) == (0.2, 0.1, 2)
    capsys.readouterr()
    # resumed on a machine whose own recipe differs (bfloat16 included): the run's is kept
    monkeypatch.setattr(train_module.Machine, "of", classmethod(lambda cls, device, threads: H100))
    assert main(["train", "--resume", str(run), "--steps", "12"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "recipe: cuda-small because a resumed run keeps its own"
    resumed = json.loads((run / "last.json").read_text())
    assert resumed["step"] == 12 and {**resumed["config"], "steps": 6, "resume": None} == began["config"]

    assert main(["eval", "--checkpoint", str(run), "--batch", "4", "--bptt", "16"]) == 0
    scored = float(capsys.readouterr().out.split("loss ")[1].split(" nats")[0])
    assert scored == pytest.approx(json.loads((run / "best.json").read_text())["best_val_loss"], abs=1e-4)


def test_bfloat16_trains_under_autocast_and_resumes_exactly(text, tmp_path):
    dtypes = []

    def watch(trainer):  # the read-out's output dtype in steps 2 to 4 (no validation in between)
        if trainer.step == 1:
            trainer.hook = trainer.model.head.register_forward_hook(lambda m, i, out: dtypes.append(out.dtype))
        if trainer.step == 4:
            trainer.hook.remove()

    def config(name: str, precision: str) -> TrainConfig:
        return TrainConfig(text=str(text), run_dir=str(tmp_path / name), hidden=24, embedding=8, batch=4, bptt=16,
                           warmup=2, sample_length=0, device="cpu", threads=1, steps=8, eval_every=4,
                           layers=2, dropout=0.2, precision=precision)

    assert train(config("float32", "float32"), on_step=watch) == 0
    assert dtypes == [torch.float32] * 3
    dtypes.clear()
    assert train(config("whole", "bfloat16"), on_step=watch) == 0
    assert dtypes == [torch.bfloat16] * 3
    assert all(math.isfinite(x) for x in train_losses(tmp_path / "whole"))
    assert train_losses(tmp_path / "whole") != train_losses(tmp_path / "float32")

    def interrupt_at_step_4(trainer):
        if trainer.step == 4:
            signal.raise_signal(signal.SIGINT)  # what Ctrl-C does

    assert train(config("cut", "bfloat16"), on_step=interrupt_at_step_4) == 128 + signal.SIGINT
    last = load_file(str(tmp_path / "cut" / json.loads((tmp_path / "cut" / "last.json").read_text())["weights"]))
    assert last["state.0"].dtype == torch.float32  # the carried state stays float32 under autocast
    assert main(["train", "--resume", str(tmp_path / "cut")]) == 0
    assert train_losses(tmp_path / "cut") == train_losses(tmp_path / "whole")
