"""Typed configs that make their command's flags.

A field made by ``option`` holds its flag group and one-line help in its ``metadata``, so the
dataclass is the single place where a setting, its default and its documentation live;
``add_flags`` turns the fields into ``--flags`` and ``from_args`` the parsed flags back into
the dataclass.
"""
from __future__ import annotations

import argparse
import dataclasses
from dataclasses import field


def option(default, group: str, help: str, **extra):
    """A dataclass field that becomes ``--name`` in argument group ``group``; ``extra`` may hold
    ``choices``, ``required``, ``metavar`` and ``positional`` (a required argument without a flag)."""
    return field(default=default, metadata={"group": group, "help": help, **extra})


def add_flags(parser: argparse.ArgumentParser, config_cls) -> None:
    """Add one ``--flag`` per field of ``config_cls``, in argument groups named by the fields."""
    groups: dict[str, argparse._ArgumentGroup] = {}
    for f in dataclasses.fields(config_cls):
        meta = f.metadata
        group = groups.get(meta["group"]) or parser.add_argument_group(meta["group"])
        groups[meta["group"]] = group
        flag = "--" + f.name.replace("_", "-")
        type_name = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")  # "int" either way
        kind = {"int": int, "float": float}.get(type_name, str)
        shown = repr(f.default) if isinstance(f.default, str) and f.default.isspace() else f.default
        help_text = meta["help"] if f.default is None else f"{meta['help']} (default: {shown})"
        metavar = meta.get("metavar", {"int": "N", "float": "X"}.get(type_name, "NAME"))
        if meta.get("positional"):
            group.add_argument(f.name, type=kind, help=meta["help"], metavar=metavar)
            continue
        group.add_argument(flag, dest=f.name, type=kind, default=f.default, help=help_text,
                           metavar=None if "choices" in meta else metavar,
                           **{k: meta[k] for k in ("choices", "required") if k in meta})


def from_args(config_cls, args: argparse.Namespace):
    return config_cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(config_cls)})
