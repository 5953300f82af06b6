"""`rnnkit export --format onnx`: the kept char-LM checkpoint as an ONNX file, run in
onnxruntime alone (the sampler of docs/interop.md), its logits and states within 1e-5."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnkit.app import checkpoint
from rnnkit.charlm.model import APPLICATION, load_model
from rnnkit.cli import main

from conftest import assert_close

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

FIXTURE = Path(__file__).parent / "fixtures" / "charlm_v1"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    path = tmp_path_factory.mktemp("export") / "charlm.onnx"
    assert main(["export", "--checkpoint", str(FIXTURE), "--format", "onnx", str(path)]) == 0
    return path


def test_the_exported_char_lm_computes_what_the_model_does(exported):
    onnx.checker.check_model(onnx.load(str(exported)), full_check=True)
    model, vocab, _ = load_model(*checkpoint.load(str(FIXTURE), application=APPLICATION), torch.device("cpu"))
    model.eval()
    session = ort.InferenceSession(str(exported))
    assert json.loads(session.get_modelmeta().custom_metadata_map["vocab"]) == vocab.chars
    assert [i.name for i in session.get_inputs()] == ["ids", "h", "c"]
    for batch, length in ((1, 3), (2, 9)):
        ids = torch.randint(0, len(vocab), (batch, length))
        state = (torch.randn(1, batch, 8), torch.randn(1, batch, 8))
        with torch.no_grad():
            logits, (h, c) = model(ids, state)
        got = session.run(None, {"ids": ids.numpy(), "h": state[0].numpy(), "c": state[1].numpy()})
        assert_close([torch.from_numpy(g) for g in got], [logits, h, c], tol=1e-5)


def test_the_documented_sampler_runs_on_onnxruntime_alone(exported, monkeypatch, capsys):
    doc = (Path(__file__).parents[1] / "docs" / "interop.md").read_text()
    sampler = doc.split("<!-- sampler -->\n```python\n")[1].split("```")[0]
    monkeypatch.chdir(exported.parent)
    exec(compile(sampler, "docs/interop.md", "exec"), {})
    text = capsys.readouterr().out.rstrip("\n")
    vocab = json.loads((FIXTURE / "best.json").read_text())["vocab"]
    assert text.startswith("ANNE:") and len(text) == len("ANNE:") + 200 and set(text) <= set(vocab)


def test_export_refuses_an_unwritable_path(tmp_path, capsys):
    assert main(["export", "--checkpoint", str(FIXTURE), str(tmp_path / "missing" / "x.onnx")]) == 1
    assert "rnnkit: error: cannot write" in capsys.readouterr().err
