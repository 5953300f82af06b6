"""Compiled kernels for the engines that run them; `import rnnkit` imports none of this.

`triton/` holds the pointwise stages of every cell as Triton kernels (engines/triton.py).
`cpu/` is the compiled CPU engine (engines/compiled_cpu.py) in C++: one header per cell
family, each a line-by-line transcription of that cell's pointwise stages and their
backward in `cells/`; `loop.h`, the one time loop for every cell; `engine.cpp`, the
operators (torch.ops.rnnkit_cpu).

Built on first use, not at install: `pip install -e .` stays a pure-Python install that
works without a compiler, and the build is cached by torch (keyed on the sources and the
flags) in its extensions folder, so it happens once per machine and torch version. Where it
cannot happen (no compiler, no ninja, a failed build) `cpu_unavailable()` says why, one
warning says so, and the fused engine runs instead. `import rnnkit` never builds.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import warnings
from pathlib import Path

import torch

CPU = Path(__file__).parent / "cpu"


def cpu_flags() -> list[str]:
    """-O3; -fno-trapping-math (no program here traps on floating-point exceptions: it lets
    the compiler vectorise loops with comparisons, such as the clamp in exp_; no value
    changes); AVX2 with FMA where this CPU has them (never -march=native: the cache key
    holds the flags, so a machine without AVX2 builds its own copy rather than load this);
    and -fopenmp where torch runs its threads on GNU OpenMP and the compiler is GCC, without
    which at::parallel_for silently runs on one thread (the extension then shares torch's own
    libgomp, loaded first under the same name; clang's -fopenmp would bring a second OpenMP
    runtime, and Apple's refuses it: there the engine runs on one thread)."""
    flags = ["-O3", "-fno-trapping-math"]
    cpuinfo = Path("/proc/cpuinfo")
    words = set(cpuinfo.read_text().split()) if cpuinfo.exists() else set()
    if {"avx2", "fma"} <= words:
        flags += ["-mavx2", "-mfma"]
    if torch.backends.openmp.is_available() and compiler_is_gcc():
        flags.append("-fopenmp")
    return flags


@functools.cache
def compiler_is_gcc() -> bool:
    """Whether $CXX (else c++) is GCC."""
    try:
        version = subprocess.run([os.environ.get("CXX", "c++"), "--version"], capture_output=True, text=True,
                                 timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "Free Software Foundation" in version and "clang" not in version.lower()


@functools.cache
def cpu_unavailable() -> str | None:
    """None once the compiled CPU engine is built and loaded; else why not, warned once."""
    reason = _build_cpu()
    if reason:
        warnings.warn(f"rnnkit: the compiled CPU engine is unavailable ({reason}); the fused engine runs instead",
                      stacklevel=2)
    return reason


def cpu_ops():
    """torch.ops.rnnkit_cpu, built if need be."""
    reason = cpu_unavailable()
    if reason:
        raise RuntimeError(f"rnnkit's compiled CPU engine is unavailable: {reason}")
    return torch.ops.rnnkit_cpu


def _build_cpu() -> str | None:
    from torch.utils import cpp_extension

    compiler = os.environ.get("CXX", "c++")
    if not shutil.which(compiler):
        return f"no C++ compiler: {compiler!r} is not on PATH"
    path = os.environ.get("PATH", "")
    try:  # the ninja package's binary, where it is installed (torch's builder runs `ninja` from PATH)
        import ninja

        os.environ["PATH"] = ninja.BIN_DIR + os.pathsep + path
    except ImportError:
        pass
    try:
        if not cpp_extension.is_ninja_available():
            return "ninja is not installed (pip install ninja)"
        flags = cpu_flags()
        cpp_extension.load(
            name="rnnkit_cpu", sources=[str(CPU / "engine.cpp")], extra_cflags=flags,
            extra_ldflags=["-fopenmp"] if "-fopenmp" in flags else [],
            extra_include_paths=[str(CPU)], is_python_module=False,
        )
    except Exception as e:  # a failed build: its first error says enough
        lines = str(e).splitlines() or [type(e).__name__]
        return "the build failed: " + next((line.strip() for line in lines if "error" in line), lines[0])[:300]
    finally:
        os.environ["PATH"] = path
    return None
