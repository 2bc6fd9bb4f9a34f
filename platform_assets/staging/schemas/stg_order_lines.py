"""stg_order_lines: the lines of the online orders in USD cents."""

import pandera.pandas as pa

from platform_assets import keys
from platform_assets.quality.checks import DatasetContract, business_date, cents, count, one_business_date, text

CONTRACT = DatasetContract(
    key=keys.STG_ORDER_LINES,
    schema=pa.DataFrameSchema({
        "order_id": text(),
        "line_number": pa.Column("int32", pa.Check.ge(1, error=">= 1")),
        "sku": text(),
        "quantity": count(minimum=1),
        "unit_price_cents": cents(),
        "discount_cents": cents(),
        "line_amount_usd_cents": cents(),
        "discount_usd_cents": cents(),
        "status": text(isin=("completed", "cancelled")),
        "customer_id": text(),
        "channel": text(isin=("web", "app")),
        "business_date": business_date(),
    }, unique=["order_id", "line_number"], name="stg_order_lines", checks=[one_business_date()]),
    blocking=True,
)
