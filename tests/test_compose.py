"""rnnkit compose: piano rolls, the scores against hand-computed values, sampling's rules, the
commands end to end on a handful of pieces, and bad input (one line, exit 1, nothing written)."""
import dataclasses
import json
import math
import random
import re
import shutil
import stat
import xml.etree.ElementTree as ET
from pathlib import Path

import music21
import pytest
import torch
from music21 import note, stream

from rnnkit.app import checkpoint
from rnnkit.app.errors import UserError
from rnnkit.app.networks import NAMES
from rnnkit.charlm.corpus import load_text
from rnnkit.cli import main
from rnnkit.compose import commands, corpus
from rnnkit.compose.config import NETWORK_RECIPES, TrainConfig
from rnnkit.compose.corpus import KEYS, key_name, key_range, read_music, roll_of, score_of, transposed
from rnnkit.compose.model import Score, batch_of, evaluate, independent_logits, independent_score, load_model
from rnnkit.compose.sample import compose
from rnnkit.compose.train import learning_rate, train

from charlm_helpers import TINY as CHARLM_TINY


def roll_with(frames: list[list[int]]) -> torch.Tensor:
    roll = torch.zeros(len(frames), KEYS)
    for t, keys in enumerate(frames):
        roll[t, keys] = 1
    return roll


def test_key_names():
    assert [key_name(k) for k in (0, 2, 39, 87)] == ["A0", "B0", "C4", "C8"]


def test_a_note_is_on_in_the_frames_of_the_beats_it_sounds_at():
    s = stream.Stream()
    s.insert(0, note.Note("C4", quarterLength=2))  # beats 0, 1
    s.insert(0.5, note.Note("E4", quarterLength=0.5))  # between two beats: lost
    s.insert(1.5, note.Note("G4", quarterLength=1))  # sounds at beat 2 only
    s.insert(3, note.Note("A0", quarterLength=1))  # the lowest key
    assert roll_of(s, "s").tolist() == roll_with([[39], [39], [46], [0]]).tolist()


def test_notes_off_the_piano_and_silence_are_refused():
    s = stream.Stream([note.Note(20)])  # G#0, one below A0
    with pytest.raises(UserError, match=r"s has the note G#0 \(MIDI 20\), outside the piano's 88 keys"):
        roll_of(s, "s")
    between_beats = stream.Stream()
    between_beats.insert(0.25, note.Note(60, quarterLength=0.5))
    with pytest.raises(UserError, match="no note that sounds on a beat"):
        roll_of(between_beats, "s")


def test_a_roll_written_as_midi_and_musicxml_reads_back_the_same(tmp_path):
    rng = random.Random(0)
    roll = roll_with([rng.sample(range(20, 70), rng.randint(1, 4)) for _ in range(12)] + [[]] + [[30]])
    from rnnkit.compose.outputs import write_score

    written = write_score(score_of(roll), tmp_path / "piece")
    assert [p.name for p in written] == ["piece.mid", "piece.musicxml"]
    for path in written:
        assert torch.equal(read_music(str(path)), roll), path.name
    assert torch.equal(roll_of(score_of(roll), "score"), roll)


def test_the_score_writes_an_accidental_only_where_the_bar_needs_one(tmp_path):
    from rnnkit.compose.outputs import write_score

    c4, c_sharp4, e4 = 39, 40, 43  # keys of the piano
    xml = write_score(score_of(roll_with([[c4], [c_sharp4], [c4, e4]])), tmp_path / "piece")[1].read_text()
    signs = re.findall(r"<accidental>(\w+)</accidental>", xml)
    assert signs == ["sharp", "natural"]  # the C after the C sharp in the same bar, and no other


def test_a_real_chorale_as_the_score_has_it():
    roll = roll_of(music21.corpus.parse("bach/bwv269"), "bwv269")
    assert roll.shape == (63, KEYS)  # its last note ends on beat 63
    assert torch.nonzero(roll[0]).flatten().tolist() == [43 - 21, 59 - 21, 62 - 21, 67 - 21]  # G2 B3 D4 G4


