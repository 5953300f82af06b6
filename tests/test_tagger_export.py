"""`rnnkit export` of a slot tagger: tiny taggers trained on the synthetic utterances, exported,
run in onnxruntime alone on padded batches of utterances of different lengths; their slot and
intent logits within 1e-5 of the model's, each utterance also against the model run on it alone;
and the onnxruntime tagger of docs/tagger.md."""
import json
from pathlib import Path

import pytest
import torch
from tagger_helpers import as_conll, make_data, tiny_train

from rnnkit.app import checkpoint
from rnnkit.cli import main
from rnnkit.tagger.model import APPLICATION, load_model

from conftest import assert_close

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

# (training data, flags of rnnkit tag train, the ONNX node the network becomes); CoNLL data has no intents
TAGGERS = {
    "bidirectional 2-layer lstm, window 1": ("train.txt", ["--cell", "lstm", "--layers", "2", "--window", "1"], "LSTM"),
    "gru, no window, no intent head": ("train.conll", ["--cell", "gru", "--bidirectional", "0", "--window", "0"], "GRU"),
    "bidirectional elman rnn, window 2, intent from the ends": ("train.txt", ["--cell", "rnn", "--window", "2", "--intent-from", "ends"], "RNN"),
    "jordan, window 1": ("train.txt", ["--cell", "jordan", "--bidirectional", "0", "--window", "1"], "Scan"),
    "bidirectional ctrnn": ("train.txt", ["--cell", "ctrnn"], "Scan"),
}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """name -> (run folder, ONNX file) of a tagger trained for one epoch with TAGGERS[name]'s flags, then exported."""
    root = tmp_path_factory.mktemp("tag-export")
    make_data(root / "train.txt", n=60)
    as_conll(root / "train.txt", root / "train.conll")
    done = {}

    def train_and_export(name: str) -> tuple[Path, Path]:
        if name not in done:
            train, flags, _ = TAGGERS[name]
            folder = root / name.replace(" ", "_").replace(",", "")
            assert tiny_train(root / train, folder / "run", "--epochs", "1", *flags) == 0
            assert main(["export", "--checkpoint", str(folder / "run"), "--format", "onnx",
                         str(folder / "tagger.onnx")]) == 0
            done[name] = folder / "run", folder / "tagger.onnx"
        return done[name]

    return train_and_export


def padded_batch(vocab_size: int, lengths: list[int], T: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, T) random word ids, 0 (<pad>) past each utterance's end; (B,) lengths."""
    words = torch.zeros(len(lengths), T, dtype=torch.long)
    for b, n in enumerate(lengths):
        words[b, :n] = torch.randint(1, vocab_size, (n,))
    return words, torch.tensor(lengths)


@pytest.mark.parametrize("name", TAGGERS)
def test_the_exported_tagger_computes_what_the_model_does(exported, name):
    run, path = exported(name)
    model, vocab, _ = load_model(*checkpoint.load(str(run), application=APPLICATION), torch.device("cpu"))
    graph = onnx.load(str(path))
    onnx.checker.check_model(graph, full_check=True)
    assert TAGGERS[name][2] in {node.op_type for node in graph.graph.node}
    session = ort.InferenceSession(str(path))
    meta = session.get_modelmeta().custom_metadata_map
    assert [json.loads(meta[k]) for k in ("words", "tags", "intents")] == [vocab.words, vocab.tags, vocab.intents]
    assert json.loads(meta["digits_as_zero"]) is True and "lower-case" in meta["word_lookup"]
    assert meta["word_lookup"].startswith("with each digit 0-9 written 0, ")
    outputs = [o.name for o in session.get_outputs()]
    assert outputs == (["slot_logits", "intent_logits"] if vocab.intents else ["slot_logits"])
    for lengths, T in (([4], 4), ([2], 9), ([1], 1), ([4, 1, 3], 4), ([9, 5, 1], 9)):  # batch sizes 1, 3; lengths 1, 4, 9
        words, lens = padded_batch(len(vocab.words), lengths, T)
        got = [torch.from_numpy(g) for g in session.run(None, {"words": words.numpy(), "lengths": lens.numpy()})]
        with torch.no_grad():
            slots, intents = model.logits(words, lens)
            assert_close(got, [slots] if intents is None else [slots, intents], tol=1e-5)
            for b, n in enumerate(lengths):  # each utterance alone, unpadded: padding changes nothing
                alone_slots, alone_intents = model.logits(words[b:b + 1, :n], torch.tensor([n]))
                assert_close(got[0][b, :n], alone_slots[0], tol=1e-5)
                if intents is not None:
                    assert_close(got[1][b], alone_intents[0], tol=1e-5)


def test_the_documented_tagger_tags_as_rnnkit_tag_predict_does(exported, monkeypatch, capsys):
    run, path = exported("bidirectional 2-layer lstm, window 1")
    doc = (Path(__file__).parents[1] / "docs" / "tagger.md").read_text()
    snippet = doc.split("<!-- onnxruntime tagger -->\n```python\n")[1].split("```")[0]
    monkeypatch.chdir(path.parent)
    capsys.readouterr()
    names = {}
    exec(compile(snippet, "docs/tagger.md", "exec"), names)
    tagged = capsys.readouterr().out
    (path.parent / "utterances.txt").write_text("".join(u + "\n" for u in names["utterances"]))
    assert main(["tag", "predict", "--checkpoint", str(run), "--text-file", "utterances.txt"]) == 0
    assert tagged == capsys.readouterr().out
    assert len(tagged.splitlines()) == len(names["utterances"]) > 1 and " <=> " in tagged
    assert names["unknown"]("1291") == names["words"].index("<num>") > 1  # the snippet reads numbers as rnnkit does

