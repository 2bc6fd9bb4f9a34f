"""Profit per experiment variant (experiments team) and for the company (investors)."""

import dagster as dg
import pandas as pd

from platform_assets import keys
from platform_assets.conventions import input_reads, partition_dates
from platform_assets.metrics import profit, revenue
from platform_assets.partitions import DAILY_PARTITIONS
from platform_assets.reports import money_total, report_attributes, report_table, staging
from platform_assets.profit.schemas import unit_level_profit as unit_level_profit_schema
from platform_assets.profit.schemas import aggregate_profit as aggregate_profit_schema
from platform_assets.quality.publish import Publisher, publish_each
from platform_assets.resources import PlatformResource
from platform_assets.team import Team

CODE_VERSION = "1"
POS_COLUMNS = ["business_date", "transaction_type", "customer_id", "store_id", "sku", "quantity",
               "line_amount_usd_cents", "discount_usd_cents", "net_amount_usd_cents"]
LINE_COLUMNS = ["business_date", "status", "customer_id", "sku", "quantity", "line_amount_usd_cents",
                "discount_usd_cents"]


def _facts(wh, day, with_refunds: bool) -> tuple[pd.DataFrame, int]:
    costs = profit.effective_costs(staging(wh, keys.STG_PRODUCTS, day), day)
    refunds = staging(wh, keys.STG_REFUNDS, day, columns=["business_date", "customer_id", "amount_usd_cents"]) \
        if with_refunds else pd.DataFrame(columns=["customer_id", "amount_usd_cents"])
    facts = profit.sales_facts(staging(wh, keys.STG_POS_LINES, day, columns=POS_COLUMNS),
                               staging(wh, keys.STG_ORDER_LINES, day, columns=LINE_COLUMNS), refunds, costs)
    return facts, int(facts["missing_cost"].sum())


def build(team: Team) -> list[dg.AssetsDefinition]:
    @dg.asset(
        deps=[keys.STG_POS_LINES, keys.STG_ORDER_LINES, keys.STG_REFUNDS, keys.STG_PRODUCTS,
              keys.STG_EXPERIMENT_ASSIGNMENTS],
        partitions_def=DAILY_PARTITIONS,
        description=(
            "Profit per business date x experiment x variant, for the experiments team: units sold, net "
            "revenue, COGS (units x the cost of the product version effective that date), gross profit and "
            "gross profit per unit. Customers' POS and online activity counts for their variant; stores' POS "
            "activity for store experiments. Definitions: platform_assets/metrics/profit.py. "
            "SLA: by 09:00 America/New_York daily (medium)."),
        **report_attributes(keys.UNIT_LEVEL_PROFIT, contract=unit_level_profit_schema.CONTRACT,
                            domain="profit", team=team, code_version=CODE_VERSION),
    )
    def unit_level_profit(context: dg.AssetExecutionContext, platform: PlatformResource):
        wh = input_reads(platform, context)
        pub = Publisher(unit_level_profit_schema.CONTRACT, platform, report_table(keys.UNIT_LEVEL_PROFIT), context.log)

        def days():
            for day in partition_dates(context):
                facts, missing_cost = _facts(wh, day, with_refunds=True)
                assignments = staging(wh, keys.STG_EXPERIMENT_ASSIGNMENTS, day,
                                      columns=["experiment_id", "unit_type", "unit_id", "variant"])
                yield day, [(profit.unit_level_profit(facts, assignments, day), {"lines_without_cost": missing_cost})]

        published = [outputs[0] for _, outputs in publish_each([pub], days())]
        frame = pd.concat([f for f, _ in published], ignore_index=True)
        missing = sum(stats["lines_without_cost"] for _, stats in published)
        yield from pub.outputs({
            "rows": len(frame), "experiments": int(frame["experiment_id"].nunique()),
            "units": int(frame["units"].sum()), "net_revenue_usd": money_total(frame, "net_revenue_usd"),
            "gross_profit_usd": money_total(frame, "gross_profit_usd"), "lines_without_cost": missing})

    @dg.asset(
        deps=[keys.REVENUE_CLOSE, keys.STG_POS_LINES, keys.STG_ORDER_LINES, keys.STG_PRODUCTS,
              keys.STG_MARKETING_SPEND],
        partitions_def=DAILY_PARTITIONS,
        description=(
            "The company's profit per business date, for investors: net revenue (the revenue close's total), "
            "COGS, marketing spend of every platform, gross profit, contribution profit (gross profit - "
            "marketing spend) and both margins. Definitions: platform_assets/metrics/profit.py. "
            "SLA: by 08:00 America/New_York daily (high)."),
        **report_attributes(keys.AGGREGATE_PROFIT, contract=aggregate_profit_schema.CONTRACT,
                            domain="profit", team=team, code_version=CODE_VERSION),
    )
    def aggregate_profit(context: dg.AssetExecutionContext, platform: PlatformResource):
        wh = input_reads(platform, context)
        pub = Publisher(aggregate_profit_schema.CONTRACT, platform, report_table(keys.AGGREGATE_PROFIT), context.log)

        def days():
            for day in partition_dates(context):
                close = wh.read(report_table(keys.REVENUE_CLOSE), day, day)
                if close.empty:
                    raise dg.Failure(f"aggregate_profit {day}: revenue_close has no rows for the date; materialize it "
                                     "first")
                facts, _ = _facts(wh, day, with_refunds=False)
                spend = staging(wh, keys.STG_MARKETING_SPEND, day, columns=["spend_usd_cents"])
                yield day, [(profit.aggregate_profit(int(revenue.cents(close["net_revenue_usd"]).sum()),
                                                     int(facts["cogs"].sum()), int(spend["spend_usd_cents"].sum()), day),
                             None)]

        frame = pd.concat([outputs[0][0] for _, outputs in publish_each([pub], days())], ignore_index=True)
        last = frame.iloc[-1]
        yield from pub.outputs({
            "net_revenue_usd": money_total(frame, "net_revenue_usd"), "cogs_usd": money_total(frame, "cogs_usd"),
            "marketing_spend_usd": money_total(frame, "marketing_spend_usd"),
            "gross_profit_usd": money_total(frame, "gross_profit_usd"),
            "contribution_profit_usd": money_total(frame, "contribution_profit_usd"),
            "gross_margin": last["gross_margin"], "contribution_margin": last["contribution_margin"]})

    return [unit_level_profit, aggregate_profit]
