"""The application layer: text reading, flags, the network registry, checkpoints named by
their application, and opening another application's model."""
import argparse
import ast
import dataclasses
import json
import os
import re
import shutil
from pathlib import Path

import pytest
import torch

import rnnkit
from rnnkit.app import checkpoint, metrics, networks
from rnnkit.app.errors import UserError
from rnnkit.app.options import Range, add_flags, from_args, option, typed
from rnnkit.app.text import read_text
from rnnkit.app.trained import open_trained
from rnnkit.charlm.config import CharLMError, TrainConfig
from rnnkit.cli import build_parser, main
from rnnkit.inspect.gradients import CELLS

FIXTURE = Path(__file__).parent / "fixtures" / "charlm_v1"


@pytest.mark.parametrize("content, message", [
    (None, "cannot read"), (b"", "is empty"), (b"abc\0def", "binary"), (b"caf\xe9 au lait", "not UTF-8"),
])
def test_bad_text_files(tmp_path, content, message):
    path = tmp_path / "t.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UserError, match=message):
        read_text(str(path))


def test_the_char_lm_error_is_the_user_error():
    assert CharLMError is UserError


def test_a_config_makes_grouped_flags_and_back():
    @dataclasses.dataclass
    class Config:
        size: int = option(3, "shape", "how big")
        name: str | None = option(None, "naming", "what it is called", metavar="NAME")

    parser = argparse.ArgumentParser()
    add_flags(parser, Config)
    assert from_args(Config, parser.parse_args(["--size", "5"])) == Config(size=5, name=None)
    assert [g.title for g in parser._action_groups[-2:]] == ["shape", "naming"]
    assert "how big (default: 3)" in parser.format_help()


@pytest.mark.parametrize("valid, var, inside, outside, shown", [
    (Range(1), "N", [1, 7], [0, -3], "N >= 1"),
    (Range(0, open_low=True), "X", [1e-300, 2.0], [0.0, -1.0, float("nan"), float("inf")], "X > 0"),
    (Range(0, 1, open_high=True), "X", [0.0, 0.5], [1.0, -0.1, float("nan")], "0 <= X < 1"),
    (Range(0, 1, open_low=True, open_high=True), "X", [0.05], [0.0, 1.0], "0 < X < 1"),
    (Range(4, 10), "N", [4, 10], [3, 11], "4 <= N <= 10"),
    (Range(high=2.5), "X", [-5.0, 2.5], [2.6, float("-inf")], "X <= 2.5"),
])
def test_a_range_holds_its_values_and_says_which(valid, var, inside, outside, shown):
    assert all(valid.holds(v) for v in inside) and not any(valid.holds(v) for v in outside)
    assert valid.describe(var) == shown


def test_a_flag_out_of_range_is_one_line_and_help_shows_the_range():
    @dataclasses.dataclass
    class Config:
        size: int = option(3, "shape", "how big", valid=Range(1))
        rate: float = option(0.5, "shape", "how fast", valid=Range(0, 1))

    parser = argparse.ArgumentParser()
    add_flags(parser, Config)
    assert "how big (default: 3; N >= 1)" in parser.format_help()
    assert "how fast (default: 0.5; 0 <= X <= 1)" in parser.format_help()
    with pytest.raises(UserError, match=r"^--size 0 is out of range: expected N >= 1$"):
        from_args(Config, parser.parse_args(["--size", "0"]))
    with pytest.raises(UserError, match=r"^--rate inf is out of range: expected 0 <= X <= 1 and finite$"):
        from_args(Config, parser.parse_args(["--rate", "inf"]))
    assert typed(Config, parser.parse_args(["--rate", "0.5"])) == {"rate"}  # typed, though it is the default
    assert typed(Config, parser.parse_args([])) == set()


def test_every_numeric_flag_of_every_command_declares_its_range_and_shows_it():
    commands = build_parser()._subparsers._group_actions[0].choices
    groups = {g: commands[g]._subparsers._group_actions[0].choices for g in ("tag", "compose")}
    shown = re.compile(r".*; ([-\d.e+]+ <=? )?[NX]( [<>]=? [-\d.e+]+)?\)", re.S)
    checked = 0
    for command, sub in [*((c, commands[c]) for c in ("train", "sample", "eval", "inspect", "gradients")),
                         *((f"{g} {c}", sub) for g, subs in groups.items() for c, sub in subs.items())]:
        numeric = [a for a in sub._actions if a.type in (int, float) and not a.choices]  # choices show themselves
        assert all(shown.fullmatch(a.help) for a in numeric), command
        checked += len(numeric)
    assert checked > 50


