"""COGS, gross and contribution profit, margins; per experiment variant and for the company.

- COGS: sold units (POS sale rows and completed online lines) x the unit cost, in USD at the
  business date's rate, of the product version effective on the date (effective_from <= date <=
  effective_to). Refunds do not reverse COGS (returned stock is not valued here).
- Gross profit = net revenue - COGS; contribution profit = gross profit - marketing spend (all
  platforms); margins are profit / net revenue (None when net revenue is zero).
- Per experiment variant: a customer's POS and online sales, POS refunds and online refunds
  (matched to the refunded order's customer) count for the customer's variant; a store's POS
  sales and refunds count for the store's variant in store experiments.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
import pandas as pd

from platform_assets.metrics.revenue import ONLINE
from platform_assets.money import CENT, decimal_column, ratio
from platform_assets.partitions import PARTITION_COLUMN


def effective_costs(products: pd.DataFrame, day: dt.date) -> pd.Series:
    """unit_cost_usd_cents per SKU of the version effective on ``day``."""
    d = pd.Timestamp(day)
    live = products[(products["effective_from"] <= d) & (products["effective_to"].isna() | (products["effective_to"] >= d))]
    return live.drop_duplicates("sku", keep="last").set_index("sku")["unit_cost_usd_cents"]


def sales_facts(pos_lines: pd.DataFrame, order_lines: pd.DataFrame, refunds: pd.DataFrame,
                costs: pd.Series) -> pd.DataFrame:
    """Every revenue-bearing row of the day in one shape: channel, customer_id, store_id, units,
    gross, discounts, refunds and cogs (cents). Voids and cancelled orders are left out."""
    sale = pos_lines[pos_lines["transaction_type"] == "sale"]
    pos_refund = pos_lines[pos_lines["transaction_type"] == "refund"]
    online = order_lines[order_lines["status"] == "completed"]

    def cogs(frame: pd.DataFrame) -> np.ndarray:
        unit = frame["sku"].map(costs)
        return (frame["quantity"].to_numpy() * unit.fillna(0).to_numpy()).astype(np.int64)

    def block(frame, channel, customer, store, units, gross, discount, refund, cost, missing):
        return pd.DataFrame({"channel": channel, "customer_id": customer, "store_id": store, "units": units,
                             "gross": gross, "discounts": discount, "refunds": refund, "cogs": cost,
                             "missing_cost": missing})

    n0 = np.zeros
    parts = [
        block(sale, "pos", sale["customer_id"].to_numpy(), sale["store_id"].to_numpy(), sale["quantity"].to_numpy(),
              sale["line_amount_usd_cents"].to_numpy(), sale["discount_usd_cents"].to_numpy(), n0(len(sale), np.int64),
              cogs(sale), ~sale["sku"].isin(costs.index).to_numpy()),
        block(pos_refund, "pos", pos_refund["customer_id"].to_numpy(), pos_refund["store_id"].to_numpy(),
              n0(len(pos_refund), np.int64), n0(len(pos_refund), np.int64), n0(len(pos_refund), np.int64),
              pos_refund["net_amount_usd_cents"].to_numpy(), n0(len(pos_refund), np.int64), n0(len(pos_refund), bool)),
        block(online, "online", online["customer_id"].to_numpy(), None, online["quantity"].to_numpy(),
              online["line_amount_usd_cents"].to_numpy(), online["discount_usd_cents"].to_numpy(),
              n0(len(online), np.int64), cogs(online), ~online["sku"].isin(costs.index).to_numpy()),
        block(refunds, "online", refunds["customer_id"].to_numpy() if "customer_id" in refunds else None, None,
              n0(len(refunds), np.int64), n0(len(refunds), np.int64), n0(len(refunds), np.int64),
              refunds["amount_usd_cents"].to_numpy(), n0(len(refunds), np.int64), n0(len(refunds), bool)),
    ]
    facts = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else parts[0]
    facts["net_revenue"] = facts["gross"] - facts["discounts"] - facts["refunds"]
    return facts


def _per_unit(profit_cents: int, units: int) -> Decimal | None:
    if not units:
        return None
    return (Decimal(int(profit_cents)) / Decimal(int(units)) * CENT).quantize(CENT, rounding=ROUND_HALF_EVEN)


def unit_level_profit(facts: pd.DataFrame, assignments: pd.DataFrame, day: dt.date) -> pd.DataFrame:
    """Per experiment x variant: units, net revenue, COGS, gross profit, gross profit per unit."""
    customer = assignments[assignments["unit_type"] == "customer"][["experiment_id", "variant", "unit_id"]]
    store = assignments[assignments["unit_type"] == "store"][["experiment_id", "variant", "unit_id"]]
    by_customer = facts.dropna(subset=["customer_id"]).merge(customer, left_on="customer_id", right_on="unit_id")
    by_store = facts[facts["channel"] == "pos"].dropna(subset=["store_id"]).merge(
        store, left_on="store_id", right_on="unit_id")
    joined = pd.concat([by_customer, by_store], ignore_index=True)
    measures = ["units", "net_revenue", "cogs"]
    totals = joined.groupby(["experiment_id", "variant"])[measures].sum() if len(joined) else \
        pd.DataFrame(columns=measures, index=pd.MultiIndex.from_tuples([], names=["experiment_id", "variant"]))
    grid = assignments[["experiment_id", "variant"]].drop_duplicates().set_index(["experiment_id", "variant"]).index
    totals = totals.reindex(grid.union(totals.index), fill_value=0).astype(np.int64).sort_index().reset_index()
    gross_profit = totals["net_revenue"] - totals["cogs"]
    return pd.DataFrame({
        PARTITION_COLUMN: pd.Timestamp(day),
        "experiment_id": totals["experiment_id"].astype(str).to_numpy(),
        "variant": totals["variant"].astype(str).to_numpy(),
        "units": totals["units"].to_numpy(),
        "net_revenue_usd": decimal_column(totals["net_revenue"]).to_numpy(),
        "cogs_usd": decimal_column(totals["cogs"]).to_numpy(),
        "gross_profit_usd": decimal_column(gross_profit).to_numpy(),
        "gross_profit_per_unit_usd": [_per_unit(p, u) for p, u in zip(gross_profit, totals["units"])],
    })


def aggregate_profit(net_revenue_cents: int, cogs_cents: int, marketing_cents: int, day: dt.date) -> pd.DataFrame:
    """The company's profit for the day: one row."""
    gross = net_revenue_cents - cogs_cents
    contribution = gross - marketing_cents
    return pd.DataFrame([{
        PARTITION_COLUMN: pd.Timestamp(day),
        "net_revenue_usd": decimal_column([net_revenue_cents])[0],
        "cogs_usd": decimal_column([cogs_cents])[0],
        "marketing_spend_usd": decimal_column([marketing_cents])[0],
        "gross_profit_usd": decimal_column([gross])[0],
        "contribution_profit_usd": decimal_column([contribution])[0],
        "gross_margin": _round(ratio(gross, net_revenue_cents)),
        "contribution_margin": _round(ratio(contribution, net_revenue_cents)),
    }]).astype({"gross_margin": "float64", "contribution_margin": "float64"})


def _round(value: float | None, places: int = 6) -> float | None:
    return None if value is None else round(value, places)


__all__ = ["ONLINE", "aggregate_profit", "effective_costs", "sales_facts", "unit_level_profit"]
