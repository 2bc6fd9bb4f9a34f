"""Online orders (web and app), one JSON object per line, with their lines nested."""

from platform_assets.ingestion.contract import (
    DateRule, SourceContract, currency, decimal, enum, integer, json_array, text, timestamp,
)

CONTRACT = SourceContract(
    name="orders",
    description="Online orders from the e-commerce platform (orders.jsonl); ordered_at in UTC, the "
    "business date is its New York calendar date. Money values are decimal strings.",
    domain="sales",
    format="jsonl",
    files=r"orders\.jsonl",
    required_files=("orders.jsonl",),
    fields=(
        text("order_id"),
        text("customer_id"),
        enum("channel", ("web", "app")),
        timestamp("ordered_at", utc_only=True),
        enum("status", ("completed", "cancelled")),
        currency(),
        decimal("tax_amount", minimum=0),
        decimal("shipping_amount", minimum=0),
        json_array("lines", (
            text("sku"),
            integer("quantity", minimum=1),
            decimal("unit_price", minimum=0),
            decimal("discount_amount", minimum=0),
        )),
    ),
    business_key=("order_id",),
    date_rule=DateRule("ordered_at"),
    max_reject_rate=0.01,
)
