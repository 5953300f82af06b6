"""The character language model: embedding -> recurrent network -> dropout -> linear read-out.

Shape legend: B streams, T time steps, V vocabulary, E embedding, H hidden.
"""
from __future__ import annotations

import torch
from torch import nn

import rnnkit

from .config import CharLMError, TrainConfig

# cell name -> constructor(input_size, hidden_size, **layer options)
_NETWORKS = {
    "lstm": lambda i, h, **kw: rnnkit.LSTM(i, h, **kw),
    "lstm-peephole": lambda i, h, **kw: rnnkit.LSTM(i, h, peephole=True, **kw),
    "lstm-no-forget": lambda i, h, **kw: rnnkit.LSTM(i, h, forget_gate=False, **kw),
    "gru": lambda i, h, **kw: rnnkit.GRU(i, h, **kw),
    "gru-reset-before": lambda i, h, **kw: rnnkit.GRU(i, h, reset_after=False, **kw),
    "rnn": lambda i, h, **kw: rnnkit.RNN(i, h, **kw),
    "rnn-relu": lambda i, h, **kw: rnnkit.RNN(i, h, nonlinearity="relu", **kw),
    "ctrnn": lambda i, h, **kw: rnnkit.CTRNN(i, h, **kw),
    "jordan": lambda i, h, **kw: rnnkit.JordanRNN(i, h, h, **kw),  # fed-back output as wide as the hidden layer
}


def make_network(cfg: TrainConfig) -> nn.Module:
    """The recurrent network ``cfg`` names, batch-first, with dropout between its layers."""
    try:
        return _NETWORKS[cfg.cell](cfg.embedding, cfg.hidden, num_layers=cfg.layers, batch_first=True,
                                   dropout=cfg.dropout if cfg.layers > 1 else 0.0, engine=cfg.engine)
    except ValueError as e:
        raise CharLMError(f"cannot build a {cfg.cell} network: {e}") from None


class CharLM(nn.Module):
    def __init__(self, vocab_size: int, cfg: TrainConfig):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, cfg.embedding)
        self.rnn = make_network(cfg)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.hidden, vocab_size)

    def forward(self, ids: torch.Tensor, state=None):
        """ids: (B, T) int64 -> logits (B, T, V) and the network's state after the last step."""
        out, state = self.rnn(self.embed(ids), state)  # out: (B, T, H)
        return self.head(self.drop(out)), state


def detach(state):
    """The carried state cut from the graph; LSTM's is a tuple (h, c), the others' a tensor."""
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def state_tensors(state) -> list[torch.Tensor]:
    return list(state) if isinstance(state, tuple) else [state]


def state_from_tensors(tensors: list[torch.Tensor]):
    return tuple(tensors) if len(tensors) > 1 else tensors[0]


@torch.no_grad()
def evaluate(model: nn.Module, ids: torch.Tensor, streams: int, bptt: int) -> float:
    """Mean cross-entropy in nats per character of predicting ``ids[1:]`` from what precedes it.

    The text is cut into ``streams`` rows read side by side, the state carried chunk to chunk,
    so each character but a row's first is predicted from its whole row so far.
    """
    streams = max(1, min(streams, (len(ids) - 1) // bptt))  # at least one chunk per stream
    n = (len(ids) - 1) // streams  # characters scored per stream
    x, y = ids[: streams * n].view(streams, n), ids[1: streams * n + 1].view(streams, n)  # (B, n)
    was_training, total, state = model.training, 0.0, None
    model.eval()
    for p in range(0, n, bptt):
        logits, state = model(x[:, p:p + bptt], state)
        total += nn.functional.cross_entropy(logits.flatten(0, 1), y[:, p:p + bptt].flatten(),
                                             reduction="sum").item()
    model.train(was_training)
    return total / (streams * n)


def load_model(meta: dict, tensors: dict[str, torch.Tensor], device: torch.device):
    """(model, vocab, config) rebuilt from a checkpoint's JSON and its verified tensors."""
    from .checkpoint import prefixed
    from .corpus import Vocab

    try:
        cfg = TrainConfig(**meta["config"])
        vocab = Vocab(meta["vocab"])
        model = CharLM(len(vocab), cfg)
        model.load_state_dict(prefixed(tensors, "model."))
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CharLMError(f"checkpoint does not fit the model its config describes "
                          f"(weights of another model or vocabulary?): {first}") from None
    return model.to(device), vocab, cfg


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise CharLMError(f"unknown device {name!r} (use cpu, cuda, cuda:N or auto)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise CharLMError(f"device {name} asked for, but torch sees no CUDA GPU")
    return device
