"""Recording costs nothing while it is off: the ordinary forward pass runs torch's own kernel
where torch has one, and a layer that was recorded runs as fast again once the block ends."""
import time

import torch
from torch import nn

import rnnkit
from rnnkit import engines


def best_time(f, repeats: int = 7) -> float:
    f()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return min(times)


def test_auto_runs_the_native_kernel_unless_recording():
    lstm = rnnkit.LSTM(8, 16)
    cpu = torch.device("cpu")
    assert engines.select("auto", lstm.cell, cpu, False) is engines.native
    assert engines.select("auto", lstm.cell, cpu, True) is engines.fused


@torch.no_grad()
def test_forward_after_recording_is_as_fast_as_torch_nn():
    torch.manual_seed(0)
    ours, theirs = rnnkit.LSTM(32, 64), nn.LSTM(32, 64)
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(200, 8, 32)
    with rnnkit.record(ours) as rec:
        ours(x)
    assert rec["l0"]["f"].shape == (200, 8, 64)
    torch.testing.assert_close(ours(x)[0], theirs(x)[0])
    ratio = best_time(lambda: ours(x)) / best_time(lambda: theirs(x))
    assert ratio < 1.5, f"rnnkit.LSTM takes {ratio:.2f}x torch.nn.LSTM's time with recording off"
