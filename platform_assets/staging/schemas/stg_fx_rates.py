"""stg_fx_rates: the rate each currency is converted with on the business date."""

import pandera.pandas as pa

from platform_assets import keys, settings_files
from platform_assets.quality.checks import (
    DATE, WARN, CheckContext, DatasetContract, ExtraCheck, Outcome, business_date, count, one_business_date, text,
)


def _max_age() -> int:
    return int(settings_files.service_levels()["reference_data"]["fx_rates"]["max_age_days"])


def _complete(ctx: CheckContext) -> Outcome:
    fallback = ctx.frame[ctx.frame["is_fallback"]]
    meta = {"currencies": len(ctx.frame), "fallback_currencies": len(fallback)}
    if fallback.empty:
        return Outcome(True, f"all {len(ctx.frame)} currencies have a rate for the date", meta)
    shown = ", ".join(f"{c} (rate of {d:%Y-%m-%d})" for c, d in zip(fallback["currency"], fallback["rate_date"]))
    return Outcome(False, f"no rate for the date, the latest earlier one is used: {shown}", meta)


def _fresh(ctx: CheckContext) -> Outcome:
    limit = _max_age()
    oldest = int(ctx.frame["age_days"].max()) if len(ctx.frame) else 0
    stale = ctx.frame[ctx.frame["age_days"] > limit]
    meta = {"max_rate_age_days": oldest, "limit_days": limit}
    if stale.empty:
        return Outcome(True, f"every rate at most {limit} day(s) old (oldest {oldest})", meta)
    return Outcome(False, f"stale FX rates (older than {limit} day(s)): " + ", ".join(
        f"{c} {a} days" for c, a in zip(stale["currency"], stale["age_days"])), meta)


CONTRACT = DatasetContract(
    key=keys.STG_FX_RATES,
    schema=pa.DataFrameSchema({
        "business_date": business_date(),
        "currency": pa.Column(text().dtype, pa.Check.str_matches(r"^[A-Z]{3}$", error="an upper-case ISO code"),
                              description="ISO 4217"),
        "usd_per_unit_e8": pa.Column("int64", pa.Check.gt(0, error="> 0"), description="USD per unit x 1e8"),
        "rate_date": pa.Column(DATE, description="the date the rate is for"),
        "age_days": count("business date - rate_date"),
        "is_fallback": pa.Column(bool, description="the rate is older than the business date"),
    }, unique=["currency"], checks=[one_business_date()], name="stg_fx_rates"),
    blocking=True,
    extra=(
        ExtraCheck("rates_complete", "Every currency has a rate dated on the business date (else the latest earlier "
                   "rate is used). Threshold: no fallback", _complete, severity=WARN),
        ExtraCheck("rates_fresh", "No rate used is older than the service level allows (config/service_levels.yaml, "
                   "reference_data.fx_rates: 1 day)", _fresh, severity=WARN),
    ),
)
