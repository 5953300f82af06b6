import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def _cpu_without_bfloat16():
    """The char-LM's recipe follows the CPU (rnnkit.charlm.recipes.cpu_bfloat16): in this
    process the tests see a CPU without bfloat16, whatever runs them, so the recipe a test's
    run gets does not depend on the machine (the recipe tests describe their machines; a test
    that starts rnnkit in a process of its own passes --recipe)."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
            patch.setattr(torch.cpu, name, lambda: False, raising=False)
        yield


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def loss_of(out, state) -> torch.Tensor:
    """A scalar that depends on every output and final state through fixed random
    weights, so each gradient checked below is distinct and non-trivial."""
    g = torch.Generator().manual_seed(1234)
    tensors = [out, *(state if isinstance(state, tuple) else (state,))]
    return sum((t * torch.randn(t.shape, generator=g, dtype=t.dtype).to(t.device)).sum() for t in tensors)


def assert_close(a, b, tol=1e-10):
    """Elementwise |a - b| <= tol * (|b| + max(1, max |b|)): relative to each element and
    to the tensor's scale, so that sums of many large terms in float32 are judged fairly."""
    if isinstance(a, (tuple, list)):
        assert len(a) == len(b)
        for u, v in zip(a, b):
            assert_close(u, v, tol)
        return
    assert a.shape == b.shape, (a.shape, b.shape)
    scale = max(1.0, b.abs().max().item()) if b.numel() else 1.0
    torch.testing.assert_close(a, b, rtol=tol, atol=tol * scale)
