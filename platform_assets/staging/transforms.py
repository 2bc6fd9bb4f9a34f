"""Raw rows (strings as received) -> staging rows (typed, deduplicated, USD cents).

Plain pandas, no Dagster. Conventions (storage/frames.py): money is int64 cents; local amounts
keep their currency's minor units (``*_cents``, hundredths of the unit) and USD amounts are
``*_usd_cents``, converted row by row with the business date's rate (money.py).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from platform_assets.ingestion.readers import json_array_items, json_text
from platform_assets.money import convert_to_usd_cents, rate_units, to_units
from platform_assets.partitions import PARTITION_COLUMN
from platform_assets.storage.frames import keep_rows, utc_timestamps

STRING = pd.StringDtype("pyarrow")
FX_LOOKBACK_DAYS = 7


class MissingRate(Exception):
    """A currency in the data has no FX rate on or before the business date."""


@dataclass
class CleanStats:
    rows_in: int = 0
    exact_duplicates: int = 0
    conflicting_duplicates: int = 0
    rows_out: int = 0
    notes: list[str] = field(default_factory=list)

    def check_stats(self) -> dict:
        """What the duplicates check reads."""
        return {"rows_in": self.rows_in, "exact_duplicates": self.exact_duplicates,
                "conflicting_duplicates": self.conflicting_duplicates}

    def as_metadata(self) -> dict:
        return {"rows_in": self.rows_in, "exact_duplicates_removed": self.exact_duplicates,
                "conflicting_duplicates_resolved": self.conflicting_duplicates, "rows": self.rows_out}


def dedupe(frame: pd.DataFrame, key: list[str], value_columns: list[str], stats: CleanStats) -> pd.DataFrame:
    """Drop rows sent more than once: identical rows silently, conflicting versions of the same
    business key by keeping the last delivered (counted, so a check can flag them).

    Keys are compared as exact integer codes (factorized columns, no hashing), so only rows that
    really share a key become candidates; only the candidates are ordered by delivery and compared
    on their values (a million POS lines: 0.1 s to find 0.5% candidates, where hashing every row and
    sorting the whole frame took 0.9 s)."""
    stats.rows_in = len(frame)
    if frame.empty:
        return frame
    same_key = pd.Series(key_codes(frame, key)).duplicated(keep=False).to_numpy()
    if not same_key.any():
        return frame
    candidates = frame[same_key]
    if "_file" in candidates:
        candidates = candidates.sort_values(["_file", "_row"], kind="stable")
    columns = key + [c for c in value_columns if c not in key]
    exact = candidates.duplicated(subset=columns, keep="last")
    stats.exact_duplicates = int(exact.sum())
    remaining = candidates[~exact]
    conflict = remaining.duplicated(subset=key, keep="last")
    stats.conflicting_duplicates = int(conflict.sum())
    drop = exact[exact].index.union(remaining[conflict].index)
    return keep_rows(frame, ~frame.index.isin(drop))


def key_codes(frame: pd.DataFrame, key: list[str]) -> np.ndarray:
    """One int64 per row, equal exactly when every key column is equal (missing equals missing):
    each column's codes (< its distinct values) appended as one more digit. The codes are made dense
    again only when another digit could overflow int64 (factorizing them once a column cost as
    much as factorizing the strings: 0.66 s -> 0.3 s for a million POS lines' two key columns)."""
    codes, bound = np.zeros(len(frame), dtype=np.int64), 1  # every code < bound
    for name in key:
        column_codes, uniques = pd.factorize(frame[name], use_na_sentinel=False)
        width = max(len(uniques), 1)
        if bound > np.iinfo(np.int64).max // width:
            codes, dense = pd.factorize(codes)
            bound = max(len(dense), 1)
        codes, bound = codes * width + column_codes, bound * width
    return codes


def column(series: pd.Series) -> pd.Series:
    """A column for a new frame: same values and dtype, fresh index (no copy through numpy)."""
    return series.reset_index(drop=True)


def _partition(n: int, day: dt.date) -> pd.Series:
    return pd.Series(np.full(n, np.datetime64(day, "ns")))


# ---------------------------------------------------------------------------------------------
# Reference data
# ---------------------------------------------------------------------------------------------

def effective_fx_rates(raw_window: pd.DataFrame, day: dt.date) -> pd.DataFrame:
    """Per currency, the rate to use on ``day``: the latest rate_date on or before it among the
    deliveries of the look-back window; older than the day means a fallback (and a warning).

    Columns: business_date, currency, usd_per_unit_e8, rate_date, age_days, is_fallback.
    """
    cols = ["business_date", "currency", "usd_per_unit_e8", "rate_date", "age_days", "is_fallback"]
    if raw_window.empty:
        return pd.DataFrame(columns=cols)
    frame = pd.DataFrame({
        "currency": raw_window["currency"].str.strip().str.upper(),
        "rate_date": pd.to_datetime(raw_window["rate_date"], format="%Y-%m-%d"),
        "usd_per_unit_e8": rate_units(raw_window["usd_per_unit"]),
        "delivered": pd.to_datetime(raw_window[PARTITION_COLUMN]),
    })
    frame = frame[(frame["rate_date"] <= pd.Timestamp(day)) & (frame["currency"] != "USD")]
    # USD is the reporting currency: its rate is 1 by definition, never a fallback.
    usd = pd.DataFrame({"currency": ["USD"], "rate_date": [pd.Timestamp(day)], "usd_per_unit_e8": [10**8],
                        "delivered": [pd.Timestamp(day)]})
    frame = pd.concat([frame, usd], ignore_index=True)
    # Latest rate_date wins; for the same rate_date, the latest delivery (a correction) wins.
    frame = frame.sort_values(["currency", "rate_date", "delivered"]).groupby("currency", as_index=False).last()
    frame["age_days"] = (pd.Timestamp(day) - frame["rate_date"]).dt.days.astype(np.int64)
    frame["is_fallback"] = frame["age_days"] > 0
    frame["business_date"] = pd.Timestamp(day)
    return frame[cols].reset_index(drop=True)


def rates_for(currency: pd.Series, rates: pd.DataFrame, what: str, day: dt.date) -> np.ndarray:
    """usd_per_unit_e8 for each row's (upper-cased) currency, or MissingRate naming them."""
    codes, uniques = pd.factorize(currency)  # a handful of codes: normalize those, not every row
    normalized = [str(u).strip().upper() for u in uniques]
    table = dict(zip(rates["currency"], rates["usd_per_unit_e8"]))
    missing = sorted({u for u in normalized if u not in table})
    if missing:
        raise MissingRate(f"{what} {day}: no FX rate for {', '.join(missing)} on or before {day} "
                          f"(looked back {FX_LOOKBACK_DAYS} days in raw_fx_rates); load the rates, then re-run")
    lookup = np.array([table[u] for u in normalized], dtype=np.int64)
    return lookup[codes] if len(codes) else np.array([], dtype=np.int64)


def products(raw: pd.DataFrame, rates: pd.DataFrame, day: dt.date) -> tuple[pd.DataFrame, CleanStats]:
    """Product cost versions with their validity window and the cost in USD on ``day``."""
    stats = CleanStats()
    raw = dedupe(raw, ["sku", "effective_from"], ["category", "unit_cost", "currency"], stats)
    cost = to_units(raw["unit_cost"])
    frame = pd.DataFrame({
        "sku": raw["sku"].astype(STRING).to_numpy(),
        "category": raw["category"].astype(STRING).to_numpy(),
        "effective_from": pd.to_datetime(raw["effective_from"], format="%Y-%m-%d").to_numpy(),
        "currency": raw["currency"].str.upper().to_numpy(),
        "unit_cost_cents": cost,
        "unit_cost_usd_cents": convert_to_usd_cents(cost, rates_for(raw["currency"], rates, "stg_products", day)),
    })
    frame = frame.sort_values(["sku", "effective_from"], kind="stable").reset_index(drop=True)
    nxt = frame.groupby("sku")["effective_from"].shift(-1)
    frame["effective_to"] = nxt - pd.Timedelta(days=1)
    frame["sku"] = frame["sku"].astype(STRING)
    frame["category"] = frame["category"].astype(STRING)
    frame["currency"] = frame["currency"].astype(STRING)
    frame[PARTITION_COLUMN] = pd.Timestamp(day)
    stats.rows_out = len(frame)
    return frame, stats


# ---------------------------------------------------------------------------------------------
# Sales
# ---------------------------------------------------------------------------------------------

POS_VALUE_COLUMNS = ["store_id", "region", "register_id", "business_date", "transacted_at", "transaction_type",
                     "quantity", "unit_price", "discount_amount", "tax_amount", "currency", "payment_method",
                     "customer_id"]


def pos_lines(raw: pd.DataFrame, rates: pd.DataFrame, day: dt.date) -> tuple[pd.DataFrame, CleanStats]:
    """POS lines: typed, deduplicated on (transaction_id, sku), every amount also in USD cents.

    ``line_amount_usd_cents`` = quantity x unit_price, ``discount_usd_cents`` = discount and
    ``net_amount_usd_cents`` = quantity x unit_price - discount, each converted as one amount.
    """
    stats = CleanStats()
    raw = dedupe(raw, ["transaction_id", "sku"], POS_VALUE_COLUMNS, stats)
    qty = to_units(raw["quantity"], 0)
    price = to_units(raw["unit_price"])
    discount = to_units(raw["discount_amount"])
    tax = to_units(raw["tax_amount"])
    rate = rates_for(raw["currency"], rates, "stg_pos_lines", day)
    line_amount = qty * price
    customer = raw["customer_id"].str.strip()
    frame = pd.DataFrame({
        "transaction_id": column(raw["transaction_id"]),
        "store_id": column(raw["store_id"]),
        "region": column(raw["region"]),
        "register_id": column(raw["register_id"]),
        "transacted_at": column(utc_timestamps(raw["transacted_at"])),
        "transaction_type": column(raw["transaction_type"]),
        "sku": column(raw["sku"]),
        "quantity": qty,
        "currency": column(raw["currency"].str.strip().str.upper()),
        "unit_price_cents": price,
        "discount_cents": discount,
        "tax_cents": tax,
        "usd_per_unit_e8": rate,
        "line_amount_usd_cents": convert_to_usd_cents(line_amount, rate),
        "discount_usd_cents": convert_to_usd_cents(discount, rate),
        "net_amount_usd_cents": convert_to_usd_cents(line_amount - discount, rate),
        "tax_usd_cents": convert_to_usd_cents(tax, rate),
        "payment_method": column(raw["payment_method"]),
        "customer_id": column(customer.where(customer.str.len() > 0, None)),
        "_batch_id": column(raw["_batch_id"]),
    }, copy=False)  # no copy of the int64 columns into one block (0.3 s): each is written and checked alone
    _strings(frame, ["transaction_id", "store_id", "region", "register_id", "transaction_type", "sku", "currency",
                     "payment_method", "customer_id", "_batch_id"])
    frame[PARTITION_COLUMN] = pd.Timestamp(day)
    stats.rows_out = len(frame)
    return frame, stats


def _strings(frame: pd.DataFrame, columns: list[str]) -> None:
    for c in columns:
        if frame[c].dtype != STRING:
            frame[c] = frame[c].astype(STRING)


ORDER_VALUE_COLUMNS = ["customer_id", "channel", "ordered_at", "status", "currency", "tax_amount",
                       "shipping_amount", "lines"]


def orders(raw: pd.DataFrame, rates: pd.DataFrame, day: dt.date) -> tuple[pd.DataFrame, pd.DataFrame, CleanStats]:
    """Online orders (one row each) and their lines, deduplicated on order_id, in USD cents."""
    stats = CleanStats()
    raw = dedupe(raw, ["order_id"], ORDER_VALUE_COLUMNS, stats).reset_index(drop=True)
    rate = rates_for(raw["currency"], rates, "stg_orders", day)
    n_lines, items = order_line_values(raw["lines"])
    idx = np.repeat(np.arange(len(raw)), n_lines)
    flat = int(n_lines.sum())
    qty = to_units(items["quantity"], 0) if flat else np.array([], np.int64)
    price = to_units(items["unit_price"]) if flat else np.array([], np.int64)
    discount = to_units(items["discount_amount"]) if flat else np.array([], np.int64)
    line_rate = rate[idx]
    line_amount_usd = convert_to_usd_cents(qty * price, line_rate)
    discount_usd = convert_to_usd_cents(discount, line_rate)
    ordered_at = utc_timestamps(raw["ordered_at"])
    status = raw["status"].to_numpy()
    lines = pd.DataFrame({
        "order_id": raw["order_id"].to_numpy()[idx],
        "line_number": (np.arange(flat) - np.repeat(np.cumsum(n_lines) - n_lines, n_lines) + 1).astype(np.int32),
        "sku": items["sku"].to_numpy(),
        "quantity": qty,
        "unit_price_cents": price,
        "discount_cents": discount,
        "line_amount_usd_cents": line_amount_usd,
        "discount_usd_cents": discount_usd,
        "status": status[idx],
        "customer_id": raw["customer_id"].to_numpy()[idx],
        "channel": raw["channel"].to_numpy()[idx],
    })
    _strings(lines, ["order_id", "sku", "status", "customer_id", "channel"])
    lines[PARTITION_COLUMN] = pd.Timestamp(day)
    gross = np.bincount(idx, weights=line_amount_usd, minlength=len(raw)).astype(np.int64)
    disc = np.bincount(idx, weights=discount_usd, minlength=len(raw)).astype(np.int64)
    units = np.bincount(idx, weights=qty, minlength=len(raw)).astype(np.int64)
    frame = pd.DataFrame({
        "order_id": column(raw["order_id"]),
        "customer_id": column(raw["customer_id"]),
        "channel": raw["channel"].to_numpy(),
        "ordered_at": ordered_at,
        "status": status,
        "currency": raw["currency"].str.strip().str.upper().to_numpy(),
        "usd_per_unit_e8": rate,
        "line_count": n_lines,
        "units": units,
        "gross_usd_cents": gross,
        "discount_usd_cents": disc,
        "tax_usd_cents": convert_to_usd_cents(to_units(raw["tax_amount"]), rate),
        "shipping_usd_cents": convert_to_usd_cents(to_units(raw["shipping_amount"]), rate),
        "_batch_id": column(raw["_batch_id"]),
    })
    _strings(frame, ["order_id", "customer_id", "channel", "status", "currency", "_batch_id"])
    frame[PARTITION_COLUMN] = pd.Timestamp(day)
    stats.rows_out = len(frame)
    return frame, lines, stats


ORDER_LINE_KEYS = ("sku", "quantity", "unit_price", "discount_amount")


def order_line_values(texts: pd.Series) -> tuple[np.ndarray, dict[str, pd.Series]]:
    """Lines per order, and each line key's values over all lines in order, as ``json_text`` gives
    them (the SKU as parsed), from the orders' JSON arrays: in one Arrow pass where that gives what
    json.loads gives (``json_array_items``; a SKU parsed as a number is the same text once the
    column is made strings), else row by row."""
    parsed = json_array_items(texts)
    if parsed is not None and set(ORDER_LINE_KEYS) <= set(parsed[1]):
        return parsed
    orders = [json.loads(x) for x in texts.tolist()]
    flat = [item for lines in orders for item in lines]
    values = {k: pd.Series([json_text(i[k]) for i in flat], dtype=object) for k in ORDER_LINE_KEYS[1:]}
    return np.array([len(lines) for lines in orders], dtype=np.int64), \
        {"sku": pd.Series([i["sku"] for i in flat], dtype=object), **values}


REFUND_ORDER_LOOKBACK_DAYS = 30


def refunds(raw: pd.DataFrame, rates: pd.DataFrame, day: dt.date,
            recent_orders: pd.DataFrame | None = None) -> tuple[pd.DataFrame, CleanStats]:
    """Online refunds on their own business date, deduplicated on refund_id, in USD cents.

    ``recent_orders`` (order_id, customer_id, business_date of the last 30 days of orders) adds
    the refunded order's customer and date; refunds of unknown or older orders keep them null.
    """
    stats = CleanStats()
    raw = dedupe(raw, ["refund_id"], ["order_id", "refunded_at", "amount", "currency", "reason"], stats)
    amount = to_units(raw["amount"])
    rate = rates_for(raw["currency"], rates, "stg_refunds", day)
    frame = pd.DataFrame({
        "refund_id": column(raw["refund_id"]),
        "order_id": column(raw["order_id"]),
        "refunded_at": column(utc_timestamps(raw["refunded_at"])),
        "currency": column(raw["currency"].str.strip().str.upper()),
        "amount_cents": amount,
        "usd_per_unit_e8": rate,
        "amount_usd_cents": convert_to_usd_cents(amount, rate),
        "reason": column(raw["reason"]),
        "_batch_id": column(raw["_batch_id"]),
    })
    if recent_orders is not None and len(recent_orders):
        lookup = recent_orders.drop_duplicates("order_id", keep="last").set_index("order_id")
        frame["customer_id"] = frame["order_id"].map(lookup["customer_id"]).to_numpy()
        frame["order_business_date"] = frame["order_id"].map(lookup["business_date"]).to_numpy()
    else:
        frame["customer_id"] = None
        frame["order_business_date"] = pd.NaT
    frame["order_business_date"] = pd.to_datetime(frame["order_business_date"])
    stats.notes.append(f"{int(frame['customer_id'].isna().sum())} refund(s) of orders not found in the last "
                       f"{REFUND_ORDER_LOOKBACK_DAYS} days")
    _strings(frame, ["refund_id", "order_id", "currency", "reason", "_batch_id", "customer_id"])
    frame[PARTITION_COLUMN] = pd.Timestamp(day)
    stats.rows_out = len(frame)
    return frame, stats


def gl_entries(raw: pd.DataFrame, rates: pd.DataFrame, day: dt.date) -> tuple[pd.DataFrame, CleanStats]:
    """Ledger entries by entity and account, amounts in USD cents."""
    stats = CleanStats()
    raw = dedupe(raw, ["entry_id"], ["gl_date", "entity", "account", "amount", "currency"], stats)
    amount = to_units(raw["amount"])
    rate = rates_for(raw["currency"], rates, "stg_gl_entries", day)
    frame = pd.DataFrame({
        "entry_id": column(raw["entry_id"]),
        "entity": column(raw["entity"]),
        "account": column(raw["account"]),
        "currency": column(raw["currency"].str.upper()),
        "amount_cents": amount,
        "amount_usd_cents": convert_to_usd_cents(amount, rate),
        "_batch_id": column(raw["_batch_id"]),
    })
    _strings(frame, ["entry_id", "entity", "account", "currency", "_batch_id"])
    frame[PARTITION_COLUMN] = pd.Timestamp(day)
    stats.rows_out = len(frame)
    return frame, stats


# ---------------------------------------------------------------------------------------------
# Customers, events, experiments
# ---------------------------------------------------------------------------------------------

def customers(raw: pd.DataFrame, day: dt.date) -> tuple[pd.DataFrame, CleanStats]:
    stats = CleanStats()
    raw = dedupe(raw, ["customer_id"], ["signup_at", "acquisition_channel", "country"], stats)
    frame = pd.DataFrame({
        "customer_id": column(raw["customer_id"]),
        "signup_at": column(utc_timestamps(raw["signup_at"])),
        "acquisition_channel": column(raw["acquisition_channel"].str.strip().str.lower()),
        "country": column(raw["country"].str.strip().str.upper()),
        "_batch_id": column(raw["_batch_id"]),
    })
    _strings(frame, ["customer_id", "acquisition_channel", "country", "_batch_id"])
    frame[PARTITION_COLUMN] = pd.Timestamp(day)
    stats.rows_out = len(frame)
    return frame, stats


def app_events(raw: pd.DataFrame, day: dt.date) -> tuple[pd.DataFrame, CleanStats]:
    stats = CleanStats()
    raw = dedupe(raw, ["event_id"], ["user_id", "session_id", "event_type", "occurred_at", "platform"], stats)
    frame = pd.DataFrame({
        "event_id": column(raw["event_id"]),
        "user_id": column(raw["user_id"]),
        "session_id": column(raw["session_id"]),
        "event_type": column(raw["event_type"]),
        "occurred_at": column(utc_timestamps(raw["occurred_at"])),
        "platform": column(raw["platform"]),
    })
    _strings(frame, ["event_id", "user_id", "session_id", "event_type", "platform"])
    frame[PARTITION_COLUMN] = pd.Timestamp(day)
    stats.rows_out = len(frame)
    return frame, stats


def active_users(events: pd.DataFrame, day: dt.date) -> pd.DataFrame:
    """One row per user and platform active on the day, with their sessions and events: the
    small table WAU and MAU are computed from (instead of re-reading 28 days of events)."""
    grouped = events.groupby(["user_id", "platform"], observed=True).agg(
        sessions=("session_id", "nunique"), events=("event_id", "size")).reset_index()
    grouped["sessions"] = grouped["sessions"].astype(np.int64)
    grouped["events"] = grouped["events"].astype(np.int64)
    _strings(grouped, ["user_id", "platform"])
    grouped[PARTITION_COLUMN] = pd.Timestamp(day)
    return grouped


def experiment_assignments(raw: pd.DataFrame, day: dt.date) -> tuple[pd.DataFrame, CleanStats]:
    stats = CleanStats()
    raw = dedupe(raw, ["experiment_id", "unit_type", "unit_id"], ["variant", "assigned_at"], stats)
    frame = pd.DataFrame({
        "experiment_id": column(raw["experiment_id"]),
        "unit_type": column(raw["unit_type"]),
        "unit_id": column(raw["unit_id"]),
        "variant": column(raw["variant"]),
        "assigned_at": column(utc_timestamps(raw["assigned_at"])),
    })
    _strings(frame, ["experiment_id", "unit_type", "unit_id", "variant"])
    frame[PARTITION_COLUMN] = pd.Timestamp(day)
    stats.rows_out = len(frame)
    return frame, stats


def first_orders(orders_of_day: pd.DataFrame, earlier_customers: pd.Series | AbstractSet[str], day: dt.date
                 ) -> pd.DataFrame:
    """Customers whose first completed online order (since the platform's history starts) is on
    ``day``: completed orders of the day minus customers seen in earlier partitions (a set is
    looked up as it is: a backfill keeps one and adds each date's customers)."""
    completed = orders_of_day[orders_of_day["status"] == "completed"].sort_values("ordered_at", kind="stable")
    firsts = completed.drop_duplicates("customer_id", keep="first")
    seen = earlier_customers if isinstance(earlier_customers, AbstractSet) else set(earlier_customers.tolist())
    firsts = firsts[[c not in seen for c in firsts["customer_id"].tolist()]]
    frame = pd.DataFrame({
        "customer_id": firsts["customer_id"].to_numpy(),
        "first_order_id": firsts["order_id"].to_numpy(),
        "first_ordered_at": firsts["ordered_at"].to_numpy(),
        "channel": firsts["channel"].to_numpy(),
    })
    frame["first_ordered_at"] = pd.to_datetime(frame["first_ordered_at"], utc=True)
    _strings(frame, ["customer_id", "first_order_id", "channel"])
    frame[PARTITION_COLUMN] = pd.Timestamp(day)
    return frame


# ---------------------------------------------------------------------------------------------
# Marketing
# ---------------------------------------------------------------------------------------------

SPEND_COLUMNS = ["platform", "channel", "acquisition_channel", "campaign_id", "campaign_name", "spend_usd_cents", "impressions", "clicks",
                 "conversions"]
ENGAGEMENT_COLUMNS = ["platform", "channel", "campaign_id", "sends", "opens", "clicks", "conversions",
                      "revenue_attributed_usd_cents", "reviews", "rating_sum"]


@dataclass(frozen=True)
class Platform:
    """What a marketing platform module declares about itself."""

    channel: str                    # paid_social, email, sms, reviews
    acquisition_channel: str | None  # the sign-up channel its spend buys (for CAC by channel)


def marketing(normalized: dict[str, tuple[Platform, dict[str, pd.DataFrame]]], rates: pd.DataFrame,
              day: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Combine each platform's normalized rows into the common spend and engagement tables.

    ``normalized``: platform -> (Platform, {"spend": frame, "engagement": frame}) as returned by
    each platform module's ``normalize``; amounts are converted to USD here.
    """
    spend_parts, engagement_parts = [], []
    for platform, (info, parts) in sorted(normalized.items()):
        channel = info.channel
        spend = parts.get("spend")
        if spend is not None and len(spend):
            rate = rates_for(spend["currency"].astype(STRING), rates, f"stg_marketing_spend ({platform})", day)
            spend_parts.append(pd.DataFrame({
                "platform": platform, "channel": channel, "acquisition_channel": info.acquisition_channel or "",
                "campaign_id": spend["campaign_id"].to_numpy(), "campaign_name": spend["campaign_name"].to_numpy(),
                "spend_usd_cents": convert_to_usd_cents(spend["spend_cents"], rate),
                "impressions": spend["impressions"], "clicks": spend["clicks"], "conversions": spend["conversions"],
            }))
        engagement = parts.get("engagement")
        if engagement is not None and len(engagement):
            rate = rates_for(engagement["currency"].astype(STRING), rates, f"stg_marketing_engagement ({platform})", day)
            engagement_parts.append(pd.DataFrame({
                "platform": platform, "channel": channel, "campaign_id": engagement["campaign_id"].to_numpy(),
                "sends": engagement["sends"], "opens": engagement["opens"], "clicks": engagement["clicks"],
                "conversions": engagement["conversions"],
                "revenue_attributed_usd_cents": convert_to_usd_cents(engagement["revenue_attributed_cents"], rate),
                "reviews": engagement.get("reviews", pd.Series(np.zeros(len(engagement), np.int64))).to_numpy(),
                "rating_sum": engagement.get("rating_sum", pd.Series(np.zeros(len(engagement), np.int64))).to_numpy(),
            }))
    spend = _combine(spend_parts, SPEND_COLUMNS, day)
    engagement = _combine(engagement_parts, ENGAGEMENT_COLUMNS, day)
    return spend, engagement


def _combine(parts: list[pd.DataFrame], columns: list[str], day: dt.date) -> pd.DataFrame:
    if parts:
        frame = pd.concat(parts, ignore_index=True)
    else:
        frame = pd.DataFrame({c: pd.Series([], dtype=np.int64) for c in columns})
    for c in columns:
        if c in ("platform", "channel", "acquisition_channel", "campaign_id", "campaign_name"):
            frame[c] = frame[c].astype(STRING)
        else:
            frame[c] = frame[c].astype(np.int64)
    frame = frame[columns].copy()
    frame[PARTITION_COLUMN] = pd.Timestamp(day)
    return frame
