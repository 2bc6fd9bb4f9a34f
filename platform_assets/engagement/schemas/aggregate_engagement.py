"""aggregate_engagement: active users, sessions, email, SMS, reviews."""

import pandas as pd
import pandera.pandas as pa

from platform_assets import keys
from platform_assets.metrics.engagement import PLATFORMS
from platform_assets.quality.checks import DatasetContract, business_date, count, ratio
from platform_assets.quality.common import anomaly
from platform_assets.reports import report_table


def key_metrics(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame()
    return frame.set_index("business_date")[["dau", "sessions"]].astype(float)


_columns = {"business_date": business_date()}
for _suffix in ("", *(f"_{p}" for p in PLATFORMS)):
    _columns.update({
        f"dau{_suffix}": count("distinct users active on the date"),
        f"wau{_suffix}": count("distinct users active in the 7 days ending on the date"),
        f"mau{_suffix}": count("distinct users active in the 28 days ending on the date"),
        f"dau_mau{_suffix}": ratio("DAU / MAU", minimum=0.0, maximum=1.0),
        f"sessions{_suffix}": count(),
        f"sessions_per_dau{_suffix}": ratio("sessions / DAU", minimum=1.0),
    })
_columns.update({
    "wau_days": count("days of the WAU window loaded", minimum=1), "mau_days": count("days of the MAU window loaded", minimum=1),
    "email_sends": count(), "email_opens": count(), "email_clicks": count(), "sms_sends": count(),
    "sms_clicks": count(), "reviews": count(),
    "mean_rating": ratio("mean review rating", minimum=1.0, maximum=5.0),
})

CONTRACT = DatasetContract(
    key=keys.AGGREGATE_ENGAGEMENT,
    schema=pa.DataFrameSchema(_columns, unique=["business_date"], name="aggregate_engagement", checks=[
        pa.Check(lambda df: (df["dau"] <= df["wau"]) & (df["wau"] <= df["mau"]), error="DAU <= WAU <= MAU"),
        pa.Check(lambda df: df["email_opens"] <= df["email_sends"], error="email opens <= sends"),
    ]),
    blocking=False,
    extra=(anomaly(report_table(keys.AGGREGATE_ENGAGEMENT), key_metrics, {"dau": "count", "sessions": "count"}),),
)
