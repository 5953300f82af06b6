"""The catalogue of bad inputs in docs/errors.md, one test per row, and what cannot be a row:
a closed pipe, Ctrl-C at start-up, a disk that fails mid-run, a byte-order mark, standard input."""
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
import torch
from charlm_helpers import TINY, folder_digest, make_text, tiny_train, train_losses

from rnnkit.app import checkpoint, metrics
from rnnkit.cli import main

DOC = Path(__file__).parent.parent / "docs" / "errors.md"
ROW = re.compile(r"^\| `(rnnkit[^`]*)` \| (\d) \| `(.*)` \|$")


def catalogue() -> list[tuple[str, int, str]]:
    rows = [ROW.match(line) for line in DOC.read_text(encoding="utf-8").splitlines()]
    return [(m[1], int(m[2]), m[3]) for m in rows if m]


@pytest.fixture(scope="module")
def places(tmp_path_factory):
    """What the catalogue's words stand for: a finished run, its text, and files of every kind."""
    root = tmp_path_factory.mktemp("catalogue")
    text = make_text(root / "text.txt")
    assert tiny_train(text, root / "run", "--steps", "6") == 0
    files = {"empty": b"", "binary": b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "latin-1": "naïve café\n".encode("latin-1"),
             "utf-16": "hello there\n".encode("utf-16"), "short": b"too short for a chunk",
             "other": "ROMEO: wherefore art thou?\n".encode() * 40, "file": b"my notes\n"}
    found = {}
    for name, content in files.items():
        found[f"<{name}>"] = root / name
        found[f"<{name}>"].write_bytes(content)
    torch.save({"w": torch.zeros(2)}, root / "model.pt")
    (root / "tagger").mkdir()
    checkpoint.save(root / "tagger", "best", {"step": 1}, {"w": torch.zeros(2)}, application="tagger")
    (root / "composer").mkdir()
    checkpoint.save(root / "composer", "best", {"step": 1}, {"w": torch.zeros(2)}, application="compose")
    (root / "user-dir").mkdir()
    (root / "user-dir" / "metrics.jsonl").write_text("epoch,loss\n1,0.5\n")
    (root / "empty-dir").mkdir()
    best = json.loads((root / "run" / "best.json").read_text())["weights"]
    return {**found, "<run>": root / "run", "<text>": text, "<weights>": root / "run" / best, "<out>": root / "out",
            "<empty-dir>": root / "empty-dir", "<missing>": root / "missing", "<pickle>": root / "model.pt",
            "<tagger>": root / "tagger", "<composer>": root / "composer", "<user-dir>": root / "user-dir",
            "<cpus>": os.cpu_count()}


def substitute(s: str, places: dict) -> str:
    return re.sub(r"<[a-z0-9-]+>", lambda m: str(places[m[0]]), s)


def unquoted(s: str) -> str:
    """argparse quotes the choices it lists in some Python versions and not in others."""
    return re.sub(r"'([\w-]+)'", r"\1", s)


@pytest.mark.parametrize("command, status, message", catalogue(), ids=[row[0] for row in catalogue()])
def test_each_bad_input_gets_the_line_the_docs_promise(places, capsys, command, status, message):
    run_before = folder_digest(places["<run>"])
    user_metrics = (places["<user-dir>"] / "metrics.jsonl").read_bytes()
    argv = shlex.split(substitute(command, places))[1:]
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as e:  # argparse: the command line could not be read
        code = e.code
    out, err = capsys.readouterr()
    expected = substitute(message, places)
    if status == 2:
        err, expected = unquoted(err), unquoted(expected)
    pattern = ".*".join(map(re.escape, expected.split("...")))
    assert code == status and err.count("\n") == 1 and re.fullmatch(pattern, err.strip()), err
    assert out == ""
    assert folder_digest(places["<run>"]) == run_before  # nothing on disk is lost
    assert not places["<out>"].exists()  # refused before any file is written
    assert (places["<user-dir>"] / "metrics.jsonl").read_bytes() == user_metrics


def test_the_catalogue_covers_every_command_and_flag_range():
    commands = [shlex.split(c)[1:2] for c, _, _ in catalogue()]
    assert {"train", "sample", "eval", "inspect", "gradients"} <= {c[0] for c in commands if c}
    assert len(catalogue()) >= 90


def rnnkit_command() -> list[str]:
    return [str(Path(sys.executable).parent / "rnnkit")]


