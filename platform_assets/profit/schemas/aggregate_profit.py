"""aggregate_profit: the company's daily profit."""

import pandas as pd
import pandera.pandas as pa

from platform_assets import keys
from platform_assets.metrics import revenue
from platform_assets.quality.checks import (
    ERROR, CheckContext, DatasetContract, ExtraCheck, Outcome, business_date, money, ratio,
)
from platform_assets.quality.common import anomaly
from platform_assets.reports import report_table


def key_metrics(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame()
    return pd.DataFrame({
        "net_revenue_usd": [float(v) for v in frame["net_revenue_usd"]],
        "marketing_spend_usd": [float(v) for v in frame["marketing_spend_usd"]],
        "contribution_profit_usd": [float(v) for v in frame["contribution_profit_usd"]],
    }, index=frame["business_date"])


def _matches_close(ctx: CheckContext) -> Outcome:
    close = ctx.platform.warehouse().read(report_table(keys.REVENUE_CLOSE), ctx.day, ctx.day)
    expected = int(revenue.cents(close["net_revenue_usd"]).sum())
    got = int(revenue.cents(ctx.frame["net_revenue_usd"]).sum())
    meta = {"net_revenue_usd": got / 100, "revenue_close_net_revenue_usd": expected / 100}
    if got == expected:
        return Outcome(True, "net revenue equals the revenue close's total to the cent", meta)
    return Outcome(False, f"net revenue {got / 100:,.2f} differs from the revenue close's {expected / 100:,.2f}", meta)


CONTRACT = DatasetContract(
    key=keys.AGGREGATE_PROFIT,
    schema=pa.DataFrameSchema({
        "business_date": business_date(),
        "net_revenue_usd": money("the revenue close's total"),
        "cogs_usd": money("units sold x unit cost", minimum=0),
        "marketing_spend_usd": money("all marketing platforms", minimum=0),
        "gross_profit_usd": money("net revenue - COGS"),
        "contribution_profit_usd": money("gross profit - marketing spend"),
        "gross_margin": ratio("gross profit / net revenue", maximum=1.0),
        "contribution_margin": ratio("contribution profit / net revenue", maximum=1.0),
    }, unique=["business_date"], name="aggregate_profit", checks=[
        pa.Check(lambda df: df["net_revenue_usd"] - df["cogs_usd"] == df["gross_profit_usd"],
                 error="gross profit = net revenue - COGS (exact)"),
        pa.Check(lambda df: df["gross_profit_usd"] - df["marketing_spend_usd"] == df["contribution_profit_usd"],
                 error="contribution profit = gross profit - marketing spend (exact)"),
    ]),
    blocking=True,
    extra=(
        ExtraCheck("net_revenue_matches_close", "Net revenue equals the revenue close's total for the date (one "
                   "definition). Threshold: exact", _matches_close, severity=ERROR, blocking=True,
                   additional_deps=(keys.REVENUE_CLOSE,)),
        anomaly(report_table(keys.AGGREGATE_PROFIT), key_metrics,
                {"net_revenue_usd": "money_usd", "marketing_spend_usd": "money_usd",
                 "contribution_profit_usd": "money_usd"}),
    ),
)
