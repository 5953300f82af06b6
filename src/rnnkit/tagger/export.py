"""A trained slot tagger as an ONNX file that onnxruntime runs alone (`rnnkit export`, rnnkit.app.export).

The file computes the model on a padded batch: inputs `words` (B, T) int64 word ids, 0
(`<pad>`) past each utterance's end, and `lengths` (B,) int64, the words of each utterance;
outputs `slot_logits` (B, T, S) and, when the model has an intent head, `intent_logits`
(B, N). Any batch size and length; the network reads lengths as ONNX's `sequence_lens` (or
its Scan does), so padding never enters a state. Its metadata holds the vocabularies
(`words`, `tags`, `intents`: JSON lists, id -> name) and how a word becomes an id
(`digits_as_zero`: JSON true when each digit 0-9 is read as 0; `word_lookup`: the rule in
words), so a tagger needs nothing else (docs/tagger.md)."""
from __future__ import annotations

import json
import warnings

import torch
from torch import nn

from rnnkit.interop import onnx as rnnkit_onnx

from .data import NUM, PAD, UNK, Vocab
from .model import Tagger, load_model


def word_lookup(vocab: Vocab) -> str:
    """How the exported file's user turns a word into its id, as ``Vocab.word_id`` does."""
    return (("with each digit 0-9 written 0, " if vocab.digits_as_zero else "")
            + f"a word's id is its index in words, else its lower-case form's, else that of {NUM} if the word "
            f"has a digit and words has {NUM}, else that of {UNK}; {PAD} (0) past an utterance's end")


class _Logits(nn.Module):
    """The model on a padded batch: (words, lengths) -> slot logits (and intent logits)."""

    def __init__(self, model: Tagger):
        super().__init__()
        self.model = model

    def forward(self, words, lengths):
        slots, intents = self.model.logits(words, lengths)
        return slots if intents is None else (slots, intents)


def write_onnx(model: Tagger, vocab: Vocab, path: str) -> None:
    """Write `model` and its vocabularies to the ONNX file `path`."""
    example = (torch.ones(2, 3, dtype=torch.long), torch.tensor([3, 2]))  # sizes of 0 or 1 would be taken as fixed
    outputs = ["slot_logits"] if model.intent is None else ["slot_logits", "intent_logits"]
    B, T = torch.export.Dim("B"), torch.export.Dim("T")
    with warnings.catch_warnings():  # the exporter's notes on its own internals
        warnings.simplefilter("ignore")
        program = rnnkit_onnx.export(
            _Logits(model).eval(), example, input_names=["words", "lengths"], output_names=outputs,
            dynamic_shapes=({0: B, 1: T}, {0: B}), verbose=False,
        )
    program.model.metadata_props.update({name: json.dumps(getattr(vocab, name), ensure_ascii=False)
                                         for name in ("words", "tags", "intents", "digits_as_zero")})
    program.model.metadata_props["word_lookup"] = word_lookup(vocab)
    program.save(path)


def export_onnx(meta: dict, tensors: dict[str, torch.Tensor], path: str) -> None:
    """Write the tagger of a checkpoint (its JSON and verified tensors) to the ONNX file `path`."""
    model, vocab, _ = load_model(meta, tensors, torch.device("cpu"))
    write_onnx(model, vocab, path)
