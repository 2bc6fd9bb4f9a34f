"""The sensors that watch the platform and page the right person.

- ``platform_alerts``: service levels per business date (report deadlines, the POS export's
  landing deadline; warn, fail, recovered), ERROR checks that failed in successful runs,
  resolutions (a late partition materialized, a failed run's assets rebuilt, a check passing
  again), other sensors that stopped ticking, and runs that outlive their time window
  (run_windows.py).
- ``run_failure_alerts``: failed runs (which assets and partition, the error, the step). A
  retry belongs to the same incident as the run it retries (the root run id), so it does not
  alert again.
"""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import dagster as dg

from platform_assets.alerting import run_windows, sla, watchdog
from platform_assets.alerting.messages import dagster_url, import_rerun, report_rerun
from platform_assets.alerting.service import AlertService
from platform_assets.ingestion import registry
from platform_assets.keys import raw_key
from platform_assets.resources import PlatformResource

RUNS_PER_TICK = 50


def first_materialization(instance: dg.DagsterInstance, key: dg.AssetKey, partition: str) -> dt.datetime | None:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition]), limit=1, ascending=True).records
    if not records:
        return None
    return dt.datetime.fromtimestamp(records[0].timestamp, dt.timezone.utc)


def arrival(instance: dg.DagsterInstance, source: str, partition: str, ledger) -> dt.datetime | None:
    """When the source's day landed: the arrival sensor's first complete observation, else the
    first successful import (a day loaded by hand)."""
    records = instance.fetch_observations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(source), asset_partitions=[partition]), limit=20,
        ascending=True).records
    for record in records:
        meta = record.asset_observation.metadata if record.asset_observation else {}
        if "arrived_at" in meta and meta.get("complete") and meta["complete"].value:
            return dt.datetime.fromisoformat(meta["arrived_at"].value)
    batch = ledger.published(source, dt.date.fromisoformat(partition))
    return batch.started_at if batch else None


def assets_of_step(graph: dg.AssetGraph, step_key: str, selection: list[str]) -> list[str]:
    """The assets a failed step was materializing (a multi-asset's step is named after its op)."""
    for assets_def in graph.assets_defs:
        if assets_def.keys and assets_def.is_executable and assets_def.node_def.name == step_key:
            names = sorted(k.to_user_string() for k in assets_def.keys)
            return [n for n in names if not selection or n in selection] or names
    return []


def freshness_of(states: list[str]) -> str | None:
    """One asset-level state from its watched partitions' states (the due date is what counts)."""
    if "fail" in states:
        return "FAIL"
    if "warn" in states:
        return "WARN"
    if any(s in ("on_time", "late") for s in states):
        return "PASS"
    return None


def report_freshness(instance: dg.DagsterInstance, key: dg.AssetKey, state: str | None) -> None:
    """Record the partition-aware state as the asset's freshness state, shown in the UI.

    Dagster's freshness daemon judges an asset's latest materialization of any partition (a
    backfill of an old day looks fresh), so it is turned off in dagster.yaml and this monitor
    writes the states instead. The event classes are not exported by ``dagster`` (1.13) although
    ``report_runless_asset_event`` accepts them: imported from their defining module.
    """
    from dagster._core.definitions.freshness import FreshnessState, FreshnessStateChange

    if state is None:
        return
    record = instance.get_freshness_state_records([key]).get(key)
    previous = record.freshness_state if record else FreshnessState.UNKNOWN
    if previous.value == state:
        return
    instance.report_runless_asset_event(FreshnessStateChange(
        key=key, new_state=FreshnessState(state), previous_state=previous,
        state_change_timestamp=dt.datetime.now(dt.timezone.utc).timestamp()))


def _local(when: dt.datetime, tz: str) -> str:
    return when.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S %Z")