def test_a_failed_atomic_write_leaves_the_file_as_it_was_and_no_temporary(tmp_path):
    target = tmp_path / "metrics.jsonl"
    target.write_text("kept")

    def half_then_fail(tmp):
        tmp.write_text("half")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        checkpoint.atomic_write(target, half_then_fail)
    with pytest.raises(IsADirectoryError) as raised:  # an OSError about the temporary names the file asked for
        checkpoint.atomic_write(target, lambda tmp: tmp.mkdir() or open(tmp, "w"))
    assert raised.value.filename == str(target)
    assert target.read_text() == "kept" and sorted(p.name for p in tmp_path.iterdir()) == ["metrics.jsonl"]


def test_leftovers_of_a_killed_save_are_removed_and_nothing_else(tmp_path):
    checkpoint.save(tmp_path, "last", {"step": 5}, {"w": torch.zeros(2)}, application="charlm")
    committed = sorted(p.name for p in tmp_path.iterdir())
    leftovers = [".tmp-999999999", ".last-0000009.safetensors.tmp-999999999",  # the latter: of rnnkit before .tmp-PID
                 "last-0000010.safetensors", "best-0000003.safetensors"]
    (tmp_path / ".tmp-999999999").mkdir()  # as a kill while saving leaves it: safetensors' own temporary inside
    (tmp_path / ".tmp-999999999" / ".tmpuemxkj").write_bytes(b"half a fi")
    for name in leftovers[1:]:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / f".tmp-{os.getpid()}").mkdir()  # a living process is still writing there
    (tmp_path / ".tmp-123").write_bytes(b"a file, not a folder of rnnkit's")
    (tmp_path / "notes.safetensors").write_bytes(b"mine")
    assert checkpoint.clean_leftovers(tmp_path) == sorted(leftovers)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [*committed, f".tmp-{os.getpid()}", ".tmp-123", "notes.safetensors"])


def test_a_metrics_line_cut_by_a_kill_is_dropped_and_a_foreign_log_refused(tmp_path):
    log = metrics.MetricsLog(tmp_path / "metrics.jsonl")
    log.path.write_text('{"step": 1, "loss": 2.0}\n{"step": 2, "lo')
    assert log.read() == [{"step": 1, "loss": 2.0}]
    log.path.write_text("step,loss\n1,2.0\n")
    with pytest.raises(UserError, match="was not written by rnnkit"):
        log.read()


LAYERS = {  # the table of docs/charlm.md: name -> (layer class, options it must have)
    "lstm": (rnnkit.LSTM, {}), "lstm-peephole": (rnnkit.LSTM, {"peephole": True}),
    "lstm-no-forget": (rnnkit.LSTM, {"forget_gate": False}), "gru": (rnnkit.GRU, {"reset_after": True}),
    "gru-reset-before": (rnnkit.GRU, {"reset_after": False}), "rnn": (rnnkit.RNN, {"nonlinearity": "tanh"}),
    "rnn-relu": (rnnkit.RNN, {"nonlinearity": "relu"}), "jordan": (rnnkit.JordanRNN, {"output_size": 6}),
    "ctrnn": (rnnkit.CTRNN, {}),
}


@pytest.mark.parametrize("name", networks.NAMES)
def test_every_registered_name_builds_its_layer(name):
    cls, options = LAYERS[name]
    layer = networks.build(name, 3, 6, num_layers=2, batch_first=True)
    assert type(layer) is cls and layer.hidden_size == 6 and layer.num_layers == 2 and layer.batch_first
    for key, value in options.items():
        assert getattr(layer, key, getattr(layer.cell, key, None)) == value, key


def test_every_application_takes_its_networks_from_the_registry():
    assert set(LAYERS) == set(networks.NAMES)
    train = build_parser()._subparsers._group_actions[0].choices["train"]
    assert next(a for a in train._actions if a.dest == "cell").choices == networks.NAMES
    assert set(CELLS) <= set(networks.NAMES)
    with pytest.raises(UserError, match="unknown network 'elman'; choose from lstm, lstm-peephole"):
        networks.build("elman", 3, 6)
    with pytest.raises(UserError, match="cannot build a gru network: .*dropout"):
        networks.build("gru", 3, 6, dropout=2.0)


