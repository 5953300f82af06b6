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

Products: W_hh h, added to xw = W_ih x + b_ih + b_hh inside the GEMM (stage 0: the gates,
c' and m); with a projection, W_hr m (stage 1: h').
Shapes: B batch, I input, H hidden, P output (proj_size, or H), G = 4H (3H without f).
weight_ih (G, I), weight_hh (G, P), biases (G,), weight_hr (P, H).
"""

from __future__ import annotations

import torch

from .activations import get_activation
from .base import CellMath, Product, StageGrad


class LSTMMath(CellMath):
    family = "LSTM"
    states = ("h", "c")

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
        super().__init__(
            hidden_size, bias, proj_size=proj_size, activation=activation,
            recurrent_activation=recurrent_activation, peephole=bool(peephole), forget_gate=bool(forget_gate),
        )
        self.proj_size = proj_size
        self.act = get_activation(activation, "activation")
        self.ract = get_activation(recurrent_activation, "recurrent_activation")
        self.peephole, self.forget_gate = bool(peephole), bool(forget_gate)
        self.gate_names = ("i", "f", "g", "o") if self.forget_gate else ("i", "g", "o")
        self.activations = {name: self.act if name == "g" else self.ract for name in self.gate_names}
        self.recorded = self.gate_names + self.states
        self.products = (Product("weight_hh", "bias_hh", plus_input=True),)  # rh = xw + W_hh h
        if proj_size:
            self.products += (Product("weight_hr"),)  # h' = W_hr m

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

    def gate_rows(self, gate):
        k, H = self.gate_names.index(gate), self.hidden_size
        return slice(k * H, (k + 1) * H)

    def pointwise(self, k, p, xw, rh, state, saved):
        if k == 1:  # rh (B, P) = W_hr m: the projection
            return (rh, saved["c"]), saved
        c = state[1]  # rh (B, G) = W_ih x + b_ih + b_hh + W_hh h
        pre = dict(zip(self.gate_names, rh.chunk(len(self.gate_names), -1)))
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
        saved = {"i": i, "f": f, "g": g, "o": o, "c": c}
        if not self.forget_gate:
            del saved["f"]
        return (m if self.proj_size else (m, c)), saved

    def pointwise_backward(self, k, p, dout, carry, state, new, saved):
        if k == 1:  # h' = W_hr m: the engine carries dh' back through W_hr; dc' waits for stage 0
            dh, dc_new = dout
            return StageGrad(drh=dh, carry={"dc": dc_new})
        dm, dc_new = (dout, carry["dc"]) if self.proj_size else dout
        c, c_new = state[1], new[1]
        i, g, o = saved["i"], saved["g"], saved["o"]
        w_ci, w_cf, w_co = self._peepholes(p)
        act_c = self.act(c_new)
        do = self.ract.backward(o, dm * act_c)  # m = o * act(c'): through the output gate
        dc_new = dc_new + self.act.backward(act_c, dm * o)  # ... and through act(c')
        if self.peephole:
            dc_new = torch.addcmul(dc_new, do, w_co)  # o saw c' through its peephole
        di = self.ract.backward(i, dc_new * g)  # c' = f c + i g
        dg = self.act.backward(g, dc_new * i)
        if self.forget_gate:
            f = saved["f"]
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
        return StageGrad(drh=dpre, dxw=dpre, dstate=(None, dc))  # h reaches h' only through W_hh h

    def pointwise_parameter_grads(self, p, prev, new, saved, dxw, extras):
        if not self.peephole:
            return {}
        d = dict(zip(self.gate_names, dxw.chunk(len(self.gate_names), -1)))
        rows = [(d["i"] * prev[1]).sum((0, 1))]  # i saw c
        if self.forget_gate:
            rows.append((d["f"] * prev[1]).sum((0, 1)))  # f saw c
        rows.append((d["o"] * new[1]).sum((0, 1)))  # o saw c'
        return {"weight_peephole": torch.stack(rows)}

    def _peepholes(self, p):
        """(w_ci, w_cf, w_co), None where absent."""
        if not self.peephole:
            return None, None, None
        w = p["weight_peephole"]
        return (w[0], w[1], w[2]) if self.forget_gate else (w[0], None, w[1])
