"""The run-duration guard: a run still going after its time window (config/service_levels.yaml,
``run_time_windows``) is flagged and alerted once, routed by the most severe report its assets
feed; the incident resolves when the run ends. The run book entry is "the batch exceeds its time
window" (docs/runbooks/platform_operations.md)."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from platform_assets.alerting.messages import dagster_url
from platform_assets.alerting.service import AlertService

KIND = "run_duration"


def overrunning(started_at: dt.datetime, window: dt.timedelta, now: dt.datetime) -> bool:
    return now - started_at > window


def planned_assets(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """The assets a run set out to materialize (whatever launched it: a job, a subset, a backfill)."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED).records
    return sorted({r.event_log_entry.dagster_event.asset_key.to_user_string() for r in records})


def check_run_durations(service: AlertService, instance: dg.DagsterInstance, now: dt.datetime) -> None:
    running = instance.get_run_records(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]), limit=200)
    still_running = set()
    for record in running:
        run = record.dagster_run
        if record.start_time is None:
            continue
        key = f"{KIND}:{run.run_id}"
        still_running.add(key)
        started = dt.datetime.fromtimestamp(record.start_time, dt.timezone.utc)
        window = service.levels.run_window_for(run.tags)
        if not overrunning(started, window, now):
            continue
        assets = planned_assets(instance, run.run_id)
        severity = service.worst_impact(assets)
        partition = run.tags.get("dagster/partition") or (
            f"{run.tags['dagster/asset_partition_range_start']}..{run.tags['dagster/asset_partition_range_end']}"
            if "dagster/asset_partition_range_start" in run.tags else None)
        minutes = (now - started).total_seconds() / 60
        service.raise_(key, kind=KIND, subject=assets[0] if assets else "platform:runs", partition=partition,
                       severity=severity, state="overrunning", now=now, details={
            "title": f"run {run.run_id[:8]} exceeds its time window ({minutes:.0f} min, window "
                     f"{window.total_seconds() / 60:.0f} min)",
            "what": f"Run {run.run_id[:8]} ({run.job_name}) of {', '.join(assets[:8]) or run.job_name}"
                    f"{' ...' if len(assets) > 8 else ''} started {started:%Y-%m-%d %H:%M} UTC and is still running "
                    f"after {minutes:.0f} min; its window is {window.total_seconds() / 60:.0f} min. Find the slow "
                    "step in the run's timeline; a much larger delivery is the usual cause.",
            "title_resolved": f"run {run.run_id[:8]} ended",
            "owner_asset": assets[0] if assets else "platform:runs",
            "rerun": "nothing to re-run while it runs; if a step is stuck, terminate the run and launch the "
                     f"partition again: platform-assets materialize --start D --end D ({partition or 'its dates'})",
            "rerun_ui": f"Dagster UI > Runs > {run.run_id[:8]} > Timeline",
            "link": f"{dagster_url()}/runs/{run.run_id}",
            "extra": {"run_id": run.run_id, "started_at": started.isoformat(), "window_minutes":
                      window.total_seconds() / 60, "assets_in_run": assets},
        })
    for incident in service.incidents.open_incidents(kind=KIND):
        if incident.key not in still_running:
            run = instance.get_run_by_id(incident.key.split(":", 1)[1])
            status = run.status.value if run else "deleted"
            service.resolve(incident.key, {"what_resolved": f"the run ended ({status})"}, now=now)
