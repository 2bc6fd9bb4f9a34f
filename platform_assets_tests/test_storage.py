"""The embedded warehouse: whole-partition replacement, atomic against a crash mid-write."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from platform_assets.storage.parquet import ParquetWarehouse
from platform_assets.storage.warehouse import Table

T = Table("staging", "stg_example")
D1, D2 = dt.date(2024, 3, 4), dt.date(2024, 3, 5)


def frame(day, values):
    return pd.DataFrame({"business_date": pd.Timestamp(day), "value": values})


def test_replace_is_per_partition_and_a_window_replaces_every_date_in_it(tmp_path):
    wh = ParquetWarehouse(tmp_path)
    wh.replace(T, pd.concat([frame(D1, [1, 2]), frame(D2, [3])]), [D1, D2])
    wh.replace(T, frame(D1, [9]), [D1])
    assert wh.read(T, D1, D2)["value"].tolist() == [9, 3]
    wh.replace(T, frame(D2, []).astype({"value": "int64"}), [D1, D2])  # a window with no rows: both emptied
    assert wh.row_counts(T, D1, D2) == {D1: 0, D2: 0} and wh.dates(T) == [D1, D2]


def test_rows_outside_the_written_window_are_refused(tmp_path):
    with pytest.raises(ValueError, match="fall outside the partitions being written"):
        ParquetWarehouse(tmp_path).replace(T, frame(D2, [1]), [D1])


def test_a_process_killed_while_writing_leaves_the_previous_version(tmp_path):
    wh = ParquetWarehouse(tmp_path)
    wh.replace(T, frame(D1, list(range(10))), [D1])
    script = textwrap.dedent(f"""
        import datetime as dt, os, pandas as pd, pyarrow.parquet as pq
        from pathlib import Path
        from platform_assets.storage.parquet import ParquetWarehouse
        from platform_assets.storage.warehouse import Table
        real = pq.write_table
        def write_then_die(table, where, **kw):
            real(table.slice(0, 1000), where, **kw)
            where.flush()
            os._exit(9)   # killed mid-write: no cleanup, no rename
        pq.write_table = write_then_die
        ParquetWarehouse(Path({str(tmp_path)!r})).replace(
            Table("staging", "stg_example"),
            pd.DataFrame({{"business_date": pd.Timestamp("{D1}"), "value": range(100_000)}}), [dt.date.fromisoformat("{D1}")])
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 9, proc.stderr
    assert wh.read(T, D1, D1)["value"].tolist() == list(range(10)), "the previous version is intact and readable"
    leftovers = [p for p in os.listdir(wh.path(T, D1).parent) if p.startswith(".tmp-")]
    assert leftovers, "the interrupted write left only a temporary file beside the partition"
    wh.replace(T, frame(D1, [1]), [D1])  # the next write succeeds regardless
    assert wh.read(T, D1, D1)["value"].tolist() == [1]
