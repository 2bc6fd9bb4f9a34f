"""stg_app_events: product analytics events, deduplicated."""

import pandera.pandas as pa

from platform_assets import keys
from platform_assets.quality.checks import UTC, DatasetContract, business_date, one_business_date, text
from platform_assets.quality.common import duplicates, no_rows_lost

KEY = ("event_id",)

CONTRACT = DatasetContract(
    key=keys.STG_APP_EVENTS,
    schema=pa.DataFrameSchema({
        "event_id": text(),
        "user_id": text(),
        "session_id": text(),
        "event_type": text(isin=("app_open", "page_view", "add_to_cart", "purchase")),
        "occurred_at": pa.Column(UTC),
        "platform": text(isin=("ios", "android", "web")),
        "business_date": business_date(),
    }, unique=list(KEY), name="stg_app_events", checks=[one_business_date()]),
    blocking=False,
    extra=(duplicates(KEY), no_rows_lost(KEY)),
)
