"""stg_customers: sign-ups of the business date."""

import pandera.pandas as pa

from platform_assets import keys
from platform_assets.quality.checks import UTC, DatasetContract, business_date, one_business_date, text
from platform_assets.quality.common import duplicates, no_rows_lost

KEY = ("customer_id",)

CONTRACT = DatasetContract(
    key=keys.STG_CUSTOMERS,
    schema=pa.DataFrameSchema({
        "customer_id": text(),
        "signup_at": pa.Column(UTC),
        "acquisition_channel": text(),
        "country": text(),
        "business_date": business_date(),
    }, unique=list(KEY), name="stg_customers", checks=[one_business_date()]),
    blocking=False,
    extra=(duplicates(KEY), no_rows_lost(KEY)),
)
