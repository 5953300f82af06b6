"""The tagger: word embedding (with a context window) -> recurrent network on the padded
batch, run as the packed sequences it holds -> a slot read-out at every word, and an intent
read-out from the largest value of each output unit over the words (or from the final states).

Shape legend: B utterances, T the longest one's words, E embedding, W = 2 * window + 1,
D directions, H hidden, S slot tags, N intents.
"""
from __future__ import annotations

import torch
from torch import nn

from rnnkit.app import networks
from rnnkit.app.checkpoint import prefixed
from rnnkit.app.errors import UserError

from .config import ModelConfig, upgraded
from .data import Batch, Vocab

APPLICATION = "tagger"  # the name its checkpoints carry: format rnnkit.tagger/1


class Tagger(nn.Module):
    def __init__(self, vocab: Vocab, cfg: ModelConfig):
        super().__init__()
        self.window, self.intent_from = cfg.window, cfg.intent_from
        self.embed = nn.Embedding(len(vocab.words), cfg.embedding, padding_idx=0)
        width = cfg.embedding * (2 * cfg.window + 1)
        self.rnn = networks.build(cfg.cell, width, cfg.hidden, num_layers=cfg.layers, batch_first=True,
                                  bidirectional=bool(cfg.bidirectional),
                                  dropout=cfg.dropout if cfg.layers > 1 else 0.0, engine=cfg.engine)
        self.directions = 2 if cfg.bidirectional else 1
        self.drop = nn.Dropout(cfg.dropout)
        self.slots = nn.Linear(self.directions * cfg.hidden, len(vocab.tags))
        self.intent = nn.Linear(self.directions * cfg.hidden, len(vocab.intents)) if vocab.intents else None

    def inputs(self, words: torch.Tensor) -> torch.Tensor:
        """(B, T) word ids -> (B, T, W*E): each word's embedding between its neighbours', zeros past the ends."""
        e = self.embed(words)  # (B, T, E); <pad> embeds to zeros
        if not self.window:
            return e
        w, T = self.window, words.shape[1]
        padded = nn.functional.pad(e, (0, 0, w, w))  # (B, T + 2w, E)
        return torch.cat([padded[:, k:k + T] for k in range(2 * w + 1)], dim=-1)

    def forward(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Slot logits (B, T, S) and intent logits (B, N) (None without an intent head)."""
        return self.logits(batch.words, batch.lengths)

    def logits(self, words: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``forward`` on a padded batch: (B, T) word ids, 0 (<pad>) past each utterance's end, and
        (B,) lengths. Also what an exported file computes (``export.py``)."""
        x = self.drop(self.inputs(words))
        out, state = self.rnn(x, lengths=lengths)  # (B, T, D*H), run as the packed batch it is: zeros past each end
        slots = self.slots(self.drop(out))
        if self.intent is None:
            return slots, None
        if self.intent_from == "max":
            inside = torch.arange(words.shape[1], device=out.device) < lengths.to(out.device)[:, None]  # (B, T)
            read = out.masked_fill(~inside[..., None], -torch.inf).amax(1)  # (B, D*H)
        else:
            final = networks.output_state(state)[-self.directions:]  # (D, B, H): the last layer's, at each end
            read = final.transpose(0, 1).flatten(1)
        return slots, self.intent(self.drop(read))


def load_model(meta: dict, tensors: dict[str, torch.Tensor], device: torch.device) -> tuple[Tagger, Vocab, ModelConfig]:
    """(model, vocab, model config) rebuilt from a checkpoint's JSON and its verified tensors."""
    try:
        cfg = ModelConfig(**upgraded(meta["model"]))
        vocab = Vocab(**meta["vocab"])
        model = Tagger(vocab, cfg)
        model.load_state_dict(prefixed(tensors, "model."))
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UserError(f"checkpoint does not fit the model its config describes "
                        f"(weights of another model or vocabulary?): {first}") from None
    return model.to(device).eval(), vocab, cfg
