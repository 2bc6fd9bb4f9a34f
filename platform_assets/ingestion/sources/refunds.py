"""Online refunds, recognized on their own business date (often of orders from earlier days)."""

from platform_assets.ingestion.contract import DateRule, SourceContract, currency, decimal, text, timestamp

CONTRACT = SourceContract(
    name="refunds",
    description="Refunds of online orders (refunds.csv); amount in the refund's currency, "
    "recognized on the New York date of refunded_at.",
    domain="sales",
    format="csv",
    files=r"refunds\.csv",
    required_files=("refunds.csv",),
    fields=(
        text("refund_id"),
        text("order_id"),
        timestamp("refunded_at", utc_only=True),
        decimal("amount", minimum=0, exclusive_min=True),
        currency(),
        text("reason", nullable=True),
    ),
    business_key=("refund_id",),
    date_rule=DateRule("refunded_at"),
    max_reject_rate=0.01,
)
