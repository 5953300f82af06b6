"""Checkpoints that can be loaded without executing code, and that a crash cannot destroy.

A checkpoint is a pair in the run folder: ``KIND-STEP.safetensors`` (tensors only) and
``KIND.json`` (what the application puts there, the step, and the sha256 of that weights file),
KIND being ``best`` or ``last``. The weights file is written first under a new name, then the
JSON replaces the old one in one atomic rename: that rename is the commit, so whatever moment a
run dies at, ``KIND.json`` names a complete weights file. Older weights are deleted after.

The JSON's ``format`` is ``rnnkit.APPLICATION/1``: it names the application that wrote it, so
that one application refuses another's checkpoint, and the version of this container.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .applications import APPLICATIONS, title
from .errors import UserError

VERSION = 1  # of the container: the pair of files, the fields written here, the atomic commit
_FORMAT = re.compile(r"rnnkit\.([a-z][a-z0-9_-]*)/([0-9]+)")


def format_of(application: str) -> str:
    return f"rnnkit.{application}/{VERSION}"


def application_of(meta: dict) -> str:
    """The application that wrote a checkpoint whose JSON ``load`` accepted."""
    return _FORMAT.fullmatch(meta["format"])[1]


def atomic_write(path: Path, write) -> None:
    """Call ``write(tmp_path)``, flush it to disk, then rename it over ``path``. The temporary
    file is in a folder of this process's own (``.tmp-PID``, beside ``path``), so that what a
    writer makes there of its own (safetensors writes through a ``.tmpXXXXXX`` of its own) is
    found and deleted by ``clean_leftovers`` after a kill. An OSError about the temporary file
    or folder is raised as one about ``path``, the file the caller asked for."""
    folder = path.parent / f".tmp-{os.getpid()}"
    tmp = folder / path.name
    try:
        folder.mkdir(exist_ok=True)
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        if not str(e.filename).startswith(str(folder)):
            raise
        raise OSError(e.errno, e.strerror, str(path)) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save(run: Path, kind: str, meta: dict, tensors: dict[str, torch.Tensor], *, application: str) -> None:
    """Write ``KIND.json`` (``meta``, which holds ``step``) and its weights into the run folder."""
    weights = run / f"{kind}-{meta['step']:07d}.safetensors"
    atomic_write(weights, lambda tmp: save_file(
        {k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp)))
    meta = {"format": format_of(application), "kind": kind, **meta, "weights": weights.name,
            "weights_sha256": _sha256(weights)}
    atomic_write_text(run / f"{kind}.json", json.dumps(meta, indent=1, ensure_ascii=False) + "\n")
    for old in run.glob(f"{kind}-*.safetensors"):
        if old != weights:
            old.unlink(missing_ok=True)


def find(path: str, prefer: tuple[str, ...] = ("best", "last")) -> Path:
    """The checkpoint JSON that ``path`` names: the file itself, or in a run folder the first of ``prefer``."""
    p = Path(path)
    if p.is_dir():
        for kind in prefer:
            if (p / f"{kind}.json").exists():
                return p / f"{kind}.json"
        raise UserError(f"no checkpoint in {p} (expected {' or '.join(k + '.json' for k in prefer)})")
    if not p.exists():
        raise UserError(f"checkpoint {p} does not exist")
    if p.suffix == ".safetensors" and re.fullmatch(r"[a-z]+-[0-9]+", p.stem):
        raise UserError(f"{p} is the weights file of a checkpoint; give its run folder {p.parent} "
                        f"or the {p.stem.split('-')[0]}.json beside it")
    return p


def newest(run: str, kinds: tuple[str, ...] = ("last", "best")) -> Path:
    """The checkpoint JSON of run folder ``run`` with the highest step among ``kinds``: where a
    run killed at any moment continues from (a kill between two checkpoints of one validation
    leaves ``best`` ahead of ``last``)."""
    folder = Path(run)
    if not folder.is_dir():
        raise UserError(f"run folder {folder} does not exist" if not folder.exists()
                        else f"{folder} is not a run folder; --resume takes the folder of the run to continue")
    found = {}
    for kind in kinds:
        try:
            found[kind] = json.loads((folder / f"{kind}.json").read_text(encoding="utf-8"))["step"]
        except FileNotFoundError:
            continue
        except (OSError, ValueError, KeyError, TypeError):  # damaged: chosen only if alone, so that load says so
            found[kind] = -1
    if not found:
        raise UserError(f"no checkpoint in {folder}: a run saves its first one at its first validation "
                        f"(--eval-every), so a run stopped before it cannot be continued; start it again with "
                        f"--run-dir {folder}")
    return folder / f"{max(found, key=found.get)}.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def clean_leftovers(run: Path) -> list[str]:
    """Delete what a process killed while saving leaves in a run folder, and return the names:
    the temporary folders of processes no longer alive (and the ``.NAME.tmp-PID`` files that
    versions before those folders wrote), and weights files their checkpoint JSON does not name
    (written, but never committed)."""
    removed = []
    for tmp in [*(p for p in run.glob(".tmp-*") if p.is_dir()), *run.glob(".*.tmp-*")]:
        pid = tmp.name.rsplit("-", 1)[1]
        if pid.isdigit() and not _alive(int(pid)):
            if tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.unlink(missing_ok=True)
            removed.append(tmp.name)
    for weights in run.glob("*-*.safetensors"):
        kind = weights.name.split("-")[0]
        try:
            named = json.loads((run / f"{kind}.json").read_text(encoding="utf-8")).get("weights")
        except FileNotFoundError:
            named = None
        except (OSError, ValueError, AttributeError):
            continue  # a damaged checkpoint: load explains it; nothing here is deleted
        if re.fullmatch(r"[a-z]+-[0-9]{7}\.safetensors", weights.name) and weights.name != named:
            weights.unlink(missing_ok=True)
            removed.append(weights.name)
    return sorted(removed)


def _check_format(meta_path: Path, meta, application: str | None) -> None:
    """A UserError unless ``meta`` is the JSON of a checkpoint of ``application`` (None: of any)."""
    expected = [format_of(application)] if application else [format_of(a) for a in APPLICATIONS]
    found = _FORMAT.fullmatch(str(meta.get("format"))) if isinstance(meta, dict) else None
    if not found or int(found[2]) != VERSION or (application is None and found[1] not in APPLICATIONS):
        what = f"rnnkit {title(application)} checkpoint" if application else "rnnkit checkpoint"
        raise UserError(f"{meta_path} is not an {what} (format {' or '.join(expected)} expected)")
    if application and found[1] != application:
        raise UserError(f"{meta_path} is a checkpoint of rnnkit's {title(found[1])}, "
                        f"not of its {title(application)}")


def load(path: str, prefer: tuple[str, ...] = ("best", "last"), *,
         application: str | None) -> tuple[dict, dict[str, torch.Tensor]]:
    """(meta, tensors) of a checkpoint of ``application`` (None: of any application), verified;
    a one-line UserError if it is not a sound one."""
    meta_path = find(path, prefer)
    try:
        raw = meta_path.read_bytes()
    except OSError as e:
        raise UserError(f"cannot read checkpoint {meta_path}: {e.strerror or e}") from None
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        if raw.lstrip().startswith(b"{") and b'"rnnkit.' in raw[:300]:  # one of ours, cut short or damaged
            raise UserError(f"checkpoint {meta_path} is corrupt or truncated ({e})") from None
        raise UserError(f"{meta_path} is not an rnnkit checkpoint (expected a run folder, or the best.json or "
                        "last.json in one; rnnkit never reads torch.save pickles)") from None
    _check_format(meta_path, meta, application)
    weights = meta_path.parent / str(meta.get("weights"))
    if not weights.is_file():
        raise UserError(f"checkpoint {meta_path} is incomplete: its weights file {weights.name} is missing")
    if _sha256(weights) != meta.get("weights_sha256"):
        raise UserError(f"checkpoint weights {weights} are corrupt or truncated (sha256 mismatch)")
    try:
        tensors = load_file(str(weights))
    except (SafetensorError, OSError) as e:
        raise UserError(f"checkpoint weights {weights} cannot be read ({e})") from None
    return meta, tensors


def prefixed(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
