"""Quality of `rnnkit train`'s recipe next to a plain torch.nn.LSTM, at equal wall time, on CPU and CUDA.

    python benchmarks/charlm_quality.py            # or: make quality   (about 20 minutes, 20 more with a GPU)
    python benchmarks/charlm_quality.py --device cuda --minutes 3      # a quick comparison on the GPU only

On each device (the CPU, then a CUDA GPU when torch sees one; --device picks one):
1. runs `rnnkit train` with every default there, so with the recipe it chooses for that device,
   for --minutes (10, the default);
2. trains the plain peer for the same wall time (the rnnkit run's, unless --peer-minutes) on
   the same split and the same kind of truncated-BPTT streams, in float32, Adam at 2e-3
   (constant), gradient clipping at 5: torch.nn.LSTM 1 x 512 on 64 streams x 128 characters on
   the CPU; 2 x 1024 on 128 x 256 on CUDA (issue 14's H100 run, without its dropout);
3. scores both on the validation split (the last 5% of the plays) with the same function, and
   writes that device's section of docs/charlm_quality.md (the other device's is kept), with
   a sample of rnnkit's text and its loss curve (docs/charlm_loss.png, charlm_loss_cuda.png).
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import time
from dataclasses import dataclass
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
TITLE = "# Char-LM quality: rnnkit's recipe vs a plain torch.nn.LSTM\n"


@dataclass(frozen=True)
class Peer:
    layers: int
    hidden: int
    batch: int
    bptt: int

    def describe(self) -> str:
        return f"torch.nn.LSTM {self.layers}x{self.hidden}, {self.batch}x{self.bptt}, Adam 2e-3 constant, clip 5"


PEERS = {"cpu": Peer(1, 512, 64, 128), "cuda": Peer(2, 1024, 128, 256)}


class PlainLSTM(nn.Module):
    """The peer: embedding -> torch.nn.LSTM -> linear, nothing of rnnkit's."""

    def __init__(self, vocab: int, peer: Peer, embedding: int = 64):
        super().__init__()
        self.embed, self.head = nn.Embedding(vocab, embedding), nn.Linear(peer.hidden, vocab)
        self.rnn = nn.LSTM(embedding, peer.hidden, num_layers=peer.layers, batch_first=True)

    def forward(self, ids, state=None):
        out, state = self.rnn(self.embed(ids), state)
        return self.head(out), state


def train_peer(train_ids: torch.Tensor, vocab: int, peer: Peer, seconds: float, device: torch.device, seed: int = 1):
    """The peer trained for ``seconds`` on ``device``: (model, steps, characters, seconds)."""
    B, T = peer.batch, peer.bptt
    torch.manual_seed(seed)
    model = PlainLSTM(vocab, peer).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    n = len(train_ids) // B
    data, chunks = train_ids[: B * n].view(B, n).to(device), (n - 1) // T
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
        if step % 50 == 0:  # .item() waits for the GPU: the clock never runs far ahead of it
            print(f"peer step {step}: loss {loss.item() * BITS:.3f} bits/char, "
                  f"{time.perf_counter() - start:.0f} s", flush=True)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return model, step, step * B * T, time.perf_counter() - start


def replace_section(doc: str, device: str, body: str) -> str:
    """``doc`` with the section of ``device`` (between its two markers) replaced by ``body``,
    or with ``body`` added at its end."""
    begin, end = f"<!-- {device} section: written by benchmarks/charlm_quality.py -->", f"<!-- end of {device} section -->"
    section = f"{begin}\n{body.strip()}\n{end}"
    if begin in doc and end in doc:
        return doc[:doc.index(begin)] + section + doc[doc.index(end) + len(end):]
    return doc.rstrip("\n") + "\n\n" + section + "\n"


def recipe_of(cfg: dict) -> str:
    """What a run's config (its checkpoint's) trains, in a table cell."""
    extras = [f"dropout {cfg['dropout']:g}" if cfg["dropout"] else "",
              f"at most {cfg['max_passes']:g} passes" if cfg["max_passes"] else "",
              f"patience {cfg['patience']}" if cfg["patience"] else "", cfg["precision"]]
    return (f"recipe {cfg['recipe']}: rnnkit.LSTM {cfg['layers']}x{cfg['hidden']} (engine {cfg['engine']}), "
            f"{cfg['batch']}x{cfg['bptt']}, AdamW {cfg['lr']:g} (weight decay {cfg['weight_decay']:g}) warm-up "
            f"{cfg['warmup']} + cosine to {cfg['min_lr']:g}, clip {cfg['clip']:g}, "
            + ", ".join(e for e in extras if e))


