"""The triton engine and its kernels: every pointwise stage, forward and backward, against
the cell's own, stage by stage, for every cell and option (float32 to 1e-6; bfloat16 and
float16 to one rounding of the float32 result); the engine against the reference engine,
forward and backward, for every cell and option, and packed, bidirectional, two layers,
in blocks of steps, recording; what it refuses, and why.

Without a GPU the kernels run in Triton's interpreter on the CPU (TRITON_INTERPRET=1, set
here before Triton defines them), at small sizes: a kernel launch there takes milliseconds.
With CUDA (and TRITON_INTERPRET unset) the same tests run the compiled kernels on the GPU
(benchmarks/gpu_check.sh). Skipped, saying so, only where Triton cannot be imported.
"""

import functools
import importlib.util
import os
import subprocess
import sys

import pytest
import torch

import rnnkit
from conftest import assert_close, loss_of
from test_cells import cell_and_params
from test_engines import NETWORKS, B, I, assert_records_alike, check, pair

ON_CUDA = torch.cuda.is_available() and os.environ.get("TRITON_INTERPRET", "0") != "1"
if not ON_CUDA:
    os.environ["TRITON_INTERPRET"] = "1"  # before the kernels are defined: they run on the CPU
DEVICE = "cuda" if ON_CUDA else "cpu"
HAS_TRITON = importlib.util.find_spec("triton") is not None
needs_triton = pytest.mark.skipif(not HAS_TRITON, reason="Triton is not installed (pip install -e '.[dev]')")
needs_cuda = pytest.mark.skipif(not ON_CUDA, reason="CUDA graphs need a CUDA GPU (benchmarks/gpu_check.sh runs this)")

# float32: on the CPU the GEMMs are the same for both engines and only the kernels' tanh (from
# exp) and operation order differ; on CUDA cuBLAS may choose other GEMM algorithms for the two
# engines' shapes (TF32 off, torch's default), so sums differ in order.
TOL = 1e-4 if ON_CUDA else 1e-5
# one rounding: the kernels compute in float32 and round once, so a bfloat16 (float16) result
# is the float32 one rounded, give or take one unit in the last place at a rounding boundary
ULP = {torch.float32: 1e-6, torch.bfloat16: 2.0**-7, torch.float16: 2.0**-10}

# One network per shape of step (products and stages), for the layouts
SHAPES = ["rnn", "lstm_peephole_proj", "lstm_no_forget_gate_peephole_proj", "gru", "gru_reset_before", "jordan",
          "ctrnn", "ctrnn_learned_tau"]


def kernel_cell(spec):
    from rnnkit.kernels.triton import kernel_cell

    return kernel_cell(spec)


def cast(value, dtype):
    """value (tensors in tuples, dicts and StageGrads) with every floating tensor cast to dtype."""
    if isinstance(value, torch.Tensor):
        return value.to(dtype) if value.is_floating_point() else value
    if isinstance(value, dict):
        return {k: cast(v, dtype) for k, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(cast(v, dtype) for v in value))
    if isinstance(value, tuple):
        return tuple(cast(v, dtype) for v in value)
    return value


def assert_same(got, expected, tol):
    """got and expected alike: the same structure (tuples, dicts, None), tensors close."""
    if isinstance(expected, torch.Tensor):
        assert isinstance(got, torch.Tensor) and got.dtype == expected.dtype, (type(got), getattr(got, "dtype", None))
        assert_close(got.float(), expected.float(), tol)
    elif isinstance(expected, dict):
        assert got.keys() == expected.keys()
        for k in expected:
            assert_same(got[k], expected[k], tol)
    elif isinstance(expected, tuple):
        assert isinstance(got, tuple) and len(got) == len(expected)
        for u, v in zip(got, expected):
            assert_same(u, v, tol)
    else:
        assert got == expected


