"""Speed and memory of rnnkit's engines on one CUDA GPU against cuDNN, measured side by side.

    .venv/bin/python benchmarks/speed_gpu.py                  # the grid of issue 12; writes docs/benchmarks-gpu.md
    .venv/bin/python benchmarks/speed_gpu.py --repeats 3 --dtypes float16

For every configuration (B, T, I = H), dtype (float16, bfloat16, float32) and mode (forward
in inference mode; forward and backward), each contender is timed with CUDA events, in
rounds that visit every contender in turn, so that each ratio compares runs made under the
same conditions; the table shows the medians. Every time is also a ratio to
torch.nn.LSTM (cuDNN) of the same size and dtype, and the GRU's to torch.nn.GRU's.
Peak memory is torch.cuda.max_memory_allocated over one forward and backward, above what
the module and its input hold.

The file is rewritten after each configuration, so a run cut short still leaves its tables.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import torch
from torch import nn

import rnnkit

CONFIGS = [(16, 1024, 768), (64, 256, 256), (256, 128, 512), (1, 1024, 256)]  # (B, T, H), I = H
DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}
ENGINES = ("triton", "fused")
GRAPHED = ("LSTM", "LSTM peephole", "GRU reset before", "CTRNN")  # also timed as one CUDA graph, replayed


def contenders(H):
    """{(network, engine): factory}; torch.nn's first: they are the anchors."""
    out = {("LSTM", "torch.nn (cuDNN)"): lambda: nn.LSTM(H, H), ("GRU", "torch.nn (cuDNN)"): lambda: nn.GRU(H, H)}
    networks = {
        "LSTM": lambda e: rnnkit.LSTM(H, H, engine=e),
        "LSTM peephole": lambda e: rnnkit.LSTM(H, H, peephole=True, engine=e),
        "LSTM no forget gate": lambda e: rnnkit.LSTM(H, H, forget_gate=False, engine=e),
        "GRU": lambda e: rnnkit.GRU(H, H, engine=e),
        "GRU reset before": lambda e: rnnkit.GRU(H, H, reset_after=False, engine=e),
        "RNN": lambda e: rnnkit.RNN(H, H, engine=e),
        "JordanRNN (O = H)": lambda e: rnnkit.JordanRNN(H, H, H, engine=e),
        "CTRNN": lambda e: rnnkit.CTRNN(H, H, engine=e),
    }
    for engine in ENGINES:
        out |= {(name, f"rnnkit {engine}"): lambda m=make, e=engine: m(e) for name, make in networks.items()}
    out |= {(name, "rnnkit triton, CUDA graph"): lambda m=networks[name]: m("triton") for name in GRAPHED}
    return out


def step(module, x, backward, graph=False):
    """One call: forward (inference mode), or forward and backward; with graph, the call
    captured once in a CUDA graph (after warm-up calls) and replayed."""
    if graph:
        return graphed(module, x, backward)
    if backward:
        def run():
            for p in module.parameters():
                p.grad = None
            out, _ = module(x)
            out.float().sum().backward()
    else:
        def run():
            with torch.inference_mode():
                module(x)
    return run


def graphed(module, x, backward):
    if backward:
        call = torch.cuda.make_graphed_callables(module, (x,))

        def run():
            for p in module.parameters():
                p.grad = None
            out, _ = call(x)
            out.float().sum().backward()
        return run
    graph, side = torch.cuda.CUDAGraph(), torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side), torch.inference_mode():
        for _ in range(3):  # warm-up on a side stream, as capture wants: kernels compiled, allocator primed
            module(x)
    torch.cuda.current_stream().wait_stream(side)
    with torch.inference_mode(), torch.cuda.graph(graph):
        module(x)
    return graph.replay


def timed(run) -> float:
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    run()
    end.record()
    end.synchronize()
    return start.elapsed_time(end)


def peak_mib(run) -> float:
    torch.cuda.synchronize()
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    run()
    torch.cuda.synchronize()
    return (torch.cuda.max_memory_allocated() - base) / 2**20


