"""The one partitions definition: a business date in the reporting time zone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import dagster as dg

REPORTING_TZ = "America/New_York"
FIRST_BUSINESS_DATE = dt.date(2024, 1, 1)

# The partition for business date D is available from midnight after D (New York): exports of
# a day land the next morning, which is when its reports are due.
DAILY_PARTITIONS = dg.DailyPartitionsDefinition(
    start_date=FIRST_BUSINESS_DATE.isoformat(), timezone=REPORTING_TZ
)

PARTITION_COLUMN = "business_date"


def parse_date(value: str | dt.date) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"expected a date as YYYY-MM-DD, got {value!r}") from exc


def date_range(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    """Dates from start to end, both included."""
    day = start
    while day <= end:
        yield day
        day += dt.timedelta(days=1)


def window_dates(window: dg.TimeWindow) -> list[dt.date]:
    """The business dates of a Dagster time window (end is exclusive)."""
    start = window.start.date()
    end = window.end.date() - dt.timedelta(days=1)
    return list(date_range(start, end))


def run_tags(start: dt.date, end: dt.date) -> dict[str, str]:
    """Dagster's run tags for one business date, or for a range of them (a backfill run)."""
    if start == end:
        return {"dagster/partition": start.isoformat()}
    return {"dagster/asset_partition_range_start": start.isoformat(),
            "dagster/asset_partition_range_end": end.isoformat()}
