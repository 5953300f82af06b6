"""Quality of `rnnkit train`'s default recipe next to a plain torch.nn.LSTM, at equal wall time.

    python benchmarks/charlm_quality.py            # or: make quality   (about 20 minutes)

1. runs `rnnkit train` with every default (Shakespeare, the recipe of TrainConfig);
2. trains the plain peer for the same wall time (the rnnkit run's, unless --peer-minutes) on
   the same split and the same truncated-BPTT streams: torch.nn.LSTM 1 x 512, batches of 64 streams x 128 characters,
   Adam at 2e-3 (constant), gradient clipping at 5;
3. scores both on the validation split (the last 5% of the plays) with the same function,
   and writes docs/charlm_quality.md with a sample of rnnkit's text and docs/charlm_loss.png.
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import time
from pathlib import Path

import torch
from torch import nn

from rnnkit.app import checkpoint
from rnnkit.app.metrics import MetricsLog
from rnnkit.app.networks import detach
from rnnkit.charlm.config import TrainConfig
from rnnkit.charlm.corpus import Vocab, load_text, split
from rnnkit.charlm.model import APPLICATION, BITS, evaluate, load_model
from rnnkit.charlm.sample import generate
from rnnkit.charlm.train import train

DOCS = Path(__file__).resolve().parent.parent / "docs"


class PlainLSTM(nn.Module):
    """The peer: embedding -> torch.nn.LSTM -> linear, nothing of rnnkit's."""

    def __init__(self, vocab: int, hidden: int = 512, embedding: int = 64):
        super().__init__()
        self.embed, self.head = nn.Embedding(vocab, embedding), nn.Linear(hidden, vocab)
        self.rnn = nn.LSTM(embedding, hidden, batch_first=True)

    def forward(self, ids, state=None):
        out, state = self.rnn(self.embed(ids), state)
        return self.head(out), state


def train_peer(train_ids: torch.Tensor, vocab: int, seconds: float, seed: int = 1):
    """torch.nn.LSTM 1x512, 64 streams x 128 characters, Adam 2e-3, clip 5, for ``seconds``."""
    B, T = 64, 128
    torch.manual_seed(seed)
    model = PlainLSTM(vocab)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    n = len(train_ids) // B
    data, chunks = train_ids[: B * n].view(B, n), (n - 1) // T
    state, step, start = None, 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        p = (step % chunks) * T
        state = None if p == 0 else state
        logits, state = model(data[:, p:p + T], state)
        loss = nn.functional.cross_entropy(logits.flatten(0, 1), data[:, p + 1:p + T + 1].flatten())
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        state, step = detach(state), step + 1
        if step % 50 == 0:
            print(f"peer step {step}: loss {loss.item() * BITS:.3f} bits/char, "
                  f"{time.perf_counter() - start:.0f} s", flush=True)
    return model, step, step * B * T, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", default="runs/quality", help="run folder of the rnnkit run (default: runs/quality)")
    parser.add_argument("--peer-minutes", type=float, default=None,
                        help="wall time of the peer (default: the rnnkit run's own wall time)")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch CPU threads for both runs (default: 0, torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    run = Path(args.run_dir)
    if run.exists():
        shutil.rmtree(run)

    cfg = TrainConfig(run_dir=str(run), threads=args.threads)
    start = time.perf_counter()
    if train(cfg) != 0:
        raise SystemExit("the rnnkit run was interrupted; no table written")
    rnnkit_seconds = time.perf_counter() - start

    text = load_text(None)
    vocab = Vocab(text)
    train_text, val_text = split(text, cfg.val_fraction)
    val = torch.tensor(vocab.encode(val_text))
    model, _, _ = load_model(*checkpoint.load(str(run), prefer=("best",), application=APPLICATION), torch.device("cpu"))
    rnnkit_val = evaluate(model, val, 32, 128)
    chars = max(r.get("chars", 0) for r in MetricsLog(run / "metrics.jsonl").read())
    g = torch.Generator().manual_seed(1)
    sample = "ROMEO:" + "".join(generate(model, vocab, "ROMEO:", 600, 0.8, 40, g))

    peer, peer_steps, peer_chars, peer_seconds = train_peer(
        torch.tensor(vocab.encode(train_text)), len(vocab),
        args.peer_minutes * 60 if args.peer_minutes else rnnkit_seconds)
    peer_val = evaluate(peer, val, 32, 128)

    shutil.copyfile(run / "loss.png", DOCS / "charlm_loss.png")
    n_params = sum(p.numel() for p in model.parameters())
    peer_params = sum(p.numel() for p in peer.parameters())
    rows = [
        ("rnnkit default", f"rnnkit.LSTM {cfg.layers}x{cfg.hidden} (engine {cfg.engine}), "
         f"{cfg.batch}x{cfg.bptt}, AdamW {cfg.lr:g} warm-up {cfg.warmup} + cosine to {cfg.min_lr:g}, clip {cfg.clip:g}",
         n_params, max(r["step"] for r in MetricsLog(run / "metrics.jsonl").read()), chars, rnnkit_seconds,
         rnnkit_val),
        ("torch.nn peer", "torch.nn.LSTM 1x512, 64x128, Adam 2e-3 constant, clip 5",
         peer_params, peer_steps, peer_chars, peer_seconds, peer_val),
    ]
    table = "\n".join(f"| {name} | {recipe} | {p / 1e6:.2f}M | {steps} | {c / 1e6:.1f}M | {s / 60:.1f} min "
                      f"| {v:.4f} | **{v * BITS:.3f}** |" for name, recipe, p, steps, c, s, v in rows)
    (DOCS / "charlm_quality.md").write_text(f"""# Char-LM quality: rnnkit's default run vs a plain torch.nn.LSTM

Written by `python benchmarks/charlm_quality.py` (`make quality`) on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}:
{os.cpu_count()} CPU cores ({platform.machine()}), torch {torch.__version__}, {torch.get_num_threads()} torch thread(s).
Validation: the last 5% of the plays ({len(val_text):,} characters), scored by the same function for both
(32 streams, state carried, {len(val) - 1:,} characters predicted). Lower is better.

| model | recipe | parameters | steps | characters trained | wall time | val nats/char | val bits/char |
| --- | --- | --- | --- | --- | --- | --- | --- |
{table}

rnnkit's best checkpoint is scored; the peer's last step is. The training curve of the rnnkit run:
![loss curve](charlm_loss.png)

A sample of the rnnkit run (`rnnkit sample --checkpoint {run} --prime "ROMEO:" --temperature 0.8 --top-k 40 --seed 1`):

```
{sample}
```
""", encoding="utf-8")
    print(f"rnnkit {rnnkit_val * BITS:.3f} bits/char in {rnnkit_seconds / 60:.1f} min; "
          f"peer {peer_val * BITS:.3f} bits/char in {peer_seconds / 60:.1f} min; wrote {DOCS / 'charlm_quality.md'}")


if __name__ == "__main__":
    main()
