"""How steps share the machine: which step runs first, which pool it draws from, how it backfills.

Priorities (``dagster/priority``; higher starts first when more steps are ready than there are
slots) follow the critical path: a step's priority is the longest chain of expected seconds from
its start to the end of the day's graph (``EXPECTED_SECONDS``, measured at bench scale, plus the
process start every step pays), so the longest chains start first and no short import that feeds a
report is left for the end of the run (as the small marketing imports were, holding back three
reports). The close's chain (FX, the POS import, stg_pos_lines, revenue_close and its ledger
check) gets ``DEADLINE_BOOST`` on top: on a day when everything is ready at once the 07:00 close
comes before the longest chain of the day. ``PRIORITIES`` is that table written out (the step
tags are fixed when the assets are built, before the graph exists); a test recomputes it from the
asset graph, so a new asset or dependency cannot leave it stale.

Pools (Dagster concurrency pools, limits set on the instance, deploy/dagster.postgres.yaml):
``warehouse_heavy`` for steps that move a 1M-row partition through the warehouse (memory and
database bandwidth), ``warehouse`` for every other step that reads or writes it.

Backfill policies: an asset whose step reads a window of dates once and computes every date of
its run from it (the reports, the staging assets that map windows) processes a whole range in one
run. Imports, the FX rates and the heavy per-date staging steps are chunked: a month of dates per
run (31), so a long backfill spreads over parallel runs and each run stays bounded (a month at
bench scale is ~15 min, well inside the 180 min backfill window), while a month's backfill is
two runs, not ten. Chunks are cheap to retry: a date already imported is a ledger no-op. The FX
rates go with the imports (same policy) so that, within a month, the POS, orders and app-event
staging run in the imports' run instead of waiting for a run of their own; measured on 28
small-scale days: 10 runs with 7-date chunks took 121 s, 2 runs 95 s (`backfill_range_s`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import dagster as dg

POOL = "warehouse"
HEAVY_POOL = "warehouse_heavy"

RANGE = dg.BackfillPolicy.single_run()
CHUNKED = dg.BackfillPolicy.multi_run(max_partitions_per_run=31)

# Seconds of each step at bench scale, in process (the step statistics of the sequential day that
# `make bench ONLY=parallel` runs), and what starting a step's process adds (step_overhead_s). A
# graph-backed asset split into parts that run side by side counts its chain: the longest part and
# the step after it (stg_pos_lines: a region's step, ~1.0 s, and publish_lines, 0.1 s).
# Medians of five in-process days, 2026-12-03 evening, after the orders' JSON went to Arrow
# (raw_orders 5.6 -> 1.6 s, stg_orders_and_lines 2.4 -> 1.2 s): the app events' chain (import,
# staging, daily_growth) is now the day's longest, and stg_customer_first_orders (1.0 s), which
# daily_growth waits on, had fallen behind the small marketing imports and held the tail back
# ~0.8 s. The previous table (2026-12-03 afternoon) had raw_orders' chain as the longest.
EXPECTED_SECONDS: dict[str, float] = {
    "stg_app_events_and_active_users": 5.4, "raw_app_events": 4.6, "unit_level_profit": 2.8, "raw_orders": 1.6,
    "raw_pos_transactions": 1.5, "daily_growth": 1.4, "aggregate_profit": 1.35, "stg_orders_and_lines": 1.15,
    "stg_pos_lines": 1.15, "stg_customer_first_orders": 1.0, "raw_experiment_assignments": 0.8, "revenue_close": 0.75,
    "stg_experiment_assignments": 0.7,
}
SMALL_STEP_SECONDS = 0.2  # every other step: a small import, staging or report
STEP_START_SECONDS = 0.35

DEADLINE_STEPS = frozenset({"raw_fx_rates", "stg_fx_rates", "raw_pos_transactions", "stg_pos_lines", "revenue_close",
                            "revenue_close_reconciles_with_ledger"})
DEADLINE_BOOST = 100
PRIORITY_UNIT_SECONDS = 0.1  # priorities count tenths of a second: rounding to whole seconds tied the
# tail's steps (unit_level_profit, 2.5 s of chain, waited behind five 0.5-s marketing imports)

# step -> priority: critical_path_priorities() of the daily graph (test_definitions keeps it so).
PRIORITIES: dict[str, int] = {
    "raw_pos_transactions": 165, "raw_fx_rates": 163, "stg_fx_rates": 158, "stg_pos_lines": 146,
    "revenue_close": 128, "revenue_close_reconciles_with_ledger": 106, "raw_app_events": 112, "raw_orders": 72,
    "stg_app_events_and_active_users": 63, "raw_experiment_assignments": 53, "stg_orders_and_lines": 52,
    "raw_products": 42, "raw_refunds": 42, "stg_experiment_assignments": 42, "stg_products": 37, "stg_refunds": 37,
    "stg_customer_first_orders": 31, "unit_level_profit": 31, "raw_attentive": 28, "raw_customers": 28,
    "raw_klaviyo": 28, "raw_pinterest_ads": 28, "raw_tiktok_ads": 28, "raw_yotpo": 28, "stg_customers": 23,
    "stg_marketing": 22, "daily_growth": 18, "aggregate_profit": 17, "raw_gl_entries": 16, "stg_gl_entries": 11,
    "aggregate_engagement": 6, "aggregate_growth": 6,
}

# Steps moving a bench-scale (1M-row) partition through the warehouse.
HEAVY_STEPS = frozenset({"raw_pos_transactions", "stg_pos_lines", "raw_app_events", "stg_app_events_and_active_users",
                         "raw_orders", "stg_orders_and_lines"})
# Steps whose logic covers a range of dates in one pass (see the module docstring).
CHUNKED_STEPS = {"stg_fx_rates", "stg_pos_lines", "stg_app_events_and_active_users", "stg_orders_and_lines"}


def priority(step: str) -> int:
    return PRIORITIES.get(step, 0)


def pool(step: str) -> str:
    return HEAVY_POOL if step in HEAVY_STEPS else POOL


def critical_path_priorities(steps: dict[str, set[str]]) -> dict[str, int]:
    """Priorities from the step graph (step -> the steps it waits on): the longest chain of
    expected seconds (each with its process start) from the step to the end, in tenths, plus
    ``DEADLINE_BOOST`` for the close's chain."""
    children: dict[str, set[str]] = {s: set() for s in steps}
    for step, parents in steps.items():
        for parent in parents:
            children.setdefault(parent, set()).add(step)
    longest: dict[str, float] = {}

    def chain(step: str) -> float:
        if step not in longest:
            own = EXPECTED_SECONDS.get(step, SMALL_STEP_SECONDS) + STEP_START_SECONDS
            longest[step] = own + max((chain(c) for c in children.get(step, ())), default=0.0)
        return longest[step]

    return {s: round(chain(s) / PRIORITY_UNIT_SECONDS) + (DEADLINE_BOOST if s in DEADLINE_STEPS else 0)
            for s in children}


