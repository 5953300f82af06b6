"""Recording costs nothing while it is off: the ordinary forward pass runs torch's own kernel
where torch has one (the same kernel torch.nn.LSTM runs, so the same speed), and a layer that
was recorded runs that kernel again once the block ends. Checked by which engine runs, not by
timing, which a shared machine makes flaky (speed is measured in benchmarks/)."""
import torch
from torch import nn

import rnnkit
from rnnkit import engines


def test_auto_runs_the_native_kernel_unless_recording():
    lstm = rnnkit.LSTM(8, 16)
    cpu = torch.device("cpu")
    recorder = "fused" if engines.ENGINES["compiled"].unsupported(lstm.cell.spec, cpu) else "compiled"
    for training in (False, True):
        assert engines.select("auto", lstm.cell.spec, cpu, False, training) is engines.ENGINES["native"]
        assert engines.select("auto", lstm.cell.spec, cpu, True, training) is engines.ENGINES[recorder]


def test_a_recorded_layer_runs_torchs_kernel_again_after_the_block(monkeypatch):
    calls = []
    native = engines.ENGINES["native"]
    monkeypatch.setattr(native, "run", lambda *a, _run=native.run, **k: calls.append(1) or _run(*a, **k))
    torch.manual_seed(0)
    ours, theirs = rnnkit.LSTM(32, 64), nn.LSTM(32, 64)
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(20, 8, 32)
    with rnnkit.record(ours) as rec:
        ours(x)
    assert rec["l0"]["f"].shape == (20, 8, 64) and calls == []
    assert ours._recording is None
    torch.testing.assert_close(ours(x)[0], theirs(x)[0])
    assert calls == [1]
