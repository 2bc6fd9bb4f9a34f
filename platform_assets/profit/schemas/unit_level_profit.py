"""unit_level_profit: profit per experiment variant."""

import pandas as pd
import pandera.pandas as pa

from platform_assets import keys
from platform_assets.quality.checks import (
    WARN, CheckContext, DatasetContract, ExtraCheck, Outcome, business_date, count, money, text,
)
from platform_assets.quality.common import anomaly
from platform_assets.reports import report_table


def key_metrics(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame()
    f = frame.assign(net=[float(v) for v in frame["net_revenue_usd"]])
    return f.groupby("business_date").agg(units=("units", "sum"), net_revenue_usd=("net", "sum"))


def _costs_known(ctx: CheckContext) -> Outcome:
    missing = int(ctx.stats.get("lines_without_cost", 0))
    if not missing:
        return Outcome(True, "every sold SKU has a cost version effective on the date", {"lines_without_cost": 0})
    return Outcome(False, f"{missing:,} sold line(s) have no product cost on the date (COGS understated)",
                   {"lines_without_cost": missing})


CONTRACT = DatasetContract(
    key=keys.UNIT_LEVEL_PROFIT,
    schema=pa.DataFrameSchema({
        "business_date": business_date(),
        "experiment_id": text(),
        "variant": text(),
        "units": count("units sold to the variant's customers or in its stores"),
        "net_revenue_usd": money("gross - discounts - refunds attributed to the variant"),
        "cogs_usd": money("units x unit cost of the version effective that date", minimum=0),
        "gross_profit_usd": money("net revenue - COGS"),
        "gross_profit_per_unit_usd": money("gross profit / units (null without units)", nullable=True),
    }, unique=["business_date", "experiment_id", "variant"], name="unit_level_profit", checks=[
        pa.Check(lambda df: df["net_revenue_usd"] - df["cogs_usd"] == df["gross_profit_usd"],
                 error="gross profit = net revenue - COGS (exact)"),
    ]),
    blocking=True,
    extra=(
        ExtraCheck("costs_known", "Every sold SKU has a cost version effective on the date. Threshold: none missing",
                   _costs_known, severity=WARN),
        anomaly(report_table(keys.UNIT_LEVEL_PROFIT), key_metrics, {"units": "count", "net_revenue_usd": "money_usd"}),
    ),
)
