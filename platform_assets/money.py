"""Exact money arithmetic: integer minor units, one conversion rule, decimal reporting.

Rule (docs/metrics.md): every row's amount is converted to USD with the FX rate of its business
date and rounded half to even to the cent; sums are sums of those integer cents, so totals are
exact and independent of summation order. Rates are kept as integers of 1e-8 USD per unit.

Parsing goes through float64, which is exact here: a validated decimal with at most 8 places
and |value| < 1e7 (or 2 places and < 1e13) is the nearest double to a value whose scaled integer
is recovered by rounding, because the scaled magnitude stays far below 2**53.
"""

from __future__ import annotations

import decimal

import numpy as np
import pandas as pd

from platform_assets.storage.frames import float_numbers

RATE_SCALE = 10**8
CENT = decimal.Decimal("0.01")


def to_units(values: pd.Series | np.ndarray, places: int = 2) -> np.ndarray:
    """Decimal strings (already validated) to int64 units of 10**-places; nulls become 0."""
    return np.rint(to_float(values) * 10**places).astype(np.int64)


def to_float(values: pd.Series | np.ndarray) -> np.ndarray:
    """Decimal strings to float64 (nulls 0.0); bad input raises (``frames.float_numbers``)."""
    return float_numbers(pd.Series(values), missing=0.0)


def rate_units(values: pd.Series | np.ndarray) -> np.ndarray:
    """usd_per_unit strings to integer 1e-8 USD."""
    return to_units(values, places=8)


def round_half_even_div(numerator: np.ndarray, divisor: int) -> np.ndarray:
    """numerator / divisor rounded half to even, in integers (no float anywhere)."""
    q, r = np.divmod(np.asarray(numerator, dtype=np.int64), divisor)
    twice = 2 * r
    return q + ((twice > divisor) | ((twice == divisor) & (q % 2 == 1)))


def convert_to_usd_cents(local_cents: np.ndarray, usd_per_unit_e8: np.ndarray) -> np.ndarray:
    """Local minor units to USD cents at the given rates, half-even to the cent."""
    local = np.asarray(local_cents, dtype=np.int64)
    rates = np.asarray(usd_per_unit_e8, dtype=np.int64)
    if local.size and (np.abs(local).max() > 9 * 10**10):
        raise OverflowError("amount too large for exact conversion (over 900 million units in one row)")
    return round_half_even_div(local * rates, RATE_SCALE)


def cents_to_decimal(cents: int | np.integer) -> decimal.Decimal:
    return (decimal.Decimal(int(cents)) * CENT).quantize(CENT)


def decimal_column(cents: pd.Series | np.ndarray) -> pd.Series:
    """A column of exact Decimals (what reports store as decimal(18, 2))."""
    return pd.Series([cents_to_decimal(c) for c in np.asarray(cents, dtype=np.int64)], dtype=object)


def floats(values) -> np.ndarray:
    """A float column where missing values (None) are NaN, as pandas and Parquet expect."""
    return np.array([np.nan if v is None else float(v) for v in values], dtype="float64")


def ratio(numerator: float, denominator: float) -> float | None:
    """A rate for reporting; None where the denominator is zero (not 0 or inf)."""
    return None if not denominator else float(numerator) / float(denominator)
