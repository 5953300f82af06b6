"""Networks with hand-set weights whose every state is worked out on paper from the
equations (no code under test computes an expected value)."""

import math

import pytest
import torch

import rnnkit


def set_params(module, **values):
    with torch.no_grad():
        for name, value in values.items():
            getattr(module, name).copy_(torch.tensor(value, dtype=torch.double))
    return module


def test_lstm_stores_holds_forgets_and_shows_a_value():
    # Inputs (v, s, r): a value, a store/forget flag (1 store, -1 forget) and a show flag.
    #   i = σ(100 s - 50)  open only when storing      f = σ(100 s + 50)  closed only when forgetting
    #   g = tanh(v)         the value                  o = σ(100 r - 50)  open only when showing
    # σ(±50) is 1 or 0 to within 2e-22, so c' = f c + i g and h = o tanh(c) are:
    lstm = rnnkit.LSTM(3, 1, dtype=torch.double)
    set_params(
        lstm,
        weight_ih_l0=[[0, 100, 0], [0, 100, 0], [1, 0, 0], [0, 0, 100]],
        weight_hh_l0=[[0], [0], [0], [0]],
        bias_ih_l0=[-50, 50, 0, -50],
        bias_hh_l0=[0, 0, 0, 0],
    )
    x = torch.tensor(
        [
            [0.5, 1, 0],  # store 0.5:        c = tanh(0.5),  h = 0
            [0.9, 0, 0],  # hold (0.9 unseen): c = tanh(0.5),  h = 0
            [-0.3, 0, 1],  # show:            c = tanh(0.5),  h = tanh(tanh(0.5))
            [0.7, -1, 0],  # forget:          c = 0,          h = 0
            [0.2, 0, 1],  # show:             c = 0,          h = tanh(0) = 0
        ],
        dtype=torch.double,
    ).unsqueeze(1)
    out, (h, c) = lstm(x)
    with rnnkit.record(lstm) as rec:
        lstm(x)
    memory = math.tanh(0.5)  # 0.46211715726000974
    expected_c = [memory, memory, memory, 0.0, 0.0]
    expected_h = [0.0, 0.0, math.tanh(memory), 0.0, 0.0]
    torch.testing.assert_close(rec["l0"]["c"].flatten(), torch.tensor(expected_c, dtype=torch.double), atol=1e-12, rtol=0)
    torch.testing.assert_close(out.flatten(), torch.tensor(expected_h, dtype=torch.double), atol=1e-12, rtol=0)
    assert c.item() == pytest.approx(0.0, abs=1e-12)


def test_linear_elman_with_all_weights_one_adds_up():
    # H = 2, every weight and bias 1, identity: each unit h'_j = x + h_1 + h_2 + 1 + 1.
    # x = 1, 0, 1 from h = 0:  h1 = 1 + 0 + 2 = 3;  h2 = 0 + 6 + 2 = 8;  h3 = 1 + 16 + 2 = 19.
    rnn = rnnkit.RNN(1, 2, nonlinearity="identity", dtype=torch.double)
    for p in rnn.parameters():
        torch.nn.init.ones_(p)
    x = torch.tensor([[1.0], [0.0], [1.0]], dtype=torch.double, requires_grad=True)
    out, h = rnn(x)
    assert out.tolist() == [[3, 3], [8, 8], [19, 19]]
    # d(h3_1)/dx1 = 4 (x1 reaches h1 of both units, each doubling twice), dx2 = 2, dx3 = 1
    out[-1, 0].backward()
    assert x.grad.flatten().tolist() == [4, 2, 1]


@pytest.mark.parametrize("reset_after", (True, False))
def test_gru_with_zero_weights_halves_its_state(reset_after):
    # All weights zero: r = z = σ(0) = 1/2, n = tanh(W_in x) = tanh(x) (W_in = 1),
    # h' = (1 - z) n + z h = (tanh(x) + h) / 2, whichever side of the product r sits.
    gru = rnnkit.GRU(1, 1, reset_after=reset_after, dtype=torch.double)
    for p in gru.parameters():
        torch.nn.init.zeros_(p)
    set_params(gru, weight_ih_l0=[[0], [0], [1]])
    x = torch.tensor([[0.0], [1.0], [0.0]], dtype=torch.double)
    out, _ = gru(x, torch.ones(1, 1, dtype=torch.double))
    h1 = (0 + 1) / 2
    h2 = (math.tanh(1) + h1) / 2
    h3 = (0 + h2) / 2
    assert out.flatten().tolist() == pytest.approx([h1, h2, h3], abs=1e-15)


