"""The triton engine: the fused engine's loop, with every pointwise stage one Triton kernel.

Per step, each recurrent product is one torch GEMM (cuBLAS on CUDA) and each pointwise
stage, forward and backward, one fused Triton kernel (`rnnkit.kernels.triton`, a file per
cell family transcribing the cell's stages); everything else (the input projection, the
time loop, states, packing, directions, layers, the weight gradients as one GEMM per block
of steps) is the fused engine's, run on the cell whose stages launch the kernels.

It runs on CUDA tensors, or on any device's under Triton's interpreter (TRITON_INTERPRET=1
before the kernels are first imported: how the tests run it on the CPU), in float32,
bfloat16 and float16, with float32 math inside the kernels; under torch.autocast, in
autocast's dtype, as cuDNN's networks run there. Triton is imported on the
first run, never by `import rnnkit`. Opt-in (engine="triton"): `auto` does not choose it
until a GPU run has measured it faster (docs/benchmarks-gpu.md).
"""

from __future__ import annotations

import importlib.util

import torch

from .fused import Fused

DTYPES = (torch.float32, torch.bfloat16, torch.float16)


class Triton(Fused):
    name = "triton"

    def unsupported(self, spec, device):
        if importlib.util.find_spec("triton") is None:
            return "Triton, which is not installed (pip install 'rnnkit[gpu]')"
        if device.type == "cuda":
            return None
        from ..kernels import triton as kernels  # imports Triton: only when asked about a non-CUDA device

        if not kernels.INTERPRETED:
            return f"tensors on {device.type}: Triton's kernels run on CUDA (or anywhere under TRITON_INTERPRET=1)"
        return None

    def run(self, cell, weights, x, hx, **options):
        reason = self.unsupported(cell.spec, x.device)
        if reason is None and x.dtype not in DTYPES:
            reason = f"{x.dtype}: its kernels run float32, bfloat16 and float16"
        if reason:
            raise ValueError(f"engine='triton' cannot run {reason}; use engine='fused' or 'auto'")
        from ..kernels.triton import kernel_cell

        device = x.device.type
        if not torch.is_autocast_enabled(device):
            return super().run(kernel_cell(cell.spec), weights, x, hx, **options)
        # Under autocast, as torch runs cuDNN's recurrent networks: input, states and weights
        # cast to autocast's dtype (the casts differentiable, so the weights' gradients reach
        # them in their own dtype), the whole network run in it, autocast off inside.
        dtype = torch.get_autocast_dtype(device)
        weights = [{name: w.to(dtype) for name, w in p.items()} for p in weights]
        with torch.autocast(device, enabled=False):
            return super().run(kernel_cell(cell.spec), weights, x.to(dtype), [h.to(dtype) for h in hx], **options)
