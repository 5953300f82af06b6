"""Every engine against the reference engine, forward and backward: for every cell,
option, activation, num_layers, bidirectional, batch_first, proj_size and PackedSequence,
in float64 to 1e-10 and in float32 to 1e-5 relative."""

import itertools

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence

import rnnkit
from conftest import assert_close, loss_of

T, B, I, H = 5, 3, 4, 6
ACTS = ("tanh", "sigmoid", "relu", "identity", "hardsigmoid")


def jordan(i, h, **kw):
    return rnnkit.JordanRNN(i, h, 3, **kw)


NETWORKS = {
    "rnn": (rnnkit.RNN, {}),
    **{f"rnn_{a}": (rnnkit.RNN, {"nonlinearity": a}) for a in ACTS[1:]},
    "lstm": (rnnkit.LSTM, {}),
    "lstm_proj": (rnnkit.LSTM, {"proj_size": 4}),
    "lstm_peephole": (rnnkit.LSTM, {"peephole": True}),
    "lstm_peephole_proj": (rnnkit.LSTM, {"peephole": True, "proj_size": 4}),
    "lstm_no_forget_gate": (rnnkit.LSTM, {"forget_gate": False}),
    "lstm_no_forget_gate_peephole_proj": (rnnkit.LSTM, {"forget_gate": False, "peephole": True, "proj_size": 2}),
    **{f"lstm_activation_{a}": (rnnkit.LSTM, {"activation": a}) for a in ACTS[1:]},
    **{f"lstm_recurrent_activation_{a}": (rnnkit.LSTM, {"recurrent_activation": a}) for a in ACTS if a != "sigmoid"},
    "gru": (rnnkit.GRU, {}),
    "gru_reset_before": (rnnkit.GRU, {"reset_after": False}),
    **{f"gru_activation_{a}": (rnnkit.GRU, {"activation": a}) for a in ACTS[1:]},
    **{f"gru_reset_before_recurrent_activation_{a}": (rnnkit.GRU, {"reset_after": False, "recurrent_activation": a}) for a in ACTS if a != "sigmoid"},
    "jordan": (jordan, {}),
    **{f"jordan_{a}_{o}": (jordan, {"nonlinearity": a, "output_activation": o}) for a, o in (("relu", "sigmoid"), ("sigmoid", "tanh"), ("identity", "hardsigmoid"))},
    "ctrnn": (rnnkit.CTRNN, {}),
    "ctrnn_tanh": (rnnkit.CTRNN, {"nonlinearity": "tanh", "tau": 3.0}),
    "ctrnn_learned_tau": (rnnkit.CTRNN, {"learn_tau": True, "tau": 2.0}),
}
LAYOUTS = [
    dict(num_layers=L, bidirectional=bi, batch_first=bf, bias=bias)
    for L, bi, bf, bias in itertools.product((1, 2), (False, True), (False, True), (True, False))
]
NATIVE = [k for k in NETWORKS if k in ("rnn", "rnn_relu", "lstm", "lstm_proj", "gru")]


def pair(network, engine, dtype=torch.double, sizes=(I, H), **layout):
    make, options = NETWORKS[network]
    ref = make(*sizes, engine="reference", dtype=dtype, **options, **layout)
    other = make(*sizes, engine=engine, dtype=dtype, **options, **layout)
    other.load_state_dict(ref.state_dict())
    if options.get("learn_tau"):  # distinct taus per unit
        with torch.no_grad():
            for name, p in ref.named_parameters():
                if "log_tau" in name:
                    p.uniform_(0.0, 1.5)
                    getattr(other, name).copy_(p)
    return ref, other


def initial_state(module, dtype, batch=B, device="cpu"):
    D = 2 if module.bidirectional else 1
    states = tuple(
        torch.randn(module.num_layers * D, batch, s, dtype=dtype, device=device, requires_grad=True)
        for s in module.cell.state_sizes()
    )
    return states if len(states) > 1 else states[0]


def run(module, x, hx):
    out, state = module(x, hx)
    data = out.data if hasattr(out, "batch_sizes") else out
    states = state if isinstance(state, tuple) else (state,)
    hx_t = hx if isinstance(hx, tuple) else (hx,)
    inputs = [x.data if hasattr(x, "batch_sizes") else x, *hx_t, *module.parameters()]
    return (data, *states), torch.autograd.grad(loss_of(data, state), inputs)


