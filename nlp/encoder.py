"""Pretrained sentence encoder (预训练句向量模型), optional, for the clue grouping.

The monthly clue list (pipeline/clues.py) groups paraphrases by what their words have in common and by a
word space it learns from the warehouse's own texts. Neither knows that 占线, 忙音 and 没人接 describe one
complaint unless the month's texts teach it. A pretrained Chinese sentence encoder does know; where an
operator can install one, ``grouping.encoder.path`` in config/clues.yaml points at its folder and its
sentence vectors join the semantic block (docs/clues.md, "A pretrained sentence encoder").

No encoder ships with Yingshang: none with a licence that allows a district's production use can be
installed from the package registries (docs/clues.md says which were measured and under what licence).
The folder is any Hugging Face model folder (config.json, the tokenizer files and the weights), as
sentence-transformers saves it; the pooling is read from its ``1_Pooling/config.json`` (CLS or mean;
mean where there is none). Loading it needs torch and transformers (requirements-encoder.txt), which the
rest of the pipeline never imports.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np


class EncoderError(RuntimeError):
    """The configured encoder cannot be used (missing folder, not a model, torch not installed)."""


class SentenceEncoder(Protocol):
    """Anything that turns texts into one vector each (rows L2-normalised)."""

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class TransformerEncoder:
    """A local Hugging Face encoder model used as a sentence encoder (句向量).

    ``encode`` returns one L2-normalised float32 row per text. Texts are encoded once each, in an order
    that depends only on the set of texts (sorted by length, then text), and the vectors are rounded
    to 5 decimals, so rebuilding a month gives the same vectors whatever order its rows came in.
    """

    def __init__(self, path: str | Path, *, batch_size: int = 32, max_length: int = 256,
                 threads: int | None = None):
        self.path = Path(path).expanduser()
        if not self.path.is_dir():
            raise EncoderError(f"encoder {self.path}: no such folder")
        if not (self.path / "config.json").is_file():
            raise EncoderError(f"encoder {self.path}: not a Hugging Face model folder (no config.json)")
        try:
            import torch
            from transformers import AutoModel, AutoTokenizer
        except ImportError as exc:  # torch/transformers are optional
            raise EncoderError(
                f"encoder {self.path} is configured but {exc.name or 'torch/transformers'} is not installed: "
                "pip install -r requirements-encoder.txt (or set grouping.encoder.path to null)") from exc
        self._torch = torch
        if threads:
            torch.set_num_threads(int(threads))
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(self.path), local_files_only=True)
            self.model = AutoModel.from_pretrained(str(self.path), local_files_only=True).eval()
        except Exception as exc:  # transformers raises OSError, ValueError, ImportError (a folder without
            # tokenizer files asks for protobuf) …: one line naming the folder, whatever it was
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise EncoderError(f"encoder {self.path}: cannot be loaded as a model folder "
                               f"(config.json, tokenizer files and weights needed): {type(exc).__name__}: {first}") from exc
        self.batch_size = int(batch_size)
        self.max_length = int(max_length)
        self.pooling = _pooling(self.path)
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = [str(t) for t in texts]
        unique = sorted(set(texts), key=lambda t: (len(t), t))
        if not unique:
            return np.zeros((0, int(self.model.config.hidden_size)), dtype=np.float32)
        rows: dict[str, np.ndarray] = {}
        torch = self._torch
        with self._lock, torch.no_grad():
            for i in range(0, len(unique), self.batch_size):
                batch = unique[i:i + self.batch_size]
                enc = self.tokenizer(batch, padding=True, truncation=True, max_length=self.max_length,
                                     return_tensors="pt")
                hidden = self.model(**enc).last_hidden_state
                if self.pooling == "cls":
                    vec = hidden[:, 0]
                else:
                    mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                    vec = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
                vec = torch.nn.functional.normalize(vec, dim=1).cpu().numpy()
                rows.update(zip(batch, np.round(vec, 5).astype(np.float32), strict=True))
        return np.vstack([rows[t] for t in texts])


def _pooling(path: Path) -> str:
    """``cls`` or ``mean``, from sentence-transformers' 1_Pooling/config.json (mean without one)."""
    cfg_file = path / "1_Pooling" / "config.json"
    if cfg_file.is_file():
        try:
            cfg: dict[str, Any] = json.loads(cfg_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            cfg = {}
        if cfg.get("pooling_mode_cls_token") and not cfg.get("pooling_mode_mean_tokens"):
            return "cls"
    return "mean"


@lru_cache(maxsize=4)
def _cached(path: str, batch_size: int, max_length: int) -> TransformerEncoder:
    return TransformerEncoder(path, batch_size=batch_size, max_length=max_length)


def load_encoder(path: str | Path | None, *, batch_size: int = 32, max_length: int = 256) -> SentenceEncoder | None:
    """The encoder of ``path`` (loaded once per process), or None when no path is configured."""
    if path is None or str(path).strip() == "":
        return None
    return _cached(str(Path(path).expanduser().resolve()), int(batch_size), int(max_length))
