"""daily_growth: growth per customer experiment variant."""

import pandas as pd
import pandera.pandas as pa

from platform_assets import keys
from platform_assets.quality.checks import DatasetContract, business_date, count, ratio, text
from platform_assets.quality.common import anomaly
from platform_assets.reports import report_table


def key_metrics(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame()
    return frame.groupby("business_date").agg(new_customers=("new_customers", "sum"))


CONTRACT = DatasetContract(
    key=keys.DAILY_GROWTH,
    schema=pa.DataFrameSchema({
        "business_date": business_date(),
        "experiment_id": text(),
        "variant": text(),
        "new_customers": count("customers who signed up on the date"),
        "first_order_customers": count("customers whose first completed order is on the date"),
        "converted_new_customers": count("new customers whose first order is on the sign-up date"),
        "conversion_rate": ratio("converted new customers / new customers", minimum=0.0, maximum=1.0),
    }, unique=["business_date", "experiment_id", "variant"], name="daily_growth", checks=[
        pa.Check(lambda df: (df["converted_new_customers"] <= df["new_customers"])
                 & (df["converted_new_customers"] <= df["first_order_customers"]),
                 error="converted new customers <= new customers and <= first-order customers"),
    ]),
    blocking=False,
    extra=(anomaly(report_table(keys.DAILY_GROWTH), key_metrics, {"new_customers": "count"}),),
)
