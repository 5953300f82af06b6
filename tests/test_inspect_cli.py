"""rnnkit inspect on checkpoints saved here: files, and their numbers against gates computed by hand."""
import base64
import csv
import dataclasses
import json
import re

import numpy as np
import pytest
import torch

from rnnkit.app import checkpoint
from rnnkit.charlm.config import TrainConfig
from rnnkit.charlm.model import APPLICATION, CharLM
from rnnkit.cli import main

TEXT = "ANNE:\nthe cat sat on a mat.\n\nBOB:\nwe sang of kings and the dog ran to it.\n"


def save_model(run, cell: str, hidden: int = 6) -> CharLM:
    """A CharLM saved as a char-LM checkpoint; weights scaled up so that some gates saturate."""
    torch.manual_seed(0)
    cfg = TrainConfig(cell=cell, hidden=hidden, embedding=4, text="unused.txt")
    vocab = sorted(set(TEXT))
    model = CharLM(len(vocab), cfg.model)
    with torch.no_grad():
        for name, p in model.rnn.named_parameters():
            p.mul_(6.0 if name.startswith(("weight_ih", "bias")) else 1.0)
    run.mkdir()
    checkpoint.save(run, "best", {"step": 7, "model": dataclasses.asdict(cfg.model), "config": dataclasses.asdict(cfg),
                                  "vocab": vocab}, {"model." + k: v for k, v in model.state_dict().items()},
                    application=APPLICATION)
    return model


@torch.no_grad()
def lstm_by_hand(model: CharLM, ids: list[int]) -> dict[str, np.ndarray]:
    """i, f, g, o, c, h of a one-layer LSTM over the text, written from the equations."""
    sd = {k: v.double() for k, v in model.rnn.state_dict().items()}
    W, U, b = sd["weight_ih_l0"], sd["weight_hh_l0"], sd["bias_ih_l0"] + sd["bias_hh_l0"]
    H = U.shape[1]
    h, c, out = torch.zeros(H, dtype=torch.double), torch.zeros(H, dtype=torch.double), {k: [] for k in "ifgohc"}
    for x in model.embed.weight.double()[ids]:
        a = W @ x + U @ h + b
        i, f, g, o = torch.sigmoid(a[:H]), torch.sigmoid(a[H:2 * H]), torch.tanh(a[2 * H:3 * H]), torch.sigmoid(a[3 * H:])
        c = f * c + i * g
        h = o * torch.tanh(c)
        for k, v in zip("ifgohc", (i, f, g, o, h, c)):
            out[k].append(v)
    return {k: torch.stack(v).numpy() for k, v in out.items()}


@pytest.fixture(scope="module")
def lstm_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("inspect") / "run"
    model = save_model(run, "lstm")
    assert main(["inspect", "--checkpoint", str(run), "--text", TEXT, "--device", "cpu",
                 "--heatmap-chars", "20", "--heatmap-units", "4"]) == 0
    vocab = sorted(set(TEXT))
    return run / "inspect", lstm_by_hand(model, [vocab.index(ch) for ch in TEXT])


def test_heat_maps_of_every_gate_and_state(lstm_run):
    out, _ = lstm_run
    for name in "ifgohc":
        assert (out / f"heatmap_l0_{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "saturation_l0.png").exists() and (out / "viewer.html").exists()


def test_saturation_table_matches_gates_computed_by_hand(lstm_run):
    out, gates = lstm_run
    rows = list(csv.DictReader((out / "saturation.csv").read_text().splitlines()))
    assert {r["gate"] for r in rows} == {"i", "f", "o"} and len(rows) == 3 * 6
    for r in rows:
        v = gates[r["gate"]][:, int(r["unit"])]
        assert float(r["left"]) == pytest.approx((v < 0.1).mean(), abs=1e-4)
        assert float(r["right"]) == pytest.approx((v > 0.9).mean(), abs=1e-4)
    assert any(float(r["left"]) > 0 for r in rows) and any(float(r["right"]) > 0 for r in rows)
    table = (out / "saturation.md").read_text()
    f_right = np.mean([(gates["f"][:, u] > 0.9).mean() for u in range(6)])
    assert re.search(rf"\| l0 \| f \| 6 \| [\d.]+ \| {f_right:.3f} \|", table)


def test_viewer_holds_h_and_c_of_every_character(lstm_run):
    out, gates = lstm_run
    page = (out / "viewer.html").read_text()
    data = json.loads(re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S)[1])
    assert data["text"] == TEXT and list(data["layers"]) == ["l0"]
    states = data["layers"]["l0"]["states"]
    assert list(states) == ["h", "c"]
    for name in ("h", "c"):
        scale = np.array(states[name]["scale"])
        decoded = np.frombuffer(base64.b64decode(states[name]["values"]), np.int8).reshape(len(TEXT), 6)
        np.testing.assert_allclose(decoded / 127 * scale, gates[name], atol=scale.max() / 254 + 1e-6)


def test_only_the_first_max_chars_characters_are_used(tmp_path):
    save_model(tmp_path / "run", "lstm")
    assert main(["inspect", "--checkpoint", str(tmp_path / "run"), "--text", TEXT, "--max-chars", "9"]) == 0
    page = (tmp_path / "run" / "inspect" / "viewer.html").read_text()
    assert json.loads(re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.S)[1])["text"] == TEXT[:9]


def test_gru_gates_and_a_gateless_rnn(tmp_path):
    save_model(tmp_path / "gru", "gru")
    assert main(["inspect", "--checkpoint", str(tmp_path / "gru"), "--text", TEXT, "--out", str(tmp_path / "g")]) == 0
    assert {p.name for p in (tmp_path / "g").glob("heatmap_*")} == {f"heatmap_l0_{n}.png" for n in ("r", "z", "n", "h")}
    assert {r["gate"] for r in csv.DictReader((tmp_path / "g" / "saturation.csv").read_text().splitlines())} == {"r", "z"}
    save_model(tmp_path / "rnn", "rnn")
    assert main(["inspect", "--checkpoint", str(tmp_path / "rnn"), "--text", TEXT, "--out", str(tmp_path / "r")]) == 0
    assert "no sigmoid gates" in (tmp_path / "r" / "saturation.md").read_text()
    assert not list((tmp_path / "r").glob("saturation_*.png"))


@pytest.mark.parametrize("flags, message", [
    ([], "give the text to run the model on with --text TEXT or --text-file FILE"),
    (["--text", "a", "--text-file", "x.txt"], "give the text to run the model on with --text TEXT or --text-file FILE"),
    (["--text", "ANNE: Zed"], "--text has 1 character(s) not in the model's vocabulary: 'Z'"),
    (["--text-file", "/nonexistent/t.txt"], "cannot read text /nonexistent/t.txt"),
    (["--text", "a", "--top", "0"], "--top 0 is out of range: expected N >= 1"),
])
def test_bad_input_is_a_one_line_error(tmp_path, capsys, flags, message):
    save_model(tmp_path / "run", "lstm")
    assert main(["inspect", "--checkpoint", str(tmp_path / "run"), *flags]) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
