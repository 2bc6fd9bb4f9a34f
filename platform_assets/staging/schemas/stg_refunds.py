"""stg_refunds: online refunds on their own business date, in USD cents."""

import pandera.pandas as pa

from platform_assets import keys
from platform_assets.quality.checks import DATE, UTC, DatasetContract, business_date, cents, one_business_date, text
from platform_assets.quality.common import duplicates, no_rows_lost

KEY = ("refund_id",)

CONTRACT = DatasetContract(
    key=keys.STG_REFUNDS,
    schema=pa.DataFrameSchema({
        "refund_id": text(),
        "order_id": text(),
        "refunded_at": pa.Column(UTC),
        "currency": pa.Column(text().dtype, pa.Check.str_matches(r"^[A-Z]{3}$", error="an upper-case ISO code")),
        "amount_cents": cents(minimum=1),
        "usd_per_unit_e8": pa.Column("int64", pa.Check.gt(0, error="> 0")),
        "amount_usd_cents": cents(minimum=0),
        "reason": text(nullable=True),
        "customer_id": text("the refunded order's customer, if the order is known", nullable=True),
        "order_business_date": pa.Column(DATE, nullable=True),
        "business_date": business_date(),
    }, unique=list(KEY), name="stg_refunds", checks=[one_business_date()]),
    blocking=True,
    extra=(duplicates(KEY), no_rows_lost(KEY)),
)
