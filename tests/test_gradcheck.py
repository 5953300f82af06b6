"""torch.autograd.gradcheck in float64 for every cell and option torch.nn does not have:
the reference engine's gradients against finite differences.

Each variant runs in a 2-layer bidirectional stack; gradcheck's fast mode (a random
projection of the Jacobian, checked against the same projection by finite differences)
keeps that affordable, and the single-step cells get the full Jacobian."""

import pytest
import torch

import rnnkit

T, B, I, H = 3, 2, 3, 4
ACTS = ("tanh", "sigmoid", "relu", "identity", "hardsigmoid")

VARIANTS = {
    **{f"lstm_peephole_proj{p}": (rnnkit.LSTM, {"peephole": True, "proj_size": p}) for p in (0, 2)},
    **{f"lstm_no_forget_gate_peephole{p}": (rnnkit.LSTM, {"forget_gate": False, "peephole": p}) for p in (False, True)},
    "lstm_no_forget_gate_proj": (rnnkit.LSTM, {"forget_gate": False, "proj_size": 2}),
    **{f"lstm_activation_{a}": (rnnkit.LSTM, {"activation": a}) for a in ACTS},
    **{f"lstm_recurrent_activation_{a}": (rnnkit.LSTM, {"recurrent_activation": a}) for a in ACTS},
    "gru_reset_before": (rnnkit.GRU, {"reset_after": False}),
    "gru_reset_before_no_bias": (rnnkit.GRU, {"reset_after": False, "bias": False}),
    **{f"gru_activation_{a}": (rnnkit.GRU, {"activation": a, "reset_after": False}) for a in ACTS},
    **{f"gru_recurrent_activation_{a}": (rnnkit.GRU, {"recurrent_activation": a}) for a in ACTS},
    **{f"rnn_{a}": (rnnkit.RNN, {"nonlinearity": a}) for a in ACTS},
    **{f"jordan_{a}": (lambda i, h, **k: rnnkit.JordanRNN(i, h, 2, **k), {"nonlinearity": a}) for a in ACTS},
    **{f"jordan_output_{a}": (lambda i, h, **k: rnnkit.JordanRNN(i, h, 2, **k), {"output_activation": a}) for a in ACTS},
    "jordan_no_bias": (lambda i, h, **k: rnnkit.JordanRNN(i, h, 2, **k), {"bias": False}),
    **{f"ctrnn_{a}": (rnnkit.CTRNN, {"nonlinearity": a, "dt": 1.0, "tau": 3.0}) for a in ACTS},
    "ctrnn_learned_tau": (rnnkit.CTRNN, {"learn_tau": True, "tau": 2.0}),
    "ctrnn_learned_tau_no_bias": (rnnkit.CTRNN, {"learn_tau": True, "bias": False}),
}


def random_state(module, batch):
    sizes = module.cell.state_sizes()
    D = 2 if module.bidirectional else 1
    states = tuple(torch.randn(module.num_layers * D, batch, s, dtype=torch.double, requires_grad=True) for s in sizes)
    return states if len(states) > 1 else states[0]


@pytest.mark.parametrize("variant", VARIANTS)
def test_gradcheck(variant):
    make, options = VARIANTS[variant]
    module = make(I, H, num_layers=2, bidirectional=True, **options).double()
    if "learn_tau" in options:  # distinct taus, so that each unit's gradient differs
        for name, p in module.named_parameters():
            if name.startswith("log_tau"):
                p.data.uniform_(0.0, 1.5)
    x = torch.randn(T, B, I, dtype=torch.double, requires_grad=True)
    hx = random_state(module, B)
    params = tuple(module.parameters())
    names = [n for n, _ in module.named_parameters()]

    def f(x, *args):
        n_states = len(module.cell.states)
        states, weights = args[:n_states], args[n_states:]
        out, state = torch.func.functional_call(module, dict(zip(names, weights)), (x, states if n_states > 1 else states[0]))
        return (out, *(state if isinstance(state, tuple) else (state,)))

    hx_tuple = hx if isinstance(hx, tuple) else (hx,)
    assert torch.autograd.gradcheck(f, (x, *hx_tuple, *params), eps=1e-6, atol=1e-8, fast_mode=True)


@pytest.mark.parametrize(
    "make",
    [
        lambda: rnnkit.LSTMCell(I, H, peephole=True),
        lambda: rnnkit.LSTMCell(I, H, forget_gate=False, activation="relu"),
        lambda: rnnkit.GRUCell(I, H, reset_after=False),
        lambda: rnnkit.JordanCell(I, H, 2, output_activation="sigmoid"),
        lambda: rnnkit.CTRNNCell(I, H, learn_tau=True),
    ],
    ids=("lstm_peephole", "lstm_no_forget_relu", "gru_reset_before", "jordan", "ctrnn_learned_tau"),
)
def test_gradcheck_cells(make):
    cell = make().double()
    names = [n for n, _ in cell.named_parameters()]
    x = torch.randn(B, I, dtype=torch.double, requires_grad=True)
    hx = tuple(torch.randn(B, s, dtype=torch.double, requires_grad=True) for s in cell.cell.state_sizes())

    def f(x, *args):
        states, weights = args[: len(hx)], args[len(hx):]
        new = torch.func.functional_call(cell, dict(zip(names, weights)), (x, states if len(hx) > 1 else states[0]))
        return new

    assert torch.autograd.gradcheck(f, (x, *hx, *cell.parameters()), eps=1e-6, atol=1e-8)
