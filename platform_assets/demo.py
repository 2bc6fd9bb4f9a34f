"""``make demo``: sample data for 14 days, every asset materialized, a summary.

Runs on the embedded default (Parquet, SQLite, the Dagster instance in DAGSTER_HOME), in this
process, so ``dagster dev`` afterwards shows the same runs, materializations and checks.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import dagster as dg

from platform_assets.definitions import build_definitions
from platform_assets.generator import generate
from platform_assets.partitions import REPORTING_TZ, date_range
from platform_assets.resources import PlatformResource

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


# Sources that start their own run when they land (the close's critical path); everything else
# that lands before them is loaded together in one run.
OWN_RUN = ("pos_transactions", "gl_entries")


def arrival_batches(landing, day: dt.date) -> list[list]:
    """The day's final deliveries in arrival order, grouped into the runs the sensor would start."""
    from platform_assets.replay import deliveries

    drops = [d for d in deliveries(landing, {day}) if d.kind != "resend" and not d.path.startswith("_superseded")]
    batches, current = [], []
    for d in drops:
        if d.source in OWN_RUN:
            if current:
                batches.append(current)
            batches.append([d])
            current = []
        else:
            current.append(d)
    if current:
        batches.append(current)
    return batches


def replay_day(defs: dg.Definitions, platform: PlatformResource, instance: dg.DagsterInstance,
               day: dt.date, runs: list | None = None) -> list[str]:
    """Run one business date the way the arrival sensor would: each batch of arrivals starts a run
    of its imports and everything downstream that is ready, tagged with the simulated time it
    would have started, after recording the arrivals as observations (what sla-report reads)."""
    from platform_assets.alerting.sla_report import SIMULATED_START
    from platform_assets.ingestion.arrivals import Planner, published_sources

    planner = Planner(defs=defs)
    job = defs.resolve_implicit_global_asset_job_def()
    failures = []
    for batch in arrival_batches(platform.settings().landing_dir, day):
        started = batch[-1].arrives_at
        for d in batch:
            instance.report_runless_asset_event(dg.AssetObservation(
                asset_key=d.source, partition=day.isoformat(),
                metadata={"arrived_at": d.arrives_at.isoformat(), "complete": True, "simulated": True}))
        sources = [d.source for d in batch]
        plan = planner.plan(day, sources, published_sources(platform.ledger(), day) - set(sources))
        run = job.get_subset(asset_selection=set(plan.assets), asset_check_selection=set(plan.checks)) \
            .execute_in_process(partition_key=day.isoformat(), instance=instance, run_config=QUIET,
                                raise_on_error=False,
                                tags={"platform/trigger": "demo", SIMULATED_START: started.isoformat(),
                                      "platform/sources": ",".join(sources)})
        if runs is not None:
            runs.append(run)
        for event in run.get_step_failure_events():
            failures.append(f"{event.step_key}: {event.event_specific_data.error.message.strip()[:300]}")
    return failures


