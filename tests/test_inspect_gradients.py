"""||dL/dh_t||: against a hand computation, against autograd through torch.nn, and the CLI."""
import csv
import math

import pytest
import torch
from torch import nn

import rnnkit
from rnnkit.cli import main
from rnnkit.inspect.gradients import adding_problem, chrono_init, gradient_norms, make_network, measure


def test_one_linear_unit_by_hand():
    # h_t = tanh(0.5 h_{t-1}) from h = 0 stays 0 (tanh' = 1 there), so dL/dh_t = 0.5^(T-1-t) dL/dh_{T-1};
    # read-out 2 h, target 1: L = (2 h - 1)^2, dL/dh_{T-1} = 2 (2 * 0 - 1) * 2 = -4
    rnn = rnnkit.RNN(1, 1, bias=False)
    head = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        rnn.weight_ih_l0.fill_(0.0)
        rnn.weight_hh_l0.fill_(0.5)
        head.weight.fill_(2.0)
    T = 7
    norms = gradient_norms(rnn, head, torch.ones(T, 1, 1), torch.ones(1))
    torch.testing.assert_close(norms, torch.tensor([4 * 0.5 ** (T - 1 - t) for t in range(T)]))


def autograd_norms(net: nn.Module, head: nn.Module, x, y):
    """The same quantity the slow, plain way: for each t, h_t made a leaf and the rest of the
    sequence run from it by torch.nn's own layer, then torch.autograd.grad of the loss."""
    T, norms = x.shape[0], []
    for t in range(T):
        _, state = net(x[:t + 1])
        lstm = isinstance(state, tuple)
        h = (state[0] if lstm else state).detach().requires_grad_()
        rest = (h, state[1].detach()) if lstm else h
        _, final = net(x[t + 1:], rest) if t + 1 < T else (None, rest)
        last = final[0] if lstm else final
        loss = ((head(last[-1]).squeeze(-1) - y) ** 2).sum()
        (grad,) = torch.autograd.grad(loss, h)
        norms.append(grad[-1].norm(dim=-1).mean())
    return torch.stack(norms)


@pytest.mark.parametrize("ours, theirs", [
    (rnnkit.RNN, nn.RNN), (rnnkit.LSTM, nn.LSTM), (rnnkit.GRU, nn.GRU)])
@pytest.mark.parametrize("engine", ["reference", "auto"])
def test_gradient_norms_match_autograd_through_torch_nn(ours, theirs, engine):
    torch.manual_seed(0)
    net = ours(3, 5, engine=engine).double()
    peer = theirs(3, 5).double()
    peer.load_state_dict(net.state_dict())
    head = nn.Linear(5, 1).double()
    x, y = torch.randn(8, 4, 3, dtype=torch.double), torch.randn(4, dtype=torch.double)
    torch.testing.assert_close(gradient_norms(net, head, x, y), autograd_norms(peer, head, x, y))
    assert all(p.grad is None for p in [*net.parameters(), *head.parameters()])


def test_adding_problem_marks_two_numbers_and_sums_them():
    x, y = adding_problem(lag=40, batch=200, generator=torch.Generator().manual_seed(0))
    assert x.shape == (40, 200, 2) and y.shape == (200,)
    markers = x[..., 1]
    assert (markers.sum(0) == 2).all() and set(markers.unique().tolist()) == {0.0, 1.0}
    first = markers.argmax(0)
    assert (first < 10).all() and (markers[20:] == 0).all()
    for b in range(200):
        marked = x[:, b, 0][x[:, b, 1] == 1]
        assert y[b].item() == pytest.approx(marked.sum().item())


def test_chrono_init_sets_the_memory_gates_only():
    torch.manual_seed(0)
    lstm, gru = rnnkit.LSTM(2, 50), rnnkit.GRU(2, 50)
    assert chrono_init(lstm, 100) and chrono_init(gru, 100)
    f = lstm.bias_ih_l0[50:100]
    assert (f >= 0).all() and (f <= math.log(99) + 1e-6).all() and f.std() > 0.5
    torch.testing.assert_close(lstm.bias_ih_l0[:50], -f)
    assert (lstm.bias_hh_l0[:100] == 0).all()
    assert (gru.bias_ih_l0[50:100] >= 0).all() and (gru.bias_hh_l0[50:100] == 0).all()
    rnn = rnnkit.RNN(2, 5)
    before = [p.clone() for p in rnn.parameters()]
    assert not chrono_init(rnn, 100)
    assert all(torch.equal(a, b) for a, b in zip(before, rnn.parameters()))
    assert make_network("rnn", 5, 0, "chrono") is None


def test_measured_curves_decay_and_chrono_keeps_lstm_gradients_alive():
    norms = measure(["rnn", "lstm"], lag=60, inits=("torch", "chrono"), hidden=16, batch=8)
    assert list(norms) == ["rnn", "lstm", "lstm (chrono init)"]  # rnn has no gate for chrono
    for v in norms.values():
        assert v.shape == (60,) and v[0] < v[-1]
    assert norms["rnn"][0] < 1e-6 * norms["rnn"][-1]  # the Elman RNN's gradient vanishes over 60 steps
    assert norms["lstm (chrono init)"][0] > 1e3 * norms["lstm"][0]


def test_gradients_command_writes_the_measured_numbers(tmp_path, capsys):
    out = tmp_path / "g"
    assert main(["gradients", "--cell", "rnn,gru", "--lag", "12", "--hidden", "6", "--batch", "3",
                 "--init", "torch", "--out", str(out), "--threads", "1"]) == 0
    rows = list(csv.DictReader((out / "gradients.csv").read_text().splitlines()))
    assert len(rows) == 12 and list(rows[0]) == ["t", "rnn", "gru"]
    network, head = make_network("gru", 6, 0)
    x, y = adding_problem(12, 3, torch.Generator().manual_seed(1))
    expected = gradient_norms(network.double(), head.double(), x.double(), y.double())
    assert [float(r["gru"]) for r in rows] == pytest.approx(expected.tolist(), rel=1e-5)
    assert (out / "gradients.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "gru" in capsys.readouterr().out


@pytest.mark.parametrize("flags, message", [
    (["--cell", "rnn,elman"], "--cell 'rnn,elman': choose from rnn, lstm, gru, jordan, ctrnn"),
    (["--init", "xavier"], "--init 'xavier': choose from torch, chrono"),
    (["--lag", "2"], "--lag 2 is out of range: expected N >= 4"),
    (["--hidden", "0"], "--hidden 0 is out of range: expected N >= 1"),
])
def test_gradients_command_bad_flags_are_one_line_errors(tmp_path, capsys, flags, message):
    assert main(["gradients", "--out", str(tmp_path), *flags]) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
