"""Extra checks shared by many datasets (duplicates, rows lost, anomalies)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import dagster as dg
import pandas as pd

from platform_assets import settings_files
from platform_assets.quality.anomaly import AnomalyParams, judge
from platform_assets.quality.checks import ERROR, WARN, CheckContext, ExtraCheck, Outcome
from platform_assets.storage.warehouse import Table

ANOMALY_HISTORY_DAYS = 35


def duplicates(key: tuple[str, ...]) -> ExtraCheck:
    def evaluate(ctx: CheckContext) -> Outcome:
        exact = int(ctx.stats.get("exact_duplicates", 0))
        conflicting = int(ctx.stats.get("conflicting_duplicates", 0))
        meta = {"exact_duplicates_removed": exact, "conflicting_duplicates_resolved": conflicting,
                "rows_delivered": int(ctx.stats.get("rows_in", 0))}
        if not exact and not conflicting:
            return Outcome(True, "no duplicate deliveries", meta)
        return Outcome(False, f"upstream sent {exact:,} row(s) twice (removed) and {conflicting:,} conflicting "
                              f"version(s) of a {'/'.join(key)} (the last delivered kept)", meta)

    return ExtraCheck("duplicates", f"Rows delivered more than once for the same {'/'.join(key)}; they are removed, "
                      "and counted here so the upstream team can be told. Threshold: none (informational)", evaluate,
                      severity=WARN)


def no_rows_lost(key: tuple[str, ...]) -> ExtraCheck:
    def evaluate(ctx: CheckContext) -> Outcome:
        expected = int(ctx.stats["raw_distinct_keys"])
        got = ctx.row_count
        meta = {"raw_distinct_keys": expected, "staging_rows": got}
        if expected == got:
            return Outcome(True, f"every one of the {expected:,} distinct raw {'/'.join(key)} is one staging row", meta)
        verb = "dropped" if got < expected else "multiplied (double counting)"
        return Outcome(False, f"{abs(expected - got):,} row(s) {verb}: raw has {expected:,} distinct "
                              f"{'/'.join(key)}, staging {got:,}", meta)

    return ExtraCheck("no_rows_lost", f"Raw -> staging: one staging row per distinct raw {'/'.join(key)} (nothing "
                      "dropped, nothing double counted). Threshold: exact", evaluate, severity=ERROR, blocking=True)


def raw_distinct_keys(raw: pd.DataFrame, key: tuple[str, ...]) -> int:
    """Distinct business keys among raw rows, computed independently of staging's dedupe, exactly
    (no hashing, so no collision can hide a lost row)."""
    if raw.empty:
        return 0
    return int((~raw[list(key)].duplicated()).sum())  # drop_duplicates would also copy the rows it keeps


# (table, key-metrics function, date) -> (the partition's version, that date's key metrics), per
# process. Each date of a range is judged against the 35 days before it: without this a month's
# backfill read ~1,000 partitions per report instead of ~60.
_BASELINES: dict[tuple[str, str, dt.date], tuple[str, pd.DataFrame]] = {}


def history_metrics(wh, table: Table, key_metrics: Callable[[pd.DataFrame], pd.DataFrame], start: dt.date,
                    end: dt.date) -> pd.DataFrame:
    """``key_metrics`` of the partitions start..end (a row per date), the same as applying it to all
    of them read at once; each date's rows are kept under its partition's version and recomputed
    only when the partition was replaced."""
    versions = wh.versions(table, start, end)
    name = f"{key_metrics.__module__}.{key_metrics.__qualname__}"
    stale = [d for d in sorted(versions) if _BASELINES.get((str(table), name, d), ("",))[0] != versions[d]]
    for first, last in _contiguous(stale):
        metrics = key_metrics(wh.read(table, first, last))
        days = pd.to_datetime(pd.Index(metrics.index)).date if len(metrics) else []
        day = first
        while day <= last:
            if day in versions:
                _BASELINES[(str(table), name, day)] = (versions[day], metrics[days == day] if len(metrics) else metrics)
            day += dt.timedelta(days=1)
    parts = [_BASELINES[(str(table), name, d)][1] for d in sorted(versions)]
    parts = [p for p in parts if len(p)]
    return pd.concat(parts) if parts else pd.DataFrame()


def _contiguous(days: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    runs: list[tuple[dt.date, dt.date]] = []
    for day in days:
        if runs and day == runs[-1][1] + dt.timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def anomaly(table: Table, key_metrics: Callable[[pd.DataFrame], pd.DataFrame], kinds: dict[str, str]) -> ExtraCheck:
    """Key metrics of the partition vs the same weekday of previous weeks (robust, floors)."""

    def evaluate(ctx: CheckContext) -> Outcome:
        params = AnomalyParams.from_config(settings_files.quality().get("anomaly", {}))
        wh = ctx.platform.warehouse()
        start = ctx.day - dt.timedelta(days=ANOMALY_HISTORY_DAYS)
        history = history_metrics(wh, table, key_metrics, start, ctx.day - dt.timedelta(days=1))
        today = key_metrics(ctx.frame)
        values = today.iloc[0].to_dict() if len(today) else {}
        judged = judge(values, kinds, history, ctx.day, params)
        flagged = [e for e in judged if e.anomalous]
        meta = {f"{e.metric}": dg.MetadataValue.json(e.as_dict()) for e in judged}
        meta.update({f"{e.metric}_observed": e.observed for e in judged})
        if flagged:
            text = "; ".join(f"{e.metric} {e.observed:,.2f} outside {e.low:,.2f}..{e.high:,.2f} "
                             f"(median {e.median:,.2f} of {e.points} {e.basis})" for e in flagged)
            return Outcome(False, f"unusual: {text}", meta)
        unjudged = [e for e in judged if not e.judged]
        if unjudged and len(unjudged) == len(judged):
            return Outcome(True, f"not enough history to judge yet ({unjudged[0].basis})", meta)
        return Outcome(True, "every key metric within its expected range", meta)

    return ExtraCheck("anomaly", "Key metrics vs the same weekday of the previous 4 weeks (or the trailing 13 days): "
                      "median +/- max(4 x robust sigma, 15%, absolute floor); the day is excluded from its own "
                      "baseline. Threshold: config/quality.yaml", evaluate, severity=WARN)