def test_state_helpers_take_tuples_and_tensors():
    h, c = torch.zeros(1, 2, 3, requires_grad=True), torch.ones(1, 2, 3, requires_grad=True)
    assert networks.state_from_tensors(networks.state_tensors((h, c)))[1] is c
    assert networks.state_from_tensors(networks.state_tensors(h)) is h
    assert not any(s.requires_grad for s in networks.detach((h, c))) and not networks.detach(h).requires_grad
    assert networks.output_state((h, c)) is h and networks.output_state(c) is c


def write_checkpoint(run: Path, application: str) -> Path:
    run.mkdir()
    checkpoint.save(run, "best", {"step": 1}, {"w": torch.zeros(2)}, application=application)
    return run


def test_a_checkpoint_names_its_application_and_another_one_is_refused(tmp_path):
    # "parser": an application that is not registered
    run = write_checkpoint(tmp_path / "parser", "parser")
    meta = json.loads((run / "best.json").read_text())
    assert meta["format"] == "rnnkit.parser/1" and checkpoint.application_of(meta) == "parser"
    with pytest.raises(UserError, match="is a checkpoint of rnnkit's parser, not of its char-LM"):
        checkpoint.load(str(run), application="charlm")
    with pytest.raises(UserError, match=r"is not an rnnkit checkpoint \(format rnnkit.charlm/1 or rnnkit.tagger/1 or rnnkit.compose/1 expected\)"):
        checkpoint.load(str(run), application=None)  # any application that is registered
    assert checkpoint.load(str(run), application="parser")[1]["w"].shape == (2,)


def test_the_commands_refuse_a_checkpoint_of_another_application(tmp_path, capsys):
    run = write_checkpoint(tmp_path / "parser", "parser")
    for argv, words in ((["sample", "--checkpoint", str(run)], "not of its char-LM"),
                        (["inspect", "--checkpoint", str(run), "--text", "a"], "is not an rnnkit checkpoint")):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err.startswith("rnnkit: error: ") and err.count("\n") == 1 and words in err


def test_open_trained_gives_the_char_lm_network_and_its_input():
    trained, meta, meta_path = open_trained(str(FIXTURE), torch.device("cpu"))
    assert meta_path == FIXTURE / "best.json" and meta["step"] == 2
    assert type(trained.network) is rnnkit.LSTM and not trained.network.training
    assert trained.description == "lstm, 1 layer(s) of 8"
    assert trained.inputs("ANNE:", "--text").shape == (1, 5, 4)  # (1, T, embedding)
    with pytest.raises(UserError, match="--text has 1 character"):
        trained.inputs("ANNE: Z", "--text")


def test_new_checkpoints_hold_the_model_config_and_need_no_training_flag(tmp_path, capsys):
    """A checkpoint's model is rebuilt from its own config: the training flags may be renamed."""
    run = tmp_path / "run"
    shutil.copytree(FIXTURE, tmp_path / "text")
    assert main(["train", "--text", str(tmp_path / "text" / "text.txt"), "--run-dir", str(run), "--hidden", "8",
                 "--embedding", "4", "--batch", "2", "--bptt", "16", "--steps", "2", "--eval-every", "2",
                 "--sample-length", "5", "--device", "cpu", "--threads", "1", "--val-fraction", "0.2"]) == 0
    meta = json.loads((run / "best.json").read_text())
    assert meta["model"] == dataclasses.asdict(TrainConfig(hidden=8, embedding=4).model)
    for name in ("cell", "layers", "hidden", "embedding", "dropout", "engine"):
        del meta["config"][name]  # as if every model flag had been renamed
    (run / "best.json").write_text(json.dumps(meta))
    capsys.readouterr()
    assert main(["sample", "--checkpoint", str(run), "--prime", "ANNE:", "--length", "5"]) == 0
    assert capsys.readouterr().out.startswith("ANNE:")


SRC = Path(rnnkit.__file__).parent
APPLICATIONS = ("charlm", "inspect", "tagger", "compose")


def rnnkit_imports(package: str) -> dict[str, set[str]]:
    """file -> the rnnkit packages its imports reach (relative imports resolved), lazy ones too."""
    found = {}
    for path in (SRC / package).glob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                names.add(package if node.level == 1 else (node.module or "").split(".")[0])
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
                names |= {m.split(".")[1] for m in modules if m.startswith("rnnkit.")}
        found[path.name] = names
    return found


@pytest.mark.parametrize("package", ["app", *APPLICATIONS])
def test_no_application_imports_another_and_the_layer_imports_none(package):
    for name, reached in rnnkit_imports(package).items():
        others = {a for a in (*APPLICATIONS, "cli") if a != package}
        assert not reached & others, f"{package}/{name} imports {reached & others}"
