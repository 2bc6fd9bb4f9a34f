"""App and website events, one JSON-lines file per New York hour."""

from platform_assets.ingestion.contract import DateRule, SourceContract, enum, text, timestamp

CONTRACT = SourceContract(
    name="app_events",
    description="Product analytics events (events_<HH>.jsonl, one per hour of the business day).",
    domain="customers",
    format="jsonl",
    files=r"events_([01]\d|2[0-3])\.jsonl",
    required_files=tuple(f"events_{h:02d}.jsonl" for h in range(24)),
    fields=(
        text("event_id"),
        text("user_id"),
        text("session_id"),
        enum("event_type", ("app_open", "page_view", "add_to_cart", "purchase")),
        timestamp("occurred_at", utc_only=True),
        enum("platform", ("ios", "android", "web")),
    ),
    business_key=("event_id",),
    date_rule=DateRule("occurred_at"),
    max_reject_rate=0.02,
)
