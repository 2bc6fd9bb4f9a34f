"""Money arithmetic against Python's Decimal, the independent reference."""

from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
import pandas as pd
import pytest

from platform_assets.money import (
    cents_to_decimal, convert_to_usd_cents, rate_units, round_half_even_div, to_units,
)


def reference(local: str, rate: str) -> int:
    usd = (Decimal(local) * Decimal(rate)).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    return int(usd * 100)


@pytest.mark.parametrize("local,rate", [
    ("0.50", "1"), ("0.05", "0.5"), ("0.15", "0.5"), ("0.25", "0.5"), ("10.00", "0.00675"),
    ("1234.56", "1.08543219"), ("99999.99", "0.00681234"), ("0.01", "0.00000001"), ("7.77", "0.7385"),
])
def test_conversion_rounds_half_to_even_like_decimal(local, rate):
    got = convert_to_usd_cents(to_units(pd.Series([local])), rate_units(pd.Series([rate])))
    assert int(got[0]) == reference(local, rate)


def test_conversion_matches_decimal_on_random_amounts():
    rng = np.random.default_rng(1)
    cents = rng.integers(0, 10**9, 5_000)
    rates = rng.integers(1, 3 * 10**8, 5_000)
    locals_ = [f"{c // 100}.{c % 100:02d}" for c in cents]
    rates_text = [f"{r // 10**8}.{r % 10**8:08d}" for r in rates]
    got = convert_to_usd_cents(to_units(pd.Series(locals_)), rate_units(pd.Series(rates_text)))
    assert got.tolist() == [reference(a, b) for a, b in zip(locals_, rates_text)]


def test_parsing_is_exact_for_validated_decimals():
    values = pd.Series(["0.1", "0.29", "1.005"[:4], "123456789.99", "-4.20", "7"])
    assert to_units(values).tolist() == [10, 29, 100, 12345678999, -420, 700]
    assert rate_units(pd.Series(["1.08543219", "0.0068"])).tolist() == [108543219, 680000]


def test_integer_half_even_division_with_negatives():
    assert round_half_even_div(np.array([150, 250, -150, -250, 149, -151]), 100).tolist() == [2, 2, -2, -2, 1, -2]


def test_huge_rows_are_refused_not_silently_overflowed():
    with pytest.raises(OverflowError):
        convert_to_usd_cents(np.array([10**12]), np.array([10**8]))


def test_cents_to_decimal():
    assert str(cents_to_decimal(123456)) == "1234.56" and str(cents_to_decimal(-5)) == "-0.05"
