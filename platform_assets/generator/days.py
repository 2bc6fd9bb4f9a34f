"""One business day of every source, as the upstream systems would export it.

Each builder returns the files of one (source, day). Builders of money sources also add the
clean truth (USD cents, computed from the rows before any defect is injected) to ``Day.truth``;
the ledger export (gl_entries) is built from that truth, so it reconciles with the transactions
except on the days the mess plan makes it disagree.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from platform_assets.generator import fmt
from platform_assets.generator.mess import MessPlan
from platform_assets.generator.world import (
    CURRENCIES, EPOCH, EXPERIMENTS, World, day_number, hash_unit, rng,
)

NY = ZoneInfo("America/New_York")
CUR = np.array(CURRENCIES)
CODE = {c: i for i, c in enumerate(CURRENCIES)}


@dataclass
class GeneratedFile:
    name: str
    data: bytes
    rows: int


@dataclass
class Day:
    """What the generator knows while building one business day."""

    world: World
    plan: MessPlan
    day: dt.date
    index: int                 # days since --start
    first_day: dt.date         # --start: nothing earlier exists in the landing zone
    # truth[entity][account] = USD cents, clean rows only
    truth: dict = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))

    @property
    def seed(self) -> int:
        return self.world.seed

    def on(self, days: tuple[int, ...]) -> bool:
        return self.plan.on(days, self.index)

    def at(self, day: dt.date) -> Day:
        return Day(self.world, self.plan, day, self.index + (day - self.day).days, self.first_day)

    def ny_midnight(self, day: dt.date | None = None) -> int:
        d = day or self.day
        return int(dt.datetime(d.year, d.month, d.day, tzinfo=NY).timestamp())

    def ny_day_seconds(self) -> int:
        return self.ny_midnight(self.day + dt.timedelta(days=1)) - self.ny_midnight()

    def fx(self) -> dict[str, str]:
        return self.world.fx_rates(self.day)


# ---------------------------------------------------------------------------------------------
# Serialization
# ---------------------------------------------------------------------------------------------

def csv_file(name: str, columns: dict, *, bom: bool = False, crlf: bool = False) -> GeneratedFile:
    table = pa.table(columns)
    buf = io.BytesIO()
    pcsv.write_csv(table, buf, pcsv.WriteOptions(quoting_style="needed"))
    data = buf.getvalue()
    if crlf:
        data = data.replace(b"\n", b"\r\n")
    if bom:
        data = b"\xef\xbb\xbf" + data
    return GeneratedFile(name, data, table.num_rows)


def jsonl_file(name: str, lines: pa.Array) -> GeneratedFile:
    if len(lines) == 0:
        return GeneratedFile(name, b"", 0)
    data = ("\n".join(lines.to_pylist()) + "\n").encode()
    return GeneratedFile(name, data, len(lines))


def json_list_file(name: str, records: list[dict]) -> GeneratedFile:
    return GeneratedFile(name, json.dumps(records, indent=1).encode(), len(records))


# ---------------------------------------------------------------------------------------------
# Money: the ledger's rule (convert each row to USD, round half to even to the cent)
# ---------------------------------------------------------------------------------------------

def rate_e8(rate_text: str) -> int:
    whole, _, frac = rate_text.partition(".")
    return int(whole) * 10**8 + int((frac + "0" * 8)[:8])


def to_usd_cents(local_cents: np.ndarray, rates_e8: np.ndarray) -> np.ndarray:
    product = np.asarray(local_cents, dtype=np.int64) * np.asarray(rates_e8, dtype=np.int64)
    q, r = np.divmod(product, 10**8)
    return q + ((2 * r > 10**8) | ((2 * r == 10**8) & (q % 2 == 1)))


def local_prices(usd_cents: np.ndarray, codes: np.ndarray, rates: dict[str, str]) -> np.ndarray:
    """Shelf price in local currency at today's rate; whole units for JPY."""
    rate = np.array([float(rates[c]) for c in CURRENCIES])[codes]
    local = usd_cents / rate
    return np.where(codes == CODE["JPY"], np.round(local / 100) * 100, np.round(local)).astype(np.int64)


# ---------------------------------------------------------------------------------------------
# FX and products (reference data)
# ---------------------------------------------------------------------------------------------

def fx_rows(d: Day) -> list[tuple[str, str, str]]:
    """(rate_date, currency, usd_per_unit) rows of the FX export for d.day."""
    if d.on(d.plan.stale_fx_days):
        # The provider stopped updating: it re-sends the rates of the last good day.
        last_good = d.day
        while d.at(last_good).on(d.plan.stale_fx_days) and last_good > d.first_day:
            last_good -= dt.timedelta(days=1)
        rates = d.world.fx_rates(last_good)
        return [(last_good.isoformat(), c, rates[c]) for c in CURRENCIES]
    rates = d.fx()
    rows = [(d.day.isoformat(), c, rates[c]) for c in CURRENCIES]
    if d.on(d.plan.missing_fx_days):
        rows = [r for r in rows if r[1] != "GBP"]
    return rows


