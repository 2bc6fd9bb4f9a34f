"""The import ledger: every import of a (source, business date) is a batch with its own id.

Three tables, created on first use:

- ``import_batches``: one row per import attempt: files and checksums, started/finished,
  status, rows read/loaded/rejected, schema drift, the reason when it failed.
- ``import_rejects``: rejected rows with the batch id, file, row, the raw record and why.
- ``published_partitions``: which batch's rows are in the warehouse for a (source, date).

Statuses: ``running``; ``succeeded`` (no rejects); ``partially_succeeded`` (some rows
rejected, under the source's threshold); ``failed`` (nothing published); ``noop`` (the same
files as the published batch: nothing to do). SQLAlchemy Core keeps one code path for SQLite
(embedded default) and PostgreSQL (``PLATFORM_DATABASE_URL``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData()

import_batches = sa.Table(
    "import_batches",
    metadata,
    sa.Column("batch_id", sa.String(32), primary_key=True),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("business_date", sa.Date, nullable=False),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("trigger", sa.String(200), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("fingerprint", sa.String(64)),
    sa.Column("contract_version", sa.String(32)),
    sa.Column("manifest_exported_at", sa.DateTime(timezone=True)),
    sa.Column("files", sa.Text),          # JSON: [{name, sha256, rows, bytes}]
    sa.Column("rows_read", sa.BigInteger, nullable=False, default=0),
    sa.Column("rows_loaded", sa.BigInteger, nullable=False, default=0),
    sa.Column("rows_rejected", sa.BigInteger, nullable=False, default=0),
    sa.Column("drift", sa.Text),          # JSON: {added: [...], missing: [...], retyped: {...}}
    sa.Column("findings", sa.Text),       # JSON: accepted-but-flagged values, re-sent delivery
    sa.Column("message", sa.Text),
    sa.Column("replaces_batch_id", sa.String(32)),
    sa.Index("ix_import_batches_source_date", "source", "business_date"),
)

import_rejects = sa.Table(
    "import_rejects",
    metadata,
    sa.Column("reject_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("batch_id", sa.String(32), sa.ForeignKey("import_batches.batch_id"), nullable=False),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("business_date", sa.Date, nullable=False),
    sa.Column("file", sa.String(255), nullable=False),
    sa.Column("row_number", sa.Integer),      # 1-based data row within the file
    sa.Column("line_number", sa.Integer),     # 1-based line in the file, when known
    sa.Column("columns", sa.String(500)),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("record", sa.Text),
    sa.Index("ix_import_rejects_batch", "batch_id"),
    sa.Index("ix_import_rejects_source_date", "source", "business_date"),
)

published_partitions = sa.Table(
    "published_partitions",
    metadata,
    sa.Column("source", sa.String(64), primary_key=True),
    sa.Column("business_date", sa.Date, primary_key=True),
    sa.Column("batch_id", sa.String(32), sa.ForeignKey("import_batches.batch_id"), nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("contract_version", sa.String(32)),
    sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
)

FINAL_STATUSES = ("succeeded", "partially_succeeded", "failed", "noop")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass
class Batch:
    batch_id: str
    source: str
    business_date: dt.date
    status: str
    trigger: str
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    fingerprint: str | None = None
    contract_version: str | None = None
    manifest_exported_at: dt.datetime | None = None
    files: list[dict] = field(default_factory=list)
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    drift: dict = field(default_factory=dict)
    findings: dict = field(default_factory=dict)
    message: str | None = None
    replaces_batch_id: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> Batch:
        m = row._mapping
        return cls(
            batch_id=m["batch_id"], source=m["source"], business_date=m["business_date"],
            status=m["status"], trigger=m["trigger"], started_at=_aware(m["started_at"]),
            finished_at=_aware(m["finished_at"]), fingerprint=m["fingerprint"],
            contract_version=m["contract_version"], manifest_exported_at=_aware(m["manifest_exported_at"]),
            files=json.loads(m["files"] or "[]"), rows_read=m["rows_read"], rows_loaded=m["rows_loaded"],
            rows_rejected=m["rows_rejected"], drift=json.loads(m["drift"] or "{}"),
            findings=json.loads(m["findings"] or "{}"), message=m["message"],
            replaces_batch_id=m["replaces_batch_id"],
        )

    @property
    def reject_rate(self) -> float:
        return self.rows_rejected / self.rows_read if self.rows_read else 0.0


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands timestamps back naive; they were written in UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value


@dataclass(frozen=True)
class Reject:
    file: str
    row_number: int | None
    line_number: int | None
    columns: str
    reason: str
    record: str


class Ledger:
    def __init__(self, url: str, *, pool_size: int = 1):
        kwargs: dict[str, Any] = {"future": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"timeout": 60}
        else:
            # The ledger is used sequentially: one connection per process at most (docs/decisions.md).
            kwargs.update(pool_size=pool_size, max_overflow=0, pool_pre_ping=True,
                          connect_args={"application_name": "platform_assets ledger"})
        self.engine = sa.create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        create_tables(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    # -- writes ---------------------------------------------------------------------------
    def start(self, source: str, business_date: dt.date, trigger: str, *, batch_id: str | None = None,
              started_at: dt.datetime | None = None) -> Batch:
        """A new batch (``batch_id``/``started_at`` given when its files were staged beforehand)."""
        batch = Batch(batch_id or uuid.uuid4().hex, source, business_date, "running", trigger, started_at or utcnow())
        with self.engine.begin() as conn:
            conn.execute(import_batches.insert().values(
                batch_id=batch.batch_id, source=source, business_date=business_date, status="running",
                trigger=trigger, started_at=batch.started_at, rows_read=0, rows_loaded=0, rows_rejected=0,
            ))
        return batch

    def finish(self, batch: Batch, rejects: Iterable[Reject] = (), *, publish: bool = False) -> Batch:
        """Record the outcome, the rejects and (if publishing) the new published pointer, in
        one transaction."""
        if batch.status not in FINAL_STATUSES:
            raise ValueError(f"batch {batch.batch_id}: cannot finish with status {batch.status!r}")
        batch.finished_at = utcnow()
        with self.engine.begin() as conn:
            conn.execute(import_batches.update().where(import_batches.c.batch_id == batch.batch_id).values(
                status=batch.status, finished_at=batch.finished_at, fingerprint=batch.fingerprint,
                contract_version=batch.contract_version, manifest_exported_at=batch.manifest_exported_at,
                files=json.dumps(batch.files), rows_read=batch.rows_read, rows_loaded=batch.rows_loaded,
                rows_rejected=batch.rows_rejected, drift=json.dumps(batch.drift) if batch.drift else None,
                findings=json.dumps(batch.findings) if batch.findings else None,
                message=batch.message, replaces_batch_id=batch.replaces_batch_id,
            ))
            rows = [
                {"batch_id": batch.batch_id, "source": batch.source, "business_date": batch.business_date,
                 "file": r.file, "row_number": r.row_number, "line_number": r.line_number,
                 "columns": r.columns[:500], "reason": r.reason, "record": r.record}
                for r in rejects
            ]
            for chunk in range(0, len(rows), 5_000):
                conn.execute(import_rejects.insert(), rows[chunk:chunk + 5_000])
            if publish:
                key = (published_partitions.c.source == batch.source) & (
                    published_partitions.c.business_date == batch.business_date)
                conn.execute(published_partitions.delete().where(key))
                conn.execute(published_partitions.insert().values(
                    source=batch.source, business_date=batch.business_date, batch_id=batch.batch_id,
                    fingerprint=batch.fingerprint, contract_version=batch.contract_version,
                    published_at=batch.finished_at,
                ))
        return batch

    # -- reads ----------------------------------------------------------------------------
    def batch(self, batch_id: str) -> Batch | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(import_batches).where(import_batches.c.batch_id == batch_id)).first()
        return Batch.from_row(row) if row else None

    def find_batches(self, prefix: str) -> list[Batch]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(import_batches).where(import_batches.c.batch_id.like(prefix + "%"))).all()
        return [Batch.from_row(r) for r in rows]

    def published(self, source: str, business_date: dt.date) -> Batch | None:
        j = published_partitions.join(import_batches, published_partitions.c.batch_id == import_batches.c.batch_id)
        query = sa.select(import_batches).select_from(j).where(
            (published_partitions.c.source == source) & (published_partitions.c.business_date == business_date))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return Batch.from_row(row) if row else None

    def batches(self, source: str | None = None, business_date: dt.date | None = None,
                statuses: Sequence[str] | None = None, limit: int = 200) -> list[Batch]:
        query = sa.select(import_batches).order_by(import_batches.c.started_at.desc()).limit(limit)
        if source:
            query = query.where(import_batches.c.source == source)
        if business_date:
            query = query.where(import_batches.c.business_date == business_date)
        if statuses:
            query = query.where(import_batches.c.status.in_(list(statuses)))
        with self.engine.connect() as conn:
            return [Batch.from_row(r) for r in conn.execute(query)]

    def rejects(self, batch_id: str | None = None, source: str | None = None,
                business_date: dt.date | None = None, limit: int | None = None) -> list[dict]:
        query = sa.select(import_rejects).order_by(import_rejects.c.reject_id)
        if batch_id:
            query = query.where(import_rejects.c.batch_id == batch_id)
        if source:
            query = query.where(import_rejects.c.source == source)
        if business_date:
            query = query.where(import_rejects.c.business_date == business_date)
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def reject_reasons(self, batch_id: str) -> dict[str, int]:
        """Rejected rows per reason kind (the reason up to ', found'), most frequent first."""
        counts: dict[str, int] = {}
        for row in self.rejects(batch_id=batch_id):
            kind = "; ".join(part.split(", found")[0] for part in row["reason"].split("; "))
            counts[kind] = counts.get(kind, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def create_tables(engine: sa.Engine, tables: Sequence[sa.Table] | None = None) -> None:
    """Create missing tables under a lock: checking and creating are two statements, and the
    first steps of a run start at once on a fresh ledger (seen: "table import_batches already
    exists" in one of four parallel first runs). PostgreSQL: an advisory lock; SQLite: a file
    lock beside the database (pysqlite runs DDL outside the transaction, so no SQL lock holds)."""
    with _schema_lock(engine), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('platform_assets ledger'))"))
        metadata.create_all(conn, tables=tables, checkfirst=True)


@contextlib.contextmanager
def _schema_lock(engine: sa.Engine) -> Iterator[None]:
    database = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.schema-lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets parallel steps read while one writes; the busy timeout waits instead of failing.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=60000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()
