"""Product catalogue snapshot with cost versions (changes rarely; stale after 35 days)."""

from platform_assets.ingestion.contract import SourceContract, currency, date, decimal, text

CONTRACT = SourceContract(
    name="products",
    description="Full snapshot of the catalogue (products.csv): one row per SKU cost version; "
    "COGS uses the version effective on the business date.",
    domain="reference",
    format="csv",
    files=r"products\.csv",
    required_files=("products.csv",),
    fields=(
        text("sku"),
        text("category"),
        decimal("unit_cost", minimum=0),
        currency(),
        date("effective_from"),
    ),
    business_key=("sku", "effective_from"),
    max_reject_rate=0.01,
)