def effective_rates_e8(d: Day) -> np.ndarray:
    """Per currency code, the rate the close must use: latest rate_date <= the day, from the
    exports that exist (7-day look-back), as the contract says."""
    best: dict[str, tuple[str, str]] = {}
    for back in range(7, -1, -1):
        day = d.day - dt.timedelta(days=back)
        if day < d.first_day:
            continue
        for rate_date, cur, rate in fx_rows(d.at(day)):
            if rate_date <= d.day.isoformat() and (cur not in best or rate_date >= best[cur][0]):
                best[cur] = (rate_date, rate)
    return np.array([rate_e8(best[c][1]) for c in CURRENCIES], dtype=np.int64)


def build_fx(d: Day) -> list[GeneratedFile]:
    rows = fx_rows(d)
    return [csv_file("fx_rates.csv", {
        "rate_date": [r[0] for r in rows], "currency": [r[1] for r in rows], "usd_per_unit": [r[2] for r in rows],
    })]


def products_snapshot_day(d: Day) -> dt.date:
    return d.day - dt.timedelta(days=40) if d.on(d.plan.stale_products_days) else d.day


def build_products(d: Day) -> list[GeneratedFile]:
    w = d.world
    as_of = products_snapshot_day(d)
    current = w.sku_revision(as_of)
    sku_idx = np.repeat(np.arange(w.scale.skus), current + 1)
    revision = np.concatenate([np.arange(r + 1) for r in current]) if len(current) else np.array([], int)
    # The first version of every SKU predates the epoch.
    effective = np.where(revision == 0, -200, w.revision_start(revision, sku_idx))
    eff_dates = (np.datetime64(EPOCH.isoformat()) + effective.astype("timedelta64[D]")).astype(str)
    cost = w.sku_cost_cents(revision, sku_idx)
    s = w.skus
    return [csv_file("products.csv", {
        "sku": s["sku"][sku_idx],
        "category": s["category"][sku_idx],
        "unit_cost": fmt.money(cost),
        "currency": s["cost_currency"][sku_idx],
        "effective_from": eff_dates,
    })]


def cost_usd_cents(d: Day, sku_idx: np.ndarray, rates: np.ndarray) -> np.ndarray:
    """Unit cost in USD cents of the product version effective on the day (for the GL's cogs)."""
    w = d.world
    rev = w.sku_revision(d.day)[sku_idx]
    cost = w.sku_cost_cents(rev, sku_idx)
    codes = np.where(w.skus["cost_currency"][sku_idx] == "EUR", CODE["EUR"], CODE["USD"])
    return to_usd_cents(cost, rates[codes])


# ---------------------------------------------------------------------------------------------
# Point of sale
# ---------------------------------------------------------------------------------------------

POS_COLUMNS = (
    "transaction_id", "store_id", "region", "register_id", "business_date", "transacted_at",
    "transaction_type", "sku", "quantity", "unit_price", "discount_amount", "tax_amount", "currency",
    "payment_method", "customer_id",
)


def _tz_offset_seconds(tz: str, day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, 12, tzinfo=ZoneInfo(tz)).utcoffset().total_seconds())


