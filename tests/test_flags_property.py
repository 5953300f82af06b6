"""Drawn combinations of flags, valid and not, for every command: each either runs and exits 0
or exits non-zero with one line; never a traceback, never 0 when a value is out of range.

Which values are valid is written here from the ranges the docs promise, not read from the
code. Runs are tiny (one or two steps, a few units) and in-process, so that a few dozen
examples take seconds.
"""
import uuid

import pytest
from charlm_helpers import make_text, tiny_train
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnkit.cli import main

# flag -> (valid values, values out of range or unreadable)
TRAIN = {
    "--bptt": (["4", "8"], ["0", "-3", "x", "2.5"]),
    "--batch": (["1", "2"], ["0", "-1"]),
    "--layers": (["1", "2"], ["0"]),
    "--hidden": (["3", "6"], ["0", "-2"]),
    "--embedding": (["2"], ["0"]),
    "--dropout": (["0", "0.3"], ["1", "1.5", "-0.1", "nan"]),
    "--cell": (["lstm", "gru-reset-before", "jordan", "ctrnn", "rnn-relu"], ["elman"]),
    "--engine": (["auto", "reference", "fused"], ["fast"]),
    "--val-fraction": (["0.1", "0.5"], ["0", "1", "nan", "-0.2"]),
    "--steps": (["1", "2"], ["-5"]),
    "--lr": (["0.01", "1e-5"], ["0", "-1", "nan", "inf"]),
    "--min-lr": (["0", "1e-4"], ["-1", "nan"]),
    "--warmup": (["0", "3"], ["-5"]),
    "--weight-decay": (["0", "0.1"], ["nan", "-1"]),
    "--max-passes": (["0", "2.5"], ["-1", "nan"]),
    "--clip": (["0", "1"], ["nan", "-1", "inf"]),
    "--eval-every": (["1", "2"], ["0", "-1"]),
    "--patience": (["0", "1"], ["-1"]),
    "--sample-length": (["0", "3"], ["-1"]),
    "--seed": (["0", "7"], ["-1", "4294967296"]),
    "--threads": (["0", "1"], ["-1", "100000"]),
    "--recipe": (["auto", "cpu", "cuda-small"], ["gpu"]),
    "--precision": (["float32", "bfloat16"], ["float16"]),
}
SAMPLE = {
    "--length": (["0", "5"], ["-5", "x"]),
    "--temperature": (["0.5", "1e-45", "3"], ["0", "-1", "nan", "inf"]),
    "--top-k": (["0", "1", "100"], ["-3"]),
    "--seed": (["0", "4294967295"], ["-1"]),
    "--prime": (["A", "ANNE:\n"], ["", "Ж"]),
}
EVAL = {
    "--batch": (["1", "3", "1000"], ["0", "-2"]),
    "--bptt": (["1", "7", "100000"], ["0", "-1"]),
}
INSPECT = {
    "--max-chars": (["1", "30"], ["0", "-1"]),
    "--heatmap-chars": (["2"], ["0"]),
    "--heatmap-units": (["3"], ["-1"]),
    "--top": (["1", "4"], ["0"]),
}
GRADIENTS = {
    "--cell": (["rnn", "lstm,ctrnn"], ["elman", ""]),
    "--init": (["torch", "torch,chrono"], ["xavier"]),
    "--lag": (["4", "6"], ["3", "0"]),
    "--hidden": (["2"], ["0"]),
    "--batch": (["1", "3"], ["0"]),
    "--train-steps": (["0", "1"], ["-1"]),
    "--seed": (["3"], ["-1"]),
}


def drawn_flags(table):
    """(argv, whether some value is out of range): each flag absent or valid, and half the
    time one of them (drawn) out of range."""
    @st.composite
    def flags(draw):
        argv, bad = [], draw(st.one_of(st.none(), st.sampled_from(sorted(table))))
        for flag, (valid, invalid) in table.items():
            if flag == bad:
                argv += [flag, draw(st.sampled_from(invalid))]
            elif draw(st.booleans()):
                argv += [flag, draw(st.sampled_from(valid))]
        return argv, bad is not None

    return flags()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("drawn")
    text = make_text(root / "text.txt", chars=1500)
    assert tiny_train(text, root / "run", "--steps", "2") == 0
    return root, text


def run_and_judge(argv, refused, capsys):
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as e:  # argparse could not read the command line
        code = e.code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if code != 0:
        assert err.splitlines()[-1].startswith("rnnkit") and ": error: " in err.splitlines()[-1], err
        assert sum(": error: " in line for line in err.splitlines()) == 1
    assert not (refused and code == 0), f"{argv} exited 0"
    return code


COMMON = settings(max_examples=12, deadline=None, database=None, derandomize=True,
                  suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@COMMON
@given(drawn_flags(TRAIN))
def test_drawn_train_flags(world, capsys, drawn):
    root, text = world
    flags, refused = drawn
    run = root / uuid.uuid4().hex
    code = run_and_judge(["train", "--text", str(text), "--run-dir", str(run), "--device", "cpu", "--steps", "1",
                          "--hidden", "4", "--embedding", "3", "--batch", "2", "--bptt", "8", "--sample-length", "2",
                          "--threads", "1", *flags], refused, capsys)
    if refused:
        assert not run.exists()  # refused before any file is written


@COMMON
@given(drawn_flags(SAMPLE))
def test_drawn_sample_flags(world, capsys, drawn):
    root, _ = world
    run_and_judge(["sample", "--checkpoint", str(root / "run"), "--device", "cpu", "--length", "3", *drawn[0]],
                  drawn[1], capsys)


@COMMON
@given(drawn_flags(EVAL))
def test_drawn_eval_flags(world, capsys, drawn):
    root, text = world
    run_and_judge(["eval", "--checkpoint", str(root / "run"), "--text", str(text), "--device", "cpu", *drawn[0]],
                  drawn[1], capsys)


@settings(COMMON, max_examples=4)
@given(drawn_flags(INSPECT))
def test_drawn_inspect_flags(world, capsys, drawn):
    root, _ = world
    out = root / uuid.uuid4().hex
    run_and_judge(["inspect", "--checkpoint", str(root / "run"), "--text", "ANNE:\nthe cat", "--out", str(out),
                   "--device", "cpu", "--heatmap-chars", "4", "--heatmap-units", "2", *drawn[0]], drawn[1], capsys)
    if drawn[1]:
        assert not out.exists()


@settings(COMMON, max_examples=6)
@given(drawn_flags(GRADIENTS))
def test_drawn_gradients_flags(world, capsys, drawn):
    root, _ = world
    out = root / uuid.uuid4().hex
    run_and_judge(["gradients", "--out", str(out), "--lag", "4", "--hidden", "2", "--batch", "2", "--threads", "1",
                   *drawn[0]], drawn[1], capsys)
    if drawn[1]:
        assert not out.exists()
