"""Long short-term memory, PyTorch's nn.LSTM and its variants from the literature.

    i = σ(W_ii x + b_ii + W_hi h + b_hi [+ w_ci * c])     input gate
    f = σ(W_if x + b_if + W_hf h + b_hf [+ w_cf * c])     forget gate
    g = act(W_ig x + b_ig + W_hg h + b_hg)                candidate
    c' = f * c + i * g
    o = σ(W_io x + b_io + W_ho h + b_ho [+ w_co * c'])    output gate
    m = o * act(c')
    h' = m, or W_hr m with a projection (proj_size > 0)

σ is `recurrent_activation` (sigmoid), act is `activation` (tanh).
- peephole (Gers & Schmidhuber 2000): the bracketed terms; i and f see c, o sees c'.
  `weight_peephole` (3, H) holds the rows (w_ci, w_cf, w_co).
- forget_gate=False (Hochreiter & Schmidhuber 1997): no f; the cell is a constant error
  carousel, c' = c + i * g. Gates (i, g, o); `weight_peephole` is then (2, H): (w_ci, w_co).

Shapes: B batch, I input, H hidden, P output (proj_size, or H), G = 4H (3H without f).
weight_ih (G, I), weight_hh (G, P), biases (G,), weight_hr (P, H).
"""

from __future__ import annotations

import torch

from .activations import get_activation
from .base import CellMath, outer_sum, row_sum


class LSTMMath(CellMath):
    states = ("h", "c")
    folded_bias = "bias_hh"  # xw = W_ih x + b_ih + b_hh

    def __init__(
        self,
        hidden_size: int,
        bias: bool = True,
        proj_size: int = 0,
        activation: str = "tanh",
        recurrent_activation: str = "sigmoid",
        peephole: bool = False,
        forget_gate: bool = True,
    ):
        super().__init__(hidden_size, bias)
        self.proj_size = proj_size
        self.act = get_activation(activation, "activation")
        self.ract = get_activation(recurrent_activation, "recurrent_activation")
        self.peephole, self.forget_gate = bool(peephole), bool(forget_gate)
        self.gate_names = ("i", "f", "g", "o") if self.forget_gate else ("i", "g", "o")
        self.gates = self.gate_names + (("m",) if proj_size else ())

    def parameter_shapes(self, input_size):
        H, P, G = self.hidden_size, self.output_size, len(self.gate_names) * self.hidden_size
        shapes = {"weight_ih": (G, input_size), "weight_hh": (G, P)}
        if self.bias:
            shapes |= {"bias_ih": (G,), "bias_hh": (G,)}
        if self.proj_size:
            shapes["weight_hr"] = (P, H)
        if self.peephole:
            shapes["weight_peephole"] = (len(self.gate_names) - 1, H)
        return shapes

    def state_sizes(self):
        return (self.proj_size or self.hidden_size, self.hidden_size)

    def prepare(self, p):
        return p | {"W_hh^T": p["weight_hh"].t(), "W_hr^T": p["weight_hr"].t() if self.proj_size else None}

    def step(self, p, xw, state):
        h, c = state
        pre = torch.addmm(xw, h, p["W_hh^T"])  # W_ih x + b_ih + b_hh + W_hh h
        pre = dict(zip(self.gate_names, pre.chunk(len(self.gate_names), -1)))
        w_ci, w_cf, w_co = self._peepholes(p)
        i = self.ract(torch.addcmul(pre["i"], w_ci, c) if self.peephole else pre["i"])  # (+ w_ci * c)
        g = self.act(pre["g"])
        if self.forget_gate:
            f = self.ract(torch.addcmul(pre["f"], w_cf, c) if self.peephole else pre["f"])
            c = torch.addcmul(f * c, i, g)  # f * c + i * g
        else:
            f = None
            c = torch.addcmul(c, i, g)  # c + i * g
        o = self.ract(torch.addcmul(pre["o"], w_co, c) if self.peephole else pre["o"])
        m = o * self.act(c)
        h = m @ p["W_hr^T"] if self.proj_size else m
        gates = {"i": i, "f": f, "g": g, "o": o, "m": m}
        return (h, c), {k: gates[k] for k in self.gates}

    def step_backward(self, p, dnew, state, new, gates):
        (dh, dc_new), (_, c), (_, c_new) = dnew, state, new
        i, g, o = gates["i"], gates["g"], gates["o"]
        w_ci, w_cf, w_co = self._peepholes(p)
        dm = dh @ p["weight_hr"] if self.proj_size else dh  # h' = W_hr m
        k = self.act(c_new)
        do = self.ract.backward(o, dm * k)  # m = o * act(c'): through the output gate
        dc_new = dc_new + self.act.backward(k, dm * o)  # ... and through act(c')
        if self.peephole:
            dc_new = torch.addcmul(dc_new, do, w_co)  # o saw c' through its peephole
        di = self.ract.backward(i, dc_new * g)  # c' = f c + i g
        dg = self.act.backward(g, dc_new * i)
        if self.forget_gate:
            f = gates["f"]
            df = self.ract.backward(f, dc_new * c)
            dc = dc_new * f
            dpre = torch.cat((di, df, dg, do), -1)
        else:
            df = None
            dc = dc_new  # the constant error carousel
            dpre = torch.cat((di, dg, do), -1)
        if self.peephole:  # i and f saw c through theirs
            dc = torch.addcmul(dc, di, w_ci)
            dc = torch.addcmul(dc, df, w_cf) if self.forget_gate else dc
        extras = {"dh": dh} if self.proj_size else {}
        return dpre, (dpre @ p["weight_hh"], dc), extras  # the recurrent product carries dh back

    def parameter_grads(self, p, prev, new, gates, dxw, extras):
        grads = {"weight_hh": outer_sum(dxw, prev[0])}
        if self.bias:
            grads["bias_hh"] = row_sum(dxw)
        if self.proj_size:
            grads["weight_hr"] = outer_sum(extras["dh"], gates["m"])
        if self.peephole:
            d = dict(zip(self.gate_names, dxw.chunk(len(self.gate_names), -1)))
            rows = [(d["i"] * prev[1]).sum((0, 1))]
            if self.forget_gate:
                rows.append((d["f"] * prev[1]).sum((0, 1)))
            rows.append((d["o"] * new[1]).sum((0, 1)))
            grads["weight_peephole"] = torch.stack(rows)
        return grads

    def _peepholes(self, p):
        """(w_ci, w_cf, w_co), None where absent."""
        if not self.peephole:
            return None, None, None
        w = p["weight_peephole"]
        return (w[0], w[1], w[2]) if self.forget_gate else (w[0], None, w[1])

