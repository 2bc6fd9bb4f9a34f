"""A report's rows for a date range as CSV or JSON (what finance pastes into spreadsheets).

Money is exact: CSV carries the decimal text ("1234.50"); JSON carries it as a string, so no
client parses it into a float. Missing values are empty (CSV) or null (JSON).
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import math

import pandas as pd

from platform_assets import keys
from platform_assets.partitions import PARTITION_COLUMN, date_range
from platform_assets.reports import report_table
from platform_assets.storage.warehouse import Warehouse

REPORT_NAMES = tuple(k.to_user_string() for k in keys.REPORTS)


class ExportError(Exception):
    pass


def _cell(value) -> object:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def export_rows(wh: Warehouse, asset: str, start: dt.date, end: dt.date) -> list[dict]:
    if asset not in REPORT_NAMES:
        raise ExportError(f"unknown report {asset!r}; reports: {', '.join(REPORT_NAMES)}")
    if end < start:
        raise ExportError(f"--end {end} is before --start {start}")
    table = report_table(next(k for k in keys.REPORTS if k.to_user_string() == asset))
    loaded = set(wh.dates(table))
    missing = [d for d in date_range(start, end) if d not in loaded]
    if missing:
        shown = ", ".join(d.isoformat() for d in missing[:10]) + (" ..." if len(missing) > 10 else "")
        raise ExportError(f"{asset} has no data for {len(missing)} date(s): {shown}; materialize them first "
                          f"(platform-assets materialize --start {missing[0]} --end {missing[-1]}, or a backfill "
                          "in the Dagster UI)")
    frame = wh.read(table, start, end)
    sort = [PARTITION_COLUMN] + [c for c in ("region", "experiment_id", "variant", "acquisition_channel") if c in frame]
    frame = frame.sort_values(sort, kind="stable")
    return [{k: _cell(v) for k, v in row.items()} for row in frame.to_dict("records")]


def to_csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows([{k: ("" if v is None else v) for k, v in r.items()} for r in rows])
    return buf.getvalue()


def to_json(rows: list[dict]) -> str:
    return json.dumps(rows, indent=1) + "\n"
