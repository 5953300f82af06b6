"""The cell contract, one step at a time: each cell's hand-written backward (its pointwise
stages' backward, chained by `step_backward` through the products) against autograd of
its forward step, in float64 for every cell and option; the products are the only GEMMs
on the state; the spec says what the cell is; what a recording shows is not what the
backward keeps; a cell pickles."""

import pickle

import pytest
import torch

import rnnkit
from conftest import assert_close
from test_engines import NETWORKS

B, I, H = 3, 4, 6


def cell_and_params(network):
    make, options = NETWORKS[network]
    layer = make(I, H, dtype=torch.double, **options)
    if options.get("learn_tau"):
        with torch.no_grad():
            layer.log_tau_l0.uniform_(0.0, 1.5)
    p = {short: getattr(layer, full) for short, full in layer._names[0].items()}
    return layer.cell, p


@pytest.mark.parametrize("network", NETWORKS)
def test_hand_backward_of_a_step_equals_autograd(network):
    cell, p = cell_and_params(network)
    x = torch.randn(B, I, dtype=torch.double)
    state = tuple(torch.randn(B, s, dtype=torch.double, requires_grad=True) for s in cell.state_sizes())
    xw = cell.project_input(p, x).detach().requires_grad_()
    prepared = cell.prepare(p)
    new, saved = cell.step(prepared, xw, state)
    dnew = tuple(torch.randn_like(s) for s in new)
    # the step's own parameters: not the input projection's, nor the biases folded into it
    folded = {product.bias for product in cell.products if product.plus_input}
    names = [name for name in p if name not in (cell.input_weight, cell.input_bias, *folded)]
    weights = [p[name] for name in names]
    auto = torch.autograd.grad(new, [xw, *state, *weights], dnew)

    with torch.no_grad():
        prepared = cell.prepare(p)
        new, saved = cell.step(prepared, xw, state)
        dxw, dstate, drhs, extras = cell.step_backward(prepared, dnew, state, new, saved)
        # the weights' gradients as an engine forms them: dW = drh^T a per product, plus the cell's own
        grads = {}
        for k, product in enumerate(cell.products):
            drh = dxw if product.plus_input else drhs[k]
            a = state[0] if k == 0 else saved[f"a{k}"]
            rows = slice(*product.rows) if product.rows else slice(None)
            grads.setdefault(product.weight, torch.zeros_like(p[product.weight]))[rows] += drh.t() @ a
            if product.bias in p and not product.plus_input:
                grads.setdefault(product.bias, torch.zeros_like(p[product.bias]))[rows] += drh.sum(0)
        one_step = lambda t: t.unsqueeze(0)  # (B, F) -> (1, B, F): a block of one step
        grads |= cell.pointwise_parameter_grads(
            prepared, tuple(map(one_step, state)), tuple(map(one_step, new)),
            {k: one_step(v) for k, v in saved.items()}, one_step(dxw), {k: one_step(v) for k, v in extras.items()},
        )
    assert_close([dxw, *dstate, *(grads[n] for n in names)], list(auto))


@pytest.mark.parametrize("network", NETWORKS)
def test_products_are_the_only_gemms_on_the_state(network):
    """With every product's weight zeroed, what is left of a step is pointwise: each unit of
    the new state depends at most on the same unit of the state, in the same row of the
    batch. So no GEMM on the state hides inside a stage."""
    cell, p = cell_and_params(network)
    with torch.no_grad():
        for product in cell.products:
            p[product.weight].zero_()
    prepared = cell.prepare(p)
    state = tuple(torch.randn(2, s, dtype=torch.double) for s in cell.state_sizes())
    xw = cell.project_input(p, torch.randn(2, I, dtype=torch.double))
    jacobian = torch.autograd.functional.jacobian(lambda *s: cell.step(prepared, xw, s)[0], state)
    for row in jacobian:  # d new_i / d state_j: (2, S_i, 2, S_j)
        for J in row:
            pointwise = torch.zeros_like(J)
            if J.shape[1] == J.shape[3]:
                for b in range(2):
                    pointwise[b, :, b] = torch.diag(torch.diagonal(J[b, :, b]))
            assert torch.equal(J, pointwise)


def test_spec_describes_the_cell():
    spec = rnnkit.LSTM(I, H, peephole=True).cell.spec
    assert spec.family == "LSTM" and spec.hidden_size == H and spec.bias
    assert spec["peephole"] is True and spec["activation"] == "tanh"
    assert spec == rnnkit.LSTM(I + 1, H, peephole=True).cell.spec  # the cell's options, not the layer's
    assert spec != rnnkit.LSTM(I, H).cell.spec
    assert hash(spec) == hash(rnnkit.LSTM(I, H, peephole=True).cell.spec)
    assert rnnkit.CTRNN(I, H, tau=4).cell.spec["tau"] == 4.0


def test_gates_in_the_unit_interval_follow_the_activation():
    assert rnnkit.LSTM(I, H).cell.in_unit_interval() == ("i", "f", "o")
    assert rnnkit.LSTM(I, H, recurrent_activation="relu").cell.in_unit_interval() == ()
    assert rnnkit.LSTM(I, H, activation="sigmoid", forget_gate=False).cell.in_unit_interval() == ("i", "g", "o")
    assert rnnkit.GRU(I, H, recurrent_activation="hardsigmoid").cell.in_unit_interval() == ("r", "z")
    assert rnnkit.RNN(I, H).cell.in_unit_interval() == ()
    assert rnnkit.JordanRNN(I, H, 2, output_activation="sigmoid").cell.in_unit_interval() == ("y",)


def test_recorded_values_are_not_the_backward_internals():
    assert rnnkit.LSTM(I, H, proj_size=2).cell.recorded == ("i", "f", "g", "o", "h", "c")  # not m
    assert rnnkit.GRU(I, H).cell.recorded == ("r", "z", "n", "h")  # not W_hn h + b_hn
    lstm = rnnkit.LSTM(I, H, proj_size=2)
    with rnnkit.record(lstm) as rec:
        lstm(torch.randn(5, B, I))
    assert set(rec["l0"]) == {"i", "f", "g", "o", "h", "c"}


def test_gate_rows_name_torchs_layout():
    lstm = torch.nn.LSTM(I, H)
    cell = rnnkit.LSTM(I, H).cell
    assert (cell.gate_rows("f").start, cell.gate_rows("f").stop) == (H, 2 * H)  # torch: i, f, g, o
    assert rnnkit.GRU(I, H).cell.gate_rows("n") == slice(2 * H, 3 * H)  # torch: r, z, n
    assert rnnkit.LSTM(I, H, forget_gate=False).cell.gate_rows("o") == slice(2 * H, 3 * H)
    assert lstm.weight_ih_l0[cell.gate_rows("f")].shape == (H, I)
    with pytest.raises(ValueError, match="the Elman cell has no gate rows"):
        rnnkit.RNN(I, H).cell.gate_rows("h")


@pytest.mark.parametrize("network", NETWORKS)
def test_a_cell_pickles(network):
    cell, _ = cell_and_params(network)
    copy = pickle.loads(pickle.dumps(cell))
    assert copy.spec == cell.spec and [vars(a) for a in copy.products] == [vars(a) for a in cell.products]
