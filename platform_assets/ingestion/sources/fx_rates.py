"""Daily FX rates to USD (stale after 1 day; a missing rate falls back to the latest earlier one)."""

from platform_assets.ingestion.contract import DateRule, SourceContract, currency, date, decimal

CONTRACT = SourceContract(
    name="fx_rates",
    description="USD value of one unit of each currency (fx_rates.csv). Rows may carry an earlier "
    "rate_date when the provider has not updated; never a later one.",
    domain="reference",
    format="csv",
    files=r"fx_rates\.csv",
    required_files=("fx_rates.csv",),
    fields=(
        date("rate_date"),
        currency(),
        decimal("usd_per_unit", places=8, minimum=0, exclusive_min=True),
    ),
    business_key=("rate_date", "currency"),
    date_rule=DateRule("rate_date", relation="not_after"),
    max_reject_rate=0.0,
)
