"""The production warehouse: PostgreSQL, one schema per layer, one table per asset.

- Types keep money exact (``numeric(18,2)`` for report money, ``bigint`` cents in staging).
- Each table is partitioned by ``business_date`` (one child table per date), so a write replaces
  its partitions in one transaction at a cost independent of the old data: truncate (or create)
  each date's child, ``COPY ... FREEZE`` the rows in (CSV produced by pyarrow: the fast path,
  ``to_sql`` is 20-100x slower), update the partition catalog. A process killed mid-write rolls
  back: the previous version stays, nothing half-written is visible.
- Reads stream ``COPY (SELECT ...) TO STDOUT`` into pyarrow's CSV reader with the table's types.
- A partition can also be written in parts from several processes at once (``stage``, then
  ``publish``): each part is its own table, created and loaded (COPY FREEZE) in its own
  transaction with CHECK constraints matching its bounds; ``publish`` attaches the parts under a
  new date child partitioned by the part column and swaps it in for the old child in one short
  transaction (the constraints spare PostgreSQL a scan of the rows).
- ``warehouse_partitions`` (schema ``meta``) records every written partition and its row count,
  so empty partitions exist and listing partitions never scans a big table.
- One connection per Warehouse object (one per step process), opened lazily: a run uses at most
  one warehouse connection per concurrently executing step (docs/decisions.md, bounded connections).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from collections.abc import Mapping, Sequence

import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.csv as pcsv
from psycopg import sql

from platform_assets.partitions import PARTITION_COLUMN
from platform_assets.storage.frames import from_arrow, to_arrow
from platform_assets.storage.warehouse import LAYERS, Table, Warehouse, WriteResult

CATALOG = sql.Identifier("meta", "warehouse_partitions")


def pg_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "text"
    if pa.types.is_int64(arrow_type):
        return "bigint"
    if pa.types.is_int32(arrow_type) or pa.types.is_int16(arrow_type) or pa.types.is_int8(arrow_type):
        return "integer"
    if pa.types.is_floating(arrow_type):
        return "double precision"
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_date(arrow_type):
        return "date"
    if pa.types.is_timestamp(arrow_type):
        return "timestamptz" if arrow_type.tz else "timestamp"
    if pa.types.is_decimal(arrow_type):
        return f"numeric({arrow_type.precision},{arrow_type.scale})"
    if pa.types.is_null(arrow_type):
        return "text"
    raise TypeError(f"no PostgreSQL type for Arrow type {arrow_type}")


def arrow_type(pg: str) -> pa.DataType:
    if pg.startswith("numeric"):
        precision, scale = (int(x) for x in pg[pg.index("(") + 1:pg.index(")")].split(","))
        return pa.decimal128(precision, scale)
    return {
        "text": pa.string(), "bigint": pa.int64(), "integer": pa.int32(), "double precision": pa.float64(),
        "boolean": pa.bool_(), "date": pa.date32(), "timestamp with time zone": pa.timestamp("us", tz="UTC"),
        "timestamp without time zone": pa.timestamp("us"),
    }[pg]


class PostgresWarehouse(Warehouse):
    backend = "postgres"

    def __init__(self, url: str):
        self.url = url.replace("postgresql+psycopg://", "postgresql://")
        self._conn: psycopg.Connection | None = None
        self._columns: dict[Table, dict[str, str]] = {}

    # -- connection -----------------------------------------------------------------------
    @property
    def conn(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            # Autocommit: every write is an explicit transaction (conn.transaction()) and every read a
            # statement of its own. Without it, a read leaves an implicit transaction open and the
            # next write's transaction() silently becomes a savepoint inside it, never committed.
            self._conn = psycopg.connect(self.url, application_name="platform_assets warehouse", autocommit=True)
            self._ensure_catalog()
        return self._conn

    def close(self) -> None:
        if self._conn is not None and not self._conn.closed:
            self._conn.close()
        self._conn = None

    def _ensure_catalog(self) -> None:
        # IF NOT EXISTS is not safe against a concurrent creator: processes starting together on a
        # fresh database take turns.
        with self._conn.transaction():
            self._conn.execute("SELECT pg_advisory_xact_lock(hashtext('platform_assets warehouse catalog'))")
            for schema in ("meta", *LAYERS):
                self._conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
            self._conn.execute(sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (layer text NOT NULL, table_name text NOT NULL, "
                "business_date date NOT NULL, rows bigint NOT NULL, written_at timestamptz NOT NULL DEFAULT now(), "
                "PRIMARY KEY (layer, table_name, business_date))").format(CATALOG))

    @staticmethod
    def _ident(table: Table) -> sql.Identifier:
        return sql.Identifier(table.layer, table.name)

    def _table_columns(self, table: Table) -> dict[str, str]:
        if table not in self._columns:
            rows = self.conn.execute(
                "SELECT column_name, data_type, numeric_precision, numeric_scale FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position", (table.layer, table.name)).fetchall()
            self._columns[table] = {n: (f"numeric({p},{s})" if t == "numeric" else t) for n, t, p, s in rows}
        return self._columns[table]

    def _ensure_table(self, table: Table, schema: pa.Schema) -> None:
        """Create the partitioned table, or add columns a newer frame carries.
        Runs inside the write's transaction, under a per-table advisory lock: two steps writing
        their first partitions of a new table at once must not both create it."""
        self.conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (str(table),))
        self._columns.pop(table, None)
        existing = self._table_columns(table)
        if not existing:
            columns = sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(f.name), sql.SQL(pg_type(f.type))) for f in schema)
            self.conn.execute(sql.SQL("CREATE TABLE {} ({}) PARTITION BY RANGE ({})").format(
                self._ident(table), columns, sql.Identifier(PARTITION_COLUMN)))
        else:
            for f in schema:
                if f.name not in existing:
                    self.conn.execute(sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS {} {}").format(
                        self._ident(table), sql.Identifier(f.name), sql.SQL(pg_type(f.type))))
        self._columns.pop(table, None)

    @staticmethod
    def _child(table: Table, day: dt.date) -> sql.Identifier:
        return sql.Identifier(table.layer, f"{table.name}__{day:%Y%m%d}")

    @staticmethod
    def _versioned(table: Table, day: dt.date, token: str, part_value: str | None = None) -> str:
        """Name of a parted version's date child, or of one of its parts (within PostgreSQL's 63)."""
        name = f"{table.name}__{day:%Y%m%d}_{token[:8]}"
        return name if part_value is None else f"{name}_{hashlib.sha256(part_value.encode()).hexdigest()[:8]}"

    def _attached_children(self, table: Table, day: dt.date) -> list[str]:
        """The direct children of ``table`` holding ``day`` (one; a versioned name after a publish)."""
        prefix = f"{table.name}__{day:%Y%m%d}".replace("_", r"\_")
        rows = self.conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE i.inhparent = to_regclass(%s) AND n.nspname = %s "
            "AND c.relname LIKE %s", (f'"{table.layer}"."{table.name}"', table.layer, prefix + "%")).fetchall()
        return [r[0] for r in rows]

    def _drop_children(self, table: Table, names: list[str]) -> None:
        for name in names:
            ident = sql.Identifier(table.layer, name)
            self.conn.execute(sql.SQL("ALTER TABLE {} DETACH PARTITION {}").format(self._ident(table), ident))
            self.conn.execute(sql.SQL("DROP TABLE {}").format(ident))

    def _empty_child(self, table: Table, day: dt.date) -> None:
        """The date's child table, empty: truncated if it exists, else created (a parted version
        in its place is dropped)."""
        children = self._attached_children(table, day)
        plain = f"{table.name}__{day:%Y%m%d}"
        self._drop_children(table, [c for c in children if c != plain])
        if plain in children:
            self.conn.execute(sql.SQL("TRUNCATE {}").format(self._child(table, day)))
        else:
            # DDL takes no bind parameters: the bounds are quoted literals (dates, not user text).
            self.conn.execute(sql.SQL("CREATE TABLE {} PARTITION OF {} FOR VALUES FROM ({}) TO ({})").format(
                self._child(table, day), self._ident(table), sql.Literal(day), sql.Literal(day + dt.timedelta(days=1))))

    def _record(self, table: Table, counts: dict[dt.date, int]) -> None:
        self.conn.execute(sql.SQL("DELETE FROM {} WHERE layer = %s AND table_name = %s AND business_date = ANY(%s)")
                          .format(CATALOG), (table.layer, table.name, list(counts)))
        with self.conn.cursor() as cur:
            cur.executemany(sql.SQL("INSERT INTO {} (layer, table_name, business_date, rows) VALUES (%s, %s, %s, %s)")
                            .format(CATALOG), [(table.layer, table.name, d, n) for d, n in counts.items()])

    # -- writes ---------------------------------------------------------------------------
    def replace(self, table: Table, frame: pd.DataFrame, dates: Sequence[dt.date]) -> WriteResult:
        self.check_frame(table, frame, dates)
        arrow = to_arrow(frame)
        dates = sorted(dates)
        keys = arrow.column(PARTITION_COLUMN) if len(dates) > 1 else None
        columns = sql.SQL(", ").join(sql.Identifier(n) for n in arrow.column_names)
        conn = self.conn
        counts = {}
        with conn.transaction():
            self._ensure_table(table, arrow.schema)
            for day in dates:
                part = arrow if keys is None else arrow.filter(pa.compute.equal(keys, pa.scalar(day, pa.date32())))
                counts[day] = part.num_rows
                # Truncate and copy in one transaction: re-running a day or a backfill replaces it
                # whole, readers never see half of it, and FREEZE skips later vacuum work.
                self._empty_child(table, day)
                if part.num_rows:
                    self._copy(self._child(table, day), columns, part)
            self._record(table, counts)
        return WriteResult(arrow.num_rows, list(dates))

    def stage(self, table: Table, day: dt.date, token: str, frame: pd.DataFrame, part_column: str,
              part_value: str) -> int:
        self.check_part(table, frame, day, part_column, part_value)
        arrow = to_arrow(frame)
        name = sql.Identifier(table.layer, self._versioned(table, day, token, part_value))
        with self.conn.transaction():
            self._ensure_table(table, arrow.schema)
            self.conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(name))  # a retried step stages again
            # The constraints are the partition bounds it will be attached with: no scan then.
            self.conn.execute(sql.SQL(
                "CREATE TABLE {} (LIKE {}, CHECK ({} IS NOT NULL AND {} >= {} AND {} < {}), "
                "CHECK ({} IS NOT NULL AND {} = {}))").format(
                name, self._ident(table), *[sql.Identifier(PARTITION_COLUMN)] * 2, sql.Literal(day),
                sql.Identifier(PARTITION_COLUMN), sql.Literal(day + dt.timedelta(days=1)),
                *[sql.Identifier(part_column)] * 2, sql.Literal(part_value)))
            if arrow.num_rows:
                self._copy(name, sql.SQL(", ").join(sql.Identifier(n) for n in arrow.column_names), arrow)
        return arrow.num_rows

    def publish(self, table: Table, day: dt.date, token: str, part_column: str,
                part_values: Sequence[str]) -> WriteResult:
        conn = self.conn
        version = sql.Identifier(table.layer, self._versioned(table, day, token))
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (str(table),))
            self._columns.pop(table, None)
            parent = self._table_columns(table)
            missing = [v for v in part_values if conn.execute(
                "SELECT to_regclass(%s)", (f'"{table.layer}"."{self._versioned(table, day, token, v)}"',)).fetchone()[0] is None]
            if missing:
                raise FileNotFoundError(f"{table} {day}: version {token[:12]} has no staged part(s) {missing}; "
                                        "nothing published")
            conn.execute(sql.SQL("CREATE TABLE {} (LIKE {}) PARTITION BY LIST ({})").format(
                version, self._ident(table), sql.Identifier(part_column)))
            rows = 0
            for value in part_values:
                leaf_name = self._versioned(table, day, token, value)
                leaf = sql.Identifier(table.layer, leaf_name)
                have = {r[0] for r in conn.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
                    (table.layer, leaf_name)).fetchall()}
                for column, pg in parent.items():  # a column another part added to the table since
                    if column not in have:
                        conn.execute(sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(
                            leaf, sql.Identifier(column), sql.SQL(pg)))
                conn.execute(sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES IN ({})").format(
                    version, leaf, sql.Literal(value)))
                rows += conn.execute(sql.SQL("SELECT count(*) FROM {}").format(leaf)).fetchone()[0]
            self._drop_children(table, self._attached_children(table, day))
            conn.execute(sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES FROM ({}) TO ({})").format(
                self._ident(table), version, sql.Literal(day), sql.Literal(day + dt.timedelta(days=1))))
            self._record(table, {day: rows})
        return WriteResult(rows, [day])

    def discard(self, table: Table, day: dt.date, token: str) -> None:
        prefix = self._versioned(table, day, token).replace("_", r"\_")
        with self.conn.transaction():
            names = [r[0] for r in self.conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relname LIKE %s AND c.relkind IN ('r', 'p') "
                "AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid)",
                (table.layer, prefix + "%")).fetchall()]
            for name in names:
                self.conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table.layer, name)))

    def _copy(self, target: sql.Identifier, columns: sql.Composed, part: pa.Table) -> None:
        """Stream the rows as CSV, batch by batch, so formatting and loading overlap."""
        with self.conn.cursor().copy(sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv, FREEZE)").format(
                target, columns)) as copy:
            for batch in part.to_batches(max_chunksize=100_000):
                buf = io.BytesIO()
                pcsv.write_csv(batch, buf, pcsv.WriteOptions(include_header=False, quoting_style="needed"))
                copy.write(buf.getbuffer())

    # -- reads ----------------------------------------------------------------------------
    def read(self, table: Table, start: dt.date, end: dt.date, columns: Sequence[str] | None = None,
             where: Mapping[str, Sequence[str]] | None = None) -> pd.DataFrame:
        existing = self._table_columns(table)
        if not existing:
            return pd.DataFrame(columns=list(columns) if columns else [PARTITION_COLUMN])
        names = list(columns) if columns else list(existing)
        missing = [n for n in [*names, *(where or {})] if n not in existing]
        if missing:
            raise KeyError(f"{table} has no column(s) {missing}")
        filters = [sql.SQL("{} = ANY(%s)").format(sql.Identifier(c)) for c in (where or {})]
        query = sql.SQL("COPY (SELECT {} FROM {} WHERE {} BETWEEN %s AND %s{}) TO STDOUT (FORMAT csv)").format(
            sql.SQL(", ").join(sql.Identifier(n) for n in names), self._ident(table), sql.Identifier(PARTITION_COLUMN),
            sql.SQL("").join(sql.SQL(" AND ") + f for f in filters))
        buf = io.BytesIO()
        with self.conn.cursor().copy(query, (start, end, *[list(v) for v in (where or {}).values()])) as copy:
            for chunk in copy:
                buf.write(chunk)
        types = {n: arrow_type(existing[n]) for n in names}
        if not buf.getbuffer().nbytes:
            table_ = pa.table({n: pa.array([], t) for n, t in types.items()})
        else:
            buf.seek(0)
            table_ = pcsv.read_csv(buf, read_options=pcsv.ReadOptions(column_names=names, block_size=1 << 24),
                                   convert_options=pcsv.ConvertOptions(
                                       column_types=types, strings_can_be_null=True, quoted_strings_can_be_null=False,
                                       null_values=[""], true_values=["t"], false_values=["f"]))
        return from_arrow(table_)

    def dates(self, table: Table) -> list[dt.date]:
        rows = self.conn.execute(sql.SQL("SELECT business_date FROM {} WHERE layer = %s AND table_name = %s "
                                         "ORDER BY business_date").format(CATALOG), (table.layer, table.name)).fetchall()
        return [r[0] for r in rows]

    def versions(self, table: Table, start: dt.date, end: dt.date) -> dict[dt.date, str]:
        # Every write replaces the date's catalog row in its transaction (written_at = its start).
        rows = self.conn.execute(sql.SQL("SELECT business_date, written_at, rows FROM {} WHERE layer = %s AND "
                                         "table_name = %s AND business_date BETWEEN %s AND %s").format(CATALOG),
                                 (table.layer, table.name, start, end)).fetchall()
        return {d: f"{w.isoformat()}/{n}" for d, w, n in rows}

    def row_counts(self, table: Table, start: dt.date, end: dt.date) -> dict[dt.date, int]:
        rows = self.conn.execute(sql.SQL("SELECT business_date, rows FROM {} WHERE layer = %s AND table_name = %s "
                                         "AND business_date BETWEEN %s AND %s").format(CATALOG),
                                 (table.layer, table.name, start, end)).fetchall()
        return {d: int(n) for d, n in rows}