def step_graph(defs: dg.Definitions) -> dict[str, set[str]]:
    """The daily job's steps (asset and check nodes) and the steps each waits on."""
    graph = defs.resolve_asset_graph()
    node = {k: graph.get(k).assets_def.node_def.name for k in graph.materializable_asset_keys}
    steps: dict[str, set[str]] = {n: set() for n in node.values()}
    for key, name in node.items():
        steps[name] |= {node[p] for p in graph.get(key).parent_keys if p in node and node[p] != name}
    for checks in defs.asset_checks or []:
        name = checks.node_def.name
        steps.setdefault(name, set())
        for spec in checks.check_specs:
            steps[name] |= {node[k] for k in [spec.asset_key, *[d.asset_key for d in spec.additional_deps]]
                            if k in node}
    return steps


def op_tags(step: str) -> dict[str, str]:
    return {"dagster/priority": str(priority(step))}


def backfill_policy(step: str) -> dg.BackfillPolicy:
    return CHUNKED if step.startswith("raw_") or step in CHUNKED_STEPS else RANGE


def asset_step(step: str) -> dict:
    """Keyword arguments of the ``@dg.asset``/``@dg.multi_asset`` whose op is ``step``."""
    return {"op_tags": op_tags(step), "pool": pool(step), "backfill_policy": backfill_policy(step)}


def check_step(step: str) -> dict:
    """Keyword arguments of a standalone ``@dg.asset_check``."""
    return {"op_tags": op_tags(step), "pool": pool(step)}


@dataclass(frozen=True)
class BackfillRun:
    assets: tuple[dg.AssetKey, ...]
    start: dt.date
    end: dt.date


def backfill_runs(graph: dg.AssetGraph, selection: set[dg.AssetKey], days: list[dt.date]) -> list[BackfillRun]:
    """The runs a backfill of ``selection`` over ``days`` takes, in order, as Dagster's asset
    backfill makes them from the backfill policies: an asset runs with its parents when they share
    a policy; a child with another policy waits for its parents' runs. Chunked assets run
    ``max_partitions_per_run`` dates per run, the others the whole range in one run."""
    def chunk(key: dg.AssetKey) -> int | None:
        policy = graph.get(key).backfill_policy
        return policy.max_partitions_per_run if policy else None

    keys = [k for k in graph.toposorted_asset_keys if k in selection]
    done: set[dg.AssetKey] = set()
    runs: list[BackfillRun] = []
    while len(done) < len(keys):
        progressed = False
        for chunked in (True, False):
            group: list[dg.AssetKey] = []
            for k in keys:
                parents = {p for p in graph.get(k).parent_keys if p in selection and p != k}
                if k not in done and bool(chunk(k)) == chunked and parents <= done | set(group):
                    group.append(k)
            if not group:
                continue
            size = min(chunk(k) for k in group) if chunked else len(days)
            for i in range(0, len(days), size):
                runs.append(BackfillRun(tuple(group), days[i], days[min(i + size, len(days)) - 1]))
            done |= set(group)
            progressed = True
        if not progressed:
            raise ValueError("the selection's dependencies form a cycle")
    return runs
