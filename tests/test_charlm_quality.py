"""docs/charlm_quality.md holds one section per device, each rewritten by its own run of
benchmarks/charlm_quality.py and the other kept."""
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
spec = importlib.util.spec_from_file_location("charlm_quality", ROOT / "benchmarks" / "charlm_quality.py")
quality = sys.modules["charlm_quality"] = importlib.util.module_from_spec(spec)  # dataclasses look it up
spec.loader.exec_module(quality)


def test_a_run_rewrites_its_device_section_and_keeps_the_other():
    doc = quality.replace_section(quality.TITLE, "cpu", "## CPU\n\nold cpu table\n")
    doc = quality.replace_section(doc, "cuda", "## CUDA\n\nnot yet measured")
    assert doc.index("old cpu table") < doc.index("not yet measured")
    doc = quality.replace_section(doc, "cuda", "## CUDA\n\nthe H100 table\n")
    doc = quality.replace_section(doc, "cpu", "## CPU\n\nnew cpu table")
    assert "old cpu table" not in doc and "not yet measured" not in doc
    assert doc.startswith(quality.TITLE) and doc.index("new cpu table") < doc.index("the H100 table")
    assert doc.count("<!-- end of cpu section -->") == doc.count("<!-- end of cuda section -->") == 1


def test_the_committed_page_has_both_sections():
    doc = (ROOT / "docs" / "charlm_quality.md").read_text(encoding="utf-8")
    for device in ("cpu", "cuda"):
        assert doc.count(f"<!-- {device} section: written by benchmarks/charlm_quality.py -->") == 1
        assert doc.count(f"<!-- end of {device} section -->") == 1


def test_the_peers_are_plain_float32_torch_lstms():
    assert quality.PEERS["cpu"].describe() == "torch.nn.LSTM 1x512, 64x128, Adam 2e-3 constant, clip 5"
    model = quality.PlainLSTM(10, quality.PEERS["cuda"])
    assert (model.rnn.num_layers, model.rnn.hidden_size, model.rnn.dropout) == (2, 1024, 0.0)
