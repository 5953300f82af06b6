"""Tagging with a trained model: ``rnnkit tag eval`` (scores) and ``rnnkit tag predict`` (tagged lines)."""
from __future__ import annotations

import sys
from pathlib import Path

import torch

from rnnkit.app import checkpoint
from rnnkit.app.device import resolve_device
from rnnkit.app.errors import UserError
from rnnkit.app.text import read_text

from .config import EvalConfig, PredictConfig
from .data import Utterance, Vocab, batches, load_test, make_batch, read_file, words_of


@torch.no_grad()
def tag(model, vocab: Vocab, utterances: list[Utterance], device, batch: int = 64) -> list[Utterance]:
    """The utterances' words with the model's tags (and intent, if it has an intent head), in order."""
    model.eval()
    out = []
    for group in batches(utterances, batch):
        b = make_batch([Utterance(u.words, None, None) for u in group], vocab, device)
        slots, intents = model(b)
        best = slots.argmax(-1).tolist()  # (B, T)
        for k, u in enumerate(group):
            intent = vocab.intents[intents[k].argmax().item()] if intents is not None else None
            out.append(Utterance(u.words, tuple(vocab.tags[i] for i in best[k][:len(u.words)]), intent))
    return out


def _open(path: str, device):
    from .model import APPLICATION, load_model

    meta, tensors = checkpoint.load(path, application=APPLICATION)
    return meta, *load_model(meta, tensors, device)


def run_eval(cfg: EvalConfig) -> int:
    from .metrics import confusions, score

    if cfg.confusion and not Path(cfg.confusion).resolve().parent.is_dir():
        raise UserError(f"--confusion {cfg.confusion}: its folder does not exist")
    device = resolve_device(cfg.device)
    meta, model, vocab, _ = _open(cfg.checkpoint, device)
    if cfg.data is None:
        trained = meta["config"]
        if trained["data"] and not trained["test_data"]:
            raise UserError(f"the run {cfg.checkpoint} had no test data; name a file to score with --data FILE")
        gold, what = load_test(trained["test_data"])
    else:
        gold, what = read_file(cfg.data), cfg.data
    vocab.check_tags(gold, what)
    predicted = tag(model, vocab, gold, device, cfg.batch)
    scores = score(gold, predicted)
    if cfg.confusion:
        from .plots import confusion_picture

        confusion_picture(confusions(gold, predicted), cfg.confusion, f"{what}: most-confused slot types")
    print(f"{what}: {scores.utterances} utterances, {scores.summary()}")
    return 0


def run_predict(cfg: PredictConfig) -> int:
    if (cfg.text is None) == (cfg.text_file is None):
        raise UserError("give the utterances to tag with --text \"...\" or --text-file FILE (one of them)")
    utterances = words_of(cfg.text, "--text") if cfg.text is not None else words_of(read_text(cfg.text_file), cfg.text_file)
    device = resolve_device(cfg.device)
    _, model, vocab, _ = _open(cfg.checkpoint, device)
    for u in tag(model, vocab, utterances, device, cfg.batch):
        sys.stdout.write(u.line())
    return 0