def check(network, engine, dtype, tol, packed=False, device="cpu", steps=T, lengths=(3, 5, 1, 4), sizes=(B, I, H),
          **layout):
    """`engine` against the reference engine on `device`: `steps` steps of a batch of
    sizes[0], or with packed, a PackedSequence of `lengths`; input and hidden sizes sizes[1:]."""
    batch, inputs, _ = sizes
    ref, other = (m.to(device) for m in pair(network, engine, dtype, sizes[1:], **layout))
    shape = (batch, steps, inputs) if layout.get("batch_first") else (steps, batch, inputs)
    x = torch.randn(shape, dtype=dtype, device=device, requires_grad=True)
    hx = initial_state(ref, dtype, len(lengths) if packed else batch, device)
    if packed:
        x = torch.randn(max(lengths), len(lengths), inputs, dtype=dtype, device=device, requires_grad=True)
        x = pack_padded_sequence(x, list(lengths), enforce_sorted=False)
    assert_close(run(other, x, hx), run(ref, x, hx), tol)


@pytest.mark.parametrize("network", NETWORKS)
def test_fused_matches_reference_in_float64(network):
    check(network, "fused", torch.double, 1e-10, num_layers=2, bidirectional=True)


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
@pytest.mark.parametrize("network", ["rnn", "lstm_peephole_proj", "gru_reset_before", "gru", "jordan", "ctrnn_learned_tau"])
def test_fused_matches_reference_across_layouts(network, layout):
    check(network, "fused", torch.double, 1e-10, **layout)


@pytest.mark.parametrize("network", NETWORKS)
def test_fused_matches_reference_on_packed_sequences(network):
    check(network, "fused", torch.double, 1e-10, packed=True, num_layers=2, bidirectional=True)


@pytest.mark.parametrize("network", ["lstm_peephole_proj", "gru", "jordan", "ctrnn_learned_tau"])
def test_fused_in_blocks_of_steps_matches_reference(network, monkeypatch):
    monkeypatch.setattr(rnnkit.engines.fused, "BLOCK_ROWS", 8)  # blocks of 2 steps at B = 4
    check(network, "fused", torch.double, 1e-10, packed=True, num_layers=2, bidirectional=True)
    check(network, "fused", torch.double, 1e-10, num_layers=2, bidirectional=True)


@pytest.mark.parametrize("network", NETWORKS)
def test_fused_matches_reference_in_float32(network):
    check(network, "fused", torch.float, 1e-5, num_layers=2, bidirectional=True)


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
@pytest.mark.parametrize("network", NATIVE)
def test_native_matches_reference(network, layout):
    check(network, "native", torch.double, 1e-10, **layout)


@pytest.mark.parametrize("network", NATIVE)
def test_native_matches_reference_on_packed_sequences_and_float32(network):
    check(network, "native", torch.double, 1e-10, packed=True, num_layers=2, bidirectional=True)
    check(network, "native", torch.float, 1e-5, num_layers=2, bidirectional=True)


@pytest.mark.parametrize("engine", ["fused", "native", "auto"])
def test_unbatched_input(engine):
    ref, other = pair("lstm_proj", engine, num_layers=2, bidirectional=True)
    x = torch.randn(T, I, dtype=torch.double, requires_grad=True)
    hx = tuple(h[:, 0].detach().requires_grad_() for h in initial_state(ref, torch.double))
    assert_close(run(other, x, hx), run(ref, x, hx))


def assert_records_alike(other, ref, x, tol=1e-10):
    """`other` records the same gates and states as `ref` on input x."""
    with rnnkit.record(ref) as a:
        ref(x)
    with rnnkit.record(other) as b:
        other(x)
    assert a.keys() == b.keys()
    for key in a.keys():
        assert a[key].keys() == b[key].keys()
        assert_close([b[key][k] for k in a[key]], [a[key][k] for k in a[key]], tol)


def check_recording(network, engine, x):
    """`engine` records what the reference engine records, two layers, both directions."""
    ref, other = pair(network, engine, num_layers=2, bidirectional=True)
    assert_records_alike(other, ref, x)


def test_fused_records_the_same_gates_as_reference():
    x = pack_padded_sequence(torch.randn(T, 4, I, dtype=torch.double), [3, 5, 1, 4], enforce_sorted=False)
    check_recording("lstm_peephole_proj", "fused", x)


def test_double_backward_through_fused_raises_and_reference_supports_it():
    for engine in ("fused", "reference"):
        gru = rnnkit.GRU(I, H, engine=engine, dtype=torch.double)
        x = torch.randn(T, B, I, dtype=torch.double, requires_grad=True)
        out, _ = gru(x)
        if engine == "fused":
            with pytest.raises(RuntimeError, match="cannot be differentiated twice.*engine='reference'"):
                torch.autograd.grad(out.sum(), x, create_graph=True)
        else:
            (g,) = torch.autograd.grad(out.sum(), x, create_graph=True)
            (gg,) = torch.autograd.grad(g.sum(), x)
            assert gg.abs().sum() > 0


