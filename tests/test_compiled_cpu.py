"""The compiled CPU engine: every cell and option it compiles against the reference engine,
forward and backward (float64 to 1e-10, float32 to 1e-5; packed, bidirectional, two layers,
blocks of steps, every layout), each compiled pointwise stage against the Python cell's,
step by step, and what runs when it cannot be built."""

import functools
import warnings
from pathlib import Path

import pytest
import torch

from torch.nn.utils.rnn import pack_padded_sequence

import rnnkit
from rnnkit import kernels
from rnnkit.engines import compiled_cpu
from rnnkit.engines.compiled_cpu import cell_args
from conftest import assert_close
from test_cells import cell_and_params
from test_engines import LAYOUTS, NETWORKS, B, H, I, T, check, check_recording, pair

COMPILED = [n for n in NETWORKS if NETWORKS[n][0](I, H, **NETWORKS[n][1]).cell.spec.family in compiled_cpu.COMPILED]


@pytest.fixture(scope="module", autouse=True)
def built():
    """The tests below need the engine built; where there is no compiler at all, they skip."""
    reason = kernels.cpu_unavailable()
    if reason and reason.startswith("no C++ compiler"):
        pytest.skip(reason)
    assert reason is None, reason


@pytest.mark.parametrize("network", COMPILED)
def test_compiled_matches_reference(network):
    check(network, "compiled", torch.double, 1e-10, num_layers=2, bidirectional=True)
    check(network, "compiled", torch.double, 1e-10, packed=True, num_layers=2, bidirectional=True)
    check(network, "compiled", torch.float, 1e-5, num_layers=2, bidirectional=True)
    check(network, "compiled", torch.float, 1e-5, packed=True, num_layers=2, bidirectional=True)


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()))
@pytest.mark.parametrize("network", [n for n in ("lstm_peephole_proj", "gru_reset_before", "gru", "rnn", "jordan", "ctrnn_learned_tau") if n in COMPILED])
def test_compiled_matches_reference_across_layouts(network, layout):
    check(network, "compiled", torch.double, 1e-10, **layout)


@pytest.mark.parametrize("network", COMPILED)
def test_compiled_in_blocks_of_steps_matches_reference(network, monkeypatch):
    monkeypatch.setattr(rnnkit.engines.fused, "BLOCK_ROWS", 8)  # blocks of 2 steps at B = 4 (and 3)
    check(network, "compiled", torch.double, 1e-10, packed=True, num_layers=2, bidirectional=True)
    check(network, "compiled", torch.double, 1e-10, num_layers=2, bidirectional=True)
    check(network, "compiled", torch.float, 1e-5, packed=True, num_layers=2, bidirectional=True)  # on brgemm


@pytest.fixture
def two_threads():
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("network", [n for n in ("lstm_peephole_proj", "lstm", "gru", "gru_reset_before", "rnn", "jordan", "ctrnn_learned_tau") if n in COMPILED])
def test_compiled_split_over_threads_matches_reference(network, two_threads):
    """Both ways the engine shares work out over two threads. A batch of 48 is shared out by
    rows, 24 a thread, for whole blocks of steps (packed: the second thread's rows end first,
    and for the last steps it has none), and brgemm sums in several stretches: a product's
    gradient over its 640 columns, a weight's gradient over the 288 rows of a block. A batch of
    6 runs every step on both threads: its products split their 512 to 2048 columns (float32,
    on brgemm), its pointwise stages their rows."""
    sizes = (48, 8, 160)  # B = 48 rows of 160 to 640 columns: every product in two panels or more
    lengths = tuple(range(48, 0, -1))  # every step a different number of rows
    check(network, "compiled", torch.float, 1e-5, steps=6, sizes=sizes, bidirectional=True)
    check(network, "compiled", torch.float, 1e-5, packed=True, lengths=lengths, sizes=sizes, bidirectional=True)
    check(network, "compiled", torch.double, 1e-10, packed=True, lengths=lengths, sizes=sizes, bidirectional=True)
    check(network, "compiled", torch.float, 1e-5, steps=3, sizes=(6, 8, 512), bidirectional=True)
    check(network, "compiled", torch.float, 1e-5, packed=True, lengths=(3, 1, 2, 3, 2, 1), sizes=(6, 8, 512))


