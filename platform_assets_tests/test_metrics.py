"""Each metric of design section 4 on a few rows, against numbers worked out by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from platform_assets.metrics import engagement, growth, profit, revenue
from platform_assets.staging import transforms as T

D = dt.date(2024, 3, 6)
TS = pd.Timestamp(D)


def pos(rows):
    cols = ["transaction_id", "region", "store_id", "transaction_type", "sku", "quantity", "customer_id",
            "line_amount_usd_cents", "discount_usd_cents", "net_amount_usd_cents"]
    frame = pd.DataFrame(rows, columns=cols)
    frame["business_date"] = TS
    return frame


POS = pos([
    ("T1", "AMER", "S1", "sale", "A", 2, "C1", 2000, 100, 1900),     # 2 x 10.00, discount 1.00
    ("T2", "AMER", "S1", "refund", "A", 1, None, 500, 50, 450),      # refund 1 x 5.00 - 0.50
    ("T3", "AMER", "S2", "void", "B", 1, "C1", 9999, 0, 9999),       # voids are ignored
    ("T4", "AMER", "S2", "sale", "B", 1, None, 300, 0, 300),         # walk-in sale
    ("T5", "EMEA", "S3", "sale", "B", 3, "C2", 900, 0, 900),
])
ORDERS = pd.DataFrame({"order_id": ["O1", "O2"], "status": ["completed", "cancelled"], "business_date": TS})
ORDER_LINES = pd.DataFrame({
    "order_id": ["O1", "O1", "O2"], "status": ["completed", "completed", "cancelled"], "customer_id": ["C1", "C1", "C2"],
    "sku": ["A", "B", "A"], "quantity": [2, 1, 1], "line_amount_usd_cents": [4000, 500, 10000],
    "discount_usd_cents": [200, 0, 0], "business_date": TS})
REFUNDS = pd.DataFrame({"amount_usd_cents": [750], "customer_id": ["C1"], "business_date": TS})  # an earlier order


def test_revenue_close_definitions():
    close = revenue.revenue_close(POS, ORDERS, ORDER_LINES, REFUNDS, [D]).set_index("region")
    amer = close.loc["AMER"]
    assert (amer["gross_sales_usd"], amer["discounts_usd"], amer["refunds_usd"], amer["net_revenue_usd"]) == (
        Decimal("23.00"), Decimal("1.00"), Decimal("4.50"), Decimal("17.50"))
    assert amer["transactions"] == 2, "two sale transactions (T1, walk-in T4); refunds and voids are not sales"
    online = close.loc["ONLINE"]
    assert (online["gross_sales_usd"], online["discounts_usd"], online["refunds_usd"], online["net_revenue_usd"]) == (
        Decimal("45.00"), Decimal("2.00"), Decimal("7.50"), Decimal("35.50"))
    assert online["transactions"] == 1, "the cancelled order counts nothing"
    assert close.loc["APAC", "net_revenue_usd"] == Decimal("0.00"), "every region appears"
    assert close.loc["EMEA", "gross_sales_usd"] == Decimal("9.00")


def test_pos_revenue_matches_filtering_and_grouping_by_hand():
    """pos_revenue groups on integer codes: the same sums and distinct sale transactions as filtering sales and
    refunds and grouping their strings, over dates, multi-line transactions, an id in two regions, a voids-only
    region, on Arrow strings as staging reads them."""
    rng = np.random.default_rng(5)
    n = 4000
    frame = pd.DataFrame({
        "business_date": pd.to_datetime(rng.choice(["2024-03-05", "2024-03-06", "2024-03-07"], n)),
        "region": rng.choice(["AMER", "EMEA"], n),
        "transaction_type": rng.choice(["sale", "sale", "refund", "void"], n),
        "transaction_id": [f"T{i}" for i in rng.integers(0, 900, n)],
        "line_amount_usd_cents": rng.integers(0, 10**9, n), "discount_usd_cents": rng.integers(0, 10**6, n),
        "net_amount_usd_cents": rng.integers(-10**6, 10**9, n)})
    voids = pd.DataFrame({"business_date": pd.Timestamp("2024-03-06"), "region": "APAC", "transaction_type": "void",
                          "transaction_id": "T1", "line_amount_usd_cents": 5, "discount_usd_cents": 0,
                          "net_amount_usd_cents": 5}, index=[0])
    frame = pd.concat([frame, voids], ignore_index=True)
    for c in ("region", "transaction_type", "transaction_id"):
        frame[c] = frame[c].astype(pd.StringDtype("pyarrow"))
    got = revenue.pos_revenue(frame).set_index(["business_date", "region"]).sort_index()
    key = ["business_date", "region"]
    sales, refunds = frame[frame["transaction_type"] == "sale"], frame[frame["transaction_type"] == "refund"]
    for (date, region), row in got.iterrows():
        s = sales[(sales["business_date"] == date) & (sales["region"] == region)]
        r = refunds[(refunds["business_date"] == date) & (refunds["region"] == region)]
        assert row["gross_sales"] == int(s["line_amount_usd_cents"].sum())
        assert row["discounts"] == int(s["discount_usd_cents"].sum())
        assert row["refunds"] == int(r["net_amount_usd_cents"].sum())
        assert row["transactions"] == len(set(s["transaction_id"])), (date, region)
    assert set(got.index) == set(map(tuple, frame[key].drop_duplicates().itertuples(index=False)))
    assert got.loc[(pd.Timestamp("2024-03-06"), "APAC")].tolist() == [0, 0, 0, 0], "voids only: zeros"
    shared = sales.groupby("transaction_id")["region"].nunique()
    assert (shared > 1).any(), "the data has a transaction id in two regions, counted in each"


def test_revenue_from_raw_rows_counts_duplicates_once_and_uses_fallback_rates():
    """Through staging: a re-sent row counts once; GBP's missing rate falls back to the day before."""
    S = pd.StringDtype("pyarrow")
    raw_fx = pd.DataFrame([
        {"rate_date": "2024-03-05", "currency": "GBP", "usd_per_unit": "1.25", "business_date": pd.Timestamp("2024-03-05")},
        {"rate_date": "2024-03-06", "currency": "EUR", "usd_per_unit": "1.10", "business_date": TS},
    ]).astype({"rate_date": S, "currency": S, "usd_per_unit": S})
    rates = T.effective_fx_rates(raw_fx, D)
    row = {"transaction_id": "T1", "store_id": "S1", "region": "EMEA", "register_id": "R1", "business_date": "2024-03-06",
           "transacted_at": "2024-03-06T10:00:00Z", "transaction_type": "sale", "sku": "A", "quantity": "1",
           "unit_price": "10.01", "discount_amount": "0.00", "tax_amount": "0.00", "currency": "GBP",
           "payment_method": "card", "customer_id": ""}
    raw = pd.DataFrame([row, row, dict(row, transaction_id="T2", currency="eur", unit_price="3.33")]).astype(S)
    raw["_file"], raw["_row"], raw["_batch_id"], raw["business_date"] = "pos_EMEA.csv", [1, 2, 3], "b", TS
    lines, _ = T.pos_lines(raw, rates, D)
    close = revenue.revenue_close(lines, ORDERS.iloc[:0], ORDER_LINES.iloc[:0], REFUNDS.iloc[:0], [D]).set_index("region")
    # 10.01 GBP x 1.25 = 12.5125 -> 12.51; 3.33 EUR x 1.10 = 3.663 -> 3.66
    assert close.loc["EMEA", "gross_sales_usd"] == Decimal("16.17")
    assert close.loc["EMEA", "transactions"] == 2