def test_output_to_a_closed_pipe_ends_quietly(places):
    proc = subprocess.Popen([*rnnkit_command(), "sample", "--checkpoint", str(places["<run>"]), "--length", "1000000",
                             "--device", "cpu"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert len(proc.stdout.read(20)) == 20
    proc.stdout.close()  # what `| head -c 20` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 128 + signal.SIGPIPE and err == ""


def maps_torch(pid: int) -> bool:
    try:
        return "libtorch" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


@pytest.mark.parametrize("delay", [0.0, 0.4, 1.2])
def test_ctrl_c_at_start_up_prints_one_line_and_exits_130(places, tmp_path, delay):
    """SIGINT while torch is being imported (it maps libtorch first) and a little later."""
    proc = subprocess.Popen([*rnnkit_command(), "train", "--text", str(places["<text>"]), "--run-dir", str(tmp_path / "r"),
                             *TINY, "--steps", "100000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300  # a loaded machine can take this long to start Python and map libtorch
    while not maps_torch(proc.pid):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.002)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGINT and "Traceback" not in err
    if "stopped by SIGINT" not in out:  # still starting: nothing trained
        assert err == "rnnkit: interrupted\n"
    if delay == 0.0:
        assert err == "rnnkit: interrupted\n"


def test_a_disk_failing_mid_run_is_one_line_and_the_run_resumes(places, tmp_path, capsys, monkeypatch):
    run = tmp_path / "run"
    real_append = metrics.MetricsLog.append

    def fail_at_step_8(log, record):
        if record["step"] == 8:
            raise PermissionError(13, "Permission denied", str(log.path))
        real_append(log, record)

    monkeypatch.setattr(metrics.MetricsLog, "append", fail_at_step_8)
    capsys.readouterr()
    assert tiny_train(places["<text>"], run, "--steps", "12") == 1
    err = capsys.readouterr().err.splitlines()[-1]
    assert err == f"rnnkit: error: cannot write or read {run / 'metrics.jsonl'}: Permission denied"
    assert json.loads((run / "last.json").read_text())["step"] == 5  # its latest validation
    monkeypatch.undo()
    assert main(["train", "--resume", str(run)]) == 0
    assert tiny_train(places["<text>"], tmp_path / "whole", "--steps", "12") == 0
    assert train_losses(run) == train_losses(tmp_path / "whole")


def test_a_byte_order_mark_is_dropped_and_standard_input_is_a_text(places, tmp_path, capsys):
    text = places["<text>"].read_bytes()
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbf" + text)
    assert tiny_train(tmp_path / "bom.txt", tmp_path / "bom", "--steps", "1") == 0
    vocab = json.loads((tmp_path / "bom" / "last.json").read_text())["vocab"]
    assert vocab == sorted(set(text.decode()))  # no "\ufeff"
    scored = []
    for how in ("-", "/dev/stdin"):
        done = subprocess.run([*rnnkit_command(), "eval", "--checkpoint", str(places["<run>"]), "--text", how,
                               "--device", "cpu"], input=text, capture_output=True)
        assert done.returncode == 0, done.stderr
        scored.append(done.stdout.decode().split(": ", 1)[1])
    capsys.readouterr()
    assert main(["eval", "--checkpoint", str(places["<run>"]), "--text", str(places["<text>"]), "--device", "cpu"]) == 0
    assert scored == [capsys.readouterr().out.split(": ", 1)[1]] * 2  # the same text, the same score


def test_standard_input_from_a_terminal_is_refused(places, capsys, monkeypatch):
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    assert main(["eval", "--checkpoint", str(places["<run>"]), "--text", "-"]) == 1
    assert capsys.readouterr().err == ("rnnkit: error: --text - reads standard input, which is a terminal here: "
                                       "pipe the text in (< FILE)\n")


def test_a_ctrnn_whose_euler_step_overshoots_warns():
    import rnnkit

    with pytest.warns(UserWarning, match=r"dt=20 / tau=10.0 = 2 > 1: the Euler step .* unstable"):
        rnnkit.CTRNN(3, 4, dt=20)
    with pytest.warns(UserWarning, match=r"dt=3 / tau=2 = 1.5 > 1"):
        rnnkit.CTRNNCell(3, 4, dt=3, tau=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rnnkit.CTRNN(3, 4, dt=10)  # dt / tau = 1: h' = r, the largest stable step
        rnnkit.CTRNN(3, 4)
