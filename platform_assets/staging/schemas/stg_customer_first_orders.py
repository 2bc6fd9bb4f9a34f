"""stg_customer_first_orders: customers whose first completed online order is on the date."""

import pandera.pandas as pa

from platform_assets import keys
from platform_assets.quality.checks import UTC, DatasetContract, business_date, one_business_date, text

CONTRACT = DatasetContract(
    key=keys.STG_CUSTOMER_FIRST_ORDERS,
    schema=pa.DataFrameSchema({
        "customer_id": text(),
        "first_order_id": text(),
        "first_ordered_at": pa.Column(UTC),
        "channel": text(isin=("web", "app")),
        "business_date": business_date(),
    }, unique=["customer_id"], name="stg_customer_first_orders", checks=[one_business_date()]),
    blocking=False,
)