def test_gru_reset_gate_before_or_after_the_product():
    # h = 2, W_hn = 3, b_hn = 1, r = σ(0) = 1/2, z = σ(-inf-ish) = 0 (b_z = -100), x = 0:
    #   after:  n = tanh(r (W_hn h + b_hn)) = tanh(0.5 * 7) = tanh(3.5)
    #   before: n = tanh(W_hn (r h) + b_hn) = tanh(3 * 1 + 1) = tanh(4)
    results = {}
    for reset_after in (True, False):
        gru = rnnkit.GRU(1, 1, reset_after=reset_after, dtype=torch.double)
        for p in gru.parameters():
            torch.nn.init.zeros_(p)
        set_params(gru, weight_hh_l0=[[0], [0], [3]], bias_hh_l0=[0, -100, 1])
        results[reset_after] = gru(torch.zeros(1, 1, 1, dtype=torch.double), torch.full((1, 1, 1), 2.0, dtype=torch.double))[0].item()
    assert results[True] == pytest.approx(math.tanh(3.5), abs=1e-15)
    assert results[False] == pytest.approx(math.tanh(4.0), abs=1e-15)


def test_ctrnn_relaxes_towards_its_input():
    # identity, W_ih = 1, W_hh = 0, no bias, a = dt / tau = 0.5:  h' = h / 2 + x / 2
    ctrnn = rnnkit.CTRNN(1, 1, nonlinearity="identity", dt=1.0, tau=2.0, bias=False, dtype=torch.double)
    set_params(ctrnn, weight_ih_l0=[[1]], weight_hh_l0=[[0]])
    out, _ = ctrnn(torch.ones(3, 1, dtype=torch.double))
    assert out.flatten().tolist() == [0.5, 0.75, 0.875]


def test_ctrnn_learned_tau_starts_at_tau_and_stays_positive():
    ctrnn = rnnkit.CTRNN(1, 3, tau=4.0, learn_tau=True, dtype=torch.double)
    assert torch.exp(ctrnn.log_tau_l0).tolist() == pytest.approx([4.0] * 3)
    with torch.no_grad():
        ctrnn.log_tau_l0.fill_(-30.0)  # however far an update pushes it, tau = e^log_tau > 0
    assert (torch.exp(ctrnn.log_tau_l0) > 0).all()


def test_jordan_feeds_back_its_output():
    # identity, W_ih = 1, W_hy = 1, W_ho = 2, zero biases:  h = x + y,  y' = 2 h.
    # x = 1, 1, 1 from y = 0:  h = 1, y = 2;  h = 3, y = 6;  h = 7, y = 14.
    jordan = rnnkit.JordanRNN(1, 1, 1, nonlinearity="identity", dtype=torch.double)
    for p in jordan.parameters():
        torch.nn.init.zeros_(p)
    set_params(jordan, weight_ih_l0=[[1]], weight_hy_l0=[[1]], weight_ho_l0=[[2]])
    x = torch.ones(3, 1, 1, dtype=torch.double)
    with rnnkit.record(jordan) as rec:
        y, y_n = jordan(x)
    assert y.flatten().tolist() == [2, 6, 14]
    assert rec["l0"]["h"].flatten().tolist() == [1, 3, 7]
    assert y_n.flatten().tolist() == [14]


def test_peephole_lets_the_gates_see_the_cell():
    # All weights zero but the peepholes (1, 1, 1); c = 2, h = 0, x = 0:
    #   i = σ(c) = σ(2), f = σ(2), g = tanh(0) = 0 -> c' = σ(2) * 2
    #   o = σ(c') and h' = σ(c') tanh(c')
    lstm = rnnkit.LSTM(1, 1, peephole=True, dtype=torch.double)
    for p in lstm.parameters():
        torch.nn.init.zeros_(p)
    set_params(lstm, weight_peephole_l0=[[1], [1], [1]])
    zeros = torch.zeros(1, 1, 1, dtype=torch.double)
    _, (h, c) = lstm(zeros, (zeros, torch.full((1, 1, 1), 2.0, dtype=torch.double)))
    sig = lambda v: 1 / (1 + math.exp(-v))
    c1 = sig(2) * 2
    assert c.item() == pytest.approx(c1, abs=1e-15)
    assert h.item() == pytest.approx(sig(c1) * math.tanh(c1), abs=1e-15)


def test_lstm_without_forget_gate_accumulates():
    # i = σ(100) = 1, g = tanh(W x) with W = 1, o = 1: c' = c + tanh(x), the constant error carousel.
    lstm = rnnkit.LSTM(1, 1, forget_gate=False, dtype=torch.double)
    assert lstm.weight_ih_l0.shape == (3, 1)
    for p in lstm.parameters():
        torch.nn.init.zeros_(p)
    set_params(lstm, weight_ih_l0=[[0], [1], [0]], bias_ih_l0=[100, 0, 100])
    x = torch.tensor([0.5, 0.5, -0.25], dtype=torch.double).reshape(3, 1, 1)
    _, (_, c) = lstm(x)
    assert c.item() == pytest.approx(2 * math.tanh(0.5) + math.tanh(-0.25), abs=1e-14)
