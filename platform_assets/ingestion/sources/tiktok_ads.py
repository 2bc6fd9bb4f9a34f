"""TikTok Ads campaign report (paid social spend)."""

import pandas as pd

from platform_assets.ingestion.contract import DateRule, SourceContract, currency, decimal, integer, local_datetime, text
from platform_assets.money import to_units

CONTRACT = SourceContract(
    name="tiktok_ads",
    description="TikTok Ads daily campaign report (tiktok_campaign_report.csv), spend in USD.",
    domain="marketing",
    format="csv",
    files=r"tiktok_campaign_report\.csv",
    required_files=("tiktok_campaign_report.csv",),
    fields=(
        local_datetime("stat_time_day"),
        text("campaign_id"),
        text("campaign_name"),
        decimal("spend", minimum=0),
        integer("impressions", minimum=0),
        integer("clicks", minimum=0),
        integer("conversions", minimum=0),
        currency(),
    ),
    business_key=("stat_time_day", "campaign_id"),
    date_rule=DateRule("stat_time_day"),
    max_reject_rate=0.0,
)
CHANNEL = "paid_social"
ACQUISITION_CHANNEL = "paid_social"


def normalize(raw: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {"spend": pd.DataFrame({
        "campaign_id": raw["campaign_id"],
        "campaign_name": raw["campaign_name"],
        "spend_cents": to_units(raw["spend"]),
        "currency": raw["currency"].str.upper(),
        "impressions": to_units(raw["impressions"], 0),
        "clicks": to_units(raw["clicks"], 0),
        "conversions": to_units(raw["conversions"], 0),
    })}