def test_the_split_is_by_sorted_name_60_20_20():
    pieces = [corpus.Piece(f"p{i:02d}", roll_with([[i]])) for i in reversed(range(10))]
    parts = corpus.split(pieces)
    assert [[p.name for p in parts[k]] for k in ("train", "valid", "test")] == [
        [f"p{i:02d}" for i in range(6)], ["p06", "p07"], ["p08", "p09"]]


def test_transposition_stays_on_the_piano_and_the_range_holds_what_training_shows():
    roll = roll_with([[2, 10], [5]])
    rng = random.Random(0)
    shifted = [transposed(roll, 5, rng) for _ in range(200)]
    lows = {int(torch.nonzero(r.any(0)).min()) for r in shifted}
    assert lows == set(range(0, 8))  # shifts -2 .. +5: never below A0
    assert all(torch.equal(torch.nonzero(r)[:, 0], torch.tensor([0, 0, 1])) for r in shifted)
    assert key_range([roll, roll_with([[80]])], 5) == (0, 85)
    assert key_range([roll_with([[86]])], 5) == (81, 87)


def test_inputs_are_the_targets_one_frame_late_and_padding_is_masked():
    a, b = roll_with([[1], [2], [3]]), roll_with([[4]])
    inputs, targets, mask = batch_of([a, b], torch.device("cpu"))
    assert torch.equal(targets[0], a) and torch.equal(targets[1, 0], b[0]) and not targets[1, 1:].any()
    assert not inputs[:, 0].any() and torch.equal(inputs[0, 1:], a[:2])
    assert mask.tolist() == [[True, True, True], [True, False, False]]


def test_the_scores_of_a_hand_computed_case():
    # every key on with probability 0.1, key 5 with 0.75; frame 0 has keys 5 and 7 on, frame 1 none
    logits = torch.full((1, 3, KEYS), math.log(0.1 / 0.9))
    logits[:, :, 5] = math.log(3)
    targets = torch.stack([roll_with([[5, 7], [], [9]])])
    mask = torch.tensor([[True, True, False]])  # frame 2 is padding
    score = Score()
    score.add(logits, targets, mask)
    frame0 = -math.log(0.75) - math.log(0.1) - 86 * math.log(0.9)
    frame1 = -math.log(0.25) - 87 * math.log(0.9)
    assert score.frames == 2 and score.nll == pytest.approx(frame0 + frame1, rel=1e-6)
    assert score.nll_per_frame == pytest.approx((frame0 + frame1) / 2, rel=1e-6)
    # predicted on: key 5 in both frames; TP 1 (frame 0), FN 1 (key 7), FP 1 (frame 1)
    assert (score.tp, score.fp, score.fn) == (1, 1, 1) and score.accuracy == pytest.approx(1 / 3)


def test_the_independent_baseline_by_hand():
    rolls = [roll_with([[0, 1]]), roll_with([[1], [1]])]  # key 0 on in 1 of 3 frames, key 1 in 3 of 3
    logits = independent_logits(rolls)
    p0, p1, p_other = (1 + 1) / (3 + 2), (3 + 1) / (3 + 2), 1 / (3 + 2)
    assert torch.sigmoid(logits[:3]).tolist() == pytest.approx([p0, p1, p_other])
    score = independent_score(logits, rolls)
    per_frame = -86 * math.log(1 - p_other) - math.log(p1)
    expected = per_frame - math.log(p0) + 2 * (per_frame - math.log(1 - p0))
    assert score.frames == 3 and score.nll == pytest.approx(expected, rel=1e-6)
    assert (score.tp, score.fp, score.fn) == (3, 0, 1)  # key 1 predicted on (p 0.8), key 0 off (p 0.4)


class FixedLogits(torch.nn.Module):
    """A model whose every frame has the same logits; it counts the frames it read."""

    def __init__(self, logits):
        super().__init__()
        self.logits, self.read = torch.nn.Parameter(logits), 0

    def forward(self, frames, state=None):
        self.read += frames.shape[1]
        return self.logits.expand(1, frames.shape[1], KEYS), state