def assert_stages_equal(network, dtype):
    """Each pointwise stage of the kernel cell, forward then backward, against the cell's on
    the same inputs: the cell in float32 on the inputs rounded to dtype, its result rounded
    to dtype. Inputs come from one float32 step of the cell."""
    cell, p64 = cell_and_params(network)
    kcell = kernel_cell(cell.spec)
    p = {k: v.detach().to(DEVICE, dtype) for k, v in p64.items()}
    up = functools.partial(cast, dtype=torch.float32)
    pc, pk = cell.prepare(up(p)), kcell.prepare(p)
    xw = cell.project_input(up(p), torch.randn(B, I, device=DEVICE).to(dtype).float())
    state = tuple(torch.randn(B, s, device=DEVICE) for s in cell.state_sizes())
    a, saved, stages = state[0], {}, []
    for k, product in enumerate(cell.products):
        if k:
            saved[f"a{k}"] = a
        inputs = cast((xw, product(pc, a, xw), state, saved), dtype)
        a, saved = cell.pointwise(k, pc, *up(inputs))
        assert_same(kcell.pointwise(k, pk, *inputs), cast((a, saved), dtype), ULP[dtype])
        stages.append(inputs)
    new, saved = up(cast((a, saved), dtype))
    dout, carry = tuple(torch.randn_like(s) for s in new), {}
    for k in range(len(cell.products) - 1, -1, -1):
        inputs = cast((dout, carry, stages[k][2], new, saved), dtype)
        grad = cell.pointwise_backward(k, pc, *up(inputs))
        assert_same(kcell.pointwise_backward(k, pk, *inputs), cast(grad, dtype), ULP[dtype])
        if k:
            dout, carry = grad.drh @ pc[cell.products[k]].W, grad.carry


@needs_triton
@pytest.mark.parametrize("network", NETWORKS)
def test_each_kernel_equals_the_cells_stage(network):
    assert_stages_equal(network, torch.float32)


@needs_triton
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=str)
@pytest.mark.parametrize("network", ["lstm_peephole_proj", "gru", "gru_reset_before", "jordan", "ctrnn_learned_tau"])
def test_kernels_compute_in_float32_and_round_once(network, dtype):
    assert_stages_equal(network, dtype)


@needs_triton
def test_a_wrong_kernel_is_caught(monkeypatch):
    """The stage test can fail: an LSTM whose kernels take tanh for its gates' sigmoid."""
    from rnnkit.kernels.triton import lstm
    from rnnkit.kernels.triton.activations import CODES

    monkeypatch.setattr(lstm, "code", lambda act: CODES["tanh"] if act.name == "sigmoid" else CODES[act.name])
    with pytest.raises(AssertionError):
        assert_stages_equal("lstm", torch.float32)


@needs_triton
@pytest.mark.parametrize("network", NETWORKS)
def test_triton_matches_reference_for_every_cell_and_option(network):
    check(network, "triton", torch.float32, TOL, device=DEVICE, steps=2)


@needs_triton
@pytest.mark.parametrize("network", SHAPES)
def test_triton_matches_reference_packed_bidirectional_two_layers(network):
    check(network, "triton", torch.float32, TOL, packed=True, device=DEVICE, lengths=(3, 1, 2),
          num_layers=2, bidirectional=True, bias=network not in ("gru", "jordan"))


@needs_triton
@pytest.mark.parametrize("network", ["lstm_peephole_proj", "gru_reset_before", "ctrnn_learned_tau"])
def test_triton_in_blocks_of_steps_matches_reference(network, monkeypatch):
    monkeypatch.setattr(rnnkit.engines.fused, "BLOCK_ROWS", 6)  # blocks of 2 steps at B = 3
    check(network, "triton", torch.float32, TOL, device=DEVICE, steps=3, batch_first=True)


@needs_triton
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16], ids=str)
@pytest.mark.parametrize("network", ["lstm", "gru"])
def test_triton_in_half_precision_is_as_close_to_float32_as_fused(network, dtype):
    """In bfloat16 and float16 both engines round; the triton engine's kernels round each
    stage once where the fused engine rounds every operation, so it is no further from the
    float32 reference than the fused engine is (plus a little: T = 5 steps feed back rounding)."""
    ref, tri = pair(network, "triton", torch.float32)
    fused = pair(network, "fused", torch.float32)[1]
    with torch.no_grad():
        for p in ref.parameters():
            p.copy_(p.to(dtype))  # the same weights in every precision
    fused.load_state_dict(ref.state_dict())
    tri.load_state_dict(ref.state_dict())
    x = torch.randn(5, B, I).to(dtype)
    expected = ref.to(DEVICE)(x.float().to(DEVICE))[0]
    errors = {}
    for name, m in (("triton", tri), ("fused", fused)):
        m.to(DEVICE, dtype)
        out = m(x.to(DEVICE))[0]
        out.float().sum().backward()
        errors[name] = (out.float() - expected).abs().max().item()
    assert errors["triton"] <= 1.5 * errors["fused"] + ULP[dtype], errors


