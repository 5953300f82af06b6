"""Chunk scores (conlleval's rules, through seqeval) and intent accuracy on cases computed by hand."""
import random
import warnings

import pytest
from seqeval.metrics import f1_score, precision_score, recall_score

from rnnkit.tagger.data import Utterance
from rnnkit.tagger.metrics import MISSED, confusions, score


def utts(*tag_lists, intents=None):
    intents = intents or [None] * len(tag_lists)
    return [Utterance(tuple(f"w{i}" for i in range(len(t.split()))), tuple(t.split()), intent)
            for t, intent in zip(tag_lists, intents)]


def prf(gold, predicted):
    s = score(utts(*gold), utts(*predicted))
    return round(s.precision, 3), round(s.recall, 3), round(s.f1, 3), (s.correct, s.predicted, s.gold)


@pytest.mark.parametrize("gold, predicted, expected", [
    # identical: two chunks, both right
    (["B-a I-a O B-b"], ["B-a I-a O B-b"], (100.0, 100.0, 100.0, (2, 2, 2))),
    # an I-X after O starts a chunk: I-a I-a is the chunk a over words 1-2, as gold's B-a I-a
    (["O B-a I-a"], ["O I-a I-a"], (100.0, 100.0, 100.0, (1, 1, 1))),
    # an I-X after another type starts a chunk: B-a I-b is a(0) and b(1), as gold's B-a B-b
    (["B-a B-b"], ["B-a I-b"], (100.0, 100.0, 100.0, (2, 2, 2))),
    # ... so it is not the chunk a(0-1): neither of the two predicted chunks is gold's
    (["B-a I-a"], ["B-a I-b"], (0.0, 0.0, 0.0, (0, 2, 1))),
    # a chunk ends where O begins: right type, wrong right boundary counts for nothing
    (["B-a I-a O"], ["B-a O O"], (0.0, 0.0, 0.0, (0, 1, 1))),
    # wrong left boundary
    (["O B-a I-a"], ["B-a I-a I-a"], (0.0, 0.0, 0.0, (0, 1, 1))),
    # right span, wrong type
    (["B-a I-a"], ["B-b I-b"], (0.0, 0.0, 0.0, (0, 1, 1))),
    # B after B of the same type: two chunks, not one
    (["B-a B-a"], ["B-a I-a"], (0.0, 0.0, 0.0, (0, 1, 2))),
    # a missed chunk: P 1/1, R 1/2, F1 2*1*0.5/1.5
    (["B-a I-a O B-b"], ["B-a I-a O O"], (100.0, 50.0, 66.667, (1, 1, 2))),
    # a spurious chunk: P 1/2, R 1/1
    (["B-a O"], ["B-a B-b"], (50.0, 100.0, 66.667, (1, 2, 1))),
    # two utterances: 2 of 3 predicted right, 2 of 3 gold found
    (["B-a I-a O B-b", "B-c"], ["B-a I-a O B-c", "B-c"], (66.667, 66.667, 66.667, (2, 3, 3))),
    # chunks never run across utterances: I-a opening the second one is a chunk of its own
    (["O B-a", "I-a O"], ["O B-a", "B-a O"], (100.0, 100.0, 100.0, (2, 2, 2))),
    # types with dots and underscores, as ATIS's
    (["B-fromloc.city_name I-fromloc.city_name"], ["B-fromloc.city_name I-fromloc.city_name"],
     (100.0, 100.0, 100.0, (1, 1, 1))),
    # nothing to find and nothing found: 0, as conlleval says
    (["O O"], ["O O"], (0.0, 0.0, 0.0, (0, 0, 0))),
])
def test_chunk_scores_computed_by_hand(gold, predicted, expected):
    assert prf(gold, predicted) == expected


def test_intent_accuracy_counts_a_multi_intent_label_right_only_whole():
    gold = utts("O", "O", "O", "O", intents=["flight", "flight;airfare", "flight;airfare", "airline"])
    predicted = utts("O", "O", "O", "O", intents=["flight", "flight;airfare", "flight", "airfare;airline"])
    assert score(gold, predicted).intent_accuracy == 50.0
    assert score(utts("O"), utts("O")).intent_accuracy is None  # no gold intents (CoNLL data)


def test_scores_agree_with_seqeval_own_totals_on_random_taggings():
    rng = random.Random(3)
    tags = ["O", "O", "B-a", "I-a", "B-b", "I-b", "I-c"]
    for _ in range(200):
        lengths = [rng.randint(1, 7) for _ in range(rng.randint(1, 4))]
        gold = [[rng.choice(tags) for _ in range(n)] for n in lengths]
        pred = [[rng.choice(tags) for _ in range(n)] for n in lengths]
        s = score(utts(*map(" ".join, gold)), utts(*map(" ".join, pred)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # seqeval warns when there is no chunk to score
            expected = (100 * precision_score(gold, pred), 100 * recall_score(gold, pred), 100 * f1_score(gold, pred))
        assert (s.precision, s.recall, s.f1) == pytest.approx(expected)


def test_confusions_pair_gold_and_predicted_types_at_each_wrong_span():
    gold = utts("B-a I-a O B-b O")
    predicted = utts("B-c I-c O O B-b")
    assert confusions(gold, predicted) == {("a", "c"): 1, ("b", MISSED): 1, (MISSED, "b"): 1}
