"""New customers, first orders, conversion, cumulative customers, CAC and growth rates.

- New customers: customers who signed up on the business date.
- First-order customers: customers whose first completed online order (since the platform's
  history starts) is on the date.
- Converted new customers: new customers of the date whose first order is also on the date;
  conversion rate = converted new customers / new customers (None without new customers).
- Cumulative customers: every sign-up loaded up to and including the date.
- CAC: marketing spend / new customers; blended over all platforms on the ``all`` row, and per
  acquisition channel for the platforms that buy that channel.
- Growth rates: new customers of the last 7 (28) days over the 7 (28) days before, minus one;
  None unless both windows are fully loaded.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
import pandas as pd

from platform_assets.money import CENT, decimal_column, floats, ratio
from platform_assets.partitions import PARTITION_COLUMN

ALL = "all"


def daily_growth(customers: pd.DataFrame, first_orders: pd.DataFrame, assignments: pd.DataFrame,
                 day: dt.date) -> pd.DataFrame:
    """Per customer experiment x variant: new customers, first-order customers, converted new
    customers and conversion rate."""
    units = assignments[assignments["unit_type"] == "customer"][["experiment_id", "variant", "unit_id"]]
    new = set(customers["customer_id"])
    first = set(first_orders["customer_id"])
    units = units.assign(is_new=units["unit_id"].isin(new), is_first=units["unit_id"].isin(first))
    units["converted"] = units["is_new"] & units["is_first"]
    totals = units.groupby(["experiment_id", "variant"])[["is_new", "is_first", "converted"]].sum().astype(np.int64)
    totals = totals.sort_index().reset_index()
    return pd.DataFrame({
        PARTITION_COLUMN: pd.Timestamp(day),
        "experiment_id": totals["experiment_id"].astype(str).to_numpy(),
        "variant": totals["variant"].astype(str).to_numpy(),
        "new_customers": totals["is_new"].to_numpy(),
        "first_order_customers": totals["is_first"].to_numpy(),
        "converted_new_customers": totals["converted"].to_numpy(),
        "conversion_rate": floats(_round(ratio(c, n)) for c, n in zip(totals["converted"], totals["is_new"])),
    })


def signups_by_day_and_channel(customers: pd.DataFrame) -> pd.DataFrame:
    """Counts per business date x acquisition channel (the window the growth rates need)."""
    return customers.groupby([PARTITION_COLUMN, "acquisition_channel"]).size().rename("new_customers").reset_index()


def growth_rate(daily_totals: pd.Series, day: dt.date, days: int) -> float | None:
    """New customers of the ``days`` ending ``day`` over the ``days`` before, minus one."""
    end = pd.Timestamp(day)
    recent = pd.date_range(end - pd.Timedelta(days=days - 1), end)
    before = pd.date_range(end - pd.Timedelta(days=2 * days - 1), end - pd.Timedelta(days=days))
    if not set(recent).union(before).issubset(daily_totals.index):
        return None
    prior = int(daily_totals.loc[before].sum())
    return _round(ratio(int(daily_totals.loc[recent].sum()), prior) - 1) if prior else None


def aggregate_growth(signups: pd.DataFrame, loaded_dates: list, cumulative_customers: int,
                     spend_by_channel: dict[str, int], day: dt.date) -> pd.DataFrame:
    """Rows for ``all`` and each acquisition channel: new customers, marketing spend, CAC; the
    ``all`` row also carries cumulative customers and the 7- and 28-day growth rates.

    ``signups``: counts per date x channel over the look-back window; ``loaded_dates``: the dates
    of that window with a loaded partition (a day with no sign-ups is a zero, not a gap).
    """
    totals = signups.groupby(PARTITION_COLUMN)["new_customers"].sum()
    totals = totals.reindex(pd.to_datetime(loaded_dates), fill_value=0)
    today = signups[signups[PARTITION_COLUMN] == pd.Timestamp(day)].set_index("acquisition_channel")["new_customers"]
    channels = sorted(set(today.index) | {c for c, v in spend_by_channel.items() if c and c != ALL})
    rows = []
    total_new = int(today.sum())
    total_spend = int(sum(spend_by_channel.values()))
    rows.append({"acquisition_channel": ALL, "new_customers": total_new, "cumulative_customers": cumulative_customers,
                 "marketing_spend_usd": decimal_column([total_spend])[0], "cac_usd": _cac(total_spend, total_new),
                 "growth_7d": growth_rate(totals, day, 7), "growth_28d": growth_rate(totals, day, 28)})
    for channel in channels:
        new = int(today.get(channel, 0))
        spend = int(spend_by_channel.get(channel, 0))
        rows.append({"acquisition_channel": channel, "new_customers": new, "cumulative_customers": None,
                     "marketing_spend_usd": decimal_column([spend])[0],
                     "cac_usd": _cac(spend, new) if spend else None, "growth_7d": None, "growth_28d": None})
    frame = pd.DataFrame(rows)
    frame.insert(0, PARTITION_COLUMN, pd.Timestamp(day))
    frame["cumulative_customers"] = frame["cumulative_customers"].astype("Int64")
    frame["new_customers"] = frame["new_customers"].astype("int64")
    for column in ("growth_7d", "growth_28d"):
        frame[column] = floats(frame[column])
    return frame


def _cac(spend_cents: int, customers: int) -> Decimal | None:
    if not customers:
        return None
    return (Decimal(spend_cents) / Decimal(customers) * CENT).quantize(CENT, rounding=ROUND_HALF_EVEN)


def _round(value: float | None, places: int = 6) -> float | None:
    return None if value is None else round(value, places)
