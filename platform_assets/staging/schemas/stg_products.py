"""stg_products: product cost versions from the latest catalogue snapshot."""

import pandera.pandas as pa

from platform_assets import keys, settings_files
from platform_assets.quality.checks import (
    DATE, WARN, CheckContext, DatasetContract, ExtraCheck, Outcome, business_date, cents, text,
)


def _fresh(ctx: CheckContext) -> Outcome:
    limit = int(settings_files.service_levels()["reference_data"]["products"]["max_age_days"])
    batch = ctx.platform.ledger().published("products", ctx.day)
    if batch is None or batch.manifest_exported_at is None:
        return Outcome(False, "no published products snapshot for the date", {"limit_days": limit})
    age = (ctx.day - batch.manifest_exported_at.date()).days
    meta = {"snapshot_age_days": age, "limit_days": limit, "exported_at": batch.manifest_exported_at.isoformat(),
            "batch_id": batch.batch_id}
    if age <= limit:
        return Outcome(True, f"catalogue snapshot exported {age} day(s) before the date", meta)
    return Outcome(False, f"stale reference data: the products snapshot was exported {age} days before the date "
                          f"({batch.manifest_exported_at:%Y-%m-%d}), over the {limit}-day limit; costs may be out of date",
                   meta)


CONTRACT = DatasetContract(
    key=keys.STG_PRODUCTS,
    schema=pa.DataFrameSchema({
        "sku": text(),
        "category": text(),
        "effective_from": pa.Column(DATE),
        "currency": text(),
        "unit_cost_cents": cents("cost in the supplier's currency"),
        "unit_cost_usd_cents": cents("cost in USD at the business date's rate"),
        "effective_to": pa.Column(DATE, nullable=True, description="last day of the version (null: current)"),
        "business_date": business_date(),
    }, unique=["sku", "effective_from"], name="stg_products"),
    blocking=True,
    extra=(ExtraCheck("snapshot_fresh", "The catalogue snapshot is at most 35 days old (config/service_levels.yaml, "
                      "reference_data.products)", _fresh, severity=WARN),),
)