@pytest.mark.parametrize("dtype", [torch.double, torch.float])
@pytest.mark.parametrize("network", COMPILED)
def test_each_compiled_stage_equals_the_cells(network, dtype):
    """One step, stage by stage: the compiled pointwise stage against the cell's `pointwise`,
    its backward against `pointwise_backward` (drh, dxw, the direct dstate, the extras)."""
    ops = kernels.cpu_ops()
    cell, p = cell_and_params(network)
    p = {k: v.detach().to(dtype) for k, v in p.items()}
    prepared = cell.prepare(p)
    args = cell_args(cell, p, prepared)
    saved_width, carry_width, extras_width = ops.widths(*args)
    tol = 1e-10 if dtype == torch.double else 1e-5
    xw = cell.project_input(p, torch.randn(B, I, dtype=dtype))
    state = tuple(torch.randn(B, s, dtype=dtype) for s in cell.state_sizes())
    last = len(cell.products) - 1
    a, saved, compiled_saved = state[0], {}, torch.zeros(B, saved_width, dtype=dtype)
    for k, product in enumerate(cell.products):
        rh = product(prepared, a, xw)
        a, saved = cell.pointwise(k, prepared, xw, rh, state, saved)
        out = ops.pointwise(*args, k, xw, rh, list(state), compiled_saved, 0 if k == last else a.shape[-1])
        assert_close(out if k == last else out[0], list(a) if k == last else a, tol)
    new = a
    dout, carry = tuple(torch.randn_like(s) for s in new), {}
    compiled_carry = torch.zeros(B, max(carry_width, 1), dtype=dtype)
    for k in range(last, -1, -1):
        g = cell.pointwise_backward(k, prepared, dout, carry, state, new, saved)
        douts = list(dout) if k == last else [dout]
        drh, dxw, *dstate, extras = ops.pointwise_backward(
            *args, k, douts, compiled_carry, list(state), list(new), compiled_saved, g.drh.shape[-1], xw.shape[-1]
        )
        assert_close(drh, g.drh, tol)
        if k == 0:
            assert_close(dxw, g.dxw, tol)
            for mine, theirs in zip(dstate, g.dstate):
                if theirs is not None:
                    assert_close(mine, theirs, tol)
            if extras_width:
                assert_close(extras[:, :extras_width], torch.cat(list(g.extras.values()), -1), tol)
        else:
            dout, carry = g.drh @ prepared[cell.products[k]].W, g.carry


def test_auto_runs_the_compiled_engine_where_it_is_faster():
    assert rnnkit.LSTM(I, H).chosen_engine() == "native"  # oneDNN
    assert rnnkit.LSTM(I, H, peephole=True).chosen_engine() == "compiled"
    assert rnnkit.LSTM(I, H, proj_size=2).chosen_engine() == "compiled"
    assert rnnkit.GRU(I, H, reset_after=False).chosen_engine(training=False) == "compiled"
    assert rnnkit.LSTM(I, H, peephole=True).chosen_engine(recording=True) == "compiled"
    assert rnnkit.LSTM(I, H).chosen_engine(recording=True) == "compiled"  # oneDNN records nothing
    assert rnnkit.LSTM(I, H, peephole=True).chosen_engine("cuda") == "fused"


@pytest.mark.parametrize("network", COMPILED)
def test_compiled_records_the_same_as_reference(network):
    check_recording(network, "compiled", torch.randn(T, B, I, dtype=torch.double))
    x = pack_padded_sequence(torch.randn(T, 4, I, dtype=torch.double), [3, 5, 1, 4], enforce_sorted=False)
    check_recording(network, "compiled", x)


