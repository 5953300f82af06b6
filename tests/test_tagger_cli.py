"""``rnnkit tag``: a tiny run end to end, eval and predict, CoNLL data, resume, and bad input
that gets one line, exits non-zero and writes nothing."""
import json
import signal
from pathlib import Path

import pytest
from cli_helpers import expect_one_line_error
from safetensors.torch import load_file
from tagger_helpers import TINY, as_conll, make_data, tiny_train

from rnnkit.cli import main
from rnnkit.tagger.config import TrainConfig
from rnnkit.tagger.data import parse
from rnnkit.tagger.train import train

CHARLM_CHECKPOINT = Path(__file__).parent / "fixtures" / "charlm_v1"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A finished tiny run on 120 synthetic utterances, scored at the end on 40 others."""
    root = tmp_path_factory.mktemp("tag")
    make_data(root / "train.txt")
    make_data(root / "test.txt", n=40, seed=1)
    assert tiny_train(root / "train.txt", root / "run", "--epochs", "12", "--test-data", str(root / "test.txt")) == 0
    return root


def records(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_a_run_learns_and_leaves_checkpoints_metrics_and_plot(runs):
    run = runs / "run"
    assert {p.name for p in run.iterdir()} >= {"best.json", "last.json", "metrics.jsonl", "loss.png"}
    assert json.loads((run / "best.json").read_text())["format"] == "rnnkit.tagger/1"
    log = records(run)
    validations = [r for r in log if "val_f1" in r]
    assert len(validations) == 12 and validations[-1]["val_f1"] > validations[0]["val_f1"]
    test = [r for r in log if "test_f1" in r]
    assert len(test) == 1 and test[0]["test_f1"] > 90 and test[0]["test_intent_accuracy"] > 90


def test_eval_scores_the_run_test_data_or_a_file(runs, capsys):
    capsys.readouterr()
    assert main(["tag", "eval", "--checkpoint", str(runs / "run"), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    test = next(r for r in records(runs / "run") if "test_f1" in r)
    assert out.startswith(f"{runs / 'test.txt'}: 40 utterances, slot F1 {test['test_f1']:.2f}")
    picture = runs / "confusion.png"
    assert main(["tag", "eval", "--checkpoint", str(runs / "run"), "--data", str(runs / "train.txt"),
                 "--confusion", str(picture), "--device", "cpu"]) == 0
    assert "120 utterances" in capsys.readouterr().out and picture.read_bytes()[:4] == b"\x89PNG"


def test_predict_writes_lines_that_read_back(runs, capsys, tmp_path):
    capsys.readouterr()
    assert main(["tag", "predict", "--checkpoint", str(runs / "run"), "--text", "show flights from denver to boston",
                 "--device", "cpu"]) == 0
    [u] = parse(capsys.readouterr().out, "stdout")
    assert u.words == ("show", "flights", "from", "denver", "to", "boston")
    assert u.tags == ("O", "O", "O", "B-fromloc", "O", "B-toloc") and u.intent == "flight"
    utterances = tmp_path / "u.txt"
    utterances.write_text("how much is a ticket from Dallas to New York\n\nshow flights from zurich to atlanta\n")
    assert main(["tag", "predict", "--checkpoint", str(runs / "run"), "--text-file", str(utterances)]) == 0
    first, second = parse(capsys.readouterr().out, "stdout")
    assert first.intent == "fare" and first.tags[-3:-1] == ("O", "B-toloc")
    assert main(["tag", "predict", "--checkpoint", str(runs / "run"), "--text",
                 "how much is a ticket from dallas to new york"]) == 0
    assert parse(capsys.readouterr().out, "stdout")[0].tags == first.tags  # capitals: read as their lower case
    assert second.tags[3] == "B-fromloc"  # zurich: never seen, <unk> in a city's place


@pytest.mark.parametrize("how", ["conll", "intent weight 0"])
def test_conll_data_or_intent_weight_0_trains_a_tagger_without_intents(tmp_path, capsys, how):
    data = make_data(tmp_path / "train.txt")
    data, extra = (as_conll(data, tmp_path / "train.conll"), []) if how == "conll" else (data, ["--intent-weight", "0"])
    assert tiny_train(data, tmp_path / "run", "--epochs", "2", "--cell", "gru", "--bidirectional", "0",
                      "--window", "1", *extra) == 0
    assert not any(k.startswith("model.intent.") for k in load_file(next((tmp_path / "run").glob("best-*"))))
    capsys.readouterr()
    assert main(["tag", "predict", "--checkpoint", str(tmp_path / "run"), "--text", "flights from boston"]) == 0
    out = capsys.readouterr().out
    assert " <=> " not in out and out.endswith("\n\n") and out.splitlines()[2].split()[0] == "boston"
    assert main(["tag", "eval", "--checkpoint", str(tmp_path / "run"), "--data", str(tmp_path / "train.txt")]) == 0
    assert "intent accuracy" not in capsys.readouterr().out  # no intent head, so no intent accuracy


@pytest.mark.parametrize("written", ["now", "before --intent-from"])
def test_resume_continues_exactly_where_the_interrupted_run_was(tmp_path, written):
    """Also from a checkpoint written before --intent-from existed: its run reads the final states."""
    data = make_data(tmp_path / "train.txt")
    intent_from = "max" if written == "now" else "ends"
    extra = ["--epochs", "3", "--dropout", "0.3", "--layers", "2", "--intent-from", intent_from]
    assert tiny_train(data, tmp_path / "whole", *extra) == 0

    def interrupt_at_step_20(trainer):  # in mid-epoch: 108 training utterances make 14 batches of 8
        if trainer.step == 20:
            signal.raise_signal(signal.SIGINT)

    cfg = TrainConfig(data=str(data), run_dir=str(tmp_path / "cut"), hidden=24, embedding=12, batch=8, warmup=5,
                      lr=1e-2, device="cpu", threads=1, epochs=3, dropout=0.3, layers=2, intent_from=intent_from)
    assert train(cfg, on_step=interrupt_at_step_20) == 128 + signal.SIGINT
    last = tmp_path / "cut" / "last.json"
    meta = json.loads(last.read_text())
    assert meta["step"] == 20
    if written != "now":
        del meta["config"]["intent_from"], meta["model"]["intent_from"]
        last.write_text(json.dumps(meta))
    assert main(["tag", "train", "--resume", str(tmp_path / "cut")]) == 0
    logged = {k: [(r["step"], r.get("loss"), r.get("val_f1")) for r in records(tmp_path / k)] for k in ("whole", "cut")}
    assert logged["cut"] == logged["whole"] and len(logged["whole"]) == 3 * 14 + 3
    whole, cut = (load_file(str(tmp_path / k / json.loads((tmp_path / k / "last.json").read_text())["weights"]))
                  for k in ("whole", "cut"))
    assert all((whole[k] == cut[k]).all() for k in whole if k.startswith("model."))


def test_a_resumed_run_keeps_its_configuration(runs, capsys):
    expect_one_line_error(["tag", "train", "--resume", str(runs / "run"), "--hidden", "64"], capsys,
                          "--hidden 64 differs from the resumed run's 24")


@pytest.mark.parametrize("name, content, words", [
    ("missing.txt", None, ["cannot read", "missing.txt"]),
    ("empty.txt", "", ["empty.txt is empty"]),
    ("no_separator.txt", "a:O b:O <=> x\nc:O d:O\n", ["no_separator.txt, line 2", "<=>"]),
    ("no_tag.txt", "a:O <=> x\n\na:O b <=> y\n", ["no_tag.txt, line 3", "'b' is not word:TAG"]),
])
def test_bad_training_data_writes_nothing(tmp_path, capsys, name, content, words):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    expect_one_line_error(["tag", "train", "--data", str(path), "--run-dir", str(tmp_path / "run"), *TINY],
                          capsys, *words)
    assert not (tmp_path / "run").exists()


def test_an_unknown_tag_in_an_evaluation_file_is_refused(runs, capsys, tmp_path):
    bad = tmp_path / "eval.txt"
    bad.write_text("show:O flights:O <=> flight\nto:O paris:B-country <=> flight\n")
    expect_one_line_error(["tag", "eval", "--checkpoint", str(runs / "run"), "--data", str(bad),
                           "--confusion", str(tmp_path / "c.png")], capsys, "eval.txt, utterance 2", "'B-country'")
    assert not (tmp_path / "c.png").exists()
    expect_one_line_error(["tag", "eval", "--checkpoint", str(runs / "run"), "--confusion",
                           str(tmp_path / "no" / "c.png")], capsys, "its folder does not exist")
    expect_one_line_error(["tag", "train", "--data", str(runs / "train.txt"), "--test-data", str(bad),
                           "--run-dir", str(tmp_path / "run"), *TINY], capsys, "'B-country'")
    assert not (tmp_path / "run").exists()


def test_checkpoints_of_another_application_are_refused_both_ways(runs, capsys):
    expect_one_line_error(["tag", "eval", "--checkpoint", str(CHARLM_CHECKPOINT)], capsys,
                          "is a checkpoint of rnnkit's char-LM, not of its slot tagger")
    expect_one_line_error(["tag", "predict", "--checkpoint", str(CHARLM_CHECKPOINT), "--text", "hi"], capsys, "char-LM")
    expect_one_line_error(["sample", "--checkpoint", str(runs / "run")], capsys,
                          "is a checkpoint of rnnkit's slot tagger, not of its char-LM")
    expect_one_line_error(["inspect", "--checkpoint", str(runs / "run"), "--text", "hi"], capsys,
                          "slot tagger, whose network reads words; this command runs a network on a text's characters")


def test_predict_needs_words(runs, capsys, tmp_path):
    expect_one_line_error(["tag", "predict", "--checkpoint", str(runs / "run"), "--text", "  "], capsys,
                          "--text holds no words")
    expect_one_line_error(["tag", "predict", "--checkpoint", str(runs / "run")], capsys, "--text", "--text-file")
    blank = tmp_path / "blank.txt"
    blank.write_text("\n \n")
    expect_one_line_error(["tag", "predict", "--checkpoint", str(runs / "run"), "--text-file", str(blank)], capsys,
                          "blank.txt holds no words")


@pytest.mark.parametrize("command, groups", [
    ("train", ["data", "model", "optimisation", "validation", "output", "system"]),
    ("eval", ["model", "data", "output", "system"]),
    ("predict", ["model", "input", "system"]),
])
def test_every_tag_subcommand_has_grouped_help_with_defaults(command, groups, capsys):
    with pytest.raises(SystemExit) as e:
        main(["tag", command, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert all(f"\n{g}:\n" in out for g in groups) and "(default:" in out
