"""Pinterest Ads campaign report (spend in micro-dollars, upper-case headers)."""

import numpy as np
import pandas as pd

from platform_assets.ingestion.contract import DateRule, SourceContract, date, integer, text
from platform_assets.money import round_half_even_div, to_units

CONTRACT = SourceContract(
    name="pinterest_ads",
    description="Pinterest Ads daily campaign report (pinterest_campaign_report.csv); spend in "
    "millionths of a USD.",
    domain="marketing",
    format="csv",
    files=r"pinterest_campaign_report\.csv",
    required_files=("pinterest_campaign_report.csv",),
    fields=(
        date("DATE"),
        text("CAMPAIGN_ID"),
        integer("SPEND_IN_MICRO_DOLLAR", minimum=0),
        integer("IMPRESSION_1", minimum=0),
        integer("CLICKTHROUGH_1", minimum=0),
        integer("TOTAL_CONVERSIONS", minimum=0),
    ),
    business_key=("DATE", "CAMPAIGN_ID"),
    date_rule=DateRule("DATE"),
    max_reject_rate=0.0,
)
CHANNEL = "paid_social"
ACQUISITION_CHANNEL = "pinterest"


def normalize(raw: pd.DataFrame) -> dict[str, pd.DataFrame]:
    micros = to_units(raw["SPEND_IN_MICRO_DOLLAR"], 0)
    return {"spend": pd.DataFrame({
        "campaign_id": raw["CAMPAIGN_ID"],
        "campaign_name": raw["CAMPAIGN_ID"],  # the report carries no names
        "spend_cents": round_half_even_div(micros, 10_000),
        "currency": np.full(len(raw), "USD"),
        "impressions": to_units(raw["IMPRESSION_1"], 0),
        "clicks": to_units(raw["CLICKTHROUGH_1"], 0),
        "conversions": to_units(raw["TOTAL_CONVERSIONS"], 0),
    })}