def bench(B, T, H, dtype, repeats, skip_fused):
    """Rows {network, engine, mode, ms, mib} for one configuration and dtype; 'failed: why' where a contender fails."""
    torch.manual_seed(0)
    x = torch.randn(T, B, H, device="cuda", dtype=dtype)
    rows = []
    for backward in (False, True):
        runs = {}
        for key, make in contenders(H).items():
            if skip_fused and key[1] == "rnnkit fused":
                continue
            try:
                runs[key] = step(make().to("cuda", dtype), x, backward, graph="graph" in key[1])
                runs[key]()  # warm-up: compiles the kernels, fills the allocator's cache
            except Exception as e:  # a contender that cannot run is reported, not fatal
                runs.pop(key, None)
                rows.append(dict(network=key[0], engine=key[1], mode=backward, ms=f"failed: {type(e).__name__}: {e}"))
        times = {key: [] for key in runs}
        for _ in range(repeats):
            for key, run in runs.items():
                times[key].append(timed(run))
        for key, run in runs.items():
            row = dict(network=key[0], engine=key[1], mode=backward, ms=statistics.median(times[key]))
            if backward:
                row["mib"] = peak_mib(run)
            rows.append(row)
            print(f"  {dtype} B={B} T={T} H={H} {'fwd+bwd' if backward else 'fwd':7s} {key[0]:20s} {key[1]:18s} "
                  f"{row['ms']:9.2f} ms", flush=True)
        del runs
        torch.cuda.empty_cache()
    return rows


def cell(rows, network, engine, mode, config):
    """'ms, ratio to cuDNN's LSTM (and GRU)' for one table cell."""
    def find(n, e):
        return next((r for r in rows if (r["network"], r["engine"], r["mode"], r["config"]) == (n, e, mode, config)), None)

    row = find(network, engine)
    if row is None:
        return "–"
    if isinstance(row["ms"], str):
        return row["ms"]
    text = f"{row['ms']:.2f} ms"
    for anchor in ("LSTM", "GRU") if network == "GRU" else ("LSTM",):
        ref = find(anchor, "torch.nn (cuDNN)")
        if ref is not None and not isinstance(ref["ms"], str):
            text += f", **{row['ms'] / ref['ms']:.2f}x** {anchor}"
    if mode and "mib" in row:
        text += f", {row['mib']:.0f} MiB"
    return text


def write_markdown(path, rows, repeats):
    lines = [
        "# Benchmarks on a GPU",
        "",
        "Written by `benchmarks/speed_gpu.py` (run by `benchmarks/gpu_check.sh`): "
        f"{torch.cuda.get_device_name()}, torch {torch.__version__}, CUDA {torch.version.cuda}, "
        f"Triton {_triton_version()}. Medians of {repeats} rounds timed with CUDA events; I = H. "
        "Each time is also a ratio to torch.nn.LSTM (cuDNN) of the same size and dtype, measured in the "
        "same rounds (and the GRU's to torch.nn.GRU's); fwd+bwd cells end with the peak memory of one "
        "forward and backward above the module and its input.",
        "",
    ]
    for dtype in dict.fromkeys(r["dtype"] for r in rows):
        for mode in (True, False):
            configs = list(dict.fromkeys(r["config"] for r in rows if r["dtype"] == dtype))
            part = [r for r in rows if r["dtype"] == dtype]
            lines += [f"## {dtype}, {'forward and backward' if mode else 'forward (inference mode)'}", ""]
            lines.append("| network | engine | " + " | ".join("B={} T={} H={}".format(*c) for c in configs) + " |")
            lines.append("|---|---|" + "---|" * len(configs))
            for network, engine in dict.fromkeys((r["network"], r["engine"]) for r in part):
                cells = [cell(part, network, engine, mode, c) for c in configs]
                lines.append(f"| {network} | {engine} | " + " | ".join(cells) + " |")
            lines.append("")
    Path(path).write_text("\n".join(lines))


def _triton_version() -> str:
    import triton

    return triton.__version__


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds per row (default 5)")
    parser.add_argument("--dtypes", nargs="*", default=list(DTYPES), choices=list(DTYPES))
    parser.add_argument("--configs", type=int, nargs="*", help="indices into the grid (default: all)")
    parser.add_argument("--fused-in", nargs="*", default=["float16"], choices=list(DTYPES),
                        help="dtypes in which the (slow) fused engine is timed too (default: float16)")
    parser.add_argument("--out", default=str(Path(__file__).parent.parent / "docs" / "benchmarks-gpu.md"))
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("speed_gpu.py measures on a CUDA GPU, and this machine has none")
    rows = []
    for name in args.dtypes:
        for i, (B, T, H) in enumerate(CONFIGS):
            if args.configs is None or i in args.configs:
                for row in bench(B, T, H, DTYPES[name], args.repeats, name not in args.fused_in):
                    rows.append(row | {"dtype": name, "config": (B, T, H)})
                write_markdown(args.out, rows, args.repeats)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
