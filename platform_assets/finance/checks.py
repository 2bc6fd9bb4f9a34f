"""Checks of the finance domain that run as their own step.

The ledger reconciliation depends on two arrivals (the POS export for the close, finance's ledger
export) that land in either order, so it is a standalone check: it runs with whichever lands
last, without re-materializing the close.
"""

import dagster as dg

from platform_assets import keys, scheduling
from platform_assets.automation import RECHECK
from platform_assets.conventions import partition_dates, plain_metadata
from platform_assets.finance.schemas.revenue_close import reconciles_with_ledger
from platform_assets.partitions import DAILY_PARTITIONS
from platform_assets.quality.checks import ERROR, CheckContext
from platform_assets.quality.publish import per_partition_checks
from platform_assets.reports import report_table
from platform_assets.resources import PlatformResource


def build() -> list[dg.AssetChecksDefinition]:
    @dg.asset_check(
        asset=keys.REVENUE_CLOSE,
        name="reconciles_with_ledger",
        additional_deps=[keys.STG_GL_ENTRIES],
        partitions_def=DAILY_PARTITIONS,  # per business date (see quality/checks.py on the preview flag)
        blocking=False,
        automation_condition=RECHECK,  # after a backfill that ran it before the ledger (automation.py)
        **scheduling.check_step("revenue_close_reconciles_with_ledger"),
        description="Revenue (gross - discounts) and refunds per entity match the ledger's revenue and refunds "
                    "accounts. Threshold: 0.1% (config/quality.yaml reconciliation.tolerance) (ERROR)",
    )
    def revenue_close_reconciles_with_ledger(context: dg.AssetCheckExecutionContext, platform: PlatformResource):
        wh = platform.warehouse()
        days = partition_dates(context)
        outcomes = {day: reconciles_with_ledger(CheckContext(wh.read(report_table(keys.REVENUE_CLOSE), day, day),
                                                             day, platform)) for day in days}
        if len(days) == 1:
            outcome = outcomes[days[0]]
            yield dg.AssetCheckResult(passed=outcome.passed, severity=ERROR, description=outcome.description,
                                      metadata=plain_metadata(outcome.metadata))
            return
        # A range (a backfill run): each date's result against its own partition.
        yield from per_partition_checks(
            {day: [dg.AssetCheckResult(asset_key=keys.REVENUE_CLOSE, check_name="reconciles_with_ledger",
                                       passed=o.passed, severity=ERROR, description=o.description,
                                       metadata=plain_metadata(o.metadata))] for day, o in outcomes.items()},
            {"reconciles_with_ledger": False}, output_name="result")

    return [revenue_close_reconciles_with_ledger]
