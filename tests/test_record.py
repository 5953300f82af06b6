"""Recording every gate and state: the values against formulas written out here from
the equations, on torch.nn's own states; the layout of keys, directions and batches."""

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_sequence

import rnnkit

T, B, I, H = 6, 3, 4, 5


def test_lstm_gates_follow_the_equations_on_torchs_states():
    ours = rnnkit.LSTM(I, H, dtype=torch.double)
    theirs = nn.LSTM(I, H, dtype=torch.double)
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(T, B, I, dtype=torch.double)
    with rnnkit.record(ours) as rec:
        out, _ = ours(x)
    # torch's h at every step, and its c from its state after each step
    hs, cs = [torch.zeros(B, H, dtype=torch.double)], [torch.zeros(B, H, dtype=torch.double)]
    for t in range(T):
        _, (h, c) = theirs(x[t : t + 1], (hs[-1][None], cs[-1][None]))
        hs.append(h[0])
        cs.append(c[0])
    W_ih, W_hh, b = theirs.weight_ih_l0, theirs.weight_hh_l0, theirs.bias_ih_l0 + theirs.bias_hh_l0
    r = rec["l0"]
    for t in range(T):
        pre = x[t] @ W_ih.T + hs[t] @ W_hh.T + b
        i, f, g, o = pre[:, :H].sigmoid(), pre[:, H : 2 * H].sigmoid(), pre[:, 2 * H : 3 * H].tanh(), pre[:, 3 * H :].sigmoid()
        for name, value in dict(i=i, f=f, g=g, o=o, c=cs[t + 1], h=hs[t + 1]).items():
            torch.testing.assert_close(r[name][t], value, rtol=1e-12, atol=1e-12)
    assert set(r) == {"i", "f", "g", "o", "h", "c"}


def test_gru_gates_follow_the_equations_on_torchs_states():
    ours = rnnkit.GRU(I, H, dtype=torch.double)
    theirs = nn.GRU(I, H, dtype=torch.double)
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(T, B, I, dtype=torch.double)
    with rnnkit.record(ours) as rec:
        ours(x)
    hs = torch.cat([torch.zeros(1, B, H, dtype=torch.double), theirs(x)[0]])
    gi = x @ theirs.weight_ih_l0.T + theirs.bias_ih_l0
    gh = hs[:-1] @ theirs.weight_hh_l0.T + theirs.bias_hh_l0
    r = (gi[..., :H] + gh[..., :H]).sigmoid()
    z = (gi[..., H : 2 * H] + gh[..., H : 2 * H]).sigmoid()
    n = (gi[..., 2 * H :] + r * gh[..., 2 * H :]).tanh()
    for name, value in dict(r=r, z=z, n=n, h=hs[1:]).items():
        torch.testing.assert_close(rec["l0"][name], value, rtol=1e-12, atol=1e-12)


def test_recording_leaves_the_forward_pass_unchanged():
    model = rnnkit.LSTM(I, H, num_layers=2, peephole=True)
    x = torch.randn(T, B, I)
    plain = model(x)
    with rnnkit.record(model):
        recorded = model(x)
    torch.testing.assert_close(plain, recorded, rtol=0, atol=0)
    assert model._recording is None


def test_keys_name_submodule_layer_and_direction():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = rnnkit.GRU(I, H, num_layers=2, bidirectional=True, batch_first=True)
            self.step = rnnkit.JordanCell(2 * H, H, 2)

        def forward(self, x):
            out, _ = self.encoder(x)
            return self.step(out[:, -1])

    net = Net()
    with rnnkit.record(net) as rec:
        net(torch.randn(B, T, I))
    assert rec.keys() == ["encoder.l0", "encoder.l0_reverse", "encoder.l1", "encoder.l1_reverse", "step"]
    assert rec["encoder.l1_reverse"]["h"].shape == (T, B, H)  # time-major despite batch_first
    assert rec["step"]["y"].shape == (1, B, 2) and rec["step"]["h"].shape == (1, B, H)
    with pytest.raises(KeyError, match="nothing recorded under 'encoder.l2'"):
        rec["encoder.l2"]


def test_reverse_direction_is_recorded_in_time_order():
    gru = rnnkit.GRU(I, H, bidirectional=True)
    x = torch.randn(T, B, I)
    with rnnkit.record(gru) as rec:
        out, _ = gru(x)
    torch.testing.assert_close(rec["l0_reverse"]["h"], out[..., H:])
    torch.testing.assert_close(rec["l0"]["h"], out[..., :H])


def test_packed_batches_are_recorded_in_the_callers_order_and_zero_past_the_end():
    rnn = rnnkit.RNN(I, H, bidirectional=True)
    seqs = [torch.randn(n, I) for n in (2, 5, 3)]
    with rnnkit.record(rnn) as rec:
        rnn(pack_sequence(seqs, enforce_sorted=False))
    for b, s in enumerate(seqs):
        with rnnkit.record(rnn) as alone:
            rnn(s)
        n = len(s)
        for key in ("l0", "l0_reverse"):
            torch.testing.assert_close(rec[key]["h"][:n, b], alone[key]["h"][:, 0])
            assert (rec[key]["h"][n:, b] == 0).all()


def test_calls_are_joined_along_time():
    lstm = rnnkit.LSTM(I, H)
    x = torch.randn(T, B, I)
    with rnnkit.record(lstm) as whole:
        lstm(x)
    with rnnkit.record(lstm) as pieces:
        state = None
        for chunk in x.split(2):
            _, state = lstm(chunk, state)
    for name in ("i", "f", "g", "o", "c", "h"):
        torch.testing.assert_close(pieces["l0"][name], whole["l0"][name])


def test_recording_needs_an_rnnkit_layer_and_joins_only_equal_batches():
    with pytest.raises(ValueError, match="Linear contains no rnnkit layer or cell to record"):
        with rnnkit.record(nn.Linear(2, 2)):
            pass
    rnn = rnnkit.RNN(I, H)
    with rnnkit.record(rnn) as rec:
        rnn(torch.randn(T, 2, I))
        rnn(torch.randn(T, 3, I))
    with pytest.raises(ValueError, match=r"different batch sizes \[2, 3\]"):
        rec["l0"]


def test_recorded_tensors_are_detached():
    rnn = rnnkit.RNN(I, H)
    with rnnkit.record(rnn) as rec:
        rnn(torch.randn(T, B, I, requires_grad=True))
    assert not rec["l0"]["h"].requires_grad
