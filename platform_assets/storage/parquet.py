"""The embedded warehouse: one Parquet file per table partition.

Layout: ``<root>/<layer>/<table>/<YYYY-MM-DD>/part-0.parquet``; the file carries its own
``business_date`` column, so any Parquet reader sees complete rows. A partition is written to a
temporary file in the same directory, flushed to disk, then renamed over the old one: a crash
leaves either the previous version or the new one, never half a file.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from platform_assets.partitions import PARTITION_COLUMN
from platform_assets.storage.frames import from_arrow, to_arrow
from platform_assets.storage.warehouse import Table, Warehouse, WriteResult

FILE_NAME = "part-0.parquet"


class ParquetWarehouse(Warehouse):
    backend = "parquet"

    def __init__(self, root: Path):
        self.root = Path(root)

    def _dir(self, table: Table) -> Path:
        return self.root / table.layer / table.name

    def path(self, table: Table, day: dt.date) -> Path:
        return self._dir(table) / day.isoformat() / FILE_NAME

    def replace(self, table: Table, frame: pd.DataFrame, dates: Sequence[dt.date]) -> WriteResult:
        self.check_frame(table, frame, dates)
        arrow = to_arrow(frame)
        keys = pa.array(pd.to_datetime(frame[PARTITION_COLUMN]).dt.date.to_numpy(), pa.date32())
        total = 0
        for day in sorted(dates):
            part = arrow.filter(pa.compute.equal(keys, pa.scalar(day, pa.date32()))) if len(dates) > 1 else arrow
            self._write_atomically(self.path(table, day), part)
            total += part.num_rows
        return WriteResult(total, sorted(dates))

    @staticmethod
    def _write_atomically(target: Path, table: pa.Table) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".tmp-{uuid.uuid4().hex}.parquet"
        try:
            with open(tmp, "wb") as fh:
                pq.write_table(table, fh, compression="zstd")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)

    def read(self, table: Table, start: dt.date, end: dt.date, columns: Sequence[str] | None = None) -> pd.DataFrame:
        parts = []
        for day in self.dates(table):
            if start <= day <= end:
                parts.append(pq.read_table(self.path(table, day), columns=list(columns) if columns else None))
        if not parts:
            return pd.DataFrame(columns=list(columns) if columns else [PARTITION_COLUMN])
        return from_arrow(pa.concat_tables(parts, promote_options="default"))

    def dates(self, table: Table) -> list[dt.date]:
        base = self._dir(table)
        if not base.exists():
            return []
        out = []
        for child in base.iterdir():
            if (child / FILE_NAME).exists():
                try:
                    out.append(dt.date.fromisoformat(child.name))
                except ValueError:
                    continue
        return sorted(out)

    def row_counts(self, table: Table, start: dt.date, end: dt.date) -> dict[dt.date, int]:
        return {
            day: pq.ParquetFile(self.path(table, day)).metadata.num_rows
            for day in self.dates(table)
            if start <= day <= end
        }