def test_a_bfloat16_layer_runs_the_fused_engine_inside_it():
    ref, compiled = pair("lstm_peephole", "compiled", torch.bfloat16)
    x = torch.randn(T, B, I, dtype=torch.bfloat16)
    assert_close(compiled(x)[0].double(), ref(x)[0].double(), 1e-2)


def test_editing_compiled_outputs_in_place_cannot_corrupt_gradients():
    _, compiled = pair("lstm_peephole", "compiled")
    out, _ = compiled(torch.randn(T, B, I, dtype=torch.double))
    with pytest.raises(RuntimeError, match="modified inplace"):
        out.mul_(2)


def test_double_backward_through_compiled_raises():
    _, compiled = pair("lstm_peephole", "compiled")
    x = torch.randn(T, B, I, dtype=torch.double, requires_grad=True)
    with pytest.raises(RuntimeError, match="cannot be differentiated twice.*engine='reference'"):
        torch.autograd.grad(compiled(x)[0].sum(), x, create_graph=True)


def test_without_a_compiler_the_fused_engine_runs_and_one_warning_says_why(monkeypatch):
    monkeypatch.setenv("CXX", "no-such-compiler")
    monkeypatch.setattr(kernels, "cpu_unavailable", functools.cache(kernels.cpu_unavailable.__wrapped__))  # afresh
    ref, lstm = pair("lstm_peephole", "auto")
    x = torch.randn(T, B, I, dtype=torch.double)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert lstm.chosen_engine() == "fused"
        assert_close(lstm(x)[0], ref(x)[0])
        assert rnnkit.GRU(I, H).chosen_engine() == "fused"  # as before the compiled engine
        assert rnnkit.GRU(I, H).chosen_engine(training=False) == "native"  # torch's loop, without autograd
    messages = [str(w.message) for w in caught]
    assert messages == ["rnnkit: the compiled CPU engine is unavailable (no C++ compiler: 'no-such-compiler' is not "
                        "on PATH); the fused engine runs instead"]
    with pytest.raises(ValueError, match=r"engine='compiled' is unavailable for this layer \(no C\+\+ compiler"):
        rnnkit.LSTM(I, H, peephole=True, engine="compiled")


@pytest.mark.parametrize("mode", ["no_grad", "inference_mode", "grad"])
def test_compiled_keeps_every_step_only_when_a_backward_may_follow(mode, monkeypatch):
    """Inside autograd.Function.forward needs_input_grad says True even under no_grad: the
    engine must ask the grad mode itself, or inference keeps every step's saved values
    (tens of MiB at a batch of 64, and the time to fault them in)."""
    ops, kept = kernels.cpu_ops(), []

    class Spy:
        def __getattr__(self, name):
            return getattr(ops, name)

        def forward(self, *args):
            kept.append(args[-2])  # (..., keep, block)
            return ops.forward(*args)

    monkeypatch.setattr(kernels, "cpu_ops", Spy)
    lstm = rnnkit.LSTM(I, H, engine="compiled")
    context = {"no_grad": torch.no_grad, "inference_mode": torch.inference_mode, "grad": torch.enable_grad}[mode]
    with context():
        lstm(torch.randn(T, B, I))
    assert kept == [mode == "grad"]


@pytest.mark.skipif(not torch.backends.openmp.is_available() or not kernels.compiler_is_gcc(),
                    reason="the engine runs on one thread where torch's threads are not GNU OpenMP's or there is no GCC")
def test_the_engine_is_built_to_run_on_torchs_threads():
    """Without -fopenmp, at::parallel_for compiles to a serial loop and every result stays
    right; only the binary shows it: its parallel regions call GNU OpenMP's runtime."""
    kernels.cpu_ops()
    so = next(Path(line.split()[-1]) for line in open("/proc/self/maps") if line.rstrip().endswith("rnnkit_cpu.so"))
    assert b"GOMP_parallel" in so.read_bytes()
