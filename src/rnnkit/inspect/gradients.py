"""How far back a gradient reaches: ||dL/dh_t|| for every step t of a long-lag task.

    from rnnkit.inspect.gradients import adding_problem, gradient_norms
    net, head = rnnkit.LSTM(2, 32), torch.nn.Linear(32, 1)
    x, y = adding_problem(lag=100, batch=16)          # x: (T, B, 2), y: (B,)
    norms = gradient_norms(net, head, x, y)           # (T,): norms[t] = mean_b ||dL_b/dh_t||

L_b is the squared error of the read-out of sequence b's last state, (head(h_T) - y_b)^2, so
norms[T-1] is the read-out's own gradient and norms[t] shows how much of it reaches step t.
h is the layer's output state (states[0] of its cell: h, or y for a Jordan network); for an
LSTM, dL/dh_t is the gradient through h_t alone, the memory cell c_t being a separate path.

The adding problem (Hochreiter and Schmidhuber 1997): at each step a random number in [0, 1)
and a marker; the target is the sum of the two numbers whose marker is 1, the first of them
within the first 10 steps, the second in the first half, so that the answer needs what was
seen about `lag` steps before the end.

Shapes: T time steps (= lag), B batch, H hidden.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

import rnnkit
from rnnkit.app import networks

__all__ = ["CELLS", "INITS", "adding_problem", "chrono_init", "gradient_norms", "make_network", "measure", "train_adding"]

# the networks compared, one of each family, by their names in rnnkit.app.networks
CELLS = ("rnn", "lstm", "gru", "jordan", "ctrnn")


def adding_problem(lag: int, batch: int, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """(x, y): x (lag, batch, 2) time-major, numbers in x[..., 0], markers in x[..., 1]; y (batch,)."""
    values = torch.rand(lag, batch, generator=generator)
    first = torch.randint(0, min(10, lag // 2), (batch,), generator=generator)
    second = torch.randint(0, lag // 2, (batch,), generator=generator)
    second = torch.where(second == first, (first + 1) % (lag // 2), second)  # two distinct markers
    markers = torch.zeros(lag, batch)
    markers[first, torch.arange(batch)] = 1.0
    markers[second, torch.arange(batch)] = 1.0
    return torch.stack([values, markers], dim=-1), (values * markers).sum(0)


def gradient_norms(network: nn.Module, head: nn.Module, x: Tensor, y: Tensor) -> Tensor:
    """mean over the batch of ||dL_b/dh_t||, for t = 0 .. T-1, as a (T,) tensor.

    `network` is a one-layer, one-direction, time-major rnnkit (or torch.nn) layer, `head`
    maps its (B, H) last state to (B, 1), x is (T, B, I) and y (B,). The network is run one
    step at a time so that each h_t is a tensor of the graph; backward of the summed loss
    then leaves dL_b/dh_t of every sequence b in h_t's gradient (h_t of sequence b reaches
    only L_b). Parameters' .grad are not touched.
    """
    state, hs = None, []
    for t in range(x.shape[0]):
        _, state = network(x[t:t + 1], state)
        h = networks.output_state(state)
        h.retain_grad()
        hs.append(h)
    loss = ((head(hs[-1][-1]).squeeze(-1) - y) ** 2).sum()
    grads = torch.autograd.grad(loss, hs)
    return torch.stack([g[-1].norm(dim=-1).mean() for g in grads])


@torch.no_grad()
def chrono_init(network: nn.Module, t_max: int, generator: torch.Generator | None = None) -> bool:
    """Tallec and Ollivier's chrono initialisation (2018) of a one-layer LSTM or GRU, in place.

    A unit that keeps a fraction k of its memory each step forgets it over about 1/(1-k)
    steps; drawing k = 1 - 1/u, u uniform in [1, t_max - 1], spreads the units' memory
    spans up to t_max. LSTM: forget-gate bias log(u), input-gate bias -log(u); GRU (whose
    z keeps the old state): update-gate bias log(u). The recurrent biases of those gates
    are zeroed. Returns False, changing nothing, for a network without such a gate.
    """
    cell = network.cell
    span = torch.log(1 + torch.rand(cell.hidden_size, generator=generator) * (t_max - 2))  # log(u), u in [1, t_max - 1]
    if cell.spec.family == "LSTM" and cell.spec["forget_gate"]:
        keep, span_signs = ("f", "i"), (1, -1)
    elif cell.spec.family == "GRU":
        keep, span_signs = ("z",), (1,)
    else:
        return False
    for gate, sign in zip(keep, span_signs):
        network.bias_ih_l0[cell.gate_rows(gate)] = sign * span
        network.bias_hh_l0[cell.gate_rows(gate)] = 0
    return True


INITS = ("torch", "chrono")


def make_network(cell: str, hidden: int, seed: int, init: str = "torch",
                 t_max: int = 100) -> tuple[nn.Module, nn.Module] | None:
    """(network, head) for `cell` (one of CELLS) on the adding problem's 2 input features,
    initialised from `seed` by torch's usual init, then for init="chrono" by chrono_init(t_max);
    None where chrono has no gate to set."""
    if cell not in CELLS:
        raise ValueError(f"unknown cell {cell!r}; choose from {', '.join(CELLS)}")
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}; choose from {', '.join(INITS)}")
    torch.manual_seed(seed)
    network, head = networks.build(cell, 2, hidden), nn.Linear(hidden, 1)
    if init == "chrono" and not chrono_init(network, t_max, torch.Generator().manual_seed(seed)):
        return None
    return network, head


def train_adding(network: nn.Module, head: nn.Module, lag: int, steps: int, batch: int = 32,
                 lr: float = 3e-3, seed: int = 0) -> list[float]:
    """Adam on fresh adding-problem batches for `steps` steps; the mean squared errors seen."""
    generator = torch.Generator().manual_seed(seed)
    params = list(network.parameters()) + list(head.parameters())
    optimiser, losses = torch.optim.Adam(params, lr=lr), []
    for _ in range(steps):
        x, y = adding_problem(lag, batch, generator)
        out, _ = network(x)
        loss = ((head(out[-1]).squeeze(-1) - y) ** 2).mean()
        optimiser.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(params, 1.0)
        optimiser.step()
        losses.append(loss.item())
    return losses


def measure(cells: list[str], lag: int, inits: tuple[str, ...] = ("torch",), hidden: int = 32,
            batch: int = 32, train_steps: int = 0, seed: int = 0) -> dict[str, Tensor]:
    """label -> gradient_norms on one adding-problem batch, for each cell and init, after
    `train_steps` of training. Labels are the cell's name, followed by " (chrono init)" for
    that init; a cell without a gate for chrono to set is measured once, at torch's init.

    Every network sees the same batch; the same seed gives the same numbers. Training runs
    in float32, the measurement in float64.
    """
    norms = {}
    for cell in cells:
        for init in inits:
            made = make_network(cell, hidden, seed, init, t_max=lag)
            if made is None:
                continue
            network, head = made
            train_adding(network, head, lag, train_steps, batch, seed=seed)
            x, y = adding_problem(lag, batch, torch.Generator().manual_seed(seed + 1))
            # in float64, where a gradient that float32 would flush to 0 past ~1e-45 still shows
            norms[cell + (" (chrono init)" if init == "chrono" else "")] = gradient_norms(
                network.double(), head.double(), x.double(), y.double())
    return norms