def default_dates(days: int, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The last ``days`` complete business days (New York)."""
    today = today or dt.datetime.now(ZoneInfo(REPORTING_TZ)).date()
    end = today - dt.timedelta(days=1)
    return end - dt.timedelta(days=days - 1), end


@dataclass
class DemoResult:
    start: dt.date
    end: dt.date
    failed_runs: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    instance: dg.DagsterInstance | None = None


def run_demo(platform: PlatformResource, instance: dg.DagsterInstance, *, start: dt.date, end: dt.date,
             scale: str = "small", seed: int = 7, mess: str = "default",
             echo: Callable[[str], None] = print) -> DemoResult:
    result = DemoResult(start, end, instance=instance)
    settings = platform.settings()
    t0 = time.perf_counter()
    summary = generate(settings.landing_dir, start, (end - start).days + 1, scale=scale, seed=seed, mess=mess)
    result.seconds["generate"] = time.perf_counter() - t0
    echo(f"1/3 generated {summary.files:,} files ({summary.bytes / 1e6:,.0f} MB, mess={mess}) for {start}..{end} "
         f"into {settings.landing_dir} in {result.seconds['generate']:.1f} s")

    defs = build_definitions(platform=platform)
    t0 = time.perf_counter()
    for day in date_range(start, end):
        failed = replay_day(defs, platform, instance, day)
        echo(f"    {day}  {'ok' if not failed else 'FAILED'}")
        for line in failed:
            echo(f"      {line}")
        result.failed_runs += failed
    result.seconds["materialize"] = time.perf_counter() - t0
    echo(f"2/3 materialized every asset for {(end - start).days + 1} dates in {result.seconds['materialize']:.0f} s, "
         f"each date's deliveries in arrival order (Dagster instance: {instance.root_directory})")
    return result


def print_summary(platform: PlatformResource, result: DemoResult, echo: Callable[[str], None] = print) -> None:
    from platform_assets.ingestion import registry

    ledger = platform.ledger()
    echo("3/3 summary")
    echo(f"  {'source':<24}{'batches':>8}{'rows loaded':>14}{'rejected':>10}  notes")
    for name in sorted(registry.discover()):
        batches = [ledger.published(name, d) for d in date_range(result.start, result.end)]
        batches = [b for b in batches if b is not None]
        loaded = sum(b.rows_loaded for b in batches)
        rejected = sum(b.rows_rejected for b in batches)
        drift = sorted({c for b in batches for c in b.drift.get("added", [])})
        note = f"new column(s): {', '.join(drift)}" if drift else ""
        echo(f"  {name:<24}{len(batches):>8}{loaded:>14,}{rejected:>10,}  {note}")
    echo("")
    for line in report_summary(platform.warehouse(), result.start, result.end):
        echo(line)
    echo("")
    for line in sla_summary(result):
        echo(line)
    echo("")
    echo("Next: `make dev` opens the Dagster UI on this instance (http://127.0.0.1:3000);")
    echo(f"      `.venv/bin/platform-assets export revenue_close --start {result.start} --end {result.end}` prints the close;")
    echo("      `.venv/bin/platform-assets batches` / `rejects --source pos_transactions --date "
         f"{result.end}` show the import ledger.")


def sla_summary(result: DemoResult) -> list[str]:
    """The close's service level over the demo's dates, as `platform-assets sla-report` shows it."""
    from platform_assets.alerting.service_levels import load
    from platform_assets.alerting.sla_report import report

    if result.instance is None:
        return []
    levels = load()
    graph = build_definitions().resolve_asset_graph()
    rows = [r for r in report(result.instance, graph, levels, "revenue_close", 31) if result.start <= r.business_date]
    if not rows:
        return []
    hits = sum(r.on_time for r in rows)
    late = "; ".join(f"{r.business_date} +{r.minutes_late:.0f} min ({r.last_upstream} landed "
                     f"{r.last_upstream_at.astimezone(ZoneInfo(levels.timezone)):%H:%M})" for r in rows if not r.on_time)
    return [f"  revenue_close on time {hits} of {len(rows)} due business dates (07:00 deadline)"
            + (f"; late: {late}" if late else ""),
            "  details: .venv/bin/platform-assets sla-report --asset revenue_close --days 20"]


def report_summary(wh, start: dt.date, end: dt.date) -> list[str]:
    """A compact table per report: dates, rows and the totals its audience looks at first."""
    from platform_assets import keys
    from platform_assets.reports import report_table

    def read(key):
        return wh.read(report_table(key), start, end)

    def usd(value) -> str:
        return f"${float(value):,.2f}"

    lines = [f"  {'report':<22}{'dates':>6}{'rows':>7}  key figures ({start}..{end})"]

    def add(key, frame, text):
        dates = frame["business_date"].nunique() if len(frame) else 0
        lines.append(f"  {key.to_user_string():<22}{dates:>6}{len(frame):>7}  {text}")

    close = read(keys.REVENUE_CLOSE)
    if len(close):
        by_region = close.groupby("region")["net_revenue_usd"].sum()
        add(keys.REVENUE_CLOSE, close, f"net revenue {usd(close['net_revenue_usd'].sum())} ("
            + ", ".join(f"{r} {usd(v)}" for r, v in by_region.items()) + f"); {int(close['transactions'].sum()):,} transactions")
    ulp = read(keys.UNIT_LEVEL_PROFIT)
    if len(ulp):
        add(keys.UNIT_LEVEL_PROFIT, ulp, f"{ulp['experiment_id'].nunique()} experiments, "
            f"{len(ulp[['experiment_id', 'variant']].drop_duplicates())} variants; gross profit {usd(ulp['gross_profit_usd'].sum())}")
    ap = read(keys.AGGREGATE_PROFIT)
    if len(ap):
        add(keys.AGGREGATE_PROFIT, ap, f"contribution profit {usd(ap['contribution_profit_usd'].sum())}; "
            f"gross margin {ap['gross_margin'].mean():.1%}, contribution margin {ap['contribution_margin'].mean():.1%}")
    dg_ = read(keys.DAILY_GROWTH)
    if len(dg_):
        add(keys.DAILY_GROWTH, dg_, f"{int(dg_['new_customers'].sum()):,} new customers in experiments; "
            f"{int(dg_['first_order_customers'].sum()):,} first orders")
    ag = read(keys.AGGREGATE_GROWTH)
    if len(ag):
        total = ag[ag["acquisition_channel"] == "all"]
        last = total.iloc[-1]
        cac = f"{usd(last['cac_usd'])}" if last["cac_usd"] is not None else "n/a"
        add(keys.AGGREGATE_GROWTH, ag, f"{int(total['new_customers'].sum()):,} new customers; "
            f"{int(last['cumulative_customers']):,} cumulative; blended CAC {cac} on {end}")
    ae = read(keys.AGGREGATE_ENGAGEMENT)
    if len(ae):
        last = ae.iloc[-1]
        add(keys.AGGREGATE_ENGAGEMENT, ae, f"DAU {int(last['dau']):,}, WAU {int(last['wau']):,}, MAU {int(last['mau']):,} "
            f"({int(last['mau_days'])} days), DAU/MAU {last['dau_mau']:.2f}; {int(ae['reviews'].sum()):,} reviews")
    return lines