def build_pos(d: Day) -> list[GeneratedFile]:
    w, r = d.world, rng(d.seed, d.day, "pos")
    stores, skus = w.stores, w.skus
    weekday = (0.85, 0.9, 0.9, 0.95, 1.1, 1.3, 1.2)[d.day.weekday()]
    n_tx = max(int(w.scale.pos_rows / 2.5 * weekday), 10)

    store = r.choice(len(stores["store_id"]), n_tx, p=stores["weight"])
    tx_type = r.choice(3, n_tx, p=[0.93, 0.04, 0.03])  # sale, refund, void
    n_customers = w.customers_before(d.day + dt.timedelta(days=1))
    walk_in = r.random(n_tx) < d.plan.walk_in_rate if d.plan.walk_in_rate else r.random(n_tx) < 0.4
    customer = r.integers(1, n_customers + 1, n_tx)
    payment = r.choice(4, n_tx, p=[0.6, 0.2, 0.15, 0.05])
    local_seconds = r.integers(8 * 3600, 21 * 3600, n_tx)
    register = r.integers(1, 7, n_tx)
    lines = np.minimum(1 + r.poisson(1.5, n_tx), 6)

    # Expand transactions into lines.
    t = np.repeat(np.arange(n_tx), lines)
    line_no = np.arange(len(t)) - np.repeat(np.cumsum(lines) - lines, lines)
    first_sku = r.choice(len(skus["sku"]), n_tx, p=skus["weight"])
    sku = (first_sku[t] + line_no * 7) % len(skus["sku"])  # distinct SKUs within a transaction
    qty = r.choice([1, 2, 3, 4], len(t), p=[0.7, 0.18, 0.08, 0.04])
    codes = np.array([CODE[c] for c in stores["currency"]])[store[t]]
    price = local_prices(w.list_price_usd_cents(d.day)[sku], codes, d.fx())
    amount = qty * price
    discounted = r.random(len(t)) < 0.2
    discount = np.where(discounted, np.round(amount * r.uniform(0.05, 0.3, len(t))), 0).astype(np.int64)
    region = stores["region"][store[t]]
    tax_rate = np.select([region == "AMER", region == "EMEA"], [0.08, 0.20], 0.10)
    tax = np.round((amount - discount) * tax_rate).astype(np.int64)

    # Rows the export will corrupt (negative quantity, missing price) are decided first: the
    # ledger is built from the rows that stay valid, as finance books them.
    negative, missing = _pos_invalid_rows(d, region)
    valid = ~(negative | missing)

    # Clean truth for the ledger: sales and refunds per region in USD cents.
    rates = effective_rates_e8(d)
    kind = tx_type[t]
    usd_rate = rates[codes]
    for reg in ("AMER", "EMEA", "APAC"):
        m = (region == reg) & valid
        sale, refund = m & (kind == 0), m & (kind == 1)
        d.truth[reg]["revenue"] += int(to_usd_cents(amount[sale], usd_rate[sale]).sum()
                                       - to_usd_cents(discount[sale], usd_rate[sale]).sum())
        d.truth[reg]["refunds"] += int(to_usd_cents(amount[refund] - discount[refund], usd_rate[refund]).sum())
        d.truth[reg]["cogs"] += int((qty[sale] * cost_usd_cents(d, sku[sale], rates)).sum())

    offsets = {tz: _tz_offset_seconds(tz, d.day) for tz in set(stores["timezone"])}
    store_offset = np.array([offsets[tz] for tz in stores["timezone"]])[store]
    local_midnight = int(dt.datetime(d.day.year, d.day.month, d.day.day, tzinfo=dt.timezone.utc).timestamp())
    epoch_s = local_midnight + local_seconds - store_offset
    tx_id = pc.binary_join_element_wise(
        pa.array(stores["store_id"][store]), pa.scalar(f"-{d.day:%Y%m%d}-"),
        pc.utf8_lpad(fmt.ints(np.arange(n_tx) + 1), 7, "0"), "")
    cols = {
        "transaction_id": pc.take(tx_id, pa.array(t)),
        "store_id": stores["store_id"][store[t]],
        "region": region,
        "register_id": pc.take(pc.binary_join_element_wise(
            pa.array(stores["store_id"][store]), pa.scalar("-R"), fmt.ints(register), ""), pa.array(t)),
        "business_date": np.full(len(t), d.day.isoformat()),
        "transacted_at": pc.take(fmt.timestamps(epoch_s, store_offset, utc_z=False), pa.array(t)),
        "transaction_type": np.array(["sale", "refund", "void"])[kind],
        "sku": skus["sku"][sku],
        "quantity": fmt.ints(qty),
        "unit_price": fmt.money(price),
        "discount_amount": fmt.money(discount),
        "tax_amount": fmt.money(tax),
        "currency": CUR[codes],
        "payment_method": np.array(["card", "cash", "wallet", "gift_card"])[payment[t]],
        "customer_id": np.where(walk_in[t], "", w.customer_ids(customer[t])),
    }
    table = pa.table({k: pa.array(v) if not isinstance(v, pa.Array) else v for k, v in cols.items()})
    table = _pos_mess(d, table, negative, missing)
    files = []
    for reg in ("AMER", "EMEA", "APAC"):
        part = table.filter(pc.equal(table["region"], reg))
        # The EMEA export comes from a Windows tool: BOM and CRLF line endings.
        files.append(csv_file(f"pos_{reg}.csv", {n: part[n] for n in part.column_names},
                              bom=reg == "EMEA", crlf=reg == "EMEA"))
    return files


