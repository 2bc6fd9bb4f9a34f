"""stg_marketing_spend: every platform's spend in one shape, USD cents."""

import pandera.pandas as pa

from platform_assets import keys
from platform_assets.quality.checks import DatasetContract, business_date, cents, count, one_business_date, text

CONTRACT = DatasetContract(
    key=keys.STG_MARKETING_SPEND,
    schema=pa.DataFrameSchema({
        "platform": text(),
        "channel": text(isin=("paid_social", "email", "sms", "reviews")),
        "acquisition_channel": pa.Column(text().dtype, nullable=True),
        "campaign_id": text(),
        "campaign_name": text(),
        "spend_usd_cents": cents(),
        "impressions": count(),
        "clicks": count(),
        "conversions": count(),
        "business_date": business_date(),
    }, unique=["platform", "campaign_id"], name="stg_marketing_spend", checks=[
        one_business_date(),
        pa.Check(lambda df: df["clicks"] <= df["impressions"], error="clicks <= impressions", raise_warning=True)]),
    blocking=True,
)
