"""Attentive SMS campaigns (CSV with US-style dates)."""

import numpy as np
import pandas as pd

from platform_assets.ingestion.contract import DateRule, SourceContract, date, decimal, integer, text
from platform_assets.money import to_units

CONTRACT = SourceContract(
    name="attentive",
    description="Attentive SMS campaigns of the day (attentive_campaigns.csv); cost in USD.",
    domain="marketing",
    format="csv",
    files=r"attentive_campaigns\.csv",
    required_files=("attentive_campaigns.csv",),
    fields=(
        date("date", fmt="%m/%d/%Y"),
        text("campaign"),
        integer("messages_sent", minimum=0),
        integer("clicks", minimum=0),
        integer("conversions", minimum=0),
        decimal("cost", minimum=0),
    ),
    business_key=("date", "campaign"),
    date_rule=DateRule("date"),
    max_reject_rate=0.0,
)
CHANNEL = "sms"
ACQUISITION_CHANNEL = "sms"


def normalize(raw: pd.DataFrame) -> dict[str, pd.DataFrame]:
    usd = np.full(len(raw), "USD")
    return {
        "spend": pd.DataFrame({
            "campaign_id": raw["campaign"], "campaign_name": raw["campaign"],
            "spend_cents": to_units(raw["cost"]), "currency": usd,
            "impressions": to_units(raw["messages_sent"], 0), "clicks": to_units(raw["clicks"], 0),
            "conversions": to_units(raw["conversions"], 0),
        }),
        "engagement": pd.DataFrame({
            "campaign_id": raw["campaign"],
            "sends": to_units(raw["messages_sent"], 0), "opens": np.zeros(len(raw), dtype=np.int64),
            "clicks": to_units(raw["clicks"], 0), "conversions": to_units(raw["conversions"], 0),
            "revenue_attributed_cents": np.zeros(len(raw), dtype=np.int64), "currency": usd,
        }),
    }
