"""Growth per experiment variant (experiments team) and for the company (investors)."""

import datetime as dt

import dagster as dg
import pandas as pd

from platform_assets import keys
from platform_assets.conventions import input_reads, partition_dates
from platform_assets.metrics import growth
from platform_assets.partitions import DAILY_PARTITIONS, FIRST_BUSINESS_DATE
from platform_assets.reports import input_window, report_attributes, report_table, staging
from platform_assets.growth.schemas import daily_growth as daily_growth_schema
from platform_assets.growth.schemas import aggregate_growth as aggregate_growth_schema
from platform_assets.quality.publish import Publisher, publish_each
from platform_assets.resources import PlatformResource
from platform_assets.staging.assets import table as staging_table
from platform_assets.team import Team

CODE_VERSION = "1"
# 28-day growth compares the 28 days ending on the date with the 28 before: 56 days of sign-ups.
GROWTH_WINDOW = dg.TimeWindowPartitionMapping(start_offset=-55)


def build(team: Team) -> list[dg.AssetsDefinition]:
    @dg.asset(
        deps=[keys.STG_CUSTOMERS, keys.STG_CUSTOMER_FIRST_ORDERS, keys.STG_EXPERIMENT_ASSIGNMENTS],
        partitions_def=DAILY_PARTITIONS,
        description=(
            "Growth per business date x customer experiment x variant, for the experiments team: new "
            "customers, customers with their first order that day, new customers who ordered the day they "
            "signed up, and that conversion rate. Definitions: platform_assets/metrics/growth.py. "
            "SLA: by 09:00 America/New_York daily (medium)."),
        **report_attributes(keys.DAILY_GROWTH, contract=daily_growth_schema.CONTRACT,
                            domain="growth", team=team, code_version=CODE_VERSION),
    )
    def daily_growth(context: dg.AssetExecutionContext, platform: PlatformResource):
        wh = input_reads(platform, context)
        pub = Publisher(daily_growth_schema.CONTRACT, platform, report_table(keys.DAILY_GROWTH), context.log)

        def days():
            for day in partition_dates(context):
                yield day, [(growth.daily_growth(
                    staging(wh, keys.STG_CUSTOMERS, day, columns=["customer_id"]),
                    staging(wh, keys.STG_CUSTOMER_FIRST_ORDERS, day, columns=["customer_id"]),
                    staging(wh, keys.STG_EXPERIMENT_ASSIGNMENTS, day, columns=["experiment_id", "unit_type", "unit_id",
                                                                               "variant"]), day), None)]

        frame = pd.concat([outputs[0][0] for _, outputs in publish_each([pub], days())], ignore_index=True)
        yield from pub.outputs({
            "rows": len(frame), "new_customers_in_experiments": int(frame["new_customers"].sum()),
            "first_order_customers_in_experiments": int(frame["first_order_customers"].sum())})

    @dg.asset(
        deps=[dg.AssetDep(keys.STG_CUSTOMERS, partition_mapping=GROWTH_WINDOW), keys.STG_MARKETING_SPEND],
        partitions_def=DAILY_PARTITIONS,
        description=(
            "Customer growth per business date, for investors: new customers in total (row `all`) and per "
            "acquisition channel, cumulative customers, marketing spend, blended CAC (all platforms) and CAC "
            "per channel, and 7- and 28-day growth rates of new customers (null until both windows are "
            "loaded). Reads 56 days of sign-ups through a partition mapping. Definitions: "
            "platform_assets/metrics/growth.py. SLA: by 08:00 America/New_York daily (high)."),
        **report_attributes(keys.AGGREGATE_GROWTH, contract=aggregate_growth_schema.CONTRACT,
                            domain="growth", team=team, code_version=CODE_VERSION),
    )
    def aggregate_growth(context: dg.AssetExecutionContext, platform: PlatformResource):
        wh = input_reads(platform, context)
        pub = Publisher(aggregate_growth_schema.CONTRACT, platform, report_table(keys.AGGREGATE_GROWTH), context.log)
        start, end = input_window(context, keys.STG_CUSTOMERS)
        customers = staging(wh, keys.STG_CUSTOMERS, start, end, columns=["business_date", "acquisition_channel"])
        signups = growth.signups_by_day_and_channel(customers)
        counts = wh.row_counts(staging_table(keys.STG_CUSTOMERS), FIRST_BUSINESS_DATE, end)

        def days():
            for day in partition_dates(context):
                spend = staging(wh, keys.STG_MARKETING_SPEND, day, columns=["acquisition_channel", "spend_usd_cents"])
                by_channel = spend.groupby("acquisition_channel")["spend_usd_cents"].sum()
                cumulative = sum(n for d, n in counts.items() if d <= day)
                loaded = [d for d in counts if day - dt.timedelta(days=55) <= d <= day]
                yield day, [(growth.aggregate_growth(signups, loaded, cumulative,
                                                     {str(k): int(v) for k, v in by_channel.items()}, day), None)]

        frame = pd.concat([outputs[0][0] for _, outputs in publish_each([pub], days())], ignore_index=True)
        last = frame[frame["acquisition_channel"] == growth.ALL].iloc[-1]
        yield from pub.outputs({
            "new_customers": int(frame.loc[frame["acquisition_channel"] == growth.ALL, "new_customers"].sum()),
            "cumulative_customers": int(last["cumulative_customers"]),
            "blended_cac_usd": float(last["cac_usd"]) if last["cac_usd"] is not None else None,
            "growth_7d": last["growth_7d"], "growth_28d": last["growth_28d"],
            "upstream_window": f"{start}..{end}"})

    return [daily_growth, aggregate_growth]
