"""Where the active text models are (当前模型文件).

The shipped models live in ``nlp/models``. The retraining DAG (``yingshang_retrain``) keeps and promotes
models under ``YINGSHANG_MODEL_DIR`` when it is set — a folder the workers share — so that is where the
enrichment step, ``predict`` and ``evaluate`` look first: a promoted model is the one the next nightly
run uses. A folder that does not (yet) hold the file falls back to the shipped model.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["MODEL_DIR_ENV", "SHIPPED_MODEL_DIR", "active_model_file"]

MODEL_DIR_ENV = "YINGSHANG_MODEL_DIR"
SHIPPED_MODEL_DIR = Path(__file__).resolve().parent / "models"


def active_model_file(name: str) -> Path:
    """``$YINGSHANG_MODEL_DIR/<name>`` when that file exists, else the shipped ``nlp/models/<name>``."""
    folder = os.environ.get(MODEL_DIR_ENV)
    if folder and (Path(folder) / name).is_file():
        return Path(folder) / name
    return SHIPPED_MODEL_DIR / name