def evaluate_deadlines(service: AlertService, instance: dg.DagsterInstance, ledger, now: dt.datetime,
                       since: dt.datetime | None = None) -> None:
    levels, tz = service.levels, service.levels.timezone
    since = since or service.incidents.monitoring_since(now)
    for name, deadline in levels.upstream.items():
        reports = service.reports_fed_by(raw_key(name))
        states = []
        for day in sla.dates_to_watch(deadline, tz, now, since):
            partition = day.isoformat()
            due = sla.judge(deadline, day, tz, arrival(instance, name, partition, ledger), now)
            states.append(due.state)
            key = f"upstream:{name}:{partition}"
            if due.state in ("warn", "fail"):
                late_reports = ", ".join(f"{r} (due {levels.reports[r].time:%H:%M})" for r in reports)
                service.raise_(key, kind="upstream", subject=name, partition=partition, severity=deadline.severity,
                               state=due.state, now=now, details={
                    "title": f"{name} export for {partition} has not landed (due {deadline.time:%H:%M})",
                    "what": f"The {name} export for business date {partition} was due in the landing zone by "
                            f"{_local(due.due_at, tz)} ({deadline.severity}, {deadline.audience}) and has not "
                            f"landed. It will make late: {late_reports or 'nothing downstream with a deadline'}.",
                    "title_resolved": f"{name} export for {partition} landed",
                    "rerun": f"nothing to run: the import starts by itself when the export lands; to load a "
                             f"re-delivery by hand: {import_rerun(name, partition)[0]}",
                    "rerun_ui": f"Dagster UI > Assets > {name} (observations) > partition {partition}",
                    "extra": {"deadline": _local(due.due_at, tz), "reports_made_late": reports},
                })
            elif due.state in ("on_time", "late"):
                service.resolve(key, {"what_resolved": f"{name} {partition} landed at {_local(due.done_at, tz)} "
                                                       f"({due.minutes_late:.0f} min after its deadline)"}, now=now)
        report_freshness(instance, dg.AssetKey(name), freshness_of(states))
    for name, deadline in levels.reports.items():
        key_asset = dg.AssetKey(name)
        states = []
        for day in sla.dates_to_watch(deadline, tz, now, since):
            partition = day.isoformat()
            due = sla.judge(deadline, day, tz, first_materialization(instance, key_asset, partition), now)
            states.append(due.state)
            key = f"sla:{name}:{partition}"
            if due.state in ("warn", "fail"):
                waiting = [s for s in registry.discover() if raw_key(s) in
                           dg.AssetSelection.assets(key_asset).upstream().resolve(service.graph)
                           and ledger.published(s, day) is None]
                verb = "is due" if due.state == "warn" else "missed"
                rerun, rerun_ui = report_rerun(name, partition)
                service.raise_(key, kind="sla", subject=name, partition=partition, severity=deadline.severity,
                               state=due.state, now=now, details={
                    "title": f"{name} {partition} {verb} its {deadline.time:%H:%M} deadline",
                    "what": f"{name} for business date {partition} is not materialized; it "
                            f"{'is due' if due.state == 'warn' else 'was due'} {_local(due.due_at, tz)} "
                            f"({deadline.severity}, {deadline.audience}). "
                            + (f"Waiting on upstream exports not yet loaded: {', '.join(waiting)}." if waiting
                               else "Every upstream export is loaded: check the latest run."),
                    "title_resolved": f"{name} {partition} delivered",
                    "rerun": rerun, "rerun_ui": rerun_ui,
                    "link": f"{dagster_url()}/assets/{name}?partition={partition}",
                    "extra": {"deadline": _local(due.due_at, tz), "waiting_on": waiting},
                })
            elif due.state in ("on_time", "late"):
                service.resolve(key, {"what_resolved": f"{name} {partition} materialized at {_local(due.done_at, tz)} "
                                                       f"({due.minutes_late:.0f} min after its deadline)"}, now=now)
        report_freshness(instance, key_asset, freshness_of(states))


def _check_details(service, evaluation, run) -> dict:
    asset = evaluation.asset_key.to_user_string()
    partition = evaluation.partition
    rerun, rerun_ui = (import_rerun(asset[4:], partition) if asset.startswith("raw_")
                       else report_rerun(asset, partition)) if partition else ("", "")
    return {
        "title": f"{asset} {partition or ''}: check {evaluation.check_name} failed",
        "what": evaluation.description or f"check {evaluation.check_name} on {asset} failed (ERROR)",
        "title_resolved": f"{asset} {partition or ''}: check {evaluation.check_name} passes again",
        "owner_asset": asset, "rerun": rerun, "rerun_ui": rerun_ui,
        "link": f"{dagster_url()}/runs/{run.run_id}",
        "extra": {"check": evaluation.check_name, "run_id": run.run_id, "run_status": run.status.value},
    }


def process_finished_runs(service: AlertService, instance: dg.DagsterInstance, cursor: dict,
                          now: dt.datetime) -> None:
    """ERROR checks failed in successful runs alert (a failed run alerts as a run failure); any
    passing evaluation resolves its check incident; a success rebuilding a failed run's assets
    resolves the run-failure incident."""
    for status in (dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.RUN_FAILURE):
        result = instance.fetch_run_status_changes(status, limit=RUNS_PER_TICK, cursor=cursor.get(status.value))
        for record in result.records:
            run = instance.get_run_by_id(record.run_id)
            if run is None:
                continue
            for entry in instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records:
                evaluation = entry.event_log_entry.dagster_event.event_specific_data
                key = f"check:{evaluation.asset_key.to_user_string()}:{evaluation.check_name}:{evaluation.partition}"
                if evaluation.passed:
                    service.resolve(key, now=now)
                elif evaluation.severity == dg.AssetCheckSeverity.ERROR and status == dg.DagsterEventType.RUN_SUCCESS:
                    service.raise_(key, kind="check", subject=evaluation.asset_key.to_user_string(),
                                   partition=evaluation.partition, severity=service.impact_severity(evaluation.asset_key),
                                   state="failed", details=_check_details(service, evaluation, run), now=now)
            if status == dg.DagsterEventType.RUN_SUCCESS:
                _resolve_run_failures(service, instance, run, now)
        cursor[status.value] = result.cursor


