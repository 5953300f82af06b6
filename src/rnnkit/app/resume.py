"""What continuing an interrupted run needs besides the model's weights: its config, the
optimiser's state and every process's random state, as checkpoint tensors and back."""
from __future__ import annotations

import dataclasses

import torch

from .distributed import gather
from .errors import UserError
from .options import flag


def resumed_config(given, typed: frozenset[str], saved: dict, may_change: tuple[str, ...], source: str):
    """The interrupted run's config (``saved``, as its checkpoint holds it) with the flags the
    user ``typed`` applied, and a list of what they changed (``--steps 300 (was 200)``). A typed
    flag in ``may_change`` is applied; any other one must repeat the run's value: a change is
    refused, never made silently."""
    cls = type(given)
    try:
        had = cls(**saved)
    except TypeError as e:
        raise UserError(f"checkpoint {source} has no usable config ({e})") from None
    for name in sorted(typed - set(may_change)):
        new, old = getattr(given, name), getattr(had, name)
        if new != old:
            raise UserError(f"{flag(name)} {new} differs from the resumed run's {old}; a resumed run keeps its "
                            f"configuration except {', '.join(flag(n) for n in may_change if n != 'resume')}")
    applied = {name: getattr(given, name) for name in typed & set(may_change)}
    changes = [f"{flag(name)} {value} (was {getattr(had, name)})" for name, value in applied.items()
               if name != "resume" and value != getattr(had, name)]
    return dataclasses.replace(had, **applied), sorted(changes)


def optimizer_tensors(opt: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    """The optimiser's per-parameter state as ``{"I.NAME": tensor}`` (its hyper-parameters are
    the run's config, not saved)."""
    return {f"{i}.{k}": v for i, s in opt.state_dict()["state"].items() for k, v in s.items()}


def load_optimizer(opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor]) -> None:
    """Give ``opt`` the state ``optimizer_tensors`` made, keeping its own parameter groups."""
    state: dict[int, dict] = {}
    for k, v in tensors.items():
        i, name = k.split(".", 1)
        state.setdefault(int(i), {})[name] = v
    opt.load_state_dict({"state": state, "param_groups": opt.state_dict()["param_groups"]})


def rng_tensors(world: int, device: torch.device) -> dict[str, torch.Tensor]:
    """Every process's random state: ``rng`` (W, n) uint8, and ``cuda_rng`` on CUDA. Every
    process must call it."""
    tensors = {"rng": gather(torch.get_rng_state().unsqueeze(0), 0, world, device)}
    if device.type == "cuda":
        tensors["cuda_rng"] = gather(torch.cuda.get_rng_state(device).unsqueeze(0), 0, world, device)
    return tensors


def restore_rng(tensors: dict[str, torch.Tensor], rank: int, device: torch.device) -> None:
    """Continue this process's random streams where ``rng_tensors`` left them."""
    torch.set_rng_state(tensors["rng"][rank].clone())
    if device.type == "cuda" and "cuda_rng" in tensors:
        torch.cuda.set_rng_state(tensors["cuda_rng"][rank].clone(), device)
