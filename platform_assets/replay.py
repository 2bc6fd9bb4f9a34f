"""Replay: drop generated deliveries into a landing zone on their recorded arrival times,
compressed, so sensors, reports and alerts can be watched happening (``platform-assets replay``).

Deliveries come from a generated landing zone (``_arrivals.csv``, superseded deliveries under
``_superseded/``). Each is copied data files first, manifest last, as an exporter would. A
re-send rewrites the manifest's export time (same files), as upstream does. With ``config_out``
the service levels are rewritten onto the replay's clock, so deadlines pass during the replay.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from platform_assets.generator import read_arrivals
from platform_assets.ingestion.manifest import MANIFEST
from platform_assets.partitions import REPORTING_TZ


@dataclass(frozen=True)
class Drop:
    source: str
    business_date: dt.date
    arrives_at: dt.datetime
    kind: str
    path: str
    note: str


def deliveries(outbox: Path, dates: set[dt.date] | None = None, sources: set[str] | None = None) -> list[Drop]:
    out = []
    for row in read_arrivals(outbox):
        day = dt.date.fromisoformat(row["business_date"])
        if (dates and day not in dates) or (sources and row["source"] not in sources):
            continue
        out.append(Drop(row["source"], day, dt.datetime.fromisoformat(row["arrives_at"]), row["kind"], row["path"],
                        row["note"]))
    return sorted(out, key=lambda d: (d.arrives_at, d.source))


def drop(outbox: Path, landing: Path, delivery: Drop, now: dt.datetime | None = None) -> Path:
    """Put one delivery into the landing zone: data files first, the manifest last."""
    source_folder = Path(outbox) / delivery.path
    target = Path(landing) / delivery.source / delivery.business_date.isoformat()
    if target.exists():
        (target / MANIFEST).unlink(missing_ok=True)  # the day is being re-delivered
        for old in target.iterdir():
            old.unlink()
    target.mkdir(parents=True, exist_ok=True)
    for f in sorted(source_folder.iterdir()):
        if f.name != MANIFEST:
            shutil.copy2(f, target / f.name)
    manifest = json.loads((source_folder / MANIFEST).read_text())
    if delivery.kind == "resend":  # the same files exported again
        manifest["exported_at"] = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    tmp = target / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2))
    os.replace(tmp, target / MANIFEST)
    return target


def replay(outbox: Path, landing: Path, drops: list[Drop], speed: float, *, start: dt.datetime | None = None,
           echo: Callable[[str], None] = print, sleep: Callable[[float], None] = time.sleep) -> None:
    if not drops:
        echo("nothing to replay")
        return
    start = start or dt.datetime.now(dt.timezone.utc)
    origin = drops[0].arrives_at
    for d in drops:
        due = start + (d.arrives_at - origin) / speed
        wait = (due - dt.datetime.now(dt.timezone.utc)).total_seconds()
        if wait > 0:
            sleep(wait)
        drop(outbox, landing, d)
        echo(f"{dt.datetime.now(dt.timezone.utc).astimezone(ZoneInfo(REPORTING_TZ)):%H:%M:%S} "
             f"{d.source:<24}{d.business_date}  (would arrive {d.arrives_at:%H:%M}, {d.kind}{': ' + d.note if d.note else ''})")


def replay_clock(drops: list[Drop], speed: float, start: dt.datetime) -> Callable[[dt.datetime], dt.datetime]:
    """Maps a time of the replayed morning onto the wall clock of the replay."""
    origin = drops[0].arrives_at
    return lambda t: start + (t - origin) / speed


def write_config(config_src: Path, config_out: Path, drops: list[Drop], speed: float, start: dt.datetime) -> None:
    """Copy the team's configuration, with the service levels moved onto the replay's clock."""
    config_out.mkdir(parents=True, exist_ok=True)
    for f in Path(config_src).glob("*.yaml"):
        shutil.copy2(f, config_out / f.name)
    levels = yaml.safe_load((Path(config_src) / "service_levels.yaml").read_text())
    clock = replay_clock(drops, speed, start)
    tz = ZoneInfo(levels.get("timezone", REPORTING_TZ))
    morning = drops[0].business_date + dt.timedelta(days=1)
    for section, field in (("reports", "due"), ("upstream", "landed_by")):
        for spec in (levels.get(section) or {}).values():
            h, m, *s = (int(x) for x in str(spec[field]).split(":"))
            original = dt.datetime.combine(morning, dt.time(h, m, *(s or [0])), tzinfo=tz)
            spec[field] = clock(original).astimezone(tz).strftime("%H:%M:%S")
            spec["days"] = "daily"
            spec["warn_before_minutes"] = round(float(spec.get("warn_before_minutes", levels.get("warn_before_minutes", 30)))
                                                / speed, 3)
    (config_out / "service_levels.yaml").write_text(
        "# Service levels moved onto the clock of a replay (platform-assets replay); do not edit.\n"
        + yaml.safe_dump(levels, sort_keys=False))
