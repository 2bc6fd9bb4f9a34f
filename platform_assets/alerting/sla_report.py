"""The SLA report: per business date, the deadline, when the partition was first materialized,
on time or late, the hit rate, and for late days the upstream export that landed last.

Everything is read from the Dagster instance: materializations, the runs they belong to, and the
arrival observations the landing sensor records on the source assets. A run started for an
arrival the demo or a replay simulated carries ``platform/simulated_start``: its times are moved
onto that clock (simulated start + time since the run started).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import dagster as dg

from platform_assets.alerting.service_levels import Deadline, ServiceLevels
from platform_assets.ingestion import registry
from platform_assets.keys import raw_key

SIMULATED_START = "platform/simulated_start"


@dataclass(frozen=True)
class SlaDay:
    business_date: dt.date
    deadline: dt.datetime
    materialized_at: dt.datetime | None
    last_upstream: str | None
    last_upstream_at: dt.datetime | None

    @property
    def on_time(self) -> bool:
        return self.materialized_at is not None and self.materialized_at <= self.deadline

    @property
    def minutes_late(self) -> float | None:
        if self.materialized_at is None:
            return None
        return (self.materialized_at - self.deadline).total_seconds() / 60


def _clock(instance: dg.DagsterInstance, run_id: str, timestamp: float, cache: dict) -> dt.datetime:
    if run_id not in cache:
        record = instance.get_run_record_by_id(run_id) if run_id else None
        sim = record.dagster_run.tags.get(SIMULATED_START) if record else None
        cache[run_id] = (dt.datetime.fromisoformat(sim), record.start_time) if sim and record.start_time else None
    mapping = cache[run_id]
    if mapping is None:
        return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc)
    sim_start, real_start = mapping
    return sim_start + dt.timedelta(seconds=max(timestamp - real_start, 0.0))


def first_materialized(instance, key: dg.AssetKey, partition: str, cache: dict) -> dt.datetime | None:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition]), limit=1, ascending=True).records
    if not records:
        return None
    return _clock(instance, records[0].run_id, records[0].timestamp, cache)


def arrived(instance, source: str, partition: str, cache: dict) -> dt.datetime | None:
    for record in instance.fetch_observations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(source), asset_partitions=[partition]), limit=20,
            ascending=True).records:
        meta = record.asset_observation.metadata if record.asset_observation else {}
        if "arrived_at" in meta and meta.get("complete") and meta["complete"].value:
            return dt.datetime.fromisoformat(meta["arrived_at"].value)
    return first_materialized(instance, raw_key(source), partition, cache)


def report(instance: dg.DagsterInstance, graph: dg.AssetGraph, levels: ServiceLevels, asset: str, days: int,
           now: dt.datetime | None = None, end: dt.date | None = None) -> list[SlaDay]:
    """The last ``days`` business dates up to ``end`` (default: today) whose deadline has passed;
    a date with nothing materialized is a miss (MISSING), not skipped."""
    deadline: Deadline = levels.reports[asset]
    tz = levels.timezone
    now = now or dt.datetime.now(dt.timezone.utc)
    key = dg.AssetKey(asset)
    upstream = dg.AssetSelection.assets(key).upstream().resolve(graph)
    sources = [s for s in registry.discover() if raw_key(s) in upstream]
    cache: dict = {}
    out = []
    day = min(end or now.astimezone(ZoneInfo(tz)).date(), now.astimezone(ZoneInfo(tz)).date())
    first = _first_partition(instance, key)
    while len(out) < days and first is not None and day >= first:
        if deadline.deadline(day, tz) <= now:
            partition = day.isoformat()
            arrivals = [(s, arrived(instance, s, partition, cache)) for s in sources]
            known = [(s, t) for s, t in arrivals if t is not None]
            last = max(known, key=lambda st: st[1]) if known else (None, None)
            out.append(SlaDay(day, deadline.deadline(day, tz), first_materialized(instance, key, partition, cache),
                              *last))
        day -= dt.timedelta(days=1)
    return sorted(out, key=lambda d: d.business_date)


def _first_partition(instance, key: dg.AssetKey) -> dt.date | None:
    """The earliest business date ever materialized (the platform was not live before)."""
    partitions = instance.get_materialized_partitions(key)
    return min(dt.date.fromisoformat(p) for p in partitions) if partitions else None


def render(asset: str, rows: list[SlaDay], tz: str) -> list[str]:
    z = ZoneInfo(tz)
    lines = [f"{'business date':<14}{'deadline':<18}{'materialized':<18}{'status':<20}last upstream to land"]
    for r in rows:
        mat = r.materialized_at.astimezone(z).strftime("%m-%d %H:%M") if r.materialized_at else "-"
        if r.materialized_at is None:
            status = "MISSING"
        elif r.on_time:
            status = "on time"
        else:
            status = f"LATE +{r.minutes_late:.0f} min"
        upstream = f"{r.last_upstream} at {r.last_upstream_at.astimezone(z):%m-%d %H:%M}" if r.last_upstream else "-"
        lines.append(f"{r.business_date.isoformat():<14}{r.deadline.astimezone(z):%m-%d %H:%M %Z}  {mat:<18}"
                     f"{status:<20}{upstream if not r.on_time else ''}")
    hits = sum(r.on_time for r in rows)
    lines.append(f"{asset}: on time {hits} of {len(rows)} ({hits / len(rows):.0%})" if rows else
                 f"{asset}: no due partitions materialized yet")
    return lines