PRODUCTS = pd.DataFrame({
    "sku": ["A", "A", "B"], "effective_from": pd.to_datetime(["2024-01-01", "2024-03-07", "2024-01-01"]),
    "effective_to": pd.to_datetime(["2024-03-06", None, None]), "unit_cost_usd_cents": [400, 500, 100]})


def test_cogs_uses_the_version_effective_on_the_date():
    costs = profit.effective_costs(PRODUCTS, D)
    assert costs.to_dict() == {"A": 400, "B": 100}
    assert profit.effective_costs(PRODUCTS, dt.date(2024, 3, 7))["A"] == 500


def test_unit_level_profit_attributes_customers_and_stores():
    facts = profit.sales_facts(POS, ORDER_LINES, REFUNDS, profit.effective_costs(PRODUCTS, D))
    assignments = pd.DataFrame({
        "experiment_id": ["exp_c", "exp_c", "exp_s", "exp_s"], "unit_type": ["customer", "customer", "store", "store"],
        "unit_id": ["C1", "C9", "S1", "S2"], "variant": ["control", "treatment", "treatment", "control"]})
    out = profit.unit_level_profit(facts, assignments, D).set_index(["experiment_id", "variant"])
    c1 = out.loc[("exp_c", "control")]
    # C1: POS T1 2 x A (20.00 - 1.00), online O1 2 x A + 1 x B (45.00 - 2.00), refund 7.50; void ignored
    assert c1["units"] == 5
    assert c1["net_revenue_usd"] == Decimal("54.50")
    assert c1["cogs_usd"] == Decimal("17.00")                     # 4 x 4.00 + 1 x 1.00
    assert c1["gross_profit_usd"] == Decimal("37.50")
    assert c1["gross_profit_per_unit_usd"] == Decimal("7.50")
    idle = out.loc[("exp_c", "treatment")]
    assert idle["units"] == 0 and idle["gross_profit_per_unit_usd"] is None
    s1 = out.loc[("exp_s", "treatment")]                          # store S1: T1 sale and the T2 refund
    assert (s1["units"], s1["net_revenue_usd"], s1["cogs_usd"]) == (2, Decimal("14.50"), Decimal("8.00"))
    assert out.loc[("exp_s", "control"), "net_revenue_usd"] == Decimal("3.00")  # S2: walk-in T4; T3 void


