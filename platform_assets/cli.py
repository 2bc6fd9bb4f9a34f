"""``platform-assets``: the team's command line.

Commands that run assets do so through Dagster on the instance in ``DAGSTER_HOME`` (the one the
UI shows), in-process, so a re-import or a local run is recorded like any other run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path

import click

from platform_assets.partitions import date_range, parse_date, run_tags


def _date(_ctx, _param, value):
    if value is None:
        return None
    try:
        return parse_date(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


def _platform():
    from platform_assets.resources import PlatformResource

    return PlatformResource()


def _instance():
    import dagster as dg

    if os.environ.get("DAGSTER_HOME"):
        return dg.DagsterInstance.get()
    click.echo("note: DAGSTER_HOME is not set; runs go to a temporary instance the UI will not show", err=True)
    return dg.DagsterInstance.ephemeral()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """The retailer's data platform: sample data, imports, reports, service levels."""


@main.command()
@click.option("--landing", type=click.Path(path_type=Path), default=None,
              help="Landing zone to write into (default: PLATFORM_LANDING_DIR).")
@click.option("--start", required=True, callback=_date, help="First business date, YYYY-MM-DD.")
@click.option("--days", type=click.IntRange(1, 3660), default=14, show_default=True)
@click.option("--scale", type=click.Choice(["small", "bench"]), default="small", show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--mess", type=click.Choice(["none", "default", "heavy"]), default="default", show_default=True,
              help="Defects to inject (docs/sample-data.md).")
def generate(landing, start, days, scale, seed, mess) -> None:
    """Write sample exports of every source, with manifests and arrival times."""
    import time

    from platform_assets.generator import generate as run
    from platform_assets.settings import Settings

    landing = landing or Settings.from_env().landing_dir
    t0 = time.perf_counter()
    summary = run(landing, start, days, scale=scale, seed=seed, mess=mess)
    elapsed = time.perf_counter() - t0
    click.echo(f"wrote {summary.files:,} files ({summary.bytes / 1e6:,.1f} MB) for {days} day(s) from {start} "
               f"into {landing} in {elapsed:.1f} s (scale={scale}, seed={seed}, mess={mess})")
    for source, rows in sorted(summary.rows.items()):
        click.echo(f"  {source:<24}{rows:>12,} rows")


@main.command()
@click.option("--source", help="Source to re-import (with --date).")
@click.option("--date", "day", callback=_date, help="Business date to re-import.")
@click.option("--batch", "batch_id", help="Or: the id (or a unique prefix) of the batch to redo.")
@click.option("--downstream/--no-downstream", default=False,
              help="Also re-run staging and reports of that date.")
def reprocess(source, day, batch_id, downstream) -> None:
    """Re-import one source's day from the landing zone and show what changed."""
    from platform_assets.ingestion.framework import describe_change

    platform = _platform()
    ledger = platform.ledger()
    if batch_id:
        matches = ledger.find_batches(batch_id)
        if len(matches) != 1:
            raise click.ClickException(f"batch id {batch_id!r} matches {len(matches)} batches; give more characters")
        source, day = matches[0].source, matches[0].business_date
    if not source or not day:
        raise click.UsageError("give --source and --date, or --batch")
    from platform_assets.ingestion import registry

    try:
        registry.get(source)
    except KeyError as exc:
        raise click.ClickException(str(exc.args[0])) from exc
    before = ledger.published(source, day)
    ok = _run_assets([f"raw_{source}"], [day], platform, downstream=downstream,
                     run_config={"ops": {f"raw_{source}": {"config": {"force": True}}}})
    after = ledger.batches(source=source, business_date=day, limit=1)[0]
    click.echo(f"{source} {day}: batch {after.batch_id} {after.status}")
    if after.message:
        click.echo(f"  {after.message}")
    for line in describe_change(ledger, before, after).lines():
        click.echo(f"  {line}")
    if not ok:
        sys.exit(1)


