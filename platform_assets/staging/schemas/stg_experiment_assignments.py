"""stg_experiment_assignments: units enrolled in running experiments."""

import pandera.pandas as pa

from platform_assets import keys
from platform_assets.quality.checks import UTC, DatasetContract, business_date, one_business_date, text
from platform_assets.quality.common import duplicates, no_rows_lost

KEY = ("experiment_id", "unit_type", "unit_id")

CONTRACT = DatasetContract(
    key=keys.STG_EXPERIMENT_ASSIGNMENTS,
    schema=pa.DataFrameSchema({
        "experiment_id": text(),
        "unit_type": text(isin=("customer", "store")),
        "unit_id": text(),
        "variant": text(),
        "assigned_at": pa.Column(UTC),
        "business_date": business_date(),
    }, unique=list(KEY), name="stg_experiment_assignments", checks=[one_business_date()]),
    blocking=False,
    extra=(duplicates(KEY), no_rows_lost(KEY)),
)