def _resolve_run_failures(service: AlertService, instance: dg.DagsterInstance, run, now) -> None:
    open_incidents = service.incidents.open_incidents(kind="run_failure")
    if not open_incidents:
        return
    partition = run.tags.get("dagster/partition")
    materialized = {r.event_log_entry.dagster_event.asset_key.to_user_string()
                    for r in instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records}
    for incident in open_incidents:
        failed = set(incident.details.get("extra", {}).get("failed_assets", []))
        same_root = incident.details.get("root_run_id") == run.tags.get("dagster/root_run_id", run.run_id)
        if same_root or (incident.partition == partition and failed and failed <= materialized):
            service.resolve(incident.key, {"what_resolved": f"run {run.run_id[:8]} succeeded for {partition}"}, now=now)


def check_other_sensors(service: AlertService, instance: dg.DagsterInstance, intervals: dict[str, int],
                        now: dt.datetime) -> None:
    for finding in watchdog.check_sensors(instance, now, intervals, exclude=("platform_alerts",)):
        report_finding(service, finding, now)


def report_finding(service: AlertService, finding: watchdog.Finding, now: dt.datetime) -> None:
    if finding.healthy:
        service.resolve(finding.key, {"what_resolved": finding.what}, now=now)
        return
    service.raise_(finding.key, kind="watchdog", subject=f"platform:{finding.subject}", partition=None,
                   severity="high", state="stalled", now=now, details={
        "title": f"{finding.subject} is not running", "what": finding.what,
        "title_resolved": f"{finding.subject} is running again",
        "rerun": "restart the daemon: dagster-daemon run (production: systemctl restart dagster-daemon)",
        "rerun_ui": "Dagster UI > Deployment > Daemons / Sensors",
    })


def build(intervals: dict[str, int]) -> list:
    @dg.sensor(name="platform_alerts", minimum_interval_seconds=intervals["platform_alerts"],
               default_status=dg.DefaultSensorStatus.RUNNING,
               description="Service levels per business date, ERROR checks in successful runs, resolutions, "
                           "stalled sensors: incidents routed to owners and on-call (platform_assets/alerting).")
    def platform_alerts(context: dg.SensorEvaluationContext, platform: PlatformResource):
        now = dt.datetime.now(dt.timezone.utc)
        service = AlertService(platform.ledger())
        cursor = json.loads(context.cursor) if context.cursor else {}
        service.retry_pending(now)
        evaluate_deadlines(service, context.instance, platform.ledger(), now)
        process_finished_runs(service, context.instance, cursor, now)
        check_other_sensors(service, context.instance, intervals, now)
        run_windows.check_run_durations(service, context.instance, now)
        context.update_cursor(json.dumps(cursor))
        for alert in service.sent:
            context.log.info(f"{alert.route}: {alert.title}")
        return dg.SkipReason(f"{len(service.sent)} alert(s) sent") if not service.sent else None

    @dg.run_failure_sensor(name="run_failure_alerts", minimum_interval_seconds=intervals["run_failure_alerts"],
                           default_status=dg.DefaultSensorStatus.RUNNING,
                           description="Failed runs: the assets and partition, the error and the step, routed by "
                                       "the most severe report they feed. Retries do not alert again.")
    def run_failure_alerts(context: dg.RunFailureSensorContext, platform: PlatformResource):
        run = context.dagster_run
        service = AlertService(platform.ledger())
        root = run.tags.get("dagster/root_run_id", run.run_id)
        partition = run.tags.get("dagster/partition")
        failures = context.get_step_failure_events()
        steps = [e.step_key for e in failures]
        errors = [(e.event_specific_data.error.message.strip().splitlines() or [""])[0][:500]
                  for e in failures if e.event_specific_data and e.event_specific_data.error]
        selection = [k.to_user_string() for k in (run.asset_selection or [])]
        failed_assets = [a for step in steps for a in assets_of_step(service.graph, step, selection)] or steps
        severity = service.worst_impact(failed_assets)
        owner = failed_assets[0] if failed_assets else (selection[0] if selection else "platform:runs")
        rerun = (f"platform-assets materialize --start {partition} --end {partition} --select "
                 + " --select ".join(failed_assets)) if partition and failed_assets else ""
        service.raise_(f"run_failure:{root}", kind="run_failure", subject=owner, partition=partition,
                       severity=severity, state="failed", details={
            "title": f"run of {', '.join(failed_assets) or run.job_name} failed" + (f" for {partition}" if partition else ""),
            "what": f"Run {run.run_id[:8]} ({run.job_name}) failed at step {', '.join(steps) or '?'}: "
                    + ("; ".join(errors) or context.failure_event.message or "see the run"),
            "title_resolved": f"{', '.join(failed_assets) or run.job_name} rebuilt" + (f" for {partition}" if partition else ""),
            "owner_asset": owner, "root_run_id": root, "rerun": rerun,
            "rerun_ui": f"Dagster UI > Runs > {run.run_id[:8]} > Re-execute > From failure",
            "link": f"{dagster_url()}/runs/{run.run_id}",
            "extra": {"run_id": run.run_id, "failed_steps": steps, "failed_assets": failed_assets,
                      "assets_in_run": selection},
        })

    return [platform_alerts, run_failure_alerts]
