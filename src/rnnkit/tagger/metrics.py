"""Scores of a tagging: chunk precision, recall and F1 with the rules of CoNLL's ``conlleval``,
intent accuracy, and which slot types are mistaken for which.

Chunks are seqeval's (default mode), which follows conlleval: a chunk starts at B-X, or at
I-X after O or after another type; it ends where the type changes, at B, or at O; a predicted
chunk counts only if its type and both boundaries are a gold chunk's. Utterances are scored
apart (a chunk never runs from one into the next). An intent is correct only if the whole
label matches (a multi-intent ``a;b`` too).
"""
from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass

from seqeval.metrics.sequence_labeling import get_entities

from .data import Utterance

MISSED = "(none)"  # in confusions: a gold chunk with no predicted chunk at its span, or the reverse


@dataclass(frozen=True)
class Scores:
    precision: float  # percent
    recall: float
    f1: float
    correct: int  # predicted chunks that are gold chunks
    predicted: int
    gold: int
    intent_accuracy: float | None  # percent; None when the gold utterances or the model have no intents
    utterances: int

    def as_dict(self, prefix: str) -> dict:
        return {f"{prefix}_{k}": v for k, v in vars(self).items()}

    def summary(self) -> str:
        line = (f"slot F1 {self.f1:.2f} (precision {self.precision:.2f}, recall {self.recall:.2f}: "
                f"{self.correct} of {self.predicted} predicted and {self.gold} gold chunks)")
        return line + ("" if self.intent_accuracy is None else f", intent accuracy {self.intent_accuracy:.2f}%")


def _chunks(tags: list[tuple[str, ...]]) -> set[tuple[str, int, int]]:
    """(type, first, last) of every chunk, positions counted across the utterances in turn."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # seqeval warns on tags it does not know; ours are checked on reading
        return set(get_entities([list(t) for t in tags]))


def score(gold: list[Utterance], predicted: list[Utterance]) -> Scores:
    """Scores of ``predicted`` against ``gold``, utterance by utterance (same words, same order)."""
    g, p = _chunks([u.tags for u in gold]), _chunks([u.tags for u in predicted])
    correct = len(g & p)
    precision = 100 * correct / len(p) if p else 0.0
    recall = 100 * correct / len(g) if g else 0.0
    f1 = 2 * precision * recall / (precision + recall) if correct else 0.0
    with_intent = [(a.intent, b.intent) for a, b in zip(gold, predicted) if None not in (a.intent, b.intent)]
    accuracy = 100 * sum(a == b for a, b in with_intent) / len(with_intent) if with_intent else None
    return Scores(precision, recall, f1, correct, len(p), len(g), accuracy, len(gold))


def confusions(gold: list[Utterance], predicted: list[Utterance]) -> Counter:
    """(gold type, predicted type) -> count over the spans where they differ: a gold chunk and a
    predicted one at the same span but of another type, or a chunk on one side only (``MISSED``)."""
    g = {(a, b): t for t, a, b in _chunks([u.tags for u in gold])}
    p = {(a, b): t for t, a, b in _chunks([u.tags for u in predicted])}
    out = Counter()
    for span in g.keys() | p.keys():
        pair = (g.get(span, MISSED), p.get(span, MISSED))
        if pair[0] != pair[1]:
            out[pair] += 1
    return out