def _run_assets(selection: list[str], days: list[dt.date], platform, *, downstream: bool = False,
                run_config: dict | None = None) -> bool:
    import dagster as dg

    from platform_assets.definitions import build_definitions

    defs = build_definitions(platform=platform)
    select = dg.AssetSelection.assets(*selection)
    if downstream:
        select = select.downstream()
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection=set(select.resolve(defs.resolve_asset_graph())))
    instance = _instance()
    ok = True
    for day in days:
        result = job.execute_in_process(partition_key=day.isoformat(), instance=instance,
                                        run_config=run_config or {}, raise_on_error=False)
        for event in result.get_step_failure_events():
            click.echo(f"  {day} {event.step_key} failed: {event.event_specific_data.error.message.strip()}", err=True)
        ok &= result.success
    return ok


@main.command()
@click.option("--start", required=True, callback=_date)
@click.option("--end", callback=_date, help="Last date (default: --start).")
@click.option("--select", "selection", multiple=True, help="Asset keys (default: every asset).")
def materialize(start, end, selection) -> None:
    """Materialize assets for a date range, in this process, on the DAGSTER_HOME instance."""
    from platform_assets.definitions import build_definitions
    from platform_assets.jobs import DAILY_JOB

    platform = _platform()
    if selection:
        ok = _run_assets(list(selection), list(date_range(start, end or start)), platform)
    else:
        job = build_definitions(platform=platform).resolve_job_def(DAILY_JOB)
        instance, ok = _instance(), True
        for day in date_range(start, end or start):
            result = job.execute_in_process(partition_key=day.isoformat(), instance=instance, raise_on_error=False)
            click.echo(f"{day}: {'ok' if result.success else 'FAILED'}")
            for event in result.get_step_failure_events():
                click.echo(f"  {event.step_key}: {event.event_specific_data.error.message.strip()}", err=True)
            ok &= result.success
    if not ok:
        sys.exit(1)


@main.command()
@click.option("--start", required=True, callback=_date)
@click.option("--end", required=True, callback=_date)
@click.option("--select", "selection", multiple=True, help="Asset keys (default: every asset).")
@click.option("--downstream", is_flag=True, help="Also everything downstream of --select.")
def backfill(start, end, selection, downstream) -> None:
    """Re-materialize a date range the way a Dagster backfill does: the assets' backfill policies
    decide the runs (imports and heavy staging a month per run, the rest the whole range in one
    run), in dependency order, in this process, on the DAGSTER_HOME instance. Writes replace whole
    partitions, so re-running a range is safe. (From the UI: select the assets, Materialize, pick
    the range: the daemon runs the same runs in parallel.)"""
    import uuid

    import dagster as dg

    from platform_assets.definitions import build_definitions
    from platform_assets.demo import QUIET
    from platform_assets.scheduling import backfill_runs

    if end < start:
        raise click.BadParameter(f"--end {end} is before --start {start}")
    defs = build_definitions(platform=_platform())
    graph = defs.resolve_asset_graph()
    unknown = [a for a in selection if dg.AssetKey(a) not in graph.materializable_asset_keys]
    if unknown:
        raise click.BadParameter(f"unknown asset(s): {', '.join(unknown)}", param_hint="--select")
    select = dg.AssetSelection.assets(*selection) if selection else dg.AssetSelection.all()
    if downstream:
        select = select.downstream()
    keys = set(select.resolve(graph)) & set(graph.materializable_asset_keys)
    runs = backfill_runs(graph, keys, list(date_range(start, end)))
    job, instance, backfill_id = defs.resolve_implicit_global_asset_job_def(), _instance(), uuid.uuid4().hex[:8]
    click.echo(f"backfill {backfill_id}: {len(keys)} asset(s), {start}..{end}, {len(runs)} run(s)")
    for i, r in enumerate(runs, 1):
        tags = {"platform/backfill": backfill_id, **run_tags(r.start, r.end)}
        result = job.get_subset(asset_selection=set(r.assets)).execute_in_process(
            instance=instance, tags=tags, run_config=QUIET, raise_on_error=False)
        click.echo(f"  run {i}/{len(runs)} {r.start}..{r.end}: {len(r.assets)} asset(s) "
                   f"{'ok' if result.success else 'FAILED'}")
        for event in result.get_step_failure_events():
            click.echo(f"    {event.step_key}: {event.event_specific_data.error.message.strip()[:500]}", err=True)
        if not result.success:
            click.echo(f"stopped: later runs depend on this one; fix the cause and run the same command again", err=True)
            sys.exit(1)