def compare(device: torch.device, args) -> str:
    """Both runs on ``device``; the section of docs/charlm_quality.md that reports them."""
    run = Path(f"{args.run_dir}-{device.type}")
    if run.exists():
        shutil.rmtree(run)
    cfg = TrainConfig(run_dir=str(run), threads=args.threads, device=device.type, minutes=args.minutes)
    start = time.perf_counter()
    if train(cfg) != 0:
        raise SystemExit("the rnnkit run was interrupted; no table written")
    rnnkit_seconds = time.perf_counter() - start

    text = load_text(None)
    vocab = Vocab(text)
    train_text, val_text = split(text, cfg.val_fraction)
    val = torch.tensor(vocab.encode(val_text), device=device)
    meta, tensors = checkpoint.load(str(run), prefer=("best",), application=APPLICATION)
    model, _, _ = load_model(meta, tensors, device)
    rnnkit_val = evaluate(model, val, 32, 128)
    records = MetricsLog(run / "metrics.jsonl").read()
    chars, steps = max(r.get("chars", 0) for r in records), max(r["step"] for r in records)
    g = torch.Generator().manual_seed(1)
    sample = "ROMEO:" + "".join(generate(model.cpu(), vocab, "ROMEO:", 600, 0.8, 40, g))

    peer = PEERS[device.type]
    peer_model, peer_steps, peer_chars, peer_seconds = train_peer(
        torch.tensor(vocab.encode(train_text)), len(vocab), peer,
        args.peer_minutes * 60 if args.peer_minutes else rnnkit_seconds, device)
    peer_val = evaluate(peer_model, val, 32, 128)

    plot = "charlm_loss.png" if device.type == "cpu" else f"charlm_loss_{device.type}.png"
    shutil.copyfile(run / "loss.png", DOCS / plot)
    rows = [
        ("rnnkit", recipe_of(meta["config"]), sum(p.numel() for p in model.parameters()), steps, chars,
         rnnkit_seconds, rnnkit_val),
        ("torch.nn peer", peer.describe(), sum(p.numel() for p in peer_model.parameters()), peer_steps,
         peer_chars, peer_seconds, peer_val),
    ]
    table = "\n".join(f"| {name} | {recipe} | {p / 1e6:.2f}M | {n} | {c / 1e6:.1f}M | {s / 60:.1f} min "
                      f"| {v:.4f} | **{v * BITS:.3f}** |" for name, recipe, p, n, c, s, v in rows)
    where = (f"{os.cpu_count()} CPU cores ({platform.machine()}), {torch.get_num_threads()} torch thread(s)"
             if device.type == "cpu" else torch.cuda.get_device_name(device))
    print(f"{device.type}: rnnkit {rnnkit_val * BITS:.3f} bits/char in {rnnkit_seconds / 60:.1f} min; "
          f"peer {peer_val * BITS:.3f} bits/char in {peer_seconds / 60:.1f} min")
    return f"""## {'CPU' if device.type == 'cpu' else 'CUDA'}

Written by `python benchmarks/charlm_quality.py --device {device.type} --minutes {args.minutes:g}` on
{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: {where}, torch {torch.__version__}.
Validation: the last 5% of the plays ({len(val_text):,} characters), scored by the same function for both
(32 streams, state carried, {len(val) - 1:,} characters predicted). Lower is better.

| model | recipe | parameters | steps | characters trained | wall time | val nats/char | val bits/char |
| --- | --- | --- | --- | --- | --- | --- | --- |
{table}

rnnkit's best checkpoint is scored; the peer's last step is. The training curve of the rnnkit run:
![loss curve]({plot})

A sample of the rnnkit run (`rnnkit sample --checkpoint {run} --prime "ROMEO:" --temperature 0.8 --top-k 40 --seed 1 --device cpu`):

```
{sample}
```
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="auto: the CPU, then CUDA when torch sees a GPU (default: auto)")
    parser.add_argument("--minutes", type=float, default=10.0,
                        help="time budget of each rnnkit run (default: 10, rnnkit train's)")
    parser.add_argument("--run-dir", default="runs/quality",
                        help="run folders of the rnnkit runs, with -cpu or -cuda added (default: runs/quality)")
    parser.add_argument("--peer-minutes", type=float, default=None,
                        help="wall time of the peer (default: the rnnkit run's own wall time)")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch CPU threads for both runs (default: 0, torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda, but torch sees no CUDA GPU")
    devices = {"cpu": ["cpu"], "cuda": ["cuda"], "auto": ["cpu"] + ["cuda"] * torch.cuda.is_available()}[args.device]
    path = DOCS / "charlm_quality.md"
    for name in devices:
        section = compare(torch.device(name), args)
        doc = path.read_text(encoding="utf-8") if path.exists() else TITLE
        path.write_text(replace_section(doc, name, section), encoding="utf-8")
        print(f"wrote the {name} section of {path}")


if __name__ == "__main__":
    main()
