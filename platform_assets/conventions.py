"""What every asset carries: owners from the team's config, a group per layer or report domain,
layer/domain tags, and helpers shared by the asset modules."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from platform_assets.partitions import window_dates
from platform_assets.team import Team

LAYER_GROUPS = {"sources": "sources", "raw": "raw", "staging": "staging"}


def asset_attributes(name: str, *, layer: str, domain: str, team: Team) -> dict:
    """group_name, owners and tags for an asset (reports are grouped by domain)."""
    return {
        "group_name": LAYER_GROUPS.get(layer, domain),
        "owners": team.owners(name),
        "tags": {"layer": layer, "domain": domain},
    }


def runbook_metadata(name: str, team: Team) -> dict:
    """The run book link shown on the asset page (the same link every alert carries)."""
    from platform_assets.alerting.messages import runbook_link

    link = runbook_link(team.runbook(team.pipeline_for(name).name))
    return {"runbook": dg.MetadataValue.url(link) if link.startswith("http") else dg.MetadataValue.path(link)}


def partition_dates(context: dg.AssetExecutionContext) -> list[dt.date]:
    """The business dates this run materializes (one, or a range in a backfill)."""
    return window_dates(context.partition_time_window)


def input_reads(platform, context: dg.AssetExecutionContext):
    """The warehouse a step reads its inputs from: in a range run, one read per block of dates
    per input table (storage.warehouse.RangeReads); a one-date run reads as before."""
    from platform_assets.storage.warehouse import RangeReads

    return RangeReads(platform.warehouse(), partition_dates(context))


def plain_metadata(values: dict) -> dict:
    """Metadata Dagster can store and plot: numpy and Decimal numbers become int/float; missing
    numbers are left out (a gap in the plot, not a zero)."""
    import decimal
    import math

    import numpy as np

    out = {}
    for key, value in values.items():
        if isinstance(value, (np.integer, bool)):
            value = int(value)
        elif isinstance(value, (np.floating, decimal.Decimal)):
            value = float(value)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        out[key] = value
    return out
