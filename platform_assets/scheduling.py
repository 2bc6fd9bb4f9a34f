"""How steps share the machine: which step runs first, which pool it draws from, how it backfills.

Priorities (``dagster/priority``; higher starts first when more steps are ready than there are
slots). A business day's work is ~40 s of steps at bench scale on 2 cores, and the close is due
at 07:00, so the order is:

1. ``DEADLINE``: the chain the close waits on once the POS export lands, and what that chain
   itself waits on (FX rates): FX -> POS import by region -> POS lines by region -> revenue_close.
2. ``LONG``: the longest chains of the day, started early so they do not end last: app events
   (raw 6 s + staging 7 s at bench scale) and online orders (5 s + 3 s).
3. ``NORMAL``: the rest of staging and the reports. Small raw imports (under 0.3 s) keep 0.

Pools (Dagster concurrency pools, limits set on the instance, deploy/dagster.postgres.yaml):
``warehouse_heavy`` for steps that move a 1M-row partition through the warehouse (memory and
database bandwidth), ``warehouse`` for every other step that reads or writes it.

Backfill policies: an asset whose step reads a window of dates once and computes every date of
its run from it (the reports, the staging assets that map windows) processes a whole range in one
run; imports and the heavy per-date staging steps are chunked, 7 dates per run, so a long backfill
spreads over parallel runs and each run stays short enough to retry.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import dagster as dg

DEADLINE, LONG, NORMAL, SMALL = 30, 20, 10, 0

POOL = "warehouse"
HEAVY_POOL = "warehouse_heavy"

RANGE = dg.BackfillPolicy.single_run()
CHUNKED = dg.BackfillPolicy.multi_run(max_partitions_per_run=7)

# step name -> (priority, pool); a step not listed is a small import: (SMALL, POOL).
STEPS: dict[str, tuple[int, str]] = {
    "raw_fx_rates": (DEADLINE, POOL),
    "stg_fx_rates": (DEADLINE, POOL),
    "raw_pos_transactions": (DEADLINE, HEAVY_POOL),
    "stg_pos_lines": (DEADLINE, HEAVY_POOL),
    "revenue_close": (DEADLINE, POOL),
    "revenue_close_reconciles_with_ledger": (DEADLINE, POOL),
    "raw_app_events": (LONG, HEAVY_POOL),
    "stg_app_events_and_active_users": (LONG, HEAVY_POOL),
    "raw_orders": (LONG, HEAVY_POOL),
    "stg_orders_and_lines": (LONG, HEAVY_POOL),
    "raw_experiment_assignments": (LONG, POOL),
    "stg_experiment_assignments": (LONG, POOL),
}
# Steps whose logic covers a range of dates in one pass (see the module docstring).
CHUNKED_STEPS = {"stg_pos_lines", "stg_app_events_and_active_users", "stg_orders_and_lines"}


def priority(step: str) -> int:
    return STEPS.get(step, (NORMAL if not step.startswith("raw_") else SMALL, POOL))[0]


def pool(step: str) -> str:
    return STEPS.get(step, (SMALL, POOL))[1]


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
