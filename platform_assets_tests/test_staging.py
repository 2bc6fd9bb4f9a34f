"""Staging transforms on three-row frames, with hand-computed expectations."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

from platform_assets.staging import transforms as T
from platform_assets.storage.frames import utc_timestamps

D = dt.date(2024, 3, 6)
S = pd.StringDtype("pyarrow")


def frame(rows: list[dict], file: str = "f.csv") -> pd.DataFrame:
    df = pd.DataFrame(rows).astype(S)
    df["_file"] = file
    df["_row"] = np.arange(1, len(df) + 1, dtype=np.int32)
    df["_batch_id"] = "b1"
    df["business_date"] = pd.Timestamp(D)
    return df


def fx(rates: dict[str, tuple[str, str, str]]) -> pd.DataFrame:
    """rates: currency -> (rate_date, usd_per_unit, delivered)"""
    raw = pd.DataFrame([{"rate_date": r, "currency": c, "usd_per_unit": u, "business_date": pd.Timestamp(dl)}
                        for c, (r, u, dl) in rates.items()])
    return T.effective_fx_rates(raw.astype({"rate_date": S, "currency": S, "usd_per_unit": S}), D)


RATES = fx({"EUR": ("2024-03-06", "1.10000000", "2024-03-06"), "JPY": ("2024-03-06", "0.00670000", "2024-03-06")})


def test_fx_missing_rate_falls_back_to_the_latest_earlier_one_and_says_so():
    raw = pd.DataFrame([
        {"rate_date": "2024-03-05", "currency": "GBP", "usd_per_unit": "1.25", "business_date": pd.Timestamp("2024-03-05")},
        {"rate_date": "2024-03-06", "currency": "EUR", "usd_per_unit": "1.10", "business_date": pd.Timestamp("2024-03-06")},
        {"rate_date": "2024-03-04", "currency": "GBP", "usd_per_unit": "1.20", "business_date": pd.Timestamp("2024-03-04")},
        {"rate_date": "2024-03-07", "currency": "GBP", "usd_per_unit": "9.99", "business_date": pd.Timestamp("2024-03-06")},
    ]).astype({"rate_date": S, "currency": S, "usd_per_unit": S})
    rates = T.effective_fx_rates(raw, D).set_index("currency")
    assert rates.loc["GBP", "usd_per_unit_e8"] == 125_000_000, "latest on or before the date, not the future row"
    assert bool(rates.loc["GBP", "is_fallback"]) and rates.loc["GBP", "age_days"] == 1
    assert not bool(rates.loc["EUR", "is_fallback"])
    assert rates.loc["USD", "usd_per_unit_e8"] == 10**8 and not bool(rates.loc["USD", "is_fallback"])


def test_fx_correction_of_the_same_rate_date_wins():
    rates = fx({"EUR": ("2024-03-05", "1.10", "2024-03-05")})
    raw = pd.DataFrame([
        {"rate_date": "2024-03-05", "currency": "EUR", "usd_per_unit": "1.10", "business_date": pd.Timestamp("2024-03-05")},
        {"rate_date": "2024-03-05", "currency": "eur", "usd_per_unit": "1.11", "business_date": pd.Timestamp("2024-03-06")},
    ]).astype({"rate_date": S, "currency": S, "usd_per_unit": S})
    assert T.effective_fx_rates(raw, D).set_index("currency").loc["EUR", "usd_per_unit_e8"] == 111_000_000
    del rates


def test_missing_rate_names_the_currency():
    with pytest.raises(T.MissingRate, match="no FX rate for CHF on or before 2024-03-06"):
        T.rates_for(pd.Series(["EUR", "chf"], dtype=S), RATES, "stg_pos_lines", D)


def pos_row(**kw):
    base = {"transaction_id": "T1", "store_id": "S1", "region": "EMEA", "register_id": "R1",
            "business_date": "2024-03-06", "transacted_at": "2024-03-06T10:00:00+01:00", "transaction_type": "sale",
            "sku": "A", "quantity": "2", "unit_price": "10.05", "discount_amount": "1.00", "tax_amount": "3.81",
            "currency": "EUR", "payment_method": "card", "customer_id": ""}
    base.update(kw)
    return base


def test_pos_lines_dedupe_normalize_and_convert():
    raw = frame([
        pos_row(),
        pos_row(),                                                  # re-sent: identical
        pos_row(sku="B", currency="eur", quantity="1", unit_price="0.15", discount_amount="0.00",
                customer_id="C9"),                                  # lowercase currency
        pos_row(transaction_id="T2", transaction_type="refund", unit_price="5.00", discount_amount="0.50"),
    ])
    out, stats = T.pos_lines(raw, RATES, D)
    assert stats.exact_duplicates == 1 and stats.rows_out == 3
    a = out[out["sku"] == "A"].iloc[0]
    # 2 x 10.05 = 20.10 EUR x 1.1 = 22.11 USD; discount 1.00 -> 1.10; net 19.10 -> 21.01
    assert (a["line_amount_usd_cents"], a["discount_usd_cents"], a["net_amount_usd_cents"]) == (2211, 110, 2101)
    assert pd.isna(a["customer_id"]), "walk-in sale: no customer"
    b = out[out["sku"] == "B"].iloc[0]
    assert b["currency"] == "EUR" and b["line_amount_usd_cents"] == 16  # 0.165 -> half to even: 0.16
    refund = out[out["transaction_id"] == "T2"].iloc[0]
    assert refund["net_amount_usd_cents"] == 1045  # (2 x 5.00 - 0.50) x 1.1 = 10.45
    assert out["transacted_at"].iloc[0] == pd.Timestamp("2024-03-06T09:00:00Z")


def test_conflicting_duplicates_keep_the_last_delivered_and_are_counted():
    raw = frame([pos_row(quantity="1"), pos_row(quantity="3")])
    out, stats = T.pos_lines(raw, RATES, D)
    assert stats.conflicting_duplicates == 1 and out["quantity"].tolist() == [3]


def test_the_last_delivered_version_wins_by_file_and_row_not_by_frame_order():
    later = frame([pos_row(quantity="5")], file="pos_EMEA.csv")
    earlier = frame([pos_row(quantity="1"), pos_row(quantity="2")], file="pos_AMER.csv")
    out, stats = T.pos_lines(pd.concat([later, earlier], ignore_index=True), RATES, D)
    assert out["quantity"].tolist() == [5] and stats.conflicting_duplicates == 2
    walk_in = frame([pos_row(customer_id=None), pos_row(sku="B", customer_id=None)])
    assert T.key_codes(walk_in, ["transaction_id", "customer_id"]).tolist() == [0, 0], "missing equals missing"


def test_key_codes_are_equal_exactly_when_every_key_column_is():
    """Checked against tuples of the values, independently; seven 600-value columns pass int64's range,
    so the codes are made dense again on the way (the overflow guard)."""
    rng = np.random.default_rng(3)
    n = 600
    wide = pd.DataFrame({f"k{i}": pd.Series(rng.permutation(n).astype(str), dtype=S) for i in range(7)})
    wide.iloc[n // 2:] = wide.iloc[: n - n // 2].to_numpy()  # the second half repeats the first
    wide.loc[5, "k3"] = None
    wide.loc[5 + n // 2, "k3"] = None  # missing equals missing: still the same key
    wide.loc[7 + n // 2, "k6"] = "changed"  # one column differs: a new key
    codes = T.key_codes(wide, list(wide.columns))
    rows = [tuple("<NA>" if pd.isna(v) else v for v in r) for r in wide.itertuples(index=False)]
    for i in range(n):
        for j in (i + n // 2, (i + 1) % n):
            if j < n:
                assert (codes[i] == codes[j]) == (rows[i] == rows[j]), (i, j)
    assert len(set(codes.tolist())) == len(set(rows)) == n // 2 + 1


def test_keep_rows_is_boolean_indexing():
    """frames.keep_rows filters Arrow-backed columns with Arrow: the same frame as frame[mask], index and dtypes."""
    from platform_assets.storage.frames import keep_rows

    source = pd.DataFrame({
        "s": pd.Series(["a", None, "c", "d"], dtype=S),
        "o": pd.Series(["w", "x", None, "z"], dtype=object),
        "i": np.array([1, 2, 3, 4], dtype=np.int32),
        "t": pd.to_datetime(["2024-03-06", None, "2024-03-07", "2024-03-08"]),
        "u": pd.to_datetime(["2024-03-06T10:00Z"] * 4, utc=True),
        "n": pd.array([1, None, 3, 4], dtype="Int64"),
    }, index=[10, 11, 12, 13])
    source["s2"] = pd.concat([pd.Series(["p", "q"], dtype=S), pd.Series(["r", None], dtype=S)], ignore_index=True
                             ).set_axis(source.index)  # two Arrow chunks
    for mask in ([True, False, True, False], [False] * 4, [True] * 4):
        keep = np.array(mask)
        pd.testing.assert_frame_equal(keep_rows(source, keep), source[keep])
        twice = source[["s", "i", "s"]]  # a repeated column name: pandas' own indexing
        pd.testing.assert_frame_equal(keep_rows(twice, keep), twice[keep])


@pytest.mark.parametrize("dtype", [S, object])
def test_fast_parsers_agree_with_pandas_on_every_form(dtype):
    """money.to_units and frames.utc_timestamps parse with Arrow and fall back to pandas: same values, and the
    same refusal of bad input, as pd.to_numeric / pd.to_datetime."""
    from platform_assets.money import to_units

    amounts = pd.Series(["1.25", "0.1", "2", " 1.5", "", None, "1234567890123.45", "-0.005"], dtype=dtype)
    expected = np.rint(pd.to_numeric(amounts).to_numpy(dtype="float64", na_value=0.0) * 100).astype(np.int64)
    assert to_units(amounts).tolist() == expected.tolist()
    with pytest.raises(ValueError, match="Unable to parse"):
        to_units(pd.Series(["1.00", "abc"], dtype=dtype))
    stamps = pd.Series(["2024-03-06T10:00:00+01:00", "2024-03-06T09:00:00.123456Z", "2024-03-06 10:00:00+0530",
                        None, "2024-03-06T09:00:00"], dtype=dtype, index=[7, 8, 9, 10, 11])
    assert utc_timestamps(stamps).equals(pd.to_datetime(stamps, format="ISO8601", utc=True))
    with pytest.raises(ValueError):
        utc_timestamps(pd.Series(["2024-03-06T25:00:00Z"], dtype=dtype))


def order(order_id, status="completed", lines=None, currency="EUR", **kw):
    row = {"order_id": order_id, "customer_id": "C1", "channel": "web", "ordered_at": "2024-03-06T15:00:00Z",
           "status": status, "currency": currency, "tax_amount": "1.00", "shipping_amount": "5.99",
           "lines": json.dumps(lines or [{"sku": "A", "quantity": 2, "unit_price": "10.00", "discount_amount": "1.00"}])}
    row.update(kw)
    return row


def test_orders_explode_lines_and_total_in_usd():
    raw = frame([order("O1", lines=[{"sku": "A", "quantity": 2, "unit_price": "10.00", "discount_amount": "1.00"},
                                    {"sku": "B", "quantity": 1, "unit_price": "3.33", "discount_amount": "0.00"}]),
                 order("O1"), order("O2", status="cancelled")], file="orders.jsonl")
    orders, lines, stats = T.orders(raw, RATES, D)
    assert stats.conflicting_duplicates == 1  # O1 re-sent with different lines: the last one wins
    o1 = orders.set_index("order_id").loc["O1"]
    assert (o1["gross_usd_cents"], o1["discount_usd_cents"], o1["line_count"], o1["units"]) == (2200, 110, 1, 2)
    assert o1["shipping_usd_cents"] == 659 and o1["tax_usd_cents"] == 110  # 5.99 x 1.1 = 6.589 -> 6.59
    assert lines["order_id"].tolist() == ["O1", "O2"] and lines["status"].tolist() == ["completed", "cancelled"]


def test_first_orders_exclude_customers_seen_before():
    orders = pd.DataFrame({
        "order_id": ["O1", "O2", "O3", "O4"], "customer_id": ["C1", "C1", "C2", "C3"],
        "status": ["completed", "completed", "completed", "cancelled"], "channel": ["web", "app", "web", "web"],
        "ordered_at": pd.to_datetime(["2024-03-06T12:00Z", "2024-03-06T10:00Z", "2024-03-06T11:00Z",
                                      "2024-03-06T09:00Z"])})
    out = T.first_orders(orders, pd.Series(["C2"]), D)
    assert out[["customer_id", "first_order_id"]].values.tolist() == [["C1", "O2"]]


def test_active_users_count_sessions_and_events_per_platform():
    events = pd.DataFrame({"user_id": ["U1", "U1", "U1", "U2"], "platform": ["ios", "ios", "web", "ios"],
                           "session_id": ["S1", "S1", "S2", "S3"], "event_id": ["E1", "E2", "E3", "E4"]})
    out = T.active_users(events, D).sort_values(["user_id", "platform"])
    assert out[["user_id", "platform", "sessions", "events"]].values.tolist() == [
        ["U1", "ios", 1, 2], ["U1", "web", 1, 1], ["U2", "ios", 1, 1]]


def test_marketing_platforms_normalize_into_common_tables():
    from platform_assets.ingestion import registry

    raw = {
        "pinterest_ads": frame([{"DATE": "2024-03-06", "CAMPAIGN_ID": "P1", "SPEND_IN_MICRO_DOLLAR": "1234565000",
                                 "IMPRESSION_1": "10", "CLICKTHROUGH_1": "2", "TOTAL_CONVERSIONS": "1"}]),
        "yotpo": frame([{"review_id": "R1", "sku": "A", "rating": "4", "created_at": "2024-03-06T12:00:00Z"},
                        {"review_id": "R2", "sku": "B", "rating": "2", "created_at": "2024-03-06T13:00:00Z"}]),
    }
    normalized = {name: (T.Platform(registry.get(name).channel, registry.get(name).acquisition_channel),
                         registry.get(name).normalize(df)) for name, df in raw.items()}
    spend, engagement = T.marketing(normalized, RATES, D)
    assert spend[["platform", "channel", "acquisition_channel", "spend_usd_cents"]].values.tolist() == [
        ["pinterest_ads", "paid_social", "pinterest", 123456]]
    assert engagement["reviews"].sum() == 2 and engagement["rating_sum"].sum() == 6


def test_refunds_of_earlier_orders_stay_on_the_refund_date():
    raw = frame([{"refund_id": "R1", "order_id": "O20240220-0000001", "refunded_at": "2024-03-06T16:00:00Z",
                  "amount": "12.34", "currency": "EUR", "reason": "damaged"},
                 {"refund_id": "R1", "order_id": "O20240220-0000001", "refunded_at": "2024-03-06T16:00:00Z",
                  "amount": "12.34", "currency": "EUR", "reason": "damaged"}])
    orders = pd.DataFrame({"order_id": ["O20240220-0000001"], "customer_id": ["C7"],
                           "business_date": [pd.Timestamp("2024-02-20")]})
    out, stats = T.refunds(raw, RATES, D, orders)
    assert stats.exact_duplicates == 1
    assert out["business_date"].tolist() == [pd.Timestamp(D)] and out["amount_usd_cents"].tolist() == [1357]
    assert out["customer_id"].tolist() == ["C7"] and out["order_business_date"].tolist() == [pd.Timestamp("2024-02-20")]
