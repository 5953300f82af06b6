"""Speed and memory of rnnkit's engines against torch.nn, measured side by side.

    .venv/bin/python benchmarks/speed.py            # the full grid; writes docs/benchmarks.md
    .venv/bin/python benchmarks/speed.py --only GRU --configs 0 --no-memory --out gru.md   # a part, beside the full table

For every configuration (B, T, I, H) and mode (forward in inference mode; forward and
backward), the contenders of a group are timed in turn, round after round, so that each
ratio compares runs made under the same machine load; the table shows medians over the
rounds. Every time is also shown as a multiple of its GEMM floor: the matmul FLOPs of the
network over the rate of one large fp32 matmul measured at the start of the run.
Peak memory is the growth of the resident set over one forward and backward, each
contender in a fresh process whose malloc returns every large block when it is freed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch import nn

import rnnkit

CONFIGS = [(1, 256, 64, 128), (16, 128, 128, 256), (64, 128, 128, 256), (64, 64, 256, 512), (8, 512, 64, 64)]
GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}


def groups(I, H):
    """{group: {label: (factory, gate count for the FLOP floor)}}; the first label is the anchor."""
    lstm_anchor = {"torch.nn.LSTM": (lambda: nn.LSTM(I, H), 4)}
    out = {
        name: {f"torch.nn.{name}": (lambda c=getattr(nn, name): c(I, H), g)}
        | {f"rnnkit {e}": (lambda c=getattr(rnnkit, name), e=e: c(I, H, engine=e), g) for e in ("auto", "compiled", "fused", "reference")}
        for name, g in GATES.items()
    }
    variants = {
        "LSTM peephole": (lambda e: rnnkit.LSTM(I, H, peephole=True, engine=e), 4),
        "LSTM no forget gate": (lambda e: rnnkit.LSTM(I, H, forget_gate=False, engine=e), 3),
        "LSTM relu activation": (lambda e: rnnkit.LSTM(I, H, activation="relu", engine=e), 4),
        "GRU reset before": (lambda e: rnnkit.GRU(I, H, reset_after=False, engine=e), 3),
        "JordanRNN (O = H)": (lambda e: rnnkit.JordanRNN(I, H, H, engine=e), 2),
        "CTRNN": (lambda e: rnnkit.CTRNN(I, H, engine=e), 1),
    }
    for name, (make, g) in variants.items():
        out[name] = lstm_anchor | {f"{e}": (lambda m=make, e=e: m(e), g) for e in ("compiled", "fused", "reference")}
    return out


def gemm_rate(n=2048, repeats=5) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    return 2 * n**3 / min(times)


def flops(B, T, I, H, gates, backward):
    forward = 2 * T * B * gates * H * (I + H)
    return 3 * forward if backward else forward  # backward: the input and the weight GEMMs


def timer(module, x, backward):
    if backward:
        def run():
            for p in module.parameters():
                p.grad = None
            out, _ = module(x)
            out.sum().backward()
    else:
        def run():
            with torch.inference_mode():
                module(x)
    return run


def bench_config(B, T, I, H, rounds, only):
    rows = []
    for group, contenders in groups(I, H).items():
        if only and group not in only:
            continue
        torch.manual_seed(0)
        x = torch.randn(T, B, I)
        for backward in (False, True):
            runs = {label: timer(make(), x, backward) for label, (make, _) in contenders.items()}
            for run in runs.values():  # warm-up
                run()
            times = {label: [] for label in runs}
            for _ in range(rounds):
                for label, run in runs.items():
                    t = time.perf_counter()
                    run()
                    times[label].append(time.perf_counter() - t)
            medians = {label: statistics.median(ts) for label, ts in times.items()}
            anchor = next(iter(medians.values()))
            for label, m in medians.items():
                rows.append(
                    dict(group=group, label=label, mode="fwd+bwd" if backward else "fwd", config=(B, T, I, H),
                         ms=m * 1e3, ratio=m / anchor, gates=contenders[label][1])
                )
            print(f"  {group:22s} {'fwd+bwd' if backward else 'fwd':7s} "
                  + "  ".join(f"{label} {medians[label] * 1e3:.1f}ms ({medians[label] / anchor:.2f}x)" for label in runs),
                  flush=True)
    return rows


def peak_rss_kib() -> int:
    """This process's peak resident set (Linux's VmHWM; unlike getrusage's ru_maxrss it
    starts afresh at exec, instead of inheriting the parent's peak)."""
    status = Path("/proc/self/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))


def memory_probe(group, label, B, T, I, H, threads):
    """In this (fresh) process: the growth of the resident set, MiB, over one forward and
    backward. main() starts it with glibc's malloc told to map every block of 64 KiB or
    more on its own and unmap it when freed, so the resident set follows the live tensors
    instead of malloc's caches."""
    torch.set_num_threads(threads)
    module, x = groups(I, H)[group][label][0](), torch.randn(T, B, I)
    out, _ = module(x[:2, :2])  # a tiny warm-up: code and libraries load before the baseline
    out.sum().backward()
    before = peak_rss_kib()
    out, _ = module(x)
    out.sum().backward()
    return (peak_rss_kib() - before) / 1024


def memory_table(only, threads):
    B, T, I, H = max(CONFIGS, key=lambda c: c[0] * c[1] * c[3] * (c[2] + c[3]))  # the most FLOPs
    env = os.environ | {"MALLOC_MMAP_THRESHOLD_": "65536", "MALLOC_TRIM_THRESHOLD_": "0"}
    rows = []
    for group, contenders in groups(I, H).items():
        if only and group not in only:
            continue
        for label in contenders:
            args = [sys.executable, __file__, "--memory-probe", json.dumps([group, label, B, T, I, H, threads])]
            mib = float(subprocess.run(args, check=True, capture_output=True, text=True, env=env).stdout)
            rows.append(dict(group=group, label=label, mib=mib))
            print(f"  memory {group:22s} {label:18s} {mib:8.1f} MiB", flush=True)
    return (B, T, I, H), rows


def cpu_name() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")]
    return f"{names[0]} ({len(names)} cores)" if names else platform.machine()


def write_markdown(path, rows, rate, memory, rounds):
    lines = [
        "# Benchmarks",
        "",
        "Written by `benchmarks/speed.py`. CPU: " + cpu_name() + f", {torch.get_num_threads()} threads, "
        f"torch {torch.__version__}, fp32. Medians of {rounds} interleaved rounds; *ratio* is the time over the "
        "group's first row (torch.nn) measured in the same rounds; *floor* is the time over the GEMM floor "
        f"(matmul FLOPs / {rate / 1e9:.0f} GFLOP/s, the rate of a 2048^3 fp32 matmul measured in the same run).",
        "",
    ]
    for mode in ("fwd+bwd", "fwd"):
        lines += [f"## {'Forward and backward' if mode == 'fwd+bwd' else 'Forward (inference mode)'}", ""]
        configs = sorted({r["config"] for r in rows}, key=CONFIGS.index)
        lines.append("| network | engine | " + " | ".join("B={} T={} I={} H={}".format(*c) for c in configs) + " |")
        lines.append("|---|---|" + "---|" * len(configs))
        keys = list(dict.fromkeys((r["group"], r["label"]) for r in rows))
        for group, label in keys:
            cells = []
            for c in configs:
                r = next(r for r in rows if (r["group"], r["label"], r["mode"], r["config"]) == (group, label, mode, c))
                floor = flops(*c, r["gates"], mode == "fwd+bwd") / rate * 1e3
                cells.append(f"{r['ms']:.1f} ms, **{r['ratio']:.2f}x**, {r['ms'] / floor:.1f}x floor")
            lines.append(f"| {group} | {label} | " + " | ".join(cells) + " |")
        lines.append("")
    if memory:
        (B, T, I, H), mem = memory
        lines += [f"## Peak memory of one forward and backward, B={B} T={T} I={I} H={H}", "",
                  "| network | engine | MiB | ratio to torch.nn.LSTM |", "|---|---|---|---|"]
        anchor = next(r["mib"] for r in mem if r["label"] == "torch.nn.LSTM")
        lines += [f"| {r['group']} | {r['label']} | {r['mib']:.0f} | {r['mib'] / anchor:.2f}x |" for r in mem]
        lines.append("")
    Path(path).write_text("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds per row (default 7)")
    parser.add_argument("--only", nargs="*", default=[], help="groups to run (default: all)")
    parser.add_argument("--configs", type=int, nargs="*", help="indices into the grid (default: all)")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory table")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2, the CI machine's cores)")
    parser.add_argument("--memory-probe", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(Path(__file__).parent.parent / "docs" / "benchmarks.md"))
    args = parser.parse_args()
    if args.memory_probe:
        print(memory_probe(*json.loads(args.memory_probe)))
        return
    torch.set_num_threads(args.threads)
    rate = gemm_rate()
    print(f"GEMM floor: {rate / 1e9:.0f} GFLOP/s fp32, {torch.get_num_threads()} threads", flush=True)
    rows = []
    for i, (B, T, I, H) in enumerate(CONFIGS):
        if args.configs is None or i in args.configs:
            print(f"B={B} T={T} I={I} H={H}", flush=True)
            rows += bench_config(B, T, I, H, args.rounds, args.only)
    memory = None if args.no_memory else memory_table(args.only, args.threads)
    write_markdown(args.out, rows, rate, memory, args.rounds)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
