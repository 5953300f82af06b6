"""The commands: `rnnkit inspect` (pictures and a page of a trained model's insides) and
`rnnkit gradients` (how far back the gradient reaches, per cell)."""
from __future__ import annotations

import csv
from pathlib import Path

import torch

import rnnkit
from rnnkit.app.device import resolve_device
from rnnkit.app.errors import UserError
from rnnkit.app.runs import output_folder
from rnnkit.app.text import read_text, text_name
from rnnkit.app.trained import open_trained

from . import plots
from .analysis import LEFT, RIGHT, saturation
from .config import GradientsConfig, InspectConfig
from .gradients import CELLS, INITS, make_network, measure
from .viewer import page_data, render


def run_inspect(cfg: InspectConfig) -> int:
    if (cfg.text is None) == (cfg.text_file is None):
        raise UserError("give the text to run the model on with --text TEXT or --text-file FILE (one of them)")
    text, what = (cfg.text, "--text") if cfg.text is not None else (read_text(cfg.text_file), text_name(cfg.text_file))
    text = text[:cfg.max_chars]
    if not text:
        raise UserError("--text is empty: nothing to run the model on")
    trained, meta, meta_path = open_trained(cfg.checkpoint, resolve_device(cfg.device))
    out = output_folder(cfg.out or meta_path.parent / "inspect")
    with torch.no_grad():
        x = trained.inputs(text, what)  # (1, T, I)
        with rnnkit.record(trained.network) as rec:
            trained.network(x)
    # layer ("l0", "l1_reverse", ...) -> gate or state name -> (T, H) activations
    recorded = {key: {name: v[:, 0].float().cpu().numpy() for name, v in rec[key].items()} for key in rec.keys()}
    name = f"{trained.description}, step {meta.get('step', '?')}"
    gates = trained.network.cell.in_unit_interval()
    written = _heatmaps(out, recorded, text, cfg, gates, name) + _saturation(out, recorded, gates, name)
    layers = {key: {s: v for s, v in values.items() if s in ("h", "c", "y")} for key, values in recorded.items()}
    (out / "viewer.html").write_text(render(f"{name}: {len(text)} characters", page_data(text, layers, cfg.top)),
                                     encoding="utf-8")
    written.append(out / "viewer.html")
    print(f"wrote {len(written)} files to {out}: heat maps, saturation.md/.csv and scatter plots, viewer.html")
    return 0


def _heatmaps(out: Path, recorded, text: str, cfg: InspectConfig, sigmoid: tuple[str, ...], name: str) -> list[Path]:
    written, shown = [], text[:cfg.heatmap_chars]
    for key, values in recorded.items():
        for gate, v in values.items():
            H = v.shape[1]
            units = min(H, cfg.heatmap_units)
            path = out / f"heatmap_{key}_{gate}.png"
            plots.heatmap(path, v[:len(shown), :units], shown, f"{name}: {key} {gate}, units 0-{units - 1} of {H}",
                          gate in sigmoid)
            written.append(path)
    return written


def _saturation(out: Path, recorded, gates: tuple[str, ...], name: str) -> list[Path]:
    """saturation.md (per layer and gate), saturation.csv (per unit) and one scatter per layer."""
    lines = [f"# Gate saturation: {name}", "",
             f"Fraction of steps where a unit's gate is left-saturated (< {LEFT}) or right-saturated (> {RIGHT}).", ""]
    written = []
    if not gates:
        lines.append("This cell has no sigmoid gates: nothing saturates in [0, 1].")
    else:
        lines += ["| layer | gate | units | mean left | mean right | units left > 0.5 | units right > 0.5 |",
                  "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    rows = []
    for key, values in recorded.items():
        points = {g: saturation(values[g]) for g in gates if g in values}
        for g, (left, right) in points.items():
            lines.append(f"| {key} | {g} | {len(left)} | {left.mean():.3f} | {right.mean():.3f} | "
                         f"{(left > 0.5).sum()} | {(right > 0.5).sum()} |")
            rows += [(key, g, u, f"{a:.4f}", f"{b:.4f}") for u, (a, b) in enumerate(zip(left, right))]
        if points:
            path = out / f"saturation_{key}.png"
            plots.saturation_scatter(path, points, f"{name}\n{key}: one dot per unit")
            written.append(path)
    (out / "saturation.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with open(out / "saturation.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([("layer", "gate", "unit", "left", "right"), *rows])
    return written + [out / "saturation.md", out / "saturation.csv"]


def _names(value: str, valid, flag: str) -> list[str]:
    names = [n.strip() for n in value.split(",") if n.strip()]
    bad = [n for n in names if n not in valid]
    if bad or not names:
        raise UserError(f"--{flag} {value!r}: choose from {', '.join(valid)}, comma-separated")
    return names


def run_gradients(cfg: GradientsConfig) -> int:
    cells, inits = _names(cfg.cell, CELLS, "cell"), _names(cfg.init, INITS, "init")
    if not any(make_network(cell, 1, cfg.seed, init, cfg.lag) for cell in cells for init in inits):
        raise UserError(f"nothing to measure: --init {cfg.init} sets the gates of lstm and gru only, "
                        f"and --cell is {cfg.cell}; add torch to --init or lstm or gru to --cell")
    out = output_folder(cfg.out)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    norms = {k: v.numpy() for k, v in measure(cells, cfg.lag, tuple(inits), cfg.hidden, cfg.batch,
                                                cfg.train_steps, cfg.seed).items()}
    with open(out / "gradients.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([("t", *norms), *([t, *(f"{v[t]:.6e}" for v in norms.values())]
                                                  for t in range(cfg.lag))])
    when = f"after {cfg.train_steps} training steps" if cfg.train_steps else "at initialisation"
    plots.gradient_curves(out / "gradients.png", norms,
                          f"adding problem, lag {cfg.lag}, {cfg.hidden} units, {when}: loss at step {cfg.lag - 1}")
    width = max(map(len, norms))
    print(f"mean ||dL/dh_t|| on the adding problem, {when} (loss at the last step, t = {cfg.lag - 1}):")
    for label, v in norms.items():
        print(f"  {label:<{width}}  t={cfg.lag - 1}: {v[-1]:.2e}   t={cfg.lag // 2}: {v[cfg.lag // 2]:.2e}"
              f"   t=0: {v[0]:.2e}")
    print(f"wrote {out / 'gradients.png'} and {out / 'gradients.csv'}")
    return 0