def test_aggregate_profit_and_margins():
    row = profit.aggregate_profit(100_000, 40_000, 10_000, D).iloc[0]
    assert (row["gross_profit_usd"], row["contribution_profit_usd"]) == (Decimal("600.00"), Decimal("500.00"))
    assert (row["gross_margin"], row["contribution_margin"]) == (0.6, 0.5)
    empty = profit.aggregate_profit(0, 0, 500, D).iloc[0]
    assert pd.isna(empty["gross_margin"]) and empty["contribution_profit_usd"] == Decimal("-5.00")


def test_daily_growth_counts_and_conversion():
    customers = pd.DataFrame({"customer_id": ["C1", "C2", "C3"]})
    firsts = pd.DataFrame({"customer_id": ["C1", "C9"]})
    assignments = pd.DataFrame({
        "experiment_id": ["e"] * 4 + ["s"], "unit_type": ["customer"] * 4 + ["store"],
        "unit_id": ["C1", "C2", "C9", "C3", "S1"], "variant": ["control", "control", "treatment", "treatment", "x"]})
    out = growth.daily_growth(customers, firsts, assignments, D).set_index("variant")
    assert out.loc["control", ["new_customers", "first_order_customers", "converted_new_customers"]].tolist() == [2, 1, 1]
    assert out.loc["control", "conversion_rate"] == 0.5
    assert out.loc["treatment"].tolist()[2:6] == [1, 1, 0, 0.0]
    assert set(out["experiment_id"]) == {"e"}


def test_aggregate_growth_cac_and_growth_rates():
    dates = pd.date_range(end=TS, periods=14)
    signups = pd.DataFrame({"business_date": np.repeat(dates, 2), "acquisition_channel": ["organic", "paid_social"] * 14,
                            "new_customers": [5, 5] * 7 + [6, 9] * 7})
    out = growth.aggregate_growth(signups, list(dates), 1000, {"paid_social": 45_000, "email": 500}, D)
    out = out.set_index("acquisition_channel")
    assert out.loc["all", "new_customers"] == 15 and out.loc["all", "cumulative_customers"] == 1000
    assert out.loc["all", "cac_usd"] == Decimal("30.33")          # 455.00 / 15
    assert out.loc["paid_social", "cac_usd"] == Decimal("50.00")  # 450.00 / 9
    assert out.loc["email", "new_customers"] == 0 and out.loc["email", "cac_usd"] is None
    assert out.loc["all", "growth_7d"] == pytest.approx(105 / 70 - 1)
    assert pd.isna(out.loc["all", "growth_28d"]), "28-day growth needs 56 loaded days"
    gap = growth.aggregate_growth(signups, list(dates[1:]), 1000, {}, D).set_index("acquisition_channel")
    assert pd.isna(gap.loc["all", "growth_7d"]), "a missing day makes the rate unknown, not smaller"


