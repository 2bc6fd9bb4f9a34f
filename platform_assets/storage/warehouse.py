"""The warehouse interface every asset reads and writes through.

A table belongs to a layer (raw, staging, reports) and is partitioned by ``business_date``.
Writes replace whole partitions: every date in the written window is replaced by exactly the
rows given for it (none -> an empty partition), atomically per backend, so re-running any
materialization or backfill is safe.

In DataFrames, ``business_date`` is ``datetime64[ns]`` (midnight); the backends store a DATE.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from platform_assets.partitions import PARTITION_COLUMN
from platform_assets.storage.frames import partition_dates, partition_days
from platform_assets.settings import Settings

LAYERS = ("raw", "staging", "reports")


@dataclass(frozen=True)
class Table:
    layer: str
    name: str

    def __post_init__(self) -> None:
        if self.layer not in LAYERS:
            raise ValueError(f"layer must be one of {LAYERS}, got {self.layer!r}")

    def __str__(self) -> str:
        return f"{self.layer}.{self.name}"


@dataclass(frozen=True)
class WriteResult:
    rows: int
    dates: list[dt.date]


class Warehouse(ABC):
    backend: str

    @abstractmethod
    def replace(self, table: Table, frame: pd.DataFrame, dates: Sequence[dt.date]) -> WriteResult:
        """Replace the partitions ``dates`` of ``table`` with ``frame``'s rows."""

    @abstractmethod
    def stage(self, table: Table, day: dt.date, token: str, frame: pd.DataFrame, part_column: str,
              part_value: str) -> int:
        """Write one part of a new version of partition ``day``: the rows whose ``part_column`` is
        ``part_value`` (e.g. one region's file). Invisible to readers until ``publish``; parts of
        one version may be staged by several processes at once."""

    @abstractmethod
    def publish(self, table: Table, day: dt.date, token: str, part_column: str,
                part_values: Sequence[str]) -> WriteResult:
        """Make the staged parts of version ``token`` the partition, all at once, replacing what
        was there (atomically, like ``replace``)."""

    @abstractmethod
    def discard(self, table: Table, day: dt.date, token: str) -> None:
        """Drop the staged parts of a version that will not be published."""

    @abstractmethod
    def read(self, table: Table, start: dt.date, end: dt.date, columns: Sequence[str] | None = None,
             where: Mapping[str, Sequence[str]] | None = None) -> pd.DataFrame:
        """Rows with start <= business_date <= end (an empty frame if none exist), in no
        particular order: callers sort when order matters. ``where`` keeps rows whose column
        value is one of the given strings (e.g. one part of a partition)."""

    @abstractmethod
    def dates(self, table: Table) -> list[dt.date]:
        """Business dates with a written partition (possibly empty), ascending."""

    @abstractmethod
    def row_counts(self, table: Table, start: dt.date, end: dt.date) -> dict[dt.date, int]:
        """Rows per written partition in the window."""

    @abstractmethod
    def versions(self, table: Table, start: dt.date, end: dt.date) -> dict[dt.date, str]:
        """Per written partition in the window, an identifier of its current content: it changes
        whenever the partition is replaced, so what a caller derived from a partition can be kept
        under it (anomaly baselines read the same history for every date of a range)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    @staticmethod
    def check_frame(table: Table, frame: pd.DataFrame, dates: Sequence[dt.date]) -> None:
        if PARTITION_COLUMN not in frame.columns:
            raise ValueError(f"{table}: frame has no {PARTITION_COLUMN!r} column")
        if not len(dates):
            raise ValueError(f"{table}: no partitions to write")
        outside = sorted(partition_dates(partition_days(frame)) - set(dates), key=str)
        if outside:
            raise ValueError(
                f"{table}: rows for {outside[:3]} fall outside the partitions being written "
                f"({min(dates)}..{max(dates)})"
            )


    @staticmethod
    def check_part(table: Table, frame: pd.DataFrame, day: dt.date, part_column: str, part_value: str) -> None:
        Warehouse.check_frame(table, frame, [day])
        if part_column not in frame.columns:
            raise ValueError(f"{table}: frame has no part column {part_column!r}")
        other = sorted({str(v) for v in frame[part_column].dropna().unique()} - {part_value})  # str() of the few
        # distinct values, not of every row (astype(str) made a Python string per row: ~0.1 s per 370k)
        if other or frame[part_column].isna().any():
            raise ValueError(f"{table} {day}: the part {part_column}={part_value!r} has rows of "
                             f"{other[:3] or ['(missing)']}")


# Rows a range run's reads hold per table and column set (a block of dates read at once).
RANGE_READ_ROWS = 1_000_000


class RangeReads:
    """A warehouse for a run's inputs: a range run's one-date reads of a table are served from one
    read of a block of consecutive dates (as many as fit in ``max_rows``), split by date. A month's
    backfill of a report read each input table 28 times, ~7 ms a read; now once at small scale, and
    at bench scale (a million POS lines a day) still one date per read. Anything else (a one-date
    run, a window, a filtered read, writes) goes to the warehouse itself. Only for tables the step
    does not write: a block is not read again."""

    def __init__(self, warehouse: Warehouse, days: Sequence[dt.date], max_rows: int = RANGE_READ_ROWS):
        self.warehouse = warehouse
        self.days = sorted(days)
        self.max_rows = max_rows
        self._blocks: dict[tuple, tuple[set[dt.date], dict[dt.date, pd.DataFrame], pd.DataFrame]] = {}

    def __getattr__(self, name: str):
        return getattr(self.warehouse, name)

    def read(self, table: Table, start: dt.date, end: dt.date, columns: Sequence[str] | None = None,
             where: Mapping[str, Sequence[str]] | None = None) -> pd.DataFrame:
        if where or start != end or len(self.days) < 2 or start not in self.days:
            return self.warehouse.read(table, start, end, columns, where)
        key = (table, tuple(columns) if columns else None)
        block = self._blocks.get(key)
        if block is None or start not in block[0]:
            block = self._blocks[key] = self._read_block(table, start, list(columns) if columns else None)
        days, by_day, empty = block
        return by_day.get(start, empty).copy(deep=False)

    def _read_block(self, table: Table, first: dt.date, wanted: list[str] | None):
        counts = self.warehouse.row_counts(table, first, self.days[-1])
        block, rows = [], 0
        for day in self.days[self.days.index(first):]:
            rows += counts.get(day, 0)
            if block and rows > self.max_rows:
                break
            block.append(day)
        read = wanted if wanted is None or PARTITION_COLUMN in wanted else [*wanted, PARTITION_COLUMN]
        frame = self.warehouse.read(table, block[0], block[-1], read)
        by_day = {}
        if len(frame):
            # Split by date into slices of rows: a read's dates come in order (a file per date), so
            # each date's rows are one run of rows (sorted first otherwise). groupby copied every
            # group's rows, ~1.6 s of a 28-day report run at small scale.
            stamps = frame[PARTITION_COLUMN]
            if not stamps.is_monotonic_increasing:
                frame = frame.sort_values(PARTITION_COLUMN, kind="stable", ignore_index=True)
                stamps = frame[PARTITION_COLUMN]
            values = stamps.to_numpy()
            starts = np.flatnonzero(np.r_[True, values[1:] != values[:-1]])
            ends = np.r_[starts[1:], len(frame)]
            for start, end in zip(starts, ends):
                part = frame.iloc[start:end].copy(deep=False)
                part.index = pd.RangeIndex(end - start)
                by_day[pd.Timestamp(values[start]).date()] = part if read is wanted else part[wanted]
        empty = (frame if read is wanted else frame[wanted]).iloc[:0]
        return set(block), by_day, empty


def open_warehouse(settings: Settings) -> Warehouse:
    if settings.database_url:
        from platform_assets.storage.postgres import PostgresWarehouse

        return PostgresWarehouse(settings.database_url)
    from platform_assets.storage.parquet import ParquetWarehouse

    return ParquetWarehouse(settings.data_dir / "warehouse")