def test_a_second_backward_through_fused_accumulates_like_reference():
    ref, fused = pair("lstm_peephole", "fused")
    x = torch.randn(T, B, I, dtype=torch.double)
    for m in (ref, fused):
        out, _ = m(x)
        out.sum().backward(retain_graph=True)
        out.sum().backward()
    assert_close([p.grad for p in fused.parameters()], [p.grad for p in ref.parameters()])


def test_editing_fused_outputs_in_place_cannot_corrupt_gradients():
    ref, fused = pair("lstm_peephole", "fused")
    x = torch.randn(T, B, I, dtype=torch.double)
    for m in (ref, fused):  # the final state is the caller's own: editing it changes no gradient
        out, (h, c) = m(x)
        loss = out.sum()
        h.zero_(), c.zero_()
        loss.backward()
    assert_close([p.grad for p in fused.parameters()], [p.grad for p in ref.parameters()])
    out, _ = fused(x)  # the output is kept for the backward: editing it in place raises at once
    with pytest.raises(RuntimeError, match="modified inplace"):
        out.mul_(2)


def test_double_backward_through_reference_passes_gradgradcheck():
    rnn = rnnkit.LSTM(2, 3, peephole=True, engine="reference", dtype=torch.double)
    x = torch.randn(3, 2, 2, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradgradcheck(lambda x: rnn(x)[0], (x,))


@pytest.mark.parametrize("network", NETWORKS)
def test_auto_runs_every_configuration_and_records(network):
    ref, auto = pair(network, "auto", num_layers=2, bidirectional=True)
    x = torch.randn(T, B, I, dtype=torch.double)
    assert_close(auto(x)[0], ref(x)[0])
    with rnnkit.record(auto) as rec:
        out = auto(x)[0]
    assert_close(rec["l1"][auto.cell.states[0]], out[..., : auto.cell.output_size])


def test_native_refuses_what_torch_has_no_kernel_for_and_recording():
    with pytest.raises(ValueError, match="engine='native' runs only what torch.nn has a kernel for, not peephole=True"):
        rnnkit.LSTM(I, H, peephole=True, engine="native")
    with pytest.raises(ValueError, match="not reset_after=False"):
        rnnkit.GRU(I, H, reset_after=False, engine="native")
    with pytest.raises(ValueError, match="not nonlinearity='sigmoid'"):
        rnnkit.RNN(I, H, nonlinearity="sigmoid", engine="native")
    with pytest.raises(ValueError, match="not the Jordan cell"):
        rnnkit.JordanRNN(I, H, 2, engine="native")
    with pytest.raises(ValueError, match="not the CTRNN cell"):
        rnnkit.CTRNN(I, H, engine="native")
    lstm = rnnkit.LSTM(I, H, engine="native")
    with pytest.raises(ValueError, match="engine='native' cannot record gates"):
        with rnnkit.record(lstm):
            lstm(torch.randn(T, B, I))


def test_auto_says_what_it_runs():
    assert rnnkit.LSTM(I, H).chosen_engine() == "native"  # oneDNN
    assert rnnkit.LSTM(I, H).chosen_engine(recording=True) == "compiled"
    assert rnnkit.LSTM(I, H, proj_size=2).chosen_engine() == "compiled"
    assert rnnkit.LSTM(I, H, proj_size=2).chosen_engine("cuda") == "native"
    assert rnnkit.LSTM(I, H).chosen_engine("cuda") == "native"  # cuDNN
    assert rnnkit.GRU(I, H).chosen_engine() == "compiled"
    assert rnnkit.GRU(I, H).chosen_engine(training=False) == "compiled"
    assert rnnkit.CTRNN(I, H).chosen_engine() == "compiled"
    assert rnnkit.GRU(I, H).chosen_engine("cuda") == "native"
    assert rnnkit.GRU(I, H, reset_after=False).chosen_engine("cuda") == "fused"
    assert rnnkit.RNN(I, H, engine="reference").chosen_engine() == "reference"


def test_auto_runs_the_compiled_engine_for_inference_and_training(monkeypatch):
    ran = []
    for name in ("native", "fused", "compiled"):
        engine = rnnkit.engines.ENGINES[name]
        monkeypatch.setattr(engine, "run", lambda *a, _run=engine.run, _name=name, **k: ran.append(_name) or _run(*a, **k))
    gru, x = rnnkit.GRU(I, H), torch.randn(T, B, I)
    with torch.no_grad():
        gru(x)
    gru(x)
    assert ran == ["compiled", "compiled"]

