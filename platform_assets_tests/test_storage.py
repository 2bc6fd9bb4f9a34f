"""The embedded warehouse: whole-partition replacement and partitions written in parts, atomic
against a crash mid-write."""

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
    leftovers = [p for p in os.listdir(wh.partition_dir(T, D1)) if p.startswith(".tmp-")]
    assert leftovers, "the interrupted write left only a temporary file beside the partition"
    wh.replace(T, frame(D1, [1]), [D1])  # the next write succeeds regardless
    assert wh.read(T, D1, D1)["value"].tolist() == [1]


def part(day, region, values):
    return pd.DataFrame({"business_date": pd.Timestamp(day), "_file": f"pos_{region}.csv", "value": values})


def test_parts_stay_invisible_until_published_then_replace_the_partition_at_once(tmp_path):
    wh = ParquetWarehouse(tmp_path)
    wh.replace(T, pd.concat([part(D1, "AMER", [1]), part(D1, "EMEA", [2])]), [D1])
    wh.stage(T, D1, "v2", part(D1, "AMER", [10, 11]), "_file", "pos_AMER.csv")
    wh.stage(T, D1, "v2", part(D1, "EMEA", [20]), "_file", "pos_EMEA.csv")
    assert sorted(wh.read(T, D1, D1)["value"]) == [1, 2], "staged parts are not visible"
    result = wh.publish(T, D1, "v2", "_file", ["pos_AMER.csv", "pos_EMEA.csv"])
    assert result.rows == 3 and wh.row_counts(T, D1, D1) == {D1: 3}
    assert sorted(wh.read(T, D1, D1)["value"]) == [10, 11, 20]
    only = wh.read(T, D1, D1, columns=["value"], where={"_file": ["pos_EMEA.csv"]})
    assert only.columns.tolist() == ["value"] and only["value"].tolist() == [20]
    both = wh.read(T, D1, D1, where={"_file": ["pos_AMER.csv", "pos_EMEA.csv", "pos_APAC.csv"]})
    assert sorted(both["value"]) == [10, 11, 20] and set(both["_file"]) == {"pos_AMER.csv", "pos_EMEA.csv"}
    # A whole-partition write after a parted one replaces it too, and a filter still works on it.
    wh.replace(T, part(D1, "APAC", [7]), [D1])
    assert wh.read(T, D1, D1)["value"].tolist() == [7]
    assert wh.read(T, D1, D1, where={"_file": ["pos_AMER.csv"]}).empty


def test_a_part_with_rows_of_another_part_or_date_is_refused_and_a_discarded_version_never_shows(tmp_path):
    wh = ParquetWarehouse(tmp_path)
    with pytest.raises(ValueError, match="has rows of"):
        wh.stage(T, D1, "v1", pd.concat([part(D1, "AMER", [1]), part(D1, "EMEA", [2])]), "_file", "pos_AMER.csv")
    with pytest.raises(ValueError, match="fall outside"):
        wh.stage(T, D1, "v1", part(D2, "AMER", [1]), "_file", "pos_AMER.csv")
    wh.stage(T, D1, "v1", part(D1, "AMER", [1]), "_file", "pos_AMER.csv")
    with pytest.raises(FileNotFoundError, match="no staged part"):
        wh.publish(T, D1, "v1", "_file", ["pos_AMER.csv", "pos_EMEA.csv"])
    wh.discard(T, D1, "v1")
    assert wh.dates(T) == [] and not list(wh.partition_dir(T, D1).glob("*.parquet"))


def test_old_versions_are_removed_but_the_one_a_reader_may_hold_is_kept(tmp_path):
    wh = ParquetWarehouse(tmp_path)
    for v in range(4):
        wh.replace(T, frame(D1, [v]), [D1])
    files = sorted(p.name for p in wh.partition_dir(T, D1).glob("*.parquet"))
    assert len(files) == 2, files  # the current version and the one before it
    assert wh.read(T, D1, D1)["value"].tolist() == [3]


@pytest.mark.parametrize("form", ["naive", "tz", "string", "date objects", "with a missing date"])
def test_partition_days_are_the_dates_pandas_gives(form):
    from platform_assets.storage.frames import partition_dates, partition_days

    stamps = pd.Series(pd.to_datetime(["2024-03-04", "2024-03-04", "2024-02-29", "1969-12-31", "2031-01-01"]))
    column = {"naive": stamps, "tz": stamps.dt.tz_localize("America/New_York"), "string": stamps.dt.strftime("%Y-%m-%d"),
              "date objects": stamps.dt.date, "with a missing date": stamps.where(stamps.index != 1)}[form]
    frame = pd.DataFrame({"business_date": column})
    expected = [None if pd.isna(d) else d for d in pd.to_datetime(frame["business_date"]).dt.date]
    assert [None if pd.isna(d) else d for d in partition_days(frame).tolist()] == expected
    assert partition_dates(partition_days(frame)) == set(expected)


def test_a_row_without_a_business_date_is_refused(tmp_path):
    wh = ParquetWarehouse(tmp_path)
    frame = pd.DataFrame({"x": [1, 2], "business_date": [pd.Timestamp(D1), pd.NaT]})
    with pytest.raises(ValueError, match=r"rows for \[None\] fall outside"):
        wh.replace(T, frame, [D1])


@pytest.mark.parametrize("max_rows", [1, 3, 1_000])
def test_range_reads_give_each_date_what_a_read_of_that_date_gives(tmp_path, max_rows):
    from platform_assets.storage.warehouse import RangeReads

    wh = ParquetWarehouse(tmp_path)
    days = [D1 + dt.timedelta(days=i) for i in range(5)]
    values = {days[0]: [1, 2], days[1]: [3], days[2]: [], days[4]: [4, 5, 6]}  # days[3] never written
    for d, v in values.items():
        wh.replace(T, pd.DataFrame({"business_date": pd.Timestamp(d), "value": pd.Series(v, dtype="int64"),
                                    "label": pd.Series([f"x{i}" for i in v], dtype="string[pyarrow]")}), [d])
    reads = RangeReads(wh, days, max_rows=max_rows)
    for columns in (None, ["value"], ["business_date", "label"]):
        for d in days:
            got, expected = reads.read(T, d, d, columns), wh.read(T, d, d, columns)
            if expected.empty:  # a date without rows: no rows, at least the columns a one-date read has
                assert got.empty and set(expected.columns) <= set(got.columns)
            else:
                pd.testing.assert_frame_equal(got, expected)
    assert reads.row_counts(T, D1, days[-1]) == wh.row_counts(T, D1, days[-1])  # the rest is the warehouse's
    window = reads.read(T, days[0], days[1])
    pd.testing.assert_frame_equal(window, wh.read(T, days[0], days[1]))
