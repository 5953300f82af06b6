"""Typed configs that make their command's flags.

A field made by ``option`` holds its flag group, its one-line help and the range of values it
accepts in its ``metadata``, so the dataclass is the single place where a setting, its
default, its valid values and its documentation live. ``add_flags`` turns the fields into
``--flags`` (their help shows default and range), ``from_args`` the parsed flags back into the
dataclass, refusing any value outside its range with one line, and ``typed`` says which flags
the user actually typed.
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import os
from dataclasses import dataclass, field

from .errors import UserError


@dataclass(frozen=True)
class Range:
    """The numbers ``low <= X <= high`` (``<`` where open; None: unbounded); floats also finite."""
    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False

    def holds(self, value) -> bool:
        if isinstance(value, float) and not math.isfinite(value):
            return False
        above = self.low is None or (value > self.low if self.open_low else value >= self.low)
        below = self.high is None or (value < self.high if self.open_high else value <= self.high)
        return above and below

    def describe(self, var: str) -> str:
        """``N >= 1``, ``X > 0``, ``0 <= X < 1``."""
        low = None if self.low is None else f"{_number(self.low)} {'<' if self.open_low else '<='} "
        high = None if self.high is None else f" {'<' if self.open_high else '<='} {_number(self.high)}"
        if low and high:
            return f"{low}{var}{high}"
        if low:
            return f"{var} {'>' if self.open_low else '>='} {_number(self.low)}"
        return f"{var}{high}" if high else var


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def at_least(low: float) -> Range:
    return Range(low)


def above(low: float) -> Range:
    return Range(low, open_low=True)


SEEDS = Range(0, 2 ** 32 - 1)  # what every random generator accepts, however the seed is combined
THREADS = Range(0, os.cpu_count() or 1)  # 0: torch's default; more threads than CPUs only slow torch down (or crash it)


def option(default, group: str, help: str, *, valid: Range | None = None, **extra):
    """A dataclass field that becomes ``--name`` in argument group ``group``; a number outside
    ``valid`` is refused by ``from_args``. ``extra`` may hold ``choices``, ``required``, ``metavar``
    and ``positional`` (a required argument without a flag)."""
    return field(default=default, metadata={"group": group, "help": help, "valid": valid, **extra})


def checkpoint_option():
    """``--checkpoint PATH``, required: what every command that reads a trained model takes."""
    return option(None, "model", "run folder (its best checkpoint) or a checkpoint .json file",
                  required=True, metavar="PATH")


def device_option():
    """``--device``, as every command that runs a trained model takes it."""
    return option("auto", "system", "cpu, cuda, cuda:N, or auto")


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _kind(f: dataclasses.Field) -> str:
    return f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")  # "int" either way


_NOT_TYPED = object()  # argparse's default for every flag: what is not typed stays this


def add_flags(parser: argparse.ArgumentParser, config_cls) -> None:
    """Add one ``--flag`` per field of ``config_cls``, in argument groups named by the fields."""
    groups: dict[str, argparse._ArgumentGroup] = {}
    for f in dataclasses.fields(config_cls):
        meta = f.metadata
        group = groups.get(meta["group"]) or parser.add_argument_group(meta["group"])
        groups[meta["group"]] = group
        kind = _kind(f)
        metavar = meta.get("metavar", {"int": "N", "float": "X"}.get(kind, "NAME"))
        shown = repr(f.default) if isinstance(f.default, str) and f.default.isspace() else f.default
        notes = [] if f.default is None else [f"default: {shown}"]
        if meta["valid"]:
            notes.append(meta["valid"].describe(metavar))
        help_text = meta["help"] + (f" ({'; '.join(notes)})" if notes else "")
        if meta.get("positional"):
            group.add_argument(f.name, type={"int": int, "float": float}.get(kind, str), help=meta["help"],
                               metavar=metavar)
            continue
        group.add_argument(flag(f.name), dest=f.name, type={"int": int, "float": float}.get(kind, str),
                           default=_NOT_TYPED, help=help_text.replace("%", "%%"),
                           metavar=None if "choices" in meta else metavar,
                           **{k: meta[k] for k in ("choices", "required") if k in meta})


def typed(config_cls, args: argparse.Namespace) -> frozenset[str]:
    """The fields of ``config_cls`` whose flag the user typed, whatever the value."""
    return frozenset(f.name for f in dataclasses.fields(config_cls) if getattr(args, f.name) is not _NOT_TYPED)


def not_default(config) -> frozenset[str]:
    """The fields of a config made in code that differ from their defaults: the flags that
    would have made it."""
    return frozenset(f.name for f in dataclasses.fields(config) if getattr(config, f.name) != f.default)


def check(config) -> None:
    """A one-line UserError naming the flag, the value and the range of the first field of
    ``config`` outside its range."""
    for f in dataclasses.fields(config):
        valid, value = f.metadata.get("valid"), getattr(config, f.name)
        if valid and value is not None and not valid.holds(value):
            var = f.metadata.get("metavar", {"int": "N", "float": "X"}.get(_kind(f), "X"))
            finite = " and finite" if isinstance(value, float) and math.isinf(value) else ""
            raise UserError(f"{flag(f.name)} {value} is out of range: expected {valid.describe(var)}{finite}")


def from_args(config_cls, args: argparse.Namespace):
    """The config the parsed flags describe (a field not typed keeps its default), checked."""
    given = typed(config_cls, args)
    config = config_cls(**{name: getattr(args, name) for name in given})
    check(config)
    return config
