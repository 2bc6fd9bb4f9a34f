"""stg_orders: online orders, one row each, totals of their lines in USD cents."""

import pandera.pandas as pa

from platform_assets import keys
from platform_assets.quality.checks import UTC, DatasetContract, business_date, cents, count, one_business_date, text
from platform_assets.quality.common import duplicates, no_rows_lost

KEY = ("order_id",)

CONTRACT = DatasetContract(
    key=keys.STG_ORDERS,
    schema=pa.DataFrameSchema({
        "order_id": text(),
        "customer_id": text(),
        "channel": text(isin=("web", "app")),
        "ordered_at": pa.Column(UTC),
        "status": text(isin=("completed", "cancelled")),
        "currency": pa.Column(text().dtype, pa.Check.str_matches(r"^[A-Z]{3}$", error="an upper-case ISO code")),
        "usd_per_unit_e8": pa.Column("int64", pa.Check.gt(0, error="> 0")),
        "line_count": count(minimum=1),
        "units": count(minimum=1),
        "gross_usd_cents": cents(),
        "discount_usd_cents": cents(),
        "tax_usd_cents": cents(),
        "shipping_usd_cents": cents(),
        "business_date": business_date(),
    }, unique=list(KEY), name="stg_orders", checks=[
        one_business_date(),
        pa.Check(lambda df: df["discount_usd_cents"] <= df["gross_usd_cents"], error="discount at most the order's gross",
                 raise_warning=True),
    ]),
    blocking=True,
    extra=(duplicates(KEY), no_rows_lost(KEY)),
)
