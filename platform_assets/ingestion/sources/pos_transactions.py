"""Point-of-sale lines from the stores, one file per region, exported nightly by the POS team."""

from platform_assets.ingestion.contract import (
    DateRule, SourceContract, currency, date, decimal, enum, integer, text, timestamp,
)

CONTRACT = SourceContract(
    name="pos_transactions",
    description="Store sales, refunds and voids, one row per transaction line, from the POS export "
    "(pos_<region>.csv per region). Lands by 06:00 New York the next morning (SLA, critical).",
    domain="sales",
    format="csv",
    files=r"pos_(AMER|EMEA|APAC)\.csv",
    required_files=("pos_AMER.csv", "pos_EMEA.csv", "pos_APAC.csv"),
    fields=(
        text("transaction_id"),
        text("store_id"),
        enum("region", ("AMER", "EMEA", "APAC")),
        text("register_id"),
        date("business_date", description="the store's business day; authoritative for the close"),
        timestamp("transacted_at"),
        enum("transaction_type", ("sale", "refund", "void")),
        text("sku"),
        integer("quantity", minimum=1),
        decimal("unit_price", minimum=0),
        decimal("discount_amount", minimum=0),
        decimal("tax_amount", minimum=0),
        currency(),
        enum("payment_method", ("card", "cash", "wallet", "gift_card")),
        text("customer_id", nullable=True, description="empty for walk-in sales"),
    ),
    business_key=("transaction_id", "sku"),
    date_rule=DateRule("business_date"),
    max_reject_rate=0.01,
    # The close's critical path: each region's file is imported (and staged) in a step of its own.
    split_files={"AMER": "pos_AMER.csv", "EMEA": "pos_EMEA.csv", "APAC": "pos_APAC.csv"},
    split_column="region",  # a region's file holds its stores' lines only; stg_pos_lines stages by region
)
