"""Configuration as data (配置): the taxonomy, source column maps and the rest of config/*.yaml.

The config folder is ``YINGSHANG_CONFIG_DIR`` if set, else the repository's ``config/``. Nothing
district-specific lives in code: a district renames areas, adds column aliases or changes deadlines
by editing these files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class ConfigError(Exception):
    """A configuration file is missing or malformed (配置错误)."""


def config_dir() -> Path:
    return Path(os.environ.get("YINGSHANG_CONFIG_DIR") or PROJECT_ROOT / "config")


@lru_cache(maxsize=32)
def _load_yaml(path: str) -> dict[str, Any]:
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"configuration file not found: {p}")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML ({exc.__class__.__name__})") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: expected a mapping at the top level")
    return data


def load_yaml(name: str) -> dict[str, Any]:
    """Load ``config/<name>.yaml`` (cached)."""
    return _load_yaml(str(config_dir() / f"{name}.yaml"))


@dataclass(frozen=True)
class Area:
    """One indicator area (指标领域) of the taxonomy."""

    code: str
    name_zh: str
    name_en: str
    lead_unit: str | None
    description: str
    keywords: tuple[str, ...] = field(default_factory=tuple)

    @property
    def label(self) -> str:
        return f"{self.code} {self.name_zh}"


def load_areas() -> list[Area]:
    """The configured taxonomy, in file order; the last-resort class Z must be present."""
    raw = load_yaml("areas").get("areas") or []
    areas = [
        Area(
            code=str(a["code"]),
            name_zh=str(a["name_zh"]),
            name_en=str(a.get("name_en", "")),
            lead_unit=a.get("lead_unit"),
            description=str(a.get("description", "")).strip(),
            keywords=tuple(str(k) for k in a.get("keywords") or ()),
        )
        for a in raw
    ]
    codes = [a.code for a in areas]
    if "Z" not in codes:
        raise ConfigError("config/areas.yaml must define the area Z (其他)")
    if len(set(codes)) != len(codes):
        raise ConfigError("config/areas.yaml: duplicate area codes")
    return areas


def area_keywords() -> dict[str, list[str]]:
    return {a.code: list(a.keywords) for a in load_areas()}


def all_keywords() -> list[str]:
    return sorted({k for a in load_areas() for k in a.keywords})


def load_sources() -> dict[str, Any]:
    return load_yaml("sources")


def settings() -> dict[str, Any]:
    """config/settings.yaml: thresholds and limits (optional file; empty when absent)."""
    try:
        return load_yaml("settings")
    except ConfigError:
        return {}
