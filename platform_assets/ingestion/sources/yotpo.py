"""Yotpo product reviews (JSON list); engagement only, no spend."""

import numpy as np
import pandas as pd

from platform_assets.ingestion.contract import DateRule, SourceContract, integer, text, timestamp
from platform_assets.money import to_units

CONTRACT = SourceContract(
    name="yotpo",
    description="Product reviews written on the business date (reviews.json).",
    domain="marketing",
    format="json",
    files=r"reviews\.json",
    required_files=("reviews.json",),
    fields=(
        text("review_id"),
        text("sku"),
        integer("rating", minimum=1, maximum=5),
        timestamp("created_at", utc_only=True),
    ),
    business_key=("review_id",),
    date_rule=DateRule("created_at"),
    max_reject_rate=0.02,
)
CHANNEL = "reviews"
ACQUISITION_CHANNEL = None  # reviews acquire no customers


def normalize(raw: pd.DataFrame) -> dict[str, pd.DataFrame]:
    n = len(raw)
    zeros = np.zeros(n, dtype=np.int64)
    return {"engagement": pd.DataFrame({
        "campaign_id": raw["sku"], "sends": zeros, "opens": zeros, "clicks": zeros, "conversions": zeros,
        "revenue_attributed_cents": zeros, "currency": np.full(n, "USD"),
        "reviews": np.ones(n, dtype=np.int64), "rating_sum": to_units(raw["rating"], 0),
    })}