def _pos_invalid_rows(d: Day, region: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(negative quantity, missing price) masks of the rows the export corrupts."""
    plan, n = d.plan, len(region)
    m = rng(d.seed, d.day, "mess", 1)
    neg = m.random(n) < plan.pos_negative_quantity_rate
    if d.on(plan.over_threshold_days):
        neg |= (m.random(n) < 0.04) & (region == "EMEA")
    missing = (m.random(n) < plan.pos_missing_price_rate) & ~neg
    return neg, missing


def _pos_mess(d: Day, table: pa.Table, neg: np.ndarray, missing: np.ndarray) -> pa.Table:
    plan, n = d.plan, table.num_rows
    if n == 0 or plan.name == "none":
        return table
    m = rng(d.seed, d.day, "mess", 5)
    cols = {name: table[name].combine_chunks() for name in table.column_names}
    # Invalid rows: a negative quantity, a missing unit price (rejected at import).
    cols["quantity"] = pc.if_else(pa.array(neg), pc.binary_join_element_wise("-", cols["quantity"], ""),
                                  cols["quantity"])
    cols["unit_price"] = pc.if_else(pa.array(missing), pa.scalar(""), cols["unit_price"])
    if d.on(plan.lowercase_currency_days):
        lower = (m.random(n) < plan.lowercase_currency_rate) & pc.equal(cols["region"], "EMEA").to_numpy(
            zero_copy_only=False)
        cols["currency"] = pc.if_else(pa.array(lower), pc.utf8_lower(cols["currency"]), cols["currency"])
    if plan.has_added_column(d.index):
        cols["loyalty_tier"] = pa.array(np.array(["", "silver", "gold"])[m.integers(0, 3, n)])
    table = pa.table(cols)
    # Duplicates: the same row sent twice, next to the original.
    dup = np.flatnonzero(m.random(n) < plan.pos_duplicate_rate)
    order = np.sort(np.concatenate([np.arange(n), dup]), kind="stable")
    return table.take(pa.array(order))


# ---------------------------------------------------------------------------------------------
# Online orders and refunds
# ---------------------------------------------------------------------------------------------

def order_skeleton(d: Day) -> dict[str, np.ndarray]:
    """The cheap part of a day's orders (count, customer, currency, status), regenerated by the
    refund plan of later days without rebuilding the order lines."""
    w, r = d.world, rng(d.seed, d.day, "order_skeleton")
    weekday = (0.95, 0.9, 0.92, 0.95, 1.05, 1.2, 1.15)[d.day.weekday()]
    n = int(w.scale.orders * weekday * (3 if d.on(d.plan.outlier_days) else 1))
    n_customers = w.customers_before(d.day + dt.timedelta(days=1))
    customer = r.integers(1, n_customers + 1, n)
    attrs = w.customer_attributes(customer)
    return {
        "n": n,
        "customer": customer,
        "currency": np.array([CODE[c] for c in attrs["currency"]], dtype=np.int64),
        "completed": r.random(n) < 0.95,
        "channel": np.where(r.random(n) < 0.55, "web", "app"),
        "seconds": np.sort(r.integers(0, d.ny_day_seconds(), n)),
    }


def order_ids(day: dt.date, n: int) -> pa.Array:
    return pc.binary_join_element_wise(pa.scalar(f"O{day:%Y%m%d}-"), pc.utf8_lpad(fmt.ints(np.arange(n) + 1), 7, "0"), "")


def build_orders(d: Day) -> list[GeneratedFile]:
    w, r = d.world, rng(d.seed, d.day, "orders")
    sk = order_skeleton(d)
    n = sk["n"]
    n_lines = np.minimum(1 + r.poisson(0.8, n), 4)
    o = np.repeat(np.arange(n), n_lines)
    line_no = np.arange(len(o)) - np.repeat(np.cumsum(n_lines) - n_lines, n_lines)
    first = r.choice(len(w.skus["sku"]), n, p=w.skus["weight"])
    sku = (first[o] + line_no * 11) % len(w.skus["sku"])
    qty = r.choice([1, 2, 3], len(o), p=[0.8, 0.15, 0.05])
    codes = sk["currency"][o]
    price = local_prices(w.list_price_usd_cents(d.day)[sku], codes, d.fx())
    amount = qty * price
    discount = np.where(r.random(len(o)) < 0.25, np.round(amount * r.uniform(0.05, 0.25, len(o))), 0).astype(np.int64)
    order_net = np.bincount(o, weights=amount - discount, minlength=n)
    tax = np.round(order_net * 0.07).astype(np.int64)
    shipping = np.where(order_net > 5_000, 0, np.where(r.random(n) < 0.5, 599, 999)).astype(np.int64)

    rates = effective_rates_e8(d)
    done = sk["completed"][o]
    d.truth["ONLINE"]["revenue"] += int(to_usd_cents(amount[done], rates[codes[done]]).sum()
                                        - to_usd_cents(discount[done], rates[codes[done]]).sum())
    d.truth["ONLINE"]["cogs"] += int((qty[done] * cost_usd_cents(d, sku[done], rates)).sum())

    line_json = fmt.json_lines({
        "sku": pa.array(w.skus["sku"][sku]), "quantity": fmt.ints(qty), "unit_price": fmt.money(price),
        "discount_amount": fmt.money(discount),
    }, raw={"quantity"})
    # Join each order's lines into a JSON array.
    offsets = np.concatenate([[0], np.cumsum(n_lines)])
    joined = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), line_json)
    lines_text = pc.binary_join_element_wise("[", pc.binary_join(joined, ","), "]", "")
    currency = pa.array(CUR[sk["currency"]])
    if d.on(d.plan.lowercase_currency_days):
        lower = rng(d.seed, d.day, "mess", 2).random(n) < d.plan.lowercase_currency_rate / 2
        currency = pc.if_else(pa.array(lower), pc.utf8_lower(currency), currency)
    records = fmt.json_lines({
        "order_id": order_ids(d.day, n),
        "customer_id": pa.array(w.customer_ids(sk["customer"])),
        "channel": pa.array(sk["channel"]),
        "ordered_at": fmt.timestamps(d.ny_midnight() + sk["seconds"], 0, utc_z=True),
        "status": pa.array(np.where(sk["completed"], "completed", "cancelled")),
        "currency": currency,
        "tax_amount": fmt.money(tax),
        "shipping_amount": fmt.money(shipping),
        "lines": lines_text,
    }, raw={"lines"})
    if d.plan.order_duplicate_rate:
        dup = np.flatnonzero(rng(d.seed, d.day, "mess", 3).random(n) < d.plan.order_duplicate_rate)
        records = records.take(pa.array(np.sort(np.concatenate([np.arange(n), dup]), kind="stable")))
    return [jsonl_file("orders.jsonl", records)]


REFUND_REASONS = np.array(["damaged", "wrong_size", "not_as_described", "late_delivery", "changed_mind"])


def refund_plan(d: Day) -> dict[str, np.ndarray]:
    """Refunds of the orders placed on d.day: which orders, how many days later, how much."""
    sk = order_skeleton(d)
    r = rng(d.seed, d.day, "refund_plan")
    chosen = np.flatnonzero(sk["completed"] & (r.random(sk["n"]) < 0.03))
    lag = np.minimum(r.geometric(0.25, len(chosen)) - 1, 20)
    codes = sk["currency"][chosen]
    units = r.integers(5, 80, len(chosen)) * 100 + r.integers(0, 100, len(chosen))
    amount = np.where(codes == CODE["JPY"], units * 150 // 100 * 100, units)
    return {"order": chosen, "lag": lag, "currency": codes, "amount": amount,
            "reason": r.integers(0, len(REFUND_REASONS), len(chosen)), "seconds": r.random(len(chosen))}


def refunds_of_day(d: Day) -> dict[str, np.ndarray]:
    parts = []
    for lag in range(0, 21):
        placed = d.day - dt.timedelta(days=lag)
        if placed < d.first_day:
            continue
        plan = refund_plan(d.at(placed))
        m = plan["lag"] == lag
        ids = order_ids(placed, int(plan["order"].max()) + 1 if len(plan["order"]) else 0)
        parts.append({
            "refund_id": np.array([f"R{placed:%Y%m%d}-{i + 1:07d}" for i in np.flatnonzero(m)], dtype=object),
            "order_id": np.array(pc.take(ids, pa.array(plan["order"][m])).to_pylist(), dtype=object)
            if m.any() else np.array([], dtype=object),
            "currency": plan["currency"][m], "amount": plan["amount"][m],
            "reason": plan["reason"][m], "seconds": plan["seconds"][m],
        })
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def build_refunds(d: Day, renamed: bool = False) -> list[GeneratedFile]:
    rf = refunds_of_day(d)
    rates = effective_rates_e8(d)
    if not renamed:
        d.truth["ONLINE"]["refunds"] += int(to_usd_cents(rf["amount"], rates[rf["currency"]]).sum())
    seconds = (rf["seconds"] * d.ny_day_seconds()).astype(np.int64)
    order = np.argsort(seconds, kind="stable")
    return [csv_file("refunds.csv", {
        "refund_id": rf["refund_id"][order].astype(str),
        "order_id": rf["order_id"][order].astype(str),
        "refunded_at": fmt.timestamps(d.ny_midnight() + seconds[order], 0, utc_z=True),
        "refund_amount" if renamed else "amount": fmt.money(rf["amount"][order]),
        "currency": CUR[rf["currency"][order]],
        "reason": REFUND_REASONS[rf["reason"][order]],
    })]


# ---------------------------------------------------------------------------------------------
# Customers, app events, experiments
# ---------------------------------------------------------------------------------------------

def build_customers(d: Day) -> list[GeneratedFile]:
    w = d.world
    first = w.customers_before(d.day) + 1
    n = w.signups_per_day(d.day)
    ids = np.arange(first, first + n)
    attrs = w.customer_attributes(ids)
    seconds = signup_seconds(d, ids)
    return [csv_file("customers.csv", {
        "customer_id": w.customer_ids(ids),
        "signup_at": fmt.timestamps(d.ny_midnight() + seconds, 0, utc_z=True),
        "acquisition_channel": attrs["acquisition_channel"],
        "country": attrs["country"],
    })]


def signup_seconds(d: Day, ids: np.ndarray) -> np.ndarray:
    return (hash_unit(d.seed, 36, ids) * (d.ny_day_seconds() - 1)).astype(np.int64)


EVENT_TYPES = np.array(["app_open", "page_view", "add_to_cart", "purchase"])


def build_app_events(d: Day) -> list[GeneratedFile]:
    w, r = d.world, rng(d.seed, d.day, "events")
    ids = np.arange(1, w.customers_before(d.day + dt.timedelta(days=1)) + 1)
    attrs = w.customer_attributes(ids)
    active = attrs["is_app_user"] & (hash_unit(d.seed, 1000 + day_number(d.day), ids) < attrs["activity"])
    users = ids[active]
    platform = attrs["platform"][active]
    sessions = 1 + r.poisson(0.6, len(users))
    s_user = np.repeat(np.arange(len(users)), sessions)
    mean_events = max(w.scale.app_events / max(len(s_user), 1), 1.5)
    n_events = 1 + r.poisson(mean_events - 1, len(s_user))
    e_sess = np.repeat(np.arange(len(s_user)), n_events)
    e_pos = np.arange(len(e_sess)) - np.repeat(np.cumsum(n_events) - n_events, n_events)
    day_seconds = d.ny_day_seconds()
    start = r.integers(0, day_seconds - 600, len(s_user))
    seconds = np.minimum(start[e_sess] + e_pos * r.integers(5, 90, len(e_sess)), day_seconds - 1)
    kind = np.where(e_pos == 0, 0, r.choice([1, 2, 3], len(e_sess), p=[0.75, 0.17, 0.08]))
    plat = platform[s_user][e_sess]
    kind = np.where((kind == 0) & (plat == "web"), 1, kind)  # web sessions start with a page view
    local_hour = _ny_hours(d, seconds)
    daynum = day_number(d.day)
    lines = fmt.json_lines({
        "event_id": pc.binary_join_element_wise(pa.scalar(f"E{daynum:05d}-"), pc.utf8_lpad(fmt.ints(np.arange(len(e_sess)) + 1), 9, "0"), ""),
        "user_id": pa.array(w.customer_ids(users[s_user][e_sess])),
        "session_id": pc.binary_join_element_wise(pa.scalar(f"S{daynum:05d}-"), pc.utf8_lpad(fmt.ints(e_sess + 1), 8, "0"), ""),
        "event_type": pa.array(EVENT_TYPES[kind]),
        "occurred_at": fmt.timestamps(d.ny_midnight() + seconds, 0, utc_z=True),
        "platform": pa.array(plat),
    })
    if d.plan.event_duplicate_rate:
        m = rng(d.seed, d.day, "mess", 4).random(len(lines)) < d.plan.event_duplicate_rate
        order = np.sort(np.concatenate([np.arange(len(lines)), np.flatnonzero(m)]), kind="stable")
        lines, local_hour = lines.take(pa.array(order)), local_hour[order]
    files = []
    for hour in range(24):
        idx = np.flatnonzero(local_hour == hour)
        files.append(jsonl_file(f"events_{hour:02d}.jsonl", lines.take(pa.array(idx))))
    return files


def _ny_hours(d: Day, seconds: np.ndarray) -> np.ndarray:
    """Local (New York) hour of each second-of-day, DST days included."""
    midnight = d.ny_midnight()
    boundaries = []
    for h in range(24):
        t = dt.datetime(d.day.year, d.day.month, d.day.day, h, tzinfo=NY)
        boundaries.append(int(t.timestamp()) - midnight)
    return np.searchsorted(np.array(boundaries), seconds, side="right") - 1


def build_experiment_assignments(d: Day) -> list[GeneratedFile]:
    """Full snapshot of the assignments of running experiments as of the day."""
    w = d.world
    total = w.customers_before(d.day + dt.timedelta(days=1))
    ids = np.arange(1, total + 1)
    cols: dict[str, list] = {k: [] for k in ("experiment_id", "unit_type", "unit_id", "variant", "assigned_at")}
    # A customer's sign-up instant: base customers existed before every experiment started.
    signup_epoch = _signup_epochs(d, ids)
    for exp in EXPERIMENTS:
        start_epoch = int(dt.datetime(exp.starts.year, exp.starts.month, exp.starts.day, 9, tzinfo=NY).timestamp())
        if exp.unit_type == "customer":
            enrolled, variant = w.experiment_membership(exp, ids)
            units = w.customer_ids(ids[enrolled])
            assigned = np.maximum(signup_epoch[enrolled], start_epoch)
            variant = variant[enrolled]
        else:
            store_idx = np.arange(w.scale.stores)
            enrolled, variant = w.experiment_membership(exp, store_idx)
            units = w.stores["store_id"][enrolled]
            assigned = np.full(int(enrolled.sum()), start_epoch)
            variant = variant[enrolled]
        cols["experiment_id"].append(np.full(len(units), exp.experiment_id))
        cols["unit_type"].append(np.full(len(units), exp.unit_type))
        cols["unit_id"].append(units)
        cols["variant"].append(np.array(exp.variants)[variant])
        cols["assigned_at"].append(fmt.timestamps(assigned, 0, utc_z=True).to_numpy(zero_copy_only=False))
    return [csv_file("assignments.csv", {k: np.concatenate(v) for k, v in cols.items()})]


def _signup_epochs(d: Day, ids: np.ndarray) -> np.ndarray:
    """Sign-up instant of each customer number (base customers: before the epoch)."""
    w = d.world
    base = w.scale.customer_base
    out = np.full(len(ids), 0, dtype=np.int64)
    day, first = EPOCH, base + 1
    bounds, days = [], []
    while day <= d.day:
        bounds.append(first)
        days.append(day)
        first = w.customers_before(day + dt.timedelta(days=1)) + 1
        day += dt.timedelta(days=1)
    bounds = np.array(bounds)
    new = ids > base
    which = np.searchsorted(bounds, ids[new], side="right") - 1
    midnights = np.array([d.ny_midnight(x) for x in days], dtype=np.int64)
    out[new] = midnights[which] + signup_seconds(d, ids[new])
    return out


# ---------------------------------------------------------------------------------------------
# Marketing platforms, each in its own export shape
# ---------------------------------------------------------------------------------------------

def _campaign_names(prefix: str, n: int) -> list[str]:
    themes = ["Prospecting", "Retargeting", "Holiday", "New Arrivals", "Clearance", "Brand", "Loyalty"]
    return [f"{prefix} - {themes[i % len(themes)]} {i // len(themes) + 1}" for i in range(n)]


def build_tiktok_ads(d: Day) -> list[GeneratedFile]:
    r = rng(d.seed, d.day, "marketing", 1)
    n = d.world.scale.tiktok_campaigns
    spend = r.integers(25_000, 400_000, n)  # $250-$4,000 per campaign and day
    impressions = (spend / 100 * r.uniform(80, 160, n)).astype(np.int64)
    clicks = (impressions * r.uniform(0.005, 0.02, n)).astype(np.int64)
    conversions = (clicks * r.uniform(0.01, 0.05, n)).astype(np.int64)
    d.truth["ONLINE"]["marketing"] += int(spend.sum())
    return [csv_file("tiktok_campaign_report.csv", {
        "stat_time_day": np.full(n, f"{d.day.isoformat()} 00:00:00"),
        "campaign_id": [str(1780000000000 + i) for i in range(n)],
        "campaign_name": _campaign_names("TT", n),
        "spend": fmt.money(spend),
        "impressions": fmt.ints(impressions),
        "clicks": fmt.ints(clicks),
        "conversions": fmt.ints(conversions),
        "currency": np.full(n, "USD"),
    })]


def build_pinterest_ads(d: Day) -> list[GeneratedFile]:
    r = rng(d.seed, d.day, "marketing", 2)
    n = d.world.scale.pinterest_campaigns
    spend_cents = r.integers(15_000, 250_000, n)
    impressions = (spend_cents / 100 * r.uniform(60, 140, n)).astype(np.int64)
    clicks = (impressions * r.uniform(0.004, 0.015, n)).astype(np.int64)
    d.truth["ONLINE"]["marketing"] += int(spend_cents.sum())
    return [csv_file("pinterest_campaign_report.csv", {
        "DATE": np.full(n, d.day.isoformat()),
        "CAMPAIGN_ID": [str(626000000000 + i) for i in range(n)],
        "SPEND_IN_MICRO_DOLLAR": fmt.ints(spend_cents * 10_000),
        "IMPRESSION_1": fmt.ints(impressions),
        "CLICKTHROUGH_1": fmt.ints(clicks),
        "TOTAL_CONVERSIONS": fmt.ints((clicks * r.uniform(0.01, 0.04, n)).astype(np.int64)),
    })]


def build_klaviyo(d: Day) -> list[GeneratedFile]:
    r = rng(d.seed, d.day, "marketing", 3)
    n = int(r.integers(1, 4))
    base = d.world.scale.customer_base // 10
    records = []
    for i in range(n):
        recipients = int(base * r.uniform(0.5, 1.5))
        opens = int(recipients * r.uniform(0.25, 0.45))
        clicks = int(opens * r.uniform(0.05, 0.15))
        cost_cents = int(round(recipients * 0.4))  # $4 per thousand emails
        send = dt.datetime(d.day.year, d.day.month, d.day.day, 9 + 3 * i, 0, tzinfo=NY).astimezone(dt.timezone.utc)
        d.truth["ONLINE"]["marketing"] += cost_cents
        records.append({
            "campaign_id": f"KL{day_number(d.day):05d}{i + 1:02d}",
            "send_time": send.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "recipients": recipients, "opens": opens, "clicks": clicks,
            "revenue_attributed": round(clicks * float(r.uniform(2, 9)), 2),
            "cost": cost_cents / 100,
        })
    return [json_list_file("campaigns.json", records)]


def build_attentive(d: Day) -> list[GeneratedFile]:
    r = rng(d.seed, d.day, "marketing", 4)
    n = int(r.integers(0, 3))
    sent = (d.world.scale.customer_base // 25 * r.uniform(0.5, 1.5, n)).astype(np.int64)
    clicks = (sent * r.uniform(0.02, 0.08, n)).astype(np.int64)
    cost = sent  # one cent per message
    d.truth["ONLINE"]["marketing"] += int(cost.sum())
    return [csv_file("attentive_campaigns.csv", {
        "date": np.full(n, d.day.strftime("%m/%d/%Y")),
        "campaign": [f"SMS {d.day:%b %d} #{i + 1}" for i in range(n)],
        "messages_sent": fmt.ints(sent),
        "clicks": fmt.ints(clicks),
        "conversions": fmt.ints((clicks * r.uniform(0.02, 0.06, n)).astype(np.int64)),
        "cost": fmt.money(cost),
    })]


def build_yotpo(d: Day) -> list[GeneratedFile]:
    r = rng(d.seed, d.day, "reviews")
    n = int(r.poisson(d.world.scale.reviews))
    sku = r.choice(len(d.world.skus["sku"]), n, p=d.world.skus["weight"])
    rating = r.choice([1, 2, 3, 4, 5], n, p=[0.05, 0.07, 0.13, 0.3, 0.45])
    seconds = np.sort(r.integers(0, d.ny_day_seconds(), n))
    created = fmt.timestamps(d.ny_midnight() + seconds, 0, utc_z=True).to_pylist()
    records = [{"review_id": f"YT{day_number(d.day):05d}{i + 1:06d}", "sku": str(d.world.skus["sku"][sku[i]]),
                "rating": int(rating[i]), "created_at": created[i]} for i in range(n)]
    return [json_list_file("reviews.json", records)]


# ---------------------------------------------------------------------------------------------
# Finance ledger
# ---------------------------------------------------------------------------------------------

def build_gl_entries(d: Day) -> list[GeneratedFile]:
    """The ledger export, from the clean truth of the day's transactions (built first)."""
    r = rng(d.seed, d.day, "gl")
    rows = []
    seq = 0
    for entity in ("AMER", "EMEA", "APAC", "ONLINE"):
        for account in ("revenue", "refunds", "cogs", "marketing"):
            total = int(d.truth[entity][account])
            if total == 0 and account in ("cogs", "marketing"):
                continue
            parts = int(r.integers(1, 4))
            cuts = np.sort(r.integers(0, max(total, 1), parts - 1)) if total > 0 else np.zeros(parts - 1, int)
            amounts = np.diff(np.concatenate([[0], cuts, [total]]))
            for amount in amounts:
                seq += 1
                rows.append((f"GL{d.day:%Y%m%d}-{seq:04d}", entity, account, int(amount)))
            if account == "revenue" and entity == "EMEA" and d.on(d.plan.ledger_mismatch_days):
                seq += 1
                rows.append((f"GL{d.day:%Y%m%d}-{seq:04d}", entity, account,
                             int(round(total * d.plan.ledger_mismatch_ratio))))
    # Finance's export tool writes a BOM and CRLF line endings.
    return [csv_file("gl_entries.csv", {
        "entry_id": [x[0] for x in rows],
        "gl_date": [d.day.isoformat()] * len(rows),
        "entity": [x[1] for x in rows],
        "account": [x[2] for x in rows],
        "amount": fmt.money(np.array([x[3] for x in rows], dtype=np.int64)),
        "currency": ["USD"] * len(rows),
    }, bom=True, crlf=True)]

