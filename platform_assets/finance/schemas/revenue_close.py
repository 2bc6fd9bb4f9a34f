"""revenue_close: finance's daily close, checked before finance sees it."""

import pandas as pd
import pandera.pandas as pa

from platform_assets import keys, settings_files
from platform_assets.metrics import revenue
from platform_assets.quality.checks import (
    ERROR, CheckContext, DatasetContract, ExtraCheck, Outcome, business_date, count, money, text,
)
from platform_assets.quality.common import anomaly
from platform_assets.quality.reconciliation import reconcile
from platform_assets.reports import report_table, staging


def key_metrics(frame: pd.DataFrame) -> pd.DataFrame:
    """Net revenue per region and in total, per business date (anomaly baseline)."""
    if frame.empty:
        return pd.DataFrame()
    values = frame.assign(net=[float(v) for v in frame["net_revenue_usd"]])
    wide = values.pivot_table(index="business_date", columns="region", values="net", aggfunc="sum")
    wide.columns = [f"net_revenue_usd_{c.lower()}" for c in wide.columns]
    wide["net_revenue_usd"] = wide.sum(axis=1)
    return wide


def reconciles_with_ledger(ctx: CheckContext) -> Outcome:
    """The close of ``ctx.day`` (``ctx.frame``) against the ledger's entries of that date."""
    cfg = settings_files.quality()["reconciliation"]
    tolerance, floor = float(cfg["tolerance"]), int(round(float(cfg["absolute_floor_usd"]) * 100))
    ledger = staging(ctx.platform.warehouse(), keys.STG_GL_ENTRIES, ctx.day)
    if ledger.empty:
        # Before reconcile(): a date with no stg_gl_entries partition reads as a frame without columns.
        # Seen in a backfill: Dagster's backfill daemon put this check in a run without stg_gl_entries
        # (whose import was still running), as it forms runs from what is materialized so far.
        return Outcome(False, "the ledger has no entries for the date (gl_entries not loaded?)",
                       {"tolerance": tolerance})
    lines = reconcile(ctx.frame, ledger, tolerance, floor)
    table = ["| entity | account | close | ledger | difference | % |", "|---|---|---:|---:|---:|---:|"]
    for r in lines.itertuples():
        table.append(f"| {r.entity} | {r.account} | {r.close_cents / 100:,.2f} | {r.ledger_cents / 100:,.2f} | "
                     f"{r.difference_cents / 100:,.2f} | {r.relative:.3%} |")
    import dagster as dg

    meta = {"lines": dg.MetadataValue.md("\n".join(table)), "tolerance": tolerance,
            "max_abs_difference_usd": float(lines["difference_cents"].abs().max()) / 100 if len(lines) else 0.0}
    if ctx.frame.empty:
        return Outcome(False, "the revenue close has no rows for the date", meta)
    bad = lines[~lines["ok"]]
    if bad.empty:
        return Outcome(True, f"every entity's revenue and refunds within {tolerance:.1%} of the ledger", meta)
    text_ = "; ".join(f"{r.entity} {r.account}: close {r.close_cents / 100:,.2f} vs ledger {r.ledger_cents / 100:,.2f} "
                      f"({r.relative:+.2%})" for r in bad.itertuples())
    return Outcome(False, f"does not reconcile with the ledger (tolerance {tolerance:.1%}): {text_}", meta)


def _totals(ctx: CheckContext) -> Outcome:
    """The close against the staging rows it came from: nothing double counted or dropped."""
    wh = ctx.platform.warehouse()
    pos = staging(wh, keys.STG_POS_LINES, ctx.day, columns=["transaction_type", "line_amount_usd_cents",
                                                            "discount_usd_cents", "net_amount_usd_cents"])
    lines = staging(wh, keys.STG_ORDER_LINES, ctx.day, columns=["status", "line_amount_usd_cents", "discount_usd_cents"])
    refunds = staging(wh, keys.STG_REFUNDS, ctx.day, columns=["amount_usd_cents"])
    sale = pos["transaction_type"] == "sale"
    done = lines["status"] == "completed"
    expected = {
        "gross_sales": int(pos.loc[sale, "line_amount_usd_cents"].sum() + lines.loc[done, "line_amount_usd_cents"].sum()),
        "discounts": int(pos.loc[sale, "discount_usd_cents"].sum() + lines.loc[done, "discount_usd_cents"].sum()),
        "refunds": int(pos.loc[pos["transaction_type"] == "refund", "net_amount_usd_cents"].sum()
                       + refunds["amount_usd_cents"].sum()),
    }
    got = {m: int(revenue.cents(ctx.frame[f"{m}_usd"]).sum()) for m in expected}
    meta = {f"{m}_report_usd": got[m] / 100 for m in got} | {f"{m}_staging_usd": expected[m] / 100 for m in expected}
    off = {m: got[m] - expected[m] for m in got if got[m] != expected[m]}
    if not off:
        return Outcome(True, "gross sales, discounts and refunds equal the staging rows' totals to the cent", meta)
    return Outcome(False, "report totals differ from staging (double counted or dropped rows): "
                   + ", ".join(f"{m} {d / 100:+,.2f}" for m, d in off.items()), meta)


CONTRACT = DatasetContract(
    key=keys.REVENUE_CLOSE,
    schema=pa.DataFrameSchema({
        "business_date": business_date(),
        "region": text("AMER, EMEA, APAC (stores) or ONLINE", isin=revenue.REGIONS),
        "gross_sales_usd": money("POS sale lines and completed online order lines: quantity x unit price", minimum=0),
        "discounts_usd": money("discounts of those same lines", minimum=0),
        "refunds_usd": money("POS refund lines and online refunds on their own date", minimum=0),
        "net_revenue_usd": money("gross sales - discounts - refunds"),
        "transactions": count("POS sale transactions / completed online orders"),
    }, unique=["business_date", "region"], name="revenue_close", checks=[
        pa.Check(lambda df: (df["gross_sales_usd"] - df["discounts_usd"] - df["refunds_usd"] == df["net_revenue_usd"]),
                 error="net revenue = gross sales - discounts - refunds (exact)"),
        pa.Check(lambda df: df.groupby("business_date")["region"].transform("count") == len(revenue.REGIONS),
                 error="every region present for the date"),
    ]),
    blocking=True,
    extra=(
        ExtraCheck("totals_match_staging", "Report totals equal the staging rows they come from (raw -> staging -> "
                   "report: nothing double counted or dropped). Threshold: exact", _totals, severity=ERROR,
                   blocking=True, additional_deps=(keys.STG_POS_LINES, keys.STG_ORDER_LINES, keys.STG_REFUNDS)),
        anomaly(report_table(keys.REVENUE_CLOSE), key_metrics,
                kinds={m: "money_usd" for m in ("net_revenue_usd", "net_revenue_usd_amer", "net_revenue_usd_emea",
                                                "net_revenue_usd_apac", "net_revenue_usd_online")}),
    ),
)
