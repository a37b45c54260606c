"""The character language model: a directed model p(w_1..w_T) = Π_t p(w_t | w_1..w_{t-1}).

An embedding, a GRU (or LSTM) and a linear read-out. The recurrent state summarises the whole
history, so each conditional depends on every earlier character (not on the last k, as in an
order-k Markov chain). The input vocabulary has one extra symbol, begin-of-text (code
`vocab_size`), that is fed first, so p(w_1) is a conditional too and log p(w) is exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = [
    "CELLS",
    "CharLM",
    "LMArchitecture",
    "detach",
    "log_conditionals",
    "log_conditionals_stepwise",
    "sample",
]

CELLS = ("gru", "lstm")
Hidden = Any  # a tensor (GRU) or a pair of tensors (LSTM), each (layers, B, H)


@dataclass(frozen=True)
class LMArchitecture:
    """Flat, JSON-friendly hyper-parameters of a CharLM."""

    vocab_size: int
    cell: str = "gru"
    embed_dim: int = 64
    hidden_size: int = 256
    num_layers: int = 1
    dropout: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """The fields as a dict (stored in checkpoints)."""
        return asdict(self)


class CharLM(nn.Module):
    """Embedding -> GRU/LSTM -> logits over the vocabulary; `bos` is the extra input symbol.

    >>> lm = CharLM(LMArchitecture(vocab_size=5, hidden_size=8, embed_dim=4))
    >>> logits, h = lm(torch.zeros(2, 3, dtype=torch.long))
    >>> tuple(logits.shape)
    (2, 3, 5)
    """

    def __init__(self, arch: LMArchitecture) -> None:
        super().__init__()
        if arch.cell not in CELLS:
            raise ValueError(f"cell must be one of {CELLS}, got {arch.cell!r}")
        if arch.vocab_size < 1:
            raise ValueError(f"vocab_size must be ≥ 1, got {arch.vocab_size}")
        self.arch = arch
        self.bos = arch.vocab_size
        self.embed = nn.Embedding(arch.vocab_size + 1, arch.embed_dim)
        rnn = nn.GRU if arch.cell == "gru" else nn.LSTM
        self.rnn = rnn(arch.embed_dim, arch.hidden_size, arch.num_layers, batch_first=True,
                       dropout=arch.dropout if arch.num_layers > 1 else 0.0)
        self.drop = nn.Dropout(arch.dropout)
        self.head = nn.Linear(arch.hidden_size, arch.vocab_size)

    def forward(self, inputs: torch.Tensor, hidden: Hidden = None) -> tuple[torch.Tensor, Hidden]:
        """Logits of the next symbol after each input (B, T, V), and the final hidden state."""
        x = self.drop(self.embed(inputs))  # (B, T, E)
        out, hidden = self.rnn(x, hidden)  # (B, T, H)
        return self.head(self.drop(out)), hidden


def detach(hidden: Hidden) -> Hidden:
    """The hidden state cut from the graph (truncated BPTT)."""
    if hidden is None:
        return None
    if isinstance(hidden, tuple):
        return tuple(h.detach() for h in hidden)
    return hidden.detach()


def _shifted(model: CharLM, codes: torch.Tensor) -> torch.Tensor:
    """Inputs that predict `codes`: begin-of-text, then every code but the last."""
    bos = torch.full((1,), model.bos, dtype=torch.long)
    return torch.cat([bos, codes[:-1]])


@torch.no_grad()
def log_conditionals(model: CharLM, codes: Sequence[int] | np.ndarray | torch.Tensor,
                     chunk: int = 4096) -> np.ndarray:
    """log p(w_t | w_1..w_{t-1}) for each position (float64 numpy, natural log), evaluated in
    chunks of `chunk` characters with the hidden state carried, so the result is exact."""
    was_training = model.training
    model.eval()
    target = torch.as_tensor(np.asarray(codes), dtype=torch.long).reshape(-1)
    inputs = _shifted(model, target)
    out = np.empty(len(target))
    hidden: Hidden = None
    for start in range(0, len(target), chunk):
        logits, hidden = model(inputs[None, start : start + chunk], hidden)
        log_p = torch.log_softmax(logits[0].double(), dim=-1)
        piece = target[start : start + chunk]
        out[start : start + len(piece)] = log_p.gather(1, piece[:, None])[:, 0].numpy()
    model.train(was_training)
    return out


@torch.no_grad()
def log_conditionals_stepwise(model: CharLM, codes: Sequence[int] | np.ndarray) -> np.ndarray:
    """The same conditionals one character at a time (the definition; slow, for checking)."""
    was_training = model.training
    model.eval()
    out = np.empty(len(codes))
    token, hidden = model.bos, None
    for t, code in enumerate(np.asarray(codes).tolist()):
        logits, hidden = model(torch.tensor([[token]]), hidden)
        out[t] = float(torch.log_softmax(logits[0, -1].double(), dim=-1)[code])
        token = code
    model.train(was_training)
    return out


@torch.no_grad()
def sample(
    model: CharLM,
    length: int,
    n: int = 1,
    temperature: float = 1.0,
    seed: int = 0,
    prompt: Sequence[int] | np.ndarray = (),
) -> np.ndarray:
    """Ancestral sampling: n continuations (n, length) of `prompt` (codes), each symbol drawn
    from softmax(logits / temperature); temperature 0 takes the argmax (greedy)."""
    if temperature < 0 or not np.isfinite(temperature):
        raise ValueError(f"temperature must be ≥ 0, got {temperature}")
    was_training = model.training
    model.eval()
    gen = torch.Generator().manual_seed(int(seed))
    head = torch.as_tensor(np.asarray(prompt, dtype=np.int64)).reshape(-1)
    inputs = torch.cat([torch.tensor([model.bos]), head]).repeat(n, 1)  # (n, 1 + P)
    logits, hidden = model(inputs)
    out = torch.empty(n, int(length), dtype=torch.long)
    for t in range(int(length)):
        last = logits[:, -1].double()  # (n, V)
        if temperature == 0:
            token = last.argmax(dim=-1)
        else:
            probs = torch.softmax(last / temperature, dim=-1)
            token = torch.multinomial(probs, 1, generator=gen)[:, 0]
        out[:, t] = token
        logits, hidden = model(token[:, None], hidden)
    model.train(was_training)
    return out.numpy()