@main.command()
@click.option("--source")
@click.option("--date", "day", callback=_date)
@click.option("--status", type=click.Choice(["running", "succeeded", "partially_succeeded", "failed", "noop"]))
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per batch.")
def batches(source, day, status, limit, as_json) -> None:
    """List import batches from the ledger, newest first."""
    ledger = _platform().ledger()
    rows = ledger.batches(source=source, business_date=day, statuses=[status] if status else None, limit=limit)
    for b in rows:
        if as_json:
            click.echo(json.dumps({"batch_id": b.batch_id, "source": b.source, "business_date": str(b.business_date),
                                   "status": b.status, "rows_read": b.rows_read, "rows_loaded": b.rows_loaded,
                                   "rows_rejected": b.rows_rejected, "started_at": b.started_at.isoformat(),
                                   "message": b.message, "drift": b.drift, "files": b.files}))
        else:
            click.echo(f"{b.started_at:%Y-%m-%d %H:%M:%S}  {b.batch_id[:12]}  {b.source:<22} {b.business_date}  "
                       f"{b.status:<19} read {b.rows_read:>9,}  loaded {b.rows_loaded:>9,}  "
                       f"rejected {b.rows_rejected:>6,}" + (f"\n    {b.message}" if b.message else ""))
    if not rows:
        click.echo("no batches match", err=True)


@main.command()
@click.option("--batch", "batch_id", help="Batch id or unique prefix.")
@click.option("--source")
@click.option("--date", "day", callback=_date)
@click.option("--limit", type=int, default=20, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "csv", "json"]), default="text", show_default=True)
def rejects(batch_id, source, day, limit, fmt) -> None:
    """Show rejected rows with their file, row, reason and raw record."""
    import csv

    ledger = _platform().ledger()
    if batch_id:
        matches = ledger.find_batches(batch_id)
        if len(matches) != 1:
            raise click.ClickException(f"batch id {batch_id!r} matches {len(matches)} batches")
        batch_id = matches[0].batch_id
    elif not (source and day):
        raise click.UsageError("give --batch, or --source and --date (the published batch's rejects)")
    else:
        published = ledger.published(source, day)
        latest = ledger.batches(source=source, business_date=day, limit=1)
        chosen = published or (latest[0] if latest else None)
        if chosen is None:
            raise click.ClickException(f"no batches for {source} {day}")
        batch_id = chosen.batch_id
    rows = ledger.rejects(batch_id=batch_id, limit=limit or None)
    fields = ["batch_id", "file", "row_number", "line_number", "columns", "reason", "record"]
    if fmt == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    elif fmt == "json":
        for r in rows:
            click.echo(json.dumps({k: r[k] for k in fields}))
    else:
        counts = ledger.reject_reasons(batch_id)
        click.echo(f"batch {batch_id}: {sum(counts.values()):,} rejected row(s)")
        for reason, n in counts.items():
            click.echo(f"  {n:>7,} × {reason}")
        for r in rows:
            click.echo(f"{r['file']} row {r['row_number']} (line {r['line_number']}): {r['reason']}\n    {r['record']}")


@main.command()
@click.option("--heartbeat-tolerance", type=int, default=90, show_default=True,
              help="Seconds without a daemon heartbeat before it counts as down.")
def watchdog(heartbeat_tolerance) -> None:
    """Check that dagster-daemon heartbeats and the platform's sensors tick; alert (and resolve)
    through the usual routing. Run it every minute from cron/systemd: it is what notices the
    daemon itself being down. Exits 1 while something is down."""
    from platform_assets.alerting import watchdog as wd
    from platform_assets.alerting.sensors import report_finding
    from platform_assets.alerting.service import AlertService
    from platform_assets.definitions import sensor_intervals
    from platform_assets.settings import Settings

    now = dt.datetime.now(dt.timezone.utc)
    instance = _instance()
    service = AlertService(_platform().ledger())
    findings = wd.check_daemons(instance, now, dt.timedelta(seconds=heartbeat_tolerance)) + wd.check_sensors(
        instance, now, sensor_intervals(Settings.from_env().sensor_interval_seconds))
    for finding in findings:
        report_finding(service, finding, now)
        click.echo(f"{'ok  ' if finding.healthy else 'DOWN'} {finding.subject}: {finding.what}")
    if not findings:
        click.echo("no daemon has heartbeated on this instance yet")
    if any(not f.healthy for f in findings):
        sys.exit(1)


