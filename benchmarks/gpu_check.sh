#!/usr/bin/env bash
# Run once on a machine with a CUDA GPU (about 8 minutes): the triton engine's tests with its
# kernels compiled for CUDA (tests/test_triton.py, CUDA graphs included), then the benchmark
# that rewrites docs/benchmarks-gpu.md (float16 first: a run cut short keeps what it measured).
# Uses .venv if there is one, else python3 with torch, triton and pytest installed.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-$([ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)}
export PYTHONPATH="src${PYTHONPATH:+:$PYTHONPATH}"
export TRITON_INTERPRET=0  # compiled kernels, on CUDA tensors

$PY -c "import torch, triton; assert torch.cuda.is_available(), 'no CUDA GPU'; \
print('torch', torch.__version__, 'CUDA', torch.version.cuda, 'Triton', triton.__version__, torch.cuda.get_device_name())" || exit 1
timeout 210 $PY -m pytest -q -p no:cacheprovider tests/test_triton.py
tests=$?
timeout 270 $PY benchmarks/speed_gpu.py --repeats 3
bench=$?
echo "tests: exit $tests; benchmark: exit $bench (124: cut short by its time limit)"
exit $((tests || bench))
