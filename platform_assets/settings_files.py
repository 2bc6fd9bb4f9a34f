"""The team's YAML configuration (service levels, quality thresholds), read when needed.

Files live in ``PLATFORM_CONFIG_DIR`` if set, else in the package's ``config/`` directory.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from platform_assets.settings import Settings
from platform_assets.team import config_dir


@cache
def _load(name: str, directory: Path | None) -> dict[str, Any]:
    path = config_dir(directory) / name
    try:
        return yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise FileNotFoundError(f"configuration file {path} is missing") from None


def load(name: str, directory: Path | None = None) -> dict[str, Any]:
    return _load(name, directory or Settings.from_env().config_dir)


def service_levels() -> dict[str, Any]:
    return load("service_levels.yaml")


def quality() -> dict[str, Any]:
    return load("quality.yaml")
