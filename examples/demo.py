"""A tour of rnnkit: every network, an LSTM that remembers, and torch.nn weights loaded."""

import math

import torch
from torch import nn

import rnnkit

torch.manual_seed(0)
T, B, I, H = 12, 4, 8, 16
x = torch.randn(T, B, I)

print("== Every network, 2 layers, bidirectional ==")
networks = {
    "RNN (Elman)": rnnkit.RNN(I, H, num_layers=2, bidirectional=True),
    "LSTM": rnnkit.LSTM(I, H, num_layers=2, bidirectional=True),
    "LSTM, peephole": rnnkit.LSTM(I, H, num_layers=2, bidirectional=True, peephole=True),
    "LSTM, no forget gate (1997)": rnnkit.LSTM(I, H, num_layers=2, bidirectional=True, forget_gate=False),
    "LSTM, projection": rnnkit.LSTM(I, H, num_layers=2, bidirectional=True, proj_size=6),
    "GRU": rnnkit.GRU(I, H, num_layers=2, bidirectional=True),
    "GRU, reset before": rnnkit.GRU(I, H, num_layers=2, bidirectional=True, reset_after=False),
    "JordanRNN": rnnkit.JordanRNN(I, H, 5, num_layers=2, bidirectional=True),
    "CTRNN, learned tau": rnnkit.CTRNN(I, H, num_layers=2, bidirectional=True, learn_tau=True),
}
for name, net in networks.items():
    out, state = net(x)
    states = state if isinstance(state, tuple) else (state,)
    n = sum(p.numel() for p in net.parameters())
    print(f"  {name:28s} output {tuple(out.shape)}  final state {[tuple(s.shape) for s in states]}  {n} parameters")

print("\n== An LSTM with hand-set weights stores a value, holds it, shows it, forgets it ==")
print("   inputs (v, s, r): i = σ(100s - 50), f = σ(100s + 50), g = tanh(v), o = σ(100r - 50)")
lstm = rnnkit.LSTM(3, 1, dtype=torch.double)
with torch.no_grad():
    lstm.weight_ih_l0.copy_(torch.tensor([[0, 100, 0], [0, 100, 0], [1, 0, 0], [0, 0, 100]]))
    lstm.weight_hh_l0.zero_()
    lstm.bias_ih_l0.copy_(torch.tensor([-50, 50, 0, -50]))
    lstm.bias_hh_l0.zero_()
steps = [("store 0.5", (0.5, 1, 0)), ("hold", (0.9, 0, 0)), ("show", (-0.3, 0, 1)), ("forget", (0.7, -1, 0)), ("show", (0.2, 0, 1))]
seq = torch.tensor([v for _, v in steps], dtype=torch.double).unsqueeze(1)
with rnnkit.record(lstm) as rec:
    out, _ = lstm(seq)
g = rec["l0"]
for t, (what, v) in enumerate(steps):
    print(f"  t={t} {what:10s} x={v}  i={g['i'][t].item():.2f} f={g['f'][t].item():.2f} "
          f"o={g['o'][t].item():.2f}  c={g['c'][t].item():+.4f}  h={out[t].item():+.4f}")
print(f"  recalled h = {out[2].item():.6f} = tanh(tanh(0.5)) = {math.tanh(math.tanh(0.5)):.6f}")

print("\n== torch.nn.LSTM's weights in rnnkit.LSTM ==")
theirs = nn.LSTM(I, H, num_layers=2, batch_first=True)
ours = rnnkit.LSTM(I, H, num_layers=2, batch_first=True)
ours.load_state_dict(theirs.state_dict())
xb = torch.randn(B, T, I)
diff = (ours(xb)[0] - theirs(xb)[0]).abs().max().item()
print(f"  loaded {len(theirs.state_dict())} tensors; largest output difference {diff:.1e}")
