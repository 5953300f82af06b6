"""rnnkit: train, sample and evaluate character-level language models; tag slots in utterances.

    rnnkit train                      # Shakespeare, default recipe, about 10 minutes on 2 CPU cores
    rnnkit train --text my.txt --cell gru --layers 2 --hidden 512
    rnnkit sample --checkpoint runs/NAME --prime "ROMEO:" --temperature 0.8 --top-k 40
    rnnkit eval --checkpoint runs/NAME --text held_out.txt
    rnnkit export --checkpoint runs/NAME --format onnx charlm.onnx      # runs in onnxruntime alone
    rnnkit export --checkpoint runs/TAGGER --format onnx tagger.onnx    # a tagger too
    rnnkit inspect --checkpoint runs/NAME --text "ROMEO: But, soft!"   # heat maps, saturation, viewer.html
    rnnkit gradients --cell rnn,lstm,gru --lag 100                     # ||dL/dh_t|| measured, plotted
    rnnkit tag train                  # slot filling on ATIS, a bidirectional LSTM (rnnkit tag --help)
    rnnkit tag predict --checkpoint runs/NAME --text "arrive taipei on november 2nd"
    rnnkit compose train --cell gru                                    # Bach's chorales as piano rolls
    rnnkit compose sample --checkpoint runs/NAME --length 64           # MIDI, MusicXML, score, piano roll, WAV
"""
from __future__ import annotations

import argparse
import os
import signal
import sys

import torch

from .app.errors import UserError
from .app.export import ExportConfig, run_export
from .app.options import add_flags, from_args, typed
from .charlm.config import EvalConfig, SampleConfig, TrainConfig
from .compose import config as compose
from .inspect.config import GradientsConfig, InspectConfig
from .tagger.config import EvalConfig as TagEvalConfig
from .tagger.config import PredictConfig as TagPredictConfig
from .tagger.config import TrainConfig as TagTrainConfig


# the optional extras of pyproject.toml the commands need, by the module a missing one lacks
EXTRAS = {"safetensors": "app", "tqdm": "app", "matplotlib": "app", "seqeval": "app", "music21": "app",
          "verovio": "app", "onnx": "onnx", "onnxscript": "onnx"}


def _train(args) -> int:
    from .charlm.train import train

    return train(from_args(TrainConfig, args), typed=typed(TrainConfig, args))


def _sample(args) -> int:
    from .charlm.sample import run_sample

    return run_sample(from_args(SampleConfig, args))


def _eval(args) -> int:
    from .charlm.evaluate import run_eval

    return run_eval(from_args(EvalConfig, args))


def _export(args) -> int:
    return run_export(from_args(ExportConfig, args))


def _inspect(args) -> int:
    from .inspect.run import run_inspect

    return run_inspect(from_args(InspectConfig, args))


def _gradients(args) -> int:
    from .inspect.run import run_gradients

    return run_gradients(from_args(GradientsConfig, args))


class _Parser(argparse.ArgumentParser):
    """argparse, whose errors (an unknown flag, a value that is not a number) are one line."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _tag_train(args) -> int:
    from .tagger.train import train

    return train(from_args(TagTrainConfig, args), typed=typed(TagTrainConfig, args))


def _tag_eval(args) -> int:
    from .tagger.run import run_eval

    return run_eval(from_args(TagEvalConfig, args))


def _tag_predict(args) -> int:
    from .tagger.run import run_predict

    return run_predict(from_args(TagPredictConfig, args))


TAG_COMMANDS = (
    ("train", TagTrainConfig, _tag_train, "train a slot tagger (ATIS by default) with a joint intent head"),
    ("eval", TagEvalConfig, _tag_eval, "slot precision, recall, F1 and intent accuracy of a trained tagger"),
    ("predict", TagPredictConfig, _tag_predict, "tag utterances: one 'word:TAG ... <=> intent' line each"),
)


def _add_commands(commands, table) -> None:
    for name, config, run, help_text in table:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        add_flags(sub, config)
        sub.set_defaults(command=run)


def _composer(name: str, config):
    def run(args) -> int:
        from .compose import commands

        return commands.COMMANDS[name](from_args(config, args))

    return run


def _compose_train(args) -> int:
    from .compose.train import train

    return train(from_args(compose.TrainConfig, args), typed=typed(compose.TrainConfig, args))


COMPOSE_COMMANDS = (
    ("train", compose.TrainConfig, _compose_train,
     "train a network on Bach's chorales (piano rolls, one frame per quarter note)"),
) + tuple((name, config, _composer(name, config), help_text) for name, config, help_text in (
    ("eval", compose.EvalConfig, "negative log-likelihood (nats per frame) and frame accuracy of a trained model"),
    ("baseline", compose.BaselineConfig, "the same scores for the independent per-key baseline"),
    ("sample", compose.SampleConfig, "compose: MIDI, MusicXML, the engraved score, a piano-roll picture and a WAV"),
    ("abc", compose.AbcConfig, "ABC text (a char-LM's folk tunes) to MIDI, tune by tune")))


def _add_group(commands, name: str, help_text: str, table) -> None:
    group = commands.add_parser(name, help=help_text, description=help_text)
    _add_commands(group.add_subparsers(title="commands", metavar="COMMAND", required=True), table)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rnnkit", description=__doc__.split("\n\n")[0],
                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog="\n".join(__doc__.split("\n\n")[1:]))
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    _add_commands(commands, (
        ("train", TrainConfig, _train, "train a character-level language model"),
        ("sample", SampleConfig, _sample, "stream text generated by a trained model"),
        ("eval", EvalConfig, _eval, "loss of a trained model on a text, in nats and bits per character"),
        ("export", ExportConfig, _export, "write a trained model as a file that runs without rnnkit (ONNX)"),
        ("inspect", InspectConfig, _inspect,
         "heat maps of every gate, gate saturation and an HTML activation viewer of a trained model on a text"),
        ("gradients", GradientsConfig, _gradients,
         "measure and plot how the gradient of the last step's loss reaches each earlier step")))
    _add_group(commands, "tag", "slot filling: train, evaluate and run a tagger of utterances", TAG_COMMANDS)
    _add_group(commands, "compose", "learn and write music (Bach's chorales)", COMPOSE_COMMANDS)
    return parser


def _error(message: str) -> int:
    print(f"rnnkit: error: {message}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    """The rnnkit command: 0 when done, 1 after one line on bad input, 2 on a misspelt command
    line, 128 + N when stopped by signal N (130: Ctrl-C); never a traceback for a user's mistake."""
    try:
        args = build_parser().parse_args(argv)
        return args.command(args)
    except UserError as e:
        return _error(str(e))
    except ModuleNotFoundError as e:
        if e.name not in EXTRAS:
            raise
        return _error(f"the rnnkit command needs {e.name}: pip install 'rnnkit[{EXTRAS[e.name]}]'")
    except KeyboardInterrupt:
        print("rnnkit: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT
    except BrokenPipeError:  # the reader went away (| head): stop quietly, as a program killed by SIGPIPE
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's last flush must not fail again
        return 128 + signal.SIGPIPE
    except (MemoryError, RuntimeError) as e:  # torch's allocators: "can't allocate memory", OutOfMemoryError
        if not isinstance(e, (MemoryError, torch.OutOfMemoryError)) and "can't allocate memory" not in str(e):
            raise
        return _error("out of memory: use a smaller model (--hidden, --layers), --batch or text")
    except OSError as e:  # the disk or a folder failed under a running command (full, made unwritable)
        return _error(f"cannot write or read {e.filename or 'a file'}: {e.strerror or e}")
