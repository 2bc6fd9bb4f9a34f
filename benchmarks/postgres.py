"""pg_write_over_copy / pg_read_over_copy: the warehouse on PostgreSQL against COPY, 1M+ rows.

A bench-scale raw POS partition (1.1M rows, 21 columns) is written and read through
PostgresWarehouse, against the anchors of the same rows: COPY FROM a CSV file already on disk
into a regular (logged) table (write) and COPY TO STDOUT parsed by pyarrow (read). The
warehouse's write replaces the partition (it existed), so it includes the truncate and catalog
update. Medians of 3; targets <= 2.0.
The server comes from PLATFORM_TEST_DATABASE_URL (a scratch database is created and dropped).
"""

from __future__ import annotations

import io
import os
import uuid
from pathlib import Path

import psycopg
import pyarrow.csv as pcsv

from benchmarks.common import BENCH_DAY, bench_landing, emit, median_seconds, ok


def run(workdir: Path) -> None:
    from platform_assets.ingestion.framework import raw_table
    from platform_assets.resources import PlatformResource
    from platform_assets.storage.frames import to_arrow
    from platform_assets.storage.postgres import PostgresWarehouse
    from platform_assets.storage.warehouse import Table

    admin = os.environ.get("PLATFORM_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"platform_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = admin.rsplit("/", 1)[0] + "/" + name
    try:
        landing = bench_landing(workdir, ["pos_transactions", "fx_rates"])
        embedded = PlatformResource(landing_dir=str(landing), data_dir=str(workdir / "pg_bench_data"))
        ok(embedded.importer().import_day("pos_transactions", BENCH_DAY, force=True))
        frame = embedded.warehouse().read(raw_table("pos_transactions"), BENCH_DAY, BENCH_DAY)
        emit("pg_bench_rows", len(frame))
        wh = PostgresWarehouse(url)
        table = Table("raw", "raw_pos_transactions")
        wh.replace(table, frame, [BENCH_DAY])  # creates the table
        arrow = to_arrow(frame)
        csv_path = workdir / "pg_anchor.csv"
        with open(csv_path, "wb") as fh:
            pcsv.write_csv(arrow, fh, pcsv.WriteOptions(include_header=False, quoting_style="needed"))
        columns = ", ".join(f'"{c}"' for c in arrow.column_names)

        def copy_anchor():
            with psycopg.connect(url) as conn, conn.transaction():
                # A regular (logged) table, as the warehouse writes: a temp table would skip the WAL.
                conn.execute("DROP TABLE IF EXISTS public.anchor")
                conn.execute("CREATE TABLE public.anchor (LIKE raw.raw_pos_transactions)")
                with conn.cursor().copy(f"COPY anchor ({columns}) FROM STDIN (FORMAT csv)") as copy, \
                        open(csv_path, "rb") as fh:
                    while chunk := fh.read(1 << 22):
                        copy.write(chunk)

        def read_anchor():
            buf = io.BytesIO()
            with psycopg.connect(url) as conn, conn.cursor().copy(
                    f"COPY (SELECT * FROM raw.raw_pos_transactions WHERE business_date = '{BENCH_DAY}') TO STDOUT "
                    "(FORMAT csv)") as copy:
                for chunk in copy:
                    buf.write(chunk)
            buf.seek(0)
            return pcsv.read_csv(buf, read_options=pcsv.ReadOptions(autogenerate_column_names=True))

        write_copy = median_seconds(copy_anchor)
        write_ours = median_seconds(lambda: wh.replace(table, frame, [BENCH_DAY]))
        read_copy = median_seconds(read_anchor)
        read_ours = median_seconds(lambda: PostgresWarehouse(url).read(table, BENCH_DAY, BENCH_DAY))
        emit("pg_copy_write_s", write_copy)
        emit("pg_warehouse_write_s", write_ours)
        emit("pg_write_over_copy", write_ours / write_copy)
        emit("pg_copy_read_s", read_copy)
        emit("pg_warehouse_read_s", read_ours)
        emit("pg_read_over_copy", read_ours / read_copy)
        wh.close()
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
