"""Service-level configuration for tests whose deadlines are relative to the test's clock."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from platform_assets.team import PACKAGED_CONFIG

NY = ZoneInfo("America/New_York")


def hhmmss(when: dt.datetime) -> str:
    return when.astimezone(NY).strftime("%H:%M:%S")


def write_config(directory: Path, pos_due: dt.datetime, close_due: dt.datetime) -> None:
    """The team's configuration, with the POS export due at ``pos_due`` and the close at
    ``close_due`` every day; the other reports are due at the end of the day."""
    shutil.copytree(PACKAGED_CONFIG, directory)
    levels = yaml.safe_load((directory / "service_levels.yaml").read_text())
    levels["warn_before_minutes"] = 0
    levels["upstream"]["pos_transactions"].update(landed_by=hhmmss(pos_due), days="daily")
    for name, spec in levels["reports"].items():
        spec.update(days="daily", due=hhmmss(close_due) if name == "revenue_close" else "23:59:59")
    (directory / "service_levels.yaml").write_text(yaml.safe_dump(levels))


def morning_window() -> None:
    """Deadlines must fall on the same New York day as the test: wait out the last minutes before midnight."""
    now = dt.datetime.now(NY)
    if now.hour == 23 and now.minute >= 50:
        time.sleep((60 - now.minute) * 60 - now.second + 30)