@needs_triton
@pytest.mark.parametrize("network", ["lstm_peephole_proj", "gru", "jordan", "ctrnn_learned_tau"])
def test_triton_under_autocast_runs_the_network_in_its_dtype(network):
    """As torch runs cuDNN's networks under autocast: input, states and weights in autocast's
    dtype; the weights' gradients in their own. Against the reference engine run on the
    network cast to bfloat16 (which rounds every operation: so a bfloat16 tolerance)."""
    ref, tri = (m.to(DEVICE) for m in pair(network, "triton", torch.float32))
    x = torch.randn(3, B, I, device=DEVICE)
    with torch.autocast(DEVICE, dtype=torch.bfloat16):
        out, _ = tri(x)
    assert out.dtype == torch.bfloat16
    out.float().sum().backward()
    assert all(p.grad is not None and p.grad.dtype == torch.float32 for p in tri.parameters())
    expected, _ = ref.to(torch.bfloat16)(x.to(torch.bfloat16))
    assert_close(out.float(), expected.float(), 2.0**-5)


@needs_triton
@needs_cuda
@pytest.mark.parametrize("network", SHAPES)
def test_triton_forward_and_backward_replay_as_cuda_graphs(network):
    """No host synchronisation inside a forward or a backward: both are captured in CUDA
    graphs (torch.cuda.make_graphed_callables), and each replay on a new input gives the
    reference engine's output and gradients."""
    ref, tri = (m.to("cuda") for m in pair(network, "triton", torch.float32))
    x = torch.randn(4, B, I, device="cuda", requires_grad=True)
    graphed = torch.cuda.make_graphed_callables(tri, (x,))
    for _ in range(2):
        x = torch.randn(4, B, I, device="cuda", requires_grad=True)
        results = []
        for call, module in ((graphed, tri), (ref, ref)):
            out, state = call(x)
            results.append((out, *torch.autograd.grad(loss_of(out, state), [x, *module.parameters()])))
        assert_close(results[0], results[1], TOL)


@needs_triton
def test_triton_records_the_same_gates_as_reference():
    ref, tri = (m.to(DEVICE) for m in pair("gru_reset_before", "triton", torch.float32, bidirectional=True))
    assert_records_alike(tri, ref, torch.randn(3, B, I, device=DEVICE), TOL)


@needs_triton
def test_triton_refuses_float64_and_devices_without_its_kernels(monkeypatch):
    lstm = rnnkit.LSTM(I, 6, engine="triton", dtype=torch.double)
    with pytest.raises(ValueError, match="engine='triton' cannot run torch.float64: .*use engine='fused' or 'auto'"):
        lstm(torch.randn(2, B, I, dtype=torch.double))
    from rnnkit.kernels import triton as kernels

    monkeypatch.setattr(kernels, "INTERPRETED", False)  # compiled kernels: CUDA tensors only
    engine = rnnkit.engines.ENGINES["triton"]
    assert "Triton's kernels run on CUDA" in engine.unsupported(lstm.cell.spec, torch.device("cpu"))
    assert engine.unsupported(lstm.cell.spec, torch.device("cuda")) is None
    with pytest.raises(ValueError, match="engine='triton' cannot run tensors on cpu"):
        rnnkit.GRU(I, 6, engine="triton")(torch.randn(2, B, I))


def test_triton_says_when_triton_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "triton", None)  # as if not installed: find_spec answers None
    engine = rnnkit.engines.ENGINES["triton"]
    reason = engine.unsupported(rnnkit.LSTM(I, 6).cell.spec, torch.device("cuda"))
    assert reason == "Triton, which is not installed (pip install 'rnnkit[gpu]')"
    with pytest.raises(ValueError, match=r"engine='triton' cannot run Triton, which is not installed"):
        rnnkit.LSTM(I, 6, engine="triton")(torch.randn(2, B, I))


def test_auto_never_chooses_triton_until_measured():
    for layer in (rnnkit.LSTM(I, 6), rnnkit.LSTM(I, 6, peephole=True), rnnkit.GRU(I, 6, reset_after=False), rnnkit.CTRNN(I, 6)):
        for device in ("cpu", "cuda"):
            assert layer.chosen_engine(device) in ("native", "fused", "compiled")
    assert rnnkit.LSTM(I, 6, engine="triton").chosen_engine("cuda") == "triton"


def test_importing_rnnkit_and_building_a_triton_layer_import_no_kernel():
    """rnnkit's Triton kernels (and Triton) wait for the first run of the triton engine."""
    code = (
        "import sys, rnnkit; rnnkit.LSTM(2, 3, engine='triton'); "
        "assert not [m for m in sys.modules if m.startswith(('rnnkit.kernels.triton', 'triton'))], 'imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
