"""The revenue close against finance's ledger, per business date and entity.

The ledger books, per entity (AMER, EMEA, APAC, ONLINE), ``revenue`` = gross sales - discounts
and ``refunds``. A line reconciles when |close - ledger| <= max(tolerance x |ledger|, floor).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from platform_assets.metrics.revenue import REGIONS, cents


def reconcile(close: pd.DataFrame, ledger: pd.DataFrame, tolerance: float, floor_cents: int) -> pd.DataFrame:
    """One row per entity x account: close_cents, ledger_cents, difference_cents, relative, ok."""
    close = close.set_index("region")
    booked = ledger[ledger["account"].isin(["revenue", "refunds"])].groupby(["entity", "account"])[
        "amount_usd_cents"].sum()
    rows = []
    for entity in REGIONS:
        if entity in close.index:
            gross, discounts, refunds = (int(cents(pd.Series([close.loc[entity, c]]))[0])
                                         for c in ("gross_sales_usd", "discounts_usd", "refunds_usd"))
        else:
            gross = discounts = refunds = 0
        for account, ours in (("revenue", gross - discounts), ("refunds", refunds)):
            theirs = int(booked.get((entity, account), 0))
            diff = ours - theirs
            allowed = max(tolerance * abs(theirs), floor_cents)
            rows.append({"entity": entity, "account": account, "close_cents": ours, "ledger_cents": theirs,
                         "difference_cents": diff, "relative": (diff / theirs) if theirs else (0.0 if not diff else np.inf),
                         "ok": abs(diff) <= allowed})
    return pd.DataFrame(rows)
