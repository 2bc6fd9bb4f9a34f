"""aggregate_growth: customer growth and CAC."""

import pandas as pd
import pandera.pandas as pa

from platform_assets import keys
from platform_assets.quality.checks import (
    ERROR, CheckContext, DatasetContract, ExtraCheck, Outcome, business_date, count, money, ratio, text,
)
from platform_assets.quality.common import anomaly
from platform_assets.reports import report_table, staging


def key_metrics(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame()
    total = frame[frame["acquisition_channel"] == "all"]
    return pd.DataFrame({"new_customers": total["new_customers"].to_numpy(dtype=float),
                         "marketing_spend_usd": [float(v) for v in total["marketing_spend_usd"]]},
                        index=total["business_date"])


def _matches_staging(ctx: CheckContext) -> Outcome:
    signups = len(staging(ctx.platform.warehouse(), keys.STG_CUSTOMERS, ctx.day, columns=["customer_id"]))
    total = ctx.frame[ctx.frame["acquisition_channel"] == "all"]["new_customers"]
    channels = ctx.frame[ctx.frame["acquisition_channel"] != "all"]["new_customers"].sum()
    got = int(total.iloc[0]) if len(total) else -1
    meta = {"report_new_customers": got, "staging_signups": signups, "sum_of_channels": int(channels)}
    if got == signups == channels:
        return Outcome(True, f"{got:,} new customers: equal to the day's sign-ups and to the sum of the channels", meta)
    return Outcome(False, f"new customers {got:,} vs {signups:,} sign-ups in staging vs {channels:,} summed over "
                          "channels (double counted or dropped)", meta)


CONTRACT = DatasetContract(
    key=keys.AGGREGATE_GROWTH,
    schema=pa.DataFrameSchema({
        "business_date": business_date(),
        "acquisition_channel": text("`all`, or a sign-up channel"),
        "new_customers": count(),
        "cumulative_customers": pa.Column("Int64", pa.Check.ge(0), nullable=True,
                                          description="sign-ups loaded up to the date (all row)"),
        "marketing_spend_usd": money("spend of the platforms buying the channel", minimum=0),
        "cac_usd": money("marketing spend / new customers", nullable=True, minimum=0),
        "growth_7d": ratio("new customers, last 7 days / 7 days before - 1", minimum=-1.0),
        "growth_28d": ratio("new customers, last 28 days / 28 days before - 1", minimum=-1.0),
    }, unique=["business_date", "acquisition_channel"], name="aggregate_growth", checks=[
        pa.Check(lambda df: (df["acquisition_channel"] == "all").groupby(df["business_date"]).sum() == 1,
                 error="one `all` row per date"),
    ]),
    blocking=False,
    extra=(
        ExtraCheck("new_customers_match_staging", "New customers equal the day's sign-ups in staging and the sum over "
                   "channels. Threshold: exact", _matches_staging, severity=ERROR, additional_deps=(keys.STG_CUSTOMERS,)),
        anomaly(report_table(keys.AGGREGATE_GROWTH), key_metrics,
                {"new_customers": "count", "marketing_spend_usd": "money_usd"}),
    ),
)
