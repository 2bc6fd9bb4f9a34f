"""stg_pos_lines: store transaction lines, deduplicated, in USD cents."""

import pandera.pandas as pa

from platform_assets import keys
from platform_assets.quality.checks import UTC, DatasetContract, business_date, cents, one_business_date, text
from platform_assets.quality.common import duplicates, no_rows_lost

KEY = ("transaction_id", "sku")

CONTRACT = DatasetContract(
    key=keys.STG_POS_LINES,
    schema=pa.DataFrameSchema({
        "transaction_id": text(),
        "store_id": text(),
        "region": text(isin=("AMER", "EMEA", "APAC")),
        "register_id": text(),
        "transacted_at": pa.Column(UTC),
        "transaction_type": text(isin=("sale", "refund", "void")),
        "sku": text(),
        "quantity": pa.Column("int64", [pa.Check.ge(1, error=">= 1"),
                                        pa.Check.le(50, error="<= 50 (bulk purchase?)", raise_warning=True)]),
        "currency": pa.Column(text().dtype, pa.Check.str_matches(r"^[A-Z]{3}$", error="an upper-case ISO code")),
        "unit_price_cents": cents(),
        "discount_cents": cents(),
        "tax_cents": cents(),
        "usd_per_unit_e8": pa.Column("int64", pa.Check.gt(0, error="> 0")),
        "line_amount_usd_cents": cents("quantity x unit price, USD"),
        "discount_usd_cents": cents(),
        "net_amount_usd_cents": cents("quantity x unit price - discount, USD", minimum=None),
        "tax_usd_cents": cents(),
        "payment_method": text(isin=("card", "cash", "wallet", "gift_card")),
        "customer_id": text("null for walk-in sales", nullable=True),
        "business_date": business_date(),
    }, unique=list(KEY), name="stg_pos_lines", checks=[
        one_business_date(),
        pa.Check(lambda df: df["discount_cents"] <= df["quantity"] * df["unit_price_cents"],
                 error="discount at most the line amount", raise_warning=True),
    ]),
    blocking=True,
    extra=(duplicates(KEY), no_rows_lost(KEY)),
)
