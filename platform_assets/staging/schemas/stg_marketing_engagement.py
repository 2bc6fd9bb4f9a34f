"""stg_marketing_engagement: email, SMS and review engagement in one shape."""

import pandera.pandas as pa

from platform_assets import keys
from platform_assets.quality.checks import DatasetContract, business_date, cents, count, one_business_date, text

CONTRACT = DatasetContract(
    key=keys.STG_MARKETING_ENGAGEMENT,
    schema=pa.DataFrameSchema({
        "platform": text(),
        "channel": text(isin=("email", "sms", "reviews")),
        "campaign_id": text(),
        "sends": count(), "opens": count(), "clicks": count(), "conversions": count(),
        "revenue_attributed_usd_cents": cents(),
        "reviews": count(),
        "rating_sum": count(),
        "business_date": business_date(),
    }, name="stg_marketing_engagement", checks=[
        one_business_date(),
        pa.Check(lambda df: (df["rating_sum"] >= df["reviews"]) & (df["rating_sum"] <= 5 * df["reviews"]),
                 error="ratings between 1 and 5"),
        pa.Check(lambda df: df["opens"] <= df["sends"], error="opens <= sends", raise_warning=True)]),
    blocking=False,
)
