"""Report figures computed straight from the landing files, independently of the platform.

Only the standard library (csv, json, decimal): no pandas, no platform code. Written from the
brief: rows failing the contract are skipped, a transaction/order/refund counts once (the last
delivered copy), each row is converted to USD with the business date's rate (the latest
rate_date on or before it, USD = 1) and rounded half to even to the cent.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

CENT = Decimal("0.01")
NY = ZoneInfo("America/New_York")
MONEY = re.compile(r"\d{1,13}(\.\d{1,2})?")


def usd(amount: Decimal, rate: Decimal) -> Decimal:
    return (amount * rate).quantize(CENT, rounding=ROUND_HALF_EVEN)


def rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def folder(landing: Path, source: str, day: dt.date) -> Path:
    return landing / source / day.isoformat()


def fx_rates(landing: Path, day: dt.date) -> dict[str, Decimal]:
    best: dict[str, tuple[str, int, Decimal]] = {"USD": (day.isoformat(), 99, Decimal(1))}
    for back in range(7, -1, -1):
        delivered = day - dt.timedelta(days=back)
        path = folder(landing, "fx_rates", delivered) / "fx_rates.csv"
        if not path.exists():
            continue
        for r in rows(path):
            cur = r["currency"].upper()
            if cur == "USD" or r["rate_date"] > day.isoformat():
                continue
            candidate = (r["rate_date"], -back, Decimal(r["usd_per_unit"]))
            if cur not in best or candidate[:2] > best[cur][:2]:
                best[cur] = candidate
    return {c: v[2] for c, v in best.items()}


def ny_date(timestamp: str) -> dt.date:
    return dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00")).astimezone(NY).date()


def pos_rows(landing: Path, day: dt.date) -> list[dict]:
    """Valid POS rows of the day, one per (transaction_id, sku): the last delivered copy."""
    kept: dict[tuple, dict] = {}
    for region in ("AMER", "EMEA", "APAC"):
        for r in rows(folder(landing, "pos_transactions", day) / f"pos_{region}.csv"):
            if not re.fullmatch(r"\d+", r["quantity"] or "") or int(r["quantity"]) < 1:
                continue
            if not all(MONEY.fullmatch(r[k] or "") for k in ("unit_price", "discount_amount", "tax_amount")):
                continue
            if r["business_date"] != day.isoformat():
                continue
            kept.pop((r["transaction_id"], r["sku"]), None)
            kept[(r["transaction_id"], r["sku"])] = r
    return list(kept.values())


def orders(landing: Path, day: dt.date) -> list[dict]:
    kept: dict[str, dict] = {}
    for line in (folder(landing, "orders", day) / "orders.jsonl").read_text().splitlines():
        if line.strip():
            o = json.loads(line)
            kept.pop(o["order_id"], None)
            kept[o["order_id"]] = o
    return [o for o in kept.values() if ny_date(o["ordered_at"]) == day]


def refunds(landing: Path, day: dt.date) -> list[dict]:
    kept: dict[str, dict] = {}
    for r in rows(folder(landing, "refunds", day) / "refunds.csv"):
        kept.pop(r["refund_id"], None)
        kept[r["refund_id"]] = r
    return [r for r in kept.values() if ny_date(r["refunded_at"]) == day and Decimal(r["amount"]) > 0]


def revenue_close(landing: Path, day: dt.date) -> dict[str, dict[str, Decimal | int]]:
    """region -> gross_sales, discounts, refunds, net_revenue (Decimal USD), transactions."""
    rates = fx_rates(landing, day)
    out: dict[str, dict] = defaultdict(lambda: {"gross_sales": Decimal(0), "discounts": Decimal(0),
                                                "refunds": Decimal(0), "transactions": set()})
    for r in pos_rows(landing, day):
        rate = rates[r["currency"].upper()]
        q, p, d = Decimal(r["quantity"]), Decimal(r["unit_price"]), Decimal(r["discount_amount"])
        region = out[r["region"]]
        if r["transaction_type"] == "sale":
            region["gross_sales"] += usd(q * p, rate)
            region["discounts"] += usd(d, rate)
            region["transactions"].add(r["transaction_id"])
        elif r["transaction_type"] == "refund":
            region["refunds"] += usd(q * p - d, rate)
    online = out["ONLINE"]
    for o in orders(landing, day):
        if o["status"] != "completed":
            continue
        rate = rates[o["currency"].upper()]
        online["transactions"].add(o["order_id"])
        for line in o["lines"]:
            online["gross_sales"] += usd(Decimal(line["quantity"]) * Decimal(line["unit_price"]), rate)
            online["discounts"] += usd(Decimal(line["discount_amount"]), rate)
    for r in refunds(landing, day):
        online["refunds"] += usd(Decimal(r["amount"]), rates[r["currency"].upper()])
    result = {}
    for region in ("AMER", "EMEA", "APAC", "ONLINE"):
        v = out[region]
        result[region] = {"gross_sales": v["gross_sales"], "discounts": v["discounts"], "refunds": v["refunds"],
                          "net_revenue": v["gross_sales"] - v["discounts"] - v["refunds"],
                          "transactions": len(v["transactions"])}
    return result


def marketing_spend(landing: Path, day: dt.date) -> Decimal:
    total = Decimal(0)
    for r in rows(folder(landing, "tiktok_ads", day) / "tiktok_campaign_report.csv"):
        total += Decimal(r["spend"])
    for r in rows(folder(landing, "pinterest_ads", day) / "pinterest_campaign_report.csv"):
        total += (Decimal(r["SPEND_IN_MICRO_DOLLAR"]) / Decimal(10**6)).quantize(CENT, rounding=ROUND_HALF_EVEN)
    for c in json.loads((folder(landing, "klaviyo", day) / "campaigns.json").read_text()):
        total += Decimal(str(c["cost"]))
    for r in rows(folder(landing, "attentive", day) / "attentive_campaigns.csv"):
        total += Decimal(r["cost"])
    return total


def cogs(landing: Path, day: dt.date) -> Decimal:
    """Units sold (POS sales, completed online lines) x the cost of the version effective on the day."""
    rates = fx_rates(landing, day)
    versions: dict[str, tuple[str, Decimal, str]] = {}
    for r in rows(folder(landing, "products", day) / "products.csv"):
        if r["effective_from"] <= day.isoformat() and (r["sku"] not in versions or r["effective_from"] > versions[r["sku"]][0]):
            versions[r["sku"]] = (r["effective_from"], Decimal(r["unit_cost"]), r["currency"].upper())
    unit_cost = {sku: usd(cost, rates[cur]) for sku, (_, cost, cur) in versions.items()}
    total = Decimal(0)
    for r in pos_rows(landing, day):
        if r["transaction_type"] == "sale":
            total += int(r["quantity"]) * unit_cost.get(r["sku"], Decimal(0))
    for o in orders(landing, day):
        if o["status"] == "completed":
            for line in o["lines"]:
                total += int(line["quantity"]) * unit_cost.get(line["sku"], Decimal(0))
    return total


def signups(landing: Path, day: dt.date) -> list[dict]:
    kept = {r["customer_id"]: r for r in rows(folder(landing, "customers", day) / "customers.csv")}
    return list(kept.values())


def assignments(landing: Path, day: dt.date) -> list[dict]:
    return rows(folder(landing, "experiment_assignments", day) / "assignments.csv")


def active_users(landing: Path, day: dt.date) -> dict[str, set]:
    """platform -> distinct users with an event on the day (and 'all')."""
    users: dict[str, set] = defaultdict(set)
    for path in sorted(folder(landing, "app_events", day).glob("events_*.jsonl")):
        for line in path.read_text().splitlines():
            if line.strip():
                e = json.loads(line)
                users[e["platform"]].add(e["user_id"])
                users["all"].add(e["user_id"])
    return users
