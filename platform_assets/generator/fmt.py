"""Vectorized formatting of generated values into the strings exports contain."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def ints(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())


def money(cents: np.ndarray) -> pa.Array:
    """Integer hundredths as a decimal string with two places: 1234 -> '12.34', -5 -> '-0.05'."""
    cents = np.asarray(cents, dtype=np.int64)
    sign = pa.array(np.where(cents < 0, "-", ""))
    absolute = np.abs(cents)
    whole = ints(absolute // 100)
    frac = pc.utf8_lpad(ints(absolute % 100), 2, "0")
    return pc.binary_join_element_wise(sign, whole, ".", frac, "")


def timestamps(epoch_seconds: np.ndarray, offset_seconds: np.ndarray | int, utc_z: bool) -> pa.Array:
    """ISO-8601 timestamps: '...Z' in UTC, or local wall time with its '+HH:MM' offset."""
    epoch_seconds = np.asarray(epoch_seconds, dtype=np.int64)
    offset = np.broadcast_to(np.asarray(offset_seconds, dtype=np.int64), epoch_seconds.shape)
    wall = pa.array(epoch_seconds + (0 if utc_z else offset), type=pa.timestamp("s"))
    text = pc.strftime(wall, format="%Y-%m-%dT%H:%M:%S")
    if utc_z:
        return pc.binary_join_element_wise(text, pa.scalar("Z"), "")
    sign = np.where(offset < 0, "-", "+")
    hh = np.abs(offset) // 3600
    mm = (np.abs(offset) % 3600) // 60
    suffix = pc.binary_join_element_wise(
        pa.array(sign), pc.utf8_lpad(ints(hh), 2, "0"), ":", pc.utf8_lpad(ints(mm), 2, "0"), ""
    )
    return pc.binary_join_element_wise(text, suffix, "")


def json_lines(columns: dict[str, pa.Array], raw: set[str] = frozenset()) -> pa.Array:
    """One JSON object per row; values are JSON strings except columns in ``raw`` (already JSON).

    The values generated here never contain quotes, backslashes or control characters except
    in columns passed through ``escape``; the writer is checked against json.loads in tests.
    """
    parts: list = []
    first = True
    for name, values in columns.items():
        parts.append(pa.scalar(("{" if first else ",") + f'"{name}":' + ("" if name in raw else '"')))
        parts.append(values)
        if name not in raw:
            parts.append(pa.scalar('"'))
        first = False
    parts.append(pa.scalar("}"))
    return pc.binary_join_element_wise(*parts, "")


def escape(values: pa.Array) -> pa.Array:
    """Escape backslashes and quotes for embedding in a JSON string."""
    values = pc.replace_substring(values, "\\", "\\\\")
    return pc.replace_substring(values, '"', '\\"')
