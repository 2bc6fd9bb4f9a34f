"""The revenue close: finance's number, due 07:00 New York every business day."""

import dagster as dg
import pandas as pd

from platform_assets import keys
from platform_assets.conventions import input_reads, partition_dates
from platform_assets.metrics import revenue
from platform_assets.partitions import DAILY_PARTITIONS
from platform_assets.reports import money_total, report_attributes, report_table, staging
from platform_assets.finance.schemas import revenue_close as revenue_close_schema
from platform_assets.quality.publish import Publisher, publish_each
from platform_assets.resources import PlatformResource
from platform_assets.team import Team

CODE_VERSION = "1"
POS_COLUMNS = ["business_date", "region", "transaction_type", "transaction_id", "line_amount_usd_cents",
               "discount_usd_cents", "net_amount_usd_cents"]


def build(team: Team) -> list[dg.AssetsDefinition]:
    @dg.asset(
        deps=[keys.STG_POS_LINES, keys.STG_ORDERS, keys.STG_ORDER_LINES, keys.STG_REFUNDS],
        partitions_def=DAILY_PARTITIONS,
        description=(
            "Daily revenue close for finance: one row per business date x region (AMER, EMEA, APAC from the "
            "stores' POS; ONLINE from web and app orders) with gross sales, discounts, refunds, net revenue "
            "(USD, exact to the cent) and transactions. Definitions in platform_assets/metrics/revenue.py: "
            "voids ignored, cancelled orders excluded, refunds on their own date, tax and shipping never "
            "revenue. Audience: finance (4 analysts, 07:00 stand-up). SLA: by 07:00 America/New_York on "
            "business days (critical). Reconciles with the ledger's revenue and refunds accounts."),
        **report_attributes(keys.REVENUE_CLOSE, contract=revenue_close_schema.CONTRACT,
                            domain="finance", team=team, code_version=CODE_VERSION),
    )
    def revenue_close(context: dg.AssetExecutionContext, platform: PlatformResource):
        wh = input_reads(platform, context)
        pub = Publisher(revenue_close_schema.CONTRACT, platform, report_table(keys.REVENUE_CLOSE), context.log)

        def days():
            for day in partition_dates(context):
                yield day, [(revenue.revenue_close(
                    staging(wh, keys.STG_POS_LINES, day, columns=POS_COLUMNS),
                    staging(wh, keys.STG_ORDERS, day, columns=["business_date", "order_id", "status"]),
                    staging(wh, keys.STG_ORDER_LINES, day, columns=["business_date", "status", "line_amount_usd_cents",
                                                                    "discount_usd_cents"]),
                    staging(wh, keys.STG_REFUNDS, day, columns=["business_date", "amount_usd_cents"]),
                    [day]), None)]

        frame = pd.concat([outputs[0][0] for _, outputs in publish_each([pub], days())], ignore_index=True)
        by_region = frame.groupby("region")["net_revenue_usd"].sum()
        yield from pub.outputs({
            "rows": len(frame),
            "net_revenue_usd": money_total(frame, "net_revenue_usd"),
            "gross_sales_usd": money_total(frame, "gross_sales_usd"),
            "discounts_usd": money_total(frame, "discounts_usd"),
            "refunds_usd": money_total(frame, "refunds_usd"),
            "transactions": int(frame["transactions"].sum()),
            **{f"net_revenue_usd_{region.lower()}": float(v) for region, v in by_region.items()},
        })

    return [revenue_close]
