import pytest
import torch


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
    if isinstance(a, (tuple, list)):
        assert len(a) == len(b)
        for u, v in zip(a, b):
            assert_close(u, v, tol)
        return
    assert a.shape == b.shape, (a.shape, b.shape)
    torch.testing.assert_close(a, b, rtol=tol, atol=tol)
