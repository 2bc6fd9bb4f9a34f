"""Arrival-driven execution: the import (and everything downstream that can run) starts when a
source's day is complete in the landing zone, not at a fixed time.

``landing_arrivals`` (every PLATFORM_SENSOR_INTERVAL_SECONDS) scans the last days' folders; a
delivery whose manifest is new or changed and whose files agree with it is recorded as an
observation of the source (arrival time, export time, files) and launches one run per business
date: the imports of every source that arrived, plus every downstream asset whose raw inputs are
all loaded (arrivals.plan). A delivery that disagrees with its manifest is recorded and waited
for (a re-delivery changes the manifest). Run keys make a delivery start one run, however often
it is seen.

``safety_net`` (06:30 and 07:30 New York) launches the same plan for yesterday's complete but
unloaded days, should the sensor have been stopped.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from zoneinfo import ZoneInfo

import dagster as dg

from platform_assets.ingestion.arrivals import Planner, published_sources, scan
from platform_assets.partitions import DAILY_PARTITIONS, REPORTING_TZ
from platform_assets.resources import PlatformResource

LOOKBACK_DAYS = 3


def watched_dates(now: dt.datetime, days: int = LOOKBACK_DAYS) -> list[dt.date]:
    today = now.astimezone(ZoneInfo(REPORTING_TZ)).date()
    first = dt.date.fromisoformat(DAILY_PARTITIONS.start.strftime("%Y-%m-%d"))
    return [d for d in (today - dt.timedelta(days=k) for k in range(days, 0, -1)) if d >= first]


def plan_runs(planner: Planner, platform: PlatformResource, arrived: dict[dt.date, list], trigger: str,
              tags: dict | None = None) -> list[dg.RunRequest]:
    requests = []
    ledger = platform.ledger()
    for day, deliveries in sorted(arrived.items()):
        sources = sorted({d.source for d in deliveries})
        plan = planner.plan(day, sources, published_sources(ledger, day) - set(sources))
        fingerprints = {d.source: d.fingerprint or "" for d in deliveries}
        requests.append(dg.RunRequest(
            run_key=plan.run_key(fingerprints) if trigger == "arrival" else None,
            partition_key=day.isoformat(),
            asset_selection=list(plan.assets),
            asset_check_keys=list(plan.checks),
            tags={"platform/trigger": trigger, "platform/sources": ",".join(sources), **(tags or {})},
        ))
    return requests


def build(interval_seconds: int) -> tuple[list, list]:
    planner_cache: dict = {}

    def planner() -> Planner:
        if "p" not in planner_cache:
            planner_cache["p"] = Planner()
        return planner_cache["p"]

    @dg.sensor(name="landing_arrivals", minimum_interval_seconds=interval_seconds,
               default_status=dg.DefaultSensorStatus.RUNNING,
               target=dg.AssetSelection.all() - dg.AssetSelection.groups("sources"),
               description="Starts the import of a source's day, and everything downstream that can run, as soon as "
                           "its delivery is complete in the landing zone (manifest present and consistent).")
    def landing_arrivals(context: dg.SensorEvaluationContext, platform: PlatformResource):
        now = dt.datetime.now(dt.timezone.utc)
        known = json.loads(context.cursor) if context.cursor else {}
        deliveries = scan(platform.settings().landing_dir, watched_dates(now), known, now)
        observations, arrived = [], defaultdict(list)
        ledger = platform.ledger()
        for d in deliveries:
            label = f"{d.source}/{d.business_date}"
            published = ledger.published(d.source, d.business_date) if d.complete and label not in known else None
            if published is not None and published.fingerprint == d.fingerprint:
                # First sight of a delivery that is already loaded (a new cursor, e.g. a fresh
                # deployment over an existing landing zone): nothing arrived, nothing to run.
                known[label] = d.signature
                continue
            observations.append(dg.AssetObservation(
                asset_key=d.source, partition=d.business_date.isoformat(),
                metadata={"arrived_at": now.isoformat(), "complete": d.complete,
                          "exported_at": d.exported_at.isoformat() if d.exported_at else "",
                          "fingerprint": d.fingerprint or "", "problem": d.problem or ""}))
            known[label] = d.signature
            if d.complete:
                arrived[d.business_date].append(d)
            else:
                context.log.warning(f"{d.source} {d.business_date}: delivery not usable yet: {d.problem}")
        requests = plan_runs(planner(), platform, arrived, "arrival")
        for r in requests:
            context.log.info(f"{r.partition_key}: {r.tags['platform/sources']} arrived -> run of "
                             f"{len(r.asset_selection)} asset(s)")
        return dg.SensorResult(run_requests=requests, asset_events=observations, cursor=json.dumps(known))

    @dg.schedule(name="safety_net", cron_schedule=["30 6 * * *", "30 7 * * *"], execution_timezone=REPORTING_TZ,
                 target=dg.AssetSelection.all() - dg.AssetSelection.groups("sources"),
                 default_status=dg.DefaultScheduleStatus.RUNNING,
                 description="Safety net for the arrival sensor: loads yesterday's complete but unloaded deliveries.")
    def safety_net(context: dg.ScheduleEvaluationContext, platform: PlatformResource):
        when = context.scheduled_execution_time or dt.datetime.now(dt.timezone.utc)
        day = when.astimezone(ZoneInfo(REPORTING_TZ)).date() - dt.timedelta(days=1)
        loaded = published_sources(platform.ledger(), day)
        waiting = [d for d in scan(platform.settings().landing_dir, [day], None, when)
                   if d.complete and d.source not in loaded]
        if not waiting:
            return dg.SkipReason(f"every complete delivery of {day} is loaded")
        return plan_runs(planner(), platform, {day: waiting}, "safety_net",
                         tags={"platform/scheduled_for": when.isoformat()})

    return [landing_arrivals], [safety_net]
