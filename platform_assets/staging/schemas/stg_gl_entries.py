"""stg_gl_entries: the ledger's entries by entity and account, in USD cents."""

import pandera.pandas as pa

from platform_assets import keys
from platform_assets.quality.checks import DatasetContract, business_date, cents, one_business_date, text
from platform_assets.quality.common import duplicates, no_rows_lost

KEY = ("entry_id",)

CONTRACT = DatasetContract(
    key=keys.STG_GL_ENTRIES,
    schema=pa.DataFrameSchema({
        "entry_id": text(),
        "entity": text(isin=("AMER", "EMEA", "APAC", "ONLINE")),
        "account": text(isin=("revenue", "refunds", "cogs", "marketing")),
        "currency": text(),
        "amount_cents": cents(minimum=None),
        "amount_usd_cents": cents(minimum=None),
        "business_date": business_date(),
    }, unique=list(KEY), name="stg_gl_entries", checks=[one_business_date()]),
    blocking=True,
    extra=(duplicates(KEY), no_rows_lost(KEY)),
)