def test_sampling_plays_only_the_trained_range_and_at_most_max_notes():
    logits = torch.linspace(-1, 30, KEYS)  # the higher the key, the likelier: above key 10, near-certain
    model = FixedLogits(logits)
    frames = compose(model, 50, (10, 40), max_notes=3, generator=torch.Generator().manual_seed(0))
    assert frames.shape == (50, KEYS) and model.read == 1 + 49
    on = torch.nonzero(frames)[:, 1]
    assert on.min() >= 10 and on.max() <= 40 and frames.sum(1).max() == 3
    assert set(on.tolist()) == {38, 39, 40}  # all near-certain: the three likeliest are kept
    primed = FixedLogits(logits)
    compose(primed, 2, (0, 87), prime=roll_with([[1], [2], [3]]))
    assert primed.read == 1 + 3 + 1  # the silent frame and the prime at once, then one frame a step


def test_sampling_is_random_where_the_model_is_unsure():
    model = FixedLogits(torch.zeros(KEYS))  # every key: probability 1/2
    frames = compose(model, 400, (0, 87), max_notes=88, generator=torch.Generator().manual_seed(0))
    assert frames.mean().item() == pytest.approx(0.5, abs=0.01)
    with pytest.raises(UserError, match="--temperature must be positive, got 0"):
        compose(model, 1, (0, 87), temperature=0)


# -- the commands, on ten small pieces cached where the chorales' cache would be --------------

