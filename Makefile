# Set-up is part of every target: the first run creates .venv, later runs reuse it.
# torch is pinned here (a CPU build on these machines); the package metadata accepts a range.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TORCH := torch==2.13.0

.PHONY: test demo train quality tagger-quality

$(VENV)/.installed: pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q $(TORCH)
	$(PY) -m pip install -q -e ".[app,dev]"
	touch $@

test: $(VENV)/.installed
	$(PY) -m pytest -q

demo: $(VENV)/.installed
	$(PY) examples/demo.py

# The README's run command: set-up, then a character-level LSTM trained on Shakespeare
# (downloaded once) for about 10 minutes on 2 CPU cores, printing samples along the way.
train: $(VENV)/.installed
	$(PY) -m rnnkit train

# About 20 minutes: rnnkit's recipe and a plain torch.nn.LSTM peer on the CPU, and 20 more on a CUDA
# GPU when there is one; writes docs/charlm_quality.md. QUALITY="--device cuda --minutes 3": a quick one.
QUALITY ?=
quality: $(VENV)/.installed
	$(PY) benchmarks/charlm_quality.py $(QUALITY)

# Hours: every network of `rnnkit tag` on ATIS, one- and bidirectional, 3 seeds each, one run at
# a time; writes benchmarks/tagger_results.json and the table of docs/tagger.md.
tagger-quality: $(VENV)/.installed
	$(PY) benchmarks/tagger_quality.py
