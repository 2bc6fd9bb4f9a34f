"""Jobs: the daily job materializes every asset of a business date (the sources are external)."""

from __future__ import annotations

import dagster as dg


DAILY_JOB = "daily_platform"

daily_job = dg.define_asset_job(
    DAILY_JOB,
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups("sources"),
    description="Every raw, staging and report asset for one business date (or a range in a backfill).",
)


def defs() -> dg.Definitions:
    return dg.Definitions(jobs=[daily_job])
