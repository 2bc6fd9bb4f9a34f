"""stg_active_users: users active on the date, per platform."""

import pandera.pandas as pa

from platform_assets import keys
from platform_assets.quality.checks import DatasetContract, business_date, count, one_business_date, text

CONTRACT = DatasetContract(
    key=keys.STG_ACTIVE_USERS,
    schema=pa.DataFrameSchema({
        "user_id": text(),
        "platform": text(isin=("ios", "android", "web")),
        "sessions": count(minimum=1),
        "events": count(minimum=1),
        "business_date": business_date(),
    }, unique=["user_id", "platform"], name="stg_active_users", checks=[
        one_business_date(), pa.Check(lambda df: df["events"] >= df["sessions"], error="events >= sessions")]),
    blocking=False,
)
