"""Klaviyo email campaigns (JSON list): sends, opens, clicks, attributed revenue and cost."""

import numpy as np
import pandas as pd

from platform_assets.ingestion.contract import DateRule, SourceContract, decimal, integer, text, timestamp
from platform_assets.money import to_units

CONTRACT = SourceContract(
    name="klaviyo",
    description="Klaviyo email campaigns sent on the business date (campaigns.json); cost and "
    "attributed revenue in USD.",
    domain="marketing",
    format="json",
    files=r"campaigns\.json",
    required_files=("campaigns.json",),
    fields=(
        text("campaign_id"),
        timestamp("send_time", utc_only=True),
        integer("recipients", minimum=0),
        integer("opens", minimum=0),
        integer("clicks", minimum=0),
        decimal("revenue_attributed", minimum=0),
        decimal("cost", minimum=0),
    ),
    business_key=("campaign_id",),
    date_rule=DateRule("send_time"),
    max_reject_rate=0.0,
)
CHANNEL = "email"
ACQUISITION_CHANNEL = "email"


def normalize(raw: pd.DataFrame) -> dict[str, pd.DataFrame]:
    usd = np.full(len(raw), "USD")
    return {
        "spend": pd.DataFrame({
            "campaign_id": raw["campaign_id"], "campaign_name": raw["campaign_id"],
            "spend_cents": to_units(raw["cost"]), "currency": usd,
            "impressions": to_units(raw["recipients"], 0), "clicks": to_units(raw["clicks"], 0),
            "conversions": np.zeros(len(raw), dtype=np.int64),
        }),
        "engagement": pd.DataFrame({
            "campaign_id": raw["campaign_id"],
            "sends": to_units(raw["recipients"], 0), "opens": to_units(raw["opens"], 0),
            "clicks": to_units(raw["clicks"], 0), "conversions": np.zeros(len(raw), dtype=np.int64),
            "revenue_attributed_cents": to_units(raw["revenue_attributed"]), "currency": usd,
        }),
    }