def test_engagement_active_users_and_channels():
    rows = [  # (days ago, user, platform, sessions)
        (0, "U1", "ios", 2), (0, "U2", "web", 1), (0, "U1", "web", 1),
        (3, "U3", "android", 1), (10, "U4", "ios", 1), (30, "U5", "ios", 1)]
    active = pd.DataFrame([{"business_date": TS - pd.Timedelta(days=a), "user_id": u, "platform": p, "sessions": s}
                           for a, u, p, s in rows])
    channels = pd.DataFrame({"channel": ["email", "sms", "reviews", "reviews"], "sends": [100, 50, 0, 0],
                             "opens": [30, 0, 0, 0], "clicks": [5, 4, 0, 0], "reviews": [0, 0, 1, 1],
                             "rating_sum": [0, 0, 5, 2]})
    row = engagement.aggregate_engagement(active, channels, D).iloc[0]
    assert (row["dau"], row["wau"], row["mau"]) == (2, 3, 4), "U1 counted once across platforms; U5 outside 28 days"
    assert (row["dau_ios"], row["dau_web"], row["dau_android"], row["wau_android"]) == (1, 2, 0, 1)
    assert row["sessions"] == 4 and row["sessions_per_dau"] == 2.0 and row["dau_mau"] == 0.5
    assert (row["email_sends"], row["email_opens"], row["sms_clicks"], row["reviews"], row["mean_rating"]) == (
        100, 30, 4, 2, 3.5)


def test_engagement_of_a_range_counts_each_date_as_sets_of_users_do():
    """A range run counts every date from one ActiveUsers (arrays built once): for 40 dates of
    random activity (missing user ids and platforms included), each date's DAU, WAU and MAU per
    scope are the sizes of the sets of users active in its window, and sessions their sum."""
    rng = np.random.default_rng(5)
    n = 4000
    days = pd.to_datetime("2024-03-01") + pd.to_timedelta(rng.integers(0, 40, n), unit="D")
    users = pd.array([None if v == 0 else f"U{v}" for v in rng.integers(0, 300, n)], dtype=pd.StringDtype("pyarrow"))
    platforms = pd.array([None if v == 3 else engagement.PLATFORMS[v] for v in rng.integers(0, 4, n)],
                         dtype=pd.StringDtype("pyarrow"))
    active = pd.DataFrame({"business_date": days, "user_id": users, "platform": platforms,
                           "sessions": rng.integers(1, 5, n)})
    channels = pd.DataFrame(columns=["channel", "sends", "opens", "clicks", "reviews", "rating_sum"])
    arrays = engagement.ActiveUsers(active)
    for offset in (0, 6, 27, 39):
        d = dt.date(2024, 3, 1) + dt.timedelta(days=offset)
        row = engagement.aggregate_engagement(arrays, channels, d).iloc[0]
        assert row.equals(engagement.aggregate_engagement(active, channels, d).iloc[0])
        for platform in (None, *engagement.PLATFORMS):
            suffix = f"_{platform}" if platform else ""
            scoped = [r for r in active.itertuples()
                      if platform is None or (not pd.isna(r.platform) and r.platform == platform)]
            for name, span in (("dau", 1), ("wau", 7), ("mau", 28)):
                window = {r.user_id for r in scoped if pd.Timestamp(d) - pd.Timedelta(days=span - 1) <= r.business_date
                          <= pd.Timestamp(d) and not pd.isna(r.user_id)}
                assert row[f"{name}{suffix}"] == len(window), (d, name, platform)
            assert row[f"sessions{suffix}"] == sum(r.sessions for r in scoped if r.business_date == pd.Timestamp(d))