@pytest.fixture
def chorale_cache(tmp_path, monkeypatch):
    """Ten synthetic chorales (a four-voice figure on a few chords) in the cache; parsing the
    real corpus (a minute) is never needed."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    rng = random.Random(0)
    pieces = []
    for i in range(10):
        chords = [[19, 31, 38, 43], [22, 34, 38, 41], [17, 33, 36, 45], [24, 31, 40, 43]]
        frames = [chords[rng.randrange(4)] for _ in range(rng.randint(12, 24))]
        pieces.append({"name": f"bach/bwv{i:03d}", "frames": frames})
    path = corpus.cache_dir() / f"chorales-music21-{music21.__version__}.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"format": corpus.CACHE_FORMAT, "pieces": pieces}))
    return pieces


def test_the_chorales_are_parsed_once_then_read_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    parsed = []
    monkeypatch.setattr(corpus, "_parse_chorales", lambda: parsed.append(1) or [{"name": "a", "frames": [[3], []]}])
    first, again = corpus.chorales(), corpus.chorales()
    assert parsed == [1] and [p.name for p in again] == ["a"] and torch.equal(again[0].roll, first[0].roll)
    assert torch.equal(first[0].roll, roll_with([[3], []]))


TINY = ["--hidden", "8", "--batch", "3", "--device", "cpu", "--threads", "1"]


def train_tiny(run, *extra) -> int:
    return main(["compose", "train", "--steps", "6", "--eval-every", "3", "--run-dir", str(run), *TINY, *extra])


def test_train_eval_sample_and_baseline(tmp_path, chorale_cache, capsys):
    run = tmp_path / "run"
    assert train_tiny(run, "--cell", "gru", "--transpose", "2") == 0
    meta = json.loads((run / "best.json").read_text())
    assert meta["format"] == "rnnkit.compose/1" and meta["model"]["cell"] == "gru"
    assert meta["key_range"] == [17 - 2, 45 + 2]
    assert {"loss.png", "metrics.jsonl", "last.json"} <= {p.name for p in run.iterdir()}
    capsys.readouterr()
    assert main(["compose", "eval", "--checkpoint", str(run), "--split", "valid", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("valid split (2 chorales): ") and "nats per frame, frame accuracy" in out
    assert main(["compose", "baseline", "--split", "test"]) == 0
    assert capsys.readouterr().out.startswith("independent per-key baseline, test split (2 chorales): ")
    assert main(["compose", "sample", "--checkpoint", str(run), "--length", "8", "--device", "cpu",
                 "--soundfont", str(tmp_path / "none.sf2")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"wrote {run}/sample-1.mid, {run}/sample-1.musicxml, {run}/sample-1.svg, {run}/sample-1.png"
    assert out[1].startswith("no WAV: ") and "apt install fluidsynth fluid-soundfont-gm" in out[1]
    written = read_music(str(run / "sample-1.musicxml"))
    assert len(written) <= 8 and written.sum(1).max() <= 4
    xml, engraved = (run / "sample-1.musicxml").read_text(), (run / "sample-1.svg").read_text()
    assert "<svg" in engraved and engraved.count('class="note"') == xml.count("<note") - xml.count("<rest") > 0


def test_the_learning_rate_warms_up_then_stays_or_decays_to_0():
    cosine = TrainConfig(steps=100, warmup=10, lr=1.0, schedule="cosine")
    lrs = [learning_rate(cosine, s) for s in range(100)]
    assert lrs[:10] == pytest.approx([(s + 1) / 10 for s in range(10)])
    assert lrs[10] == 1.0 and lrs[55] == pytest.approx(0.5) and lrs[99] == pytest.approx(0.0, abs=1e-3)
    assert all(a > b for a, b in zip(lrs[10:], lrs[11:]))
    constant = TrainConfig(steps=100, warmup=10, lr=1.0, schedule="constant")
    assert [learning_rate(constant, s) for s in range(100)] == lrs[:10] + [1.0] * 90
    assert learning_rate(TrainConfig(lr=1.0, schedule="cosine", warmup=10), 50) == 1.0  # step count not fixed yet


def test_a_run_follows_its_schedule_with_the_weight_decay_it_was_given(tmp_path, chorale_cache):
    run, seen = tmp_path / "run", []
    cfg = TrainConfig(steps=6, eval_every=3, run_dir=str(run), hidden=8, batch=3, device="cpu", threads=1,
                      schedule="cosine", warmup=2, weight_decay=0.25)
    assert train(cfg, on_step=lambda t: seen.append(t.opt.param_groups[0]["weight_decay"])) == 0
    assert seen == [0.25] * 6
    logged = [r["lr"] for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines()) if "lr" in r]
    assert logged == pytest.approx([learning_rate(cfg, s) for s in range(6)]) and logged[-1] < logged[1]


def test_the_networks_with_their_own_recipe_are_networks_that_differ_from_the_defaults():
    fields = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    assert set(NETWORK_RECIPES) <= set(NAMES)
    assert all(k in fields and v != fields[k] for values in NETWORK_RECIPES.values() for k, v in values.items())


@pytest.mark.parametrize("flags, lr, dropout", [
    ([], 3e-3, 0.5), (["--cell", "rnn"], 1e-3, 0.3), (["--cell", "rnn", "--lr", "3e-3"], 3e-3, 0.3),
    (["--cell", "rnn", "--dropout", "0.5"], 1e-3, 0.5), (["--cell", "gru", "--lr", "5e-4"], 5e-4, 0.5)])
def test_a_network_runs_at_its_own_recipe_unless_a_flag_is_typed(tmp_path, chorale_cache, capsys, flags, lr, dropout):
    assert train_tiny(tmp_path / "run", *flags) == 0
    out = capsys.readouterr().out
    assert f"lr {lr:g}, dropout {dropout:g}, " in out
    own = [f"--{k} {v:g}" for k, v in (("lr", lr), ("dropout", dropout)) if "rnn" in flags and f"--{k}" not in flags]
    assert ("the rnn network's own recipe: " + ", ".join(own) + " (a typed flag wins)" in out) == bool(own)
    meta = json.loads((tmp_path / "run" / "last.json").read_text())
    assert (meta["config"]["lr"], meta["config"]["dropout"], meta["model"]["dropout"]) == (lr, dropout, dropout)
    assert {r["lr"] for r in map(json.loads, (tmp_path / "run" / "metrics.jsonl").read_text().splitlines())
            if "lr" in r} == {lr}


def test_a_config_made_in_code_takes_the_networks_recipe_where_it_keeps_a_default(tmp_path, chorale_cache):
    seen = []
    cfg = TrainConfig(cell="rnn", dropout=0.1, steps=2, eval_every=2, run_dir=str(tmp_path / "run"), hidden=8, batch=3,
                      device="cpu", threads=1)
    assert train(cfg, on_step=lambda t: seen.append((t.cfg.lr, t.model.drop.p))) == 0
    assert seen == [(1e-3, 0.1)] * 2


def test_a_ctrnn_learns_its_units_time_constants_unless_told_not_to(tmp_path, chorale_cache):
    for name, flags in (("learn", []), ("fixed", ["--learn-tau", "0"])):
        assert train_tiny(tmp_path / name, "--cell", "ctrnn", *flags) == 0
    (learn, learned), (fixed, kept) = (checkpoint.load(str(tmp_path / n), application="compose")
                                       for n in ("learn", "fixed"))
    assert (learn["model"]["learn_tau"], fixed["model"]["learn_tau"]) == (True, False)
    log_tau = learned["model.rnn.log_tau_l0"]
    assert log_tau.shape == (8,) and not torch.allclose(log_tau, torch.full((8,), math.log(10.0)))
    assert not any("log_tau" in k for k in kept)
    del fixed["model"]["learn_tau"]  # as checkpoints saved before the option hold it: a fixed tau
    assert not load_model(fixed, kept, torch.device("cpu"))[0].rnn.learn_tau
    del learn["model"]["learn_tau"]
    with pytest.raises(UserError, match="does not fit the model its config describes"):
        load_model(learn, learned, torch.device("cpu"))


def test_a_run_with_a_time_budget_fixes_its_step_count_from_its_first_steps(tmp_path, chorale_cache, capsys):
    run = tmp_path / "run"
    assert main(["compose", "train", "--minutes", "0.0001", "--schedule", "cosine", "--run-dir", str(run), *TINY]) == 0
    assert "20 steps fit in 0.0001 minutes (" in capsys.readouterr().out  # no time left after the 20 timed steps
    meta = json.loads((run / "last.json").read_text())
    assert meta["step"] == 20 and meta["config"]["steps"] == 20


def test_eval_scores_the_same_as_the_model_on_a_music_file(tmp_path, chorale_cache, capsys):
    run = tmp_path / "run"
    assert train_tiny(run) == 0
    piece = roll_with(chorale_cache[0]["frames"])
    from rnnkit.compose.outputs import write_score

    midi = write_score(score_of(piece), tmp_path / "piece")[0]
    capsys.readouterr()
    assert main(["compose", "eval", "--checkpoint", str(run), "--file", str(midi), "--device", "cpu"]) == 0
    model, _ = load_model(*checkpoint.load(str(run), application="compose"), torch.device("cpu"))
    expected = evaluate(model, [piece]).nll_per_frame
    assert f"{len(piece)} frames, {expected:.4f} nats per frame" in capsys.readouterr().out


def fake_fluidsynth(folder, body: str):
    folder.mkdir()
    script = folder / "fluidsynth"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(script.stat().st_mode | stat.S_IEXEC)


def test_a_wav_is_rendered_by_fluidsynth_when_it_is_there(tmp_path, chorale_cache, capsys, monkeypatch):
    run = tmp_path / "run"
    assert train_tiny(run) == 0
    soundfont = tmp_path / "gm.sf2"
    soundfont.write_bytes(b"sf2")
    # the fake writes its arguments into the file named after -F
    fake_fluidsynth(tmp_path / "bin", 'while [ "$1" != "-F" ]; do shift; done; shift; out=$1; shift\n'
                                      'echo "$@" > "$out"\n')
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:/usr/bin:/bin")
    capsys.readouterr()
    assert main(["compose", "sample", "--checkpoint", str(run), "--length", "4", "--device", "cpu",
                 "--out", str(tmp_path / "s"), "--soundfont", str(soundfont)]) == 0
    assert capsys.readouterr().out.strip().endswith(f"{tmp_path}/s.png, {tmp_path}/s.wav")
    assert (tmp_path / "s.wav").read_text().split() == ["-r", "44100", str(soundfont), str(tmp_path / "s.mid")]


def test_a_failing_fluidsynth_is_reported_and_leaves_no_wav(tmp_path, chorale_cache, capsys, monkeypatch):
    run = tmp_path / "run"
    assert train_tiny(run) == 0
    soundfont = tmp_path / "gm.sf2"
    soundfont.write_bytes(b"sf2")
    fake_fluidsynth(tmp_path / "bin", "echo 'not a SoundFont' >&2; exit 1\n")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:/usr/bin:/bin")
    capsys.readouterr()
    assert main(["compose", "sample", "--checkpoint", str(run), "--length", "4", "--device", "cpu",
                 "--out", str(tmp_path / "s"), "--soundfont", str(soundfont)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "no WAV: fluidsynth failed: not a SoundFont"
    assert sorted(p.name for p in tmp_path.glob("s*")) == ["s.mid", "s.musicxml", "s.png", "s.svg"]


GM_SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"


@pytest.mark.skipif(shutil.which("fluidsynth") is None or not Path(GM_SOUNDFONT).is_file(),
                    reason="fluidsynth and fluid-soundfont-gm are not installed")
def test_the_real_fluidsynth_renders_a_wav(tmp_path, chorale_cache, capsys):
    run = tmp_path / "run"
    assert train_tiny(run) == 0
    capsys.readouterr()
    assert main(["compose", "sample", "--checkpoint", str(run), "--length", "4", "--device", "cpu",
                 "--out", str(tmp_path / "s")]) == 0
    assert capsys.readouterr().out.strip().endswith(f"{tmp_path}/s.wav")
    header = (tmp_path / "s.wav").read_bytes()[:12]
    assert header[:4] == b"RIFF" and header[8:] == b"WAVE"


ABC = "X:1\nT:Good\nM:4/4\nL:1/8\nK:G\nGABc dedB|\n\nX:2\nT:Broken\nM:4/4\nL:1/8\nK:G\n[[[[ GAB|\n"


def test_abc_text_becomes_midi_tune_by_tune(tmp_path, capsys):
    abc = tmp_path / "tunes.abc"
    abc.write_text(ABC)
    assert main(["compose", "abc", "--file", str(abc)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"tune 1: wrote {tmp_path}/tunes-1.mid"
    assert out[1].startswith("tune 2 does not parse as ABC: Bad chord indicator")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tunes-1.mid", "tunes.abc"]
    assert read_music(str(tmp_path / "tunes-1.mid"))[0].nonzero().flatten().tolist() == [67 - 21]  # G4


def test_the_folk_corpus_is_music21s_abc_tunes():
    folk = load_text(None, "folk")
    assert folk.count("\nX:") > 10_000 and folk.count("\nK:") > 10_000
    tunes = commands.abc_tunes(folk[:20_000], "folk")
    assert tunes and all(t.startswith("X:") for t in tunes)


def test_the_char_lm_trains_on_folk_tunes_and_scores_their_validation_split(tmp_path, capsys):
    run = tmp_path / "folk"
    assert main(["train", "--corpus", "folk", "--val-fraction", "0.001", "--steps", "2", "--run-dir", str(run),
                 *CHARLM_TINY]) == 0
    assert json.loads((run / "best.json").read_text())["config"]["corpus"] == "folk"
    capsys.readouterr()
    assert main(["eval", "--checkpoint", str(run), "--device", "cpu"]) == 0
    assert capsys.readouterr().out.startswith(f"the run's validation split: {int(4_337_088 * 0.001) - 1} characters")


# -- bad input: one line, exit 1, nothing written -----------------------------------------------

def midi_with_note(path, pitch: int):
    s = stream.Stream([note.Note(pitch, quarterLength=1)])
    s.write("midi", fp=str(path))
    return path


def bad_inputs(tmp_path, run):
    charlm_run = tmp_path / "charlm"
    charlm_run.mkdir()
    checkpoint.save(charlm_run, "best", {"step": 1}, {"w": torch.zeros(1)}, application="charlm")
    garbage = tmp_path / "garbage.xml"
    garbage.write_text("<score-partwise><part id='P1'><measure><note>")
    empty, prose = tmp_path / "empty.abc", tmp_path / "prose.abc"
    empty.write_text("")
    prose.write_text("Once upon a time there was a tune.\n")
    broken = tmp_path / "broken.abc"
    broken.write_text("X:1\nM:4/4\nL:1/8\nK:G\n[[[[ GAB|\n")
    sample = ["compose", "sample", "--checkpoint", str(run), "--device", "cpu", "--out", str(tmp_path / "o")]
    return [
        (sample + ["--prime", str(garbage)], f"cannot read {garbage} as music (MusicXML, MIDI or ABC expected)"),
        (sample + ["--prime", str(tmp_path / "missing.mid")], "does not exist"),
        (sample + ["--prime", str(midi_with_note(tmp_path / "high.mid", 109))],
         "has the note C#8 (MIDI 109), outside the piano's 88 keys"),
        (sample + ["--temperature", "0"], "--temperature 0.0 is out of range: expected X > 0"),
        (["compose", "sample", "--checkpoint", str(run), "--out", str(tmp_path / "no" / "o")], "does not exist"),
        (["compose", "sample", "--checkpoint", str(charlm_run)], "is a checkpoint of rnnkit's char-LM, not of its composer"),
        (["compose", "eval", "--checkpoint", str(charlm_run)], "is a checkpoint of rnnkit's char-LM, not of its composer"),
        (["sample", "--checkpoint", str(run)], "is a checkpoint of rnnkit's composer, not of its char-LM"),
        (["inspect", "--checkpoint", str(run), "--text", "a"], "composer, whose network reads piano-roll frames; this command runs a network on a text's characters: give it a char-LM checkpoint"),
        (["compose", "abc", "--file", str(empty)], "is empty"),
        (["compose", "abc", "--file", str(prose)], "is not ABC notation: no tune with a K: (key) line"),
        (["compose", "abc", "--file", str(broken)], "none of the 1 tune(s) of"),
        (["compose", "train", "--steps", "0", "--minutes", "0", "--run-dir", str(tmp_path / "r2")],
         "--minutes 0.0 is out of range: expected X > 0"),
        (["compose", "train", "--weight-decay", "-0.1", "--run-dir", str(tmp_path / "r3")],
         "--weight-decay -0.1 is out of range: expected X >= 0"),
        (["compose", "train", "--warmup", "-1", "--run-dir", str(tmp_path / "r4")],
         "--warmup -1 is out of range: expected N >= 0"),
        (["compose", "train", "--learn-tau", "1", "--run-dir", str(tmp_path / "r5")],
         "--learn-tau 1: only --cell ctrnn has time constants to learn, not --cell lstm"),
    ]


def test_a_score_verovio_cannot_engrave_is_one_line_and_nothing_written(tmp_path, chorale_cache, capsys,
                                                                        monkeypatch):
    import verovio

    run = tmp_path / "run"
    assert train_tiny(run) == 0
    monkeypatch.setattr(verovio.toolkit, "loadData", lambda self, data: False)
    before = sorted(run.iterdir())
    capsys.readouterr()
    assert main(["compose", "sample", "--checkpoint", str(run), "--length", "4", "--device", "cpu"]) == 1
    captured = capsys.readouterr()
    assert captured.err == "rnnkit: error: Verovio cannot engrave the score music21 wrote\n" and captured.out == ""
    assert sorted(run.iterdir()) == before


def test_a_long_score_is_every_page_one_under_the_other():
    from rnnkit.compose.outputs import engraved

    rng = random.Random(1)  # keys of even frames below those of odd ones: every note one quarter, none tied
    roll = roll_with([rng.sample(range(20, 45) if t % 2 else range(45, 70), rng.randint(1, 4)) for t in range(48)])
    score = score_of(roll)
    one, pages = ET.fromstring(engraved(score)), ET.fromstring(engraved(score, page_height=300))
    assert len(one) == 1 and len(pages) > 1
    tops = [float(page.attrib["y"]) for page in pages]
    assert tops[0] == 0 and all(a < b for a, b in zip(tops, tops[1:]))
    assert float(pages.attrib["height"].removesuffix("px")) > tops[-1]
    notes = lambda svg: sum(1 for g in svg.iter("{http://www.w3.org/2000/svg}g") if g.attrib.get("class") == "note")
    assert notes(pages) == notes(one) == int(roll.sum())


def test_bad_input_is_one_line_exit_1_and_nothing_written(tmp_path, chorale_cache, capsys):
    run = tmp_path / "run"
    assert train_tiny(run) == 0
    cases = bad_inputs(tmp_path, run)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    for argv, words in cases:
        capsys.readouterr()
        assert main(argv) == 1, argv
        err = capsys.readouterr().err
        assert err.startswith("rnnkit: error: ") and err.count("\n") == 1 and words in err, (argv, err)
        assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before, argv