@main.command("sla-report")
@click.option("--asset", default="revenue_close", show_default=True)
@click.option("--days", type=click.IntRange(1, 366), default=20, show_default=True)
@click.option("--end", callback=_date, help="Last business date to include (default: today).")
def sla_report(asset, days, end) -> None:
    """Per business date: deadline, when it was materialized, on time or late, and the hit rate."""
    from platform_assets.alerting.service_levels import load
    from platform_assets.alerting.sla_report import render, report
    from platform_assets.definitions import build_definitions

    levels = load()
    if asset not in levels.reports:
        raise click.ClickException(f"{asset!r} has no service level; reports with one: {', '.join(levels.reports)}")
    rows = report(_instance(), build_definitions().resolve_asset_graph(), levels, asset, days, end=end)
    for line in render(asset, rows, levels.timezone):
        click.echo(line)


@main.command()
@click.option("--from", "outbox", type=click.Path(exists=True, path_type=Path), required=True,
              help="A generated landing zone (with _arrivals.csv) to take deliveries from.")
@click.option("--landing", type=click.Path(path_type=Path), default=None,
              help="Landing zone to drop them into (default: PLATFORM_LANDING_DIR).")
@click.option("--date", "dates", multiple=True, callback=lambda c, p, v: [parse_date(x) for x in v],
              help="Business date(s) to replay (default: all in _arrivals.csv).")
@click.option("--source", "sources", multiple=True, help="Only these sources.")
@click.option("--speed", type=float, default=225.0, show_default=True,
              help="Time compression: 225 replays a morning (00:20-07:55) in about two minutes.")
@click.option("--config-out", type=click.Path(path_type=Path), default=None,
              help="Also write the team's configuration with service levels on the replay's clock here; "
                   "start dagster with PLATFORM_CONFIG_DIR pointing at it to see deadlines pass.")
def replay(outbox, landing, dates, sources, speed, config_out) -> None:
    """Drop generated deliveries into the landing zone on their recorded arrival times, compressed."""
    from platform_assets.replay import deliveries, replay as run, write_config
    from platform_assets.settings import Settings
    from platform_assets.team import config_dir

    landing = landing or Settings.from_env().landing_dir
    drops = deliveries(outbox, set(dates) or None, set(sources) or None)
    start = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=2)
    if config_out:
        write_config(config_dir(Settings.from_env().config_dir), config_out, drops, speed, start)
        click.echo(f"service levels on the replay clock written to {config_out}: "
                   f"PLATFORM_CONFIG_DIR={config_out} make dev")
    click.echo(f"replaying {len(drops)} deliveries into {landing} at {speed:g}x")
    run(outbox, landing, drops, speed, start=start, echo=click.echo)


@main.command()
@click.argument("asset")
@click.option("--start", required=True, callback=_date)
@click.option("--end", required=True, callback=_date)
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
def export(asset, start, end, fmt) -> None:
    """Print a report's rows for a date range (e.g. revenue_close) to stdout."""
    from platform_assets.export import ExportError, export_rows, to_csv, to_json

    try:
        rows = export_rows(_platform().warehouse(), asset, start, end)
    except ExportError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(to_csv(rows) if fmt == "csv" else to_json(rows), nl=False)


@main.command()
@click.option("--start", callback=_date, help="First date (default: 14 days ending yesterday, New York).")
@click.option("--days", type=click.IntRange(1, 366), default=14, show_default=True)
@click.option("--mess", type=click.Choice(["none", "default", "heavy"]), default="default", show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
def demo(start, days, mess, seed) -> None:
    """Generate sample data, materialize every asset for those days, print a summary."""
    from platform_assets.demo import default_dates, print_summary, run_demo

    first, last = default_dates(days)
    if start:
        first, last = start, start + dt.timedelta(days=days - 1)
    platform = _platform()
    result = run_demo(platform, _instance(), start=first, end=last, seed=seed, mess=mess, echo=click.echo)
    print_summary(platform, result, echo=click.echo)
    if result.failed_runs:
        sys.exit(1)


if __name__ == "__main__":
    main()
