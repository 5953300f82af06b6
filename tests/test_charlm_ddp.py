"""Two CPU processes under torchrun (gloo), each on its own streams, follow one process's trajectory."""
import json
import os
import subprocess
import sys

import torch
from charlm_helpers import TINY, make_text, train_losses
from safetensors.torch import load_file


def last_weights(run):
    tensors = load_file(str(run / json.loads((run / "last.json").read_text())["weights"]))
    return {k: v for k, v in tensors.items() if k.startswith("model.")}


def test_two_processes_reach_the_parameters_of_one_with_the_same_global_batch(tmp_path):
    text = make_text(tmp_path / "t.txt")
    # --recipe cpu: these processes choose their recipe from the machine (no test fixture reaches them)
    args = ["train", "--text", str(text), *TINY, "--steps", "8", "--layers", "2", "--recipe", "cpu"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    one = subprocess.run([sys.executable, "-m", "rnnkit", *args, "--run-dir", str(tmp_path / "one")],
                         capture_output=True, text=True, env=env, timeout=300)
    assert one.returncode == 0, one.stderr[-2000:]
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                          "-m", "rnnkit", *args, "--run-dir", str(tmp_path / "two")],
                         capture_output=True, text=True, env=env, timeout=300)
    assert two.returncode == 0, two.stderr[-2000:]
    assert "2 process(es)" in two.stdout and "1 process(es)" in one.stdout

    a, b = last_weights(tmp_path / "one"), last_weights(tmp_path / "two")
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=1e-4, atol=1e-5, msg=k)
    torch.testing.assert_close(torch.tensor(train_losses(tmp_path / "two")),
                               torch.tensor(train_losses(tmp_path / "one")), rtol=1e-5, atol=1e-5)
