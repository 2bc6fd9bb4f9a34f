"""The embedded instance's event log: Dagster's SQLite event log storage, keeping its connections.

Dagster's ``SqliteEventLogStorage`` creates a SQLAlchemy engine for every operation and disposes
of it afterwards (``NullPool``). Each event a run writes therefore opens the shard file, compiles
its INSERT from scratch (the statement cache lives in the engine), commits with a full sync, and on
closing the last connection checkpoints the write-ahead log into the database file. A check
evaluation is written three times (run shard, index shard, check-execution table): ~8 ms an event
on this machine, and a business date records ~840 events, a backfilled month 28 times that
(docs/decisions.md "The embedded instance keeps its SQLite connections").

This subclass keeps one engine with a small pool per shard and process, so statements compile
once and connections stay open; and it sets ``synchronous=NORMAL``, SQLite's recommended setting
for write-ahead-log databases: a commit is durable against a crashed process and the database
cannot be corrupted, but a power loss can lose the last commits (the run would be re-run; every
write of the platform is idempotent). The production instance (PostgreSQL) is unaffected.

Events Dagster hands over as a batch (``store_event_batch``: a run's planned materializations and
check evaluations, a range step's per-date materializations) are written in one transaction per
shard instead of one per event and table: a 28-day backfill run plans ~700 events (about 2.7 s
before its first step could start). Dagster hands batches over only when the instance's batch size
is above 0 (``PlatformInstance``); on an error the whole batch is rolled back and Dagster writes its
events one by one.

A run's check evaluations, which Dagster does not batch (a range step evaluates each check once per
date: ~4,200 evaluations in a 28-day backfill), are written with the event serialized once instead
of twice and with statements built once: 0.61 ms an evaluation instead of 1.36 ms (the same rows,
``test_check_evaluations_are_stored_as_dagster_stores_them``).

Two things follow from keeping connections open, and are handled here:
- the write-ahead log is no longer folded into ``<run_id>.db`` after every event, so the watcher
  that streams a run's events to the UI also wakes on ``<run_id>.db-wal``;
- a process forked after engines were created (the executor's forkserver) must not use or close
  the parent's connections: engines are per process id, and a child drops the inherited ones
  without closing them (``Engine.dispose(close=False)``, SQLAlchemy's documented fork recipe).

Dagster exports no public base class for an event log storage that reuses the SQLite schema,
queries and migrations; this subclasses ``dagster._core``'s own, pinned with Dagster (1.13.27),
and is configured as any instance storage is, through ``dagster.yaml``
(``platform_assets.instance.PlatformInstance``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

import sqlalchemy as db
from dagster import DagsterInvariantViolationError
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (  # no public export (module docstring)
    INDEX_SHARD_NAME,
    SqliteEventLogStorage,
    SqliteEventLogStorageWatchdog,
)
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.events import DagsterEventType
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable, SqlEventLogStorageTable
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS  # the busy timeout Dagster uses
from dagster._serdes import serialize_value
from sqlalchemy.engine import Connection, Engine
from watchdog.observers import Observer  # what Dagster's SQLite storage watches shards with

# Operations hold the storage's lock for their whole connection, so one connection per shard is in
# use at a time per storage object; the overflow covers a caller that nests two.
POOL_SIZE, POOL_OVERFLOW = 1, 2
# A check evaluation's statements, built once: the event row (run shard, then index shard) and the
# update of the row its planned event made. Values are bound at execution, so SQLAlchemy compiles
# each once per engine instead of building and hashing a new statement per evaluation.
_INSERT_EVENT = SqlEventLogStorageTable.insert()
_EXECUTIONS = AssetCheckExecutionsTable.c
_EVALUATED = dict(execution_status=db.bindparam("v_status"), evaluation_event=db.bindparam("v_event"),
                  evaluation_event_timestamp=db.bindparam("v_timestamp"),
                  evaluation_event_storage_id=db.bindparam("v_event_id"),
                  materialization_event_storage_id=db.bindparam("v_materialization_id"),
                  partition=db.bindparam("v_partition"))
_PLANNED_ROW = db.and_(_EXECUTIONS.asset_key == db.bindparam("k_asset_key"),
                       _EXECUTIONS.check_name == db.bindparam("k_check_name"),
                       _EXECUTIONS.run_id == db.bindparam("k_run_id"))
_UPDATE_EVALUATION = {  # by whether the evaluation has a partition (Dagster's partition filter)
    True: AssetCheckExecutionsTable.update().where(
        _PLANNED_ROW, _EXECUTIONS.partition == db.bindparam("k_partition")).values(**_EVALUATED),
    False: AssetCheckExecutionsTable.update().where(
        _PLANNED_ROW, _EXECUTIONS.partition.is_(None)).values(**_EVALUATED),
}
_INSERT_EVALUATION = AssetCheckExecutionsTable.insert().values(
    asset_key=db.bindparam("k_asset_key"), check_name=db.bindparam("k_check_name"),
    run_id=db.bindparam("k_run_id"), **_EVALUATED)

# Connection pools a forked process inherited from its parent, kept so that they are never closed here.
_INHERITED_POOLS: list[Any] = []


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """SQLite event log storage with one pooled engine per shard and process (module docstring)."""

    def __init__(self, base_dir: str, inst_data: Any = None):
        self._engines: dict[str, Engine] = {}
        self._engines_pid = os.getpid()
        self._engines_lock = threading.Lock()
        self._tables: set[str] = set()
        self._asset_key_columns: set[str] = set()
        self._batch = threading.local()  # this thread's open transactions while it stores a batch
        super().__init__(base_dir, inst_data=inst_data)

    def _forget_inherited(self) -> None:
        """In a forked process: drop the parent's engines without closing their connections (they
        are the parent's: closing one here could checkpoint or unlock the parent's database). Their
        pools stay referenced, so garbage collection cannot close them either (SQLAlchemy's fork
        recipe, ``Engine.dispose(close=False)``, plus keeping the old pool)."""
        for inherited in self._engines.values():
            _INHERITED_POOLS.append(inherited.pool)
            inherited.dispose(close=False)
        self._engines, self._engines_pid = {}, os.getpid()

    def _engine(self, shard: str) -> Engine:
        with self._engines_lock:
            if self._engines_pid != os.getpid():
                self._forget_inherited()
            engine = self._engines.get(shard)
            if engine is None:
                engine = db.create_engine(self.conn_string_for_shard(shard), pool_size=POOL_SIZE,
                                          max_overflow=POOL_OVERFLOW,
                                          connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
                db.event.listen(engine, "connect", _sqlite_pragmas)
                self._engines[shard] = engine
            return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        batch: _Batch | None = getattr(self._batch, "open", None)
        if batch is not None:  # storing a batch on this thread: its transaction on the shard
            if shard not in batch.connections:
                batch.connections[shard] = batch.stack.enter_context(self._transaction(shard))
            yield batch.connections[shard]
            return
        with self._db_lock, self._transaction(shard) as conn:
            yield conn

    @contextmanager
    def _transaction(self, shard: str) -> Iterator[Connection]:
        engine = self._engine(shard)
        if shard not in self._initialized_dbs:
            self._initdb(engine)
            self._initialized_dbs.add(shard)
        with engine.connect() as conn:
            with conn.begin():
                yield conn

    def store_event_batch(self, events: Sequence[Any]) -> None:
        """Store ``events`` as ``store_event`` does, in one transaction per shard they touch
        (module docstring). The storage's lock is held for the batch, as for one connection."""
        with self._db_lock, ExitStack() as stack:
            self._batch.open = _Batch(stack)
            try:
                for event in events:
                    self.store_event(event)
            finally:
                self._batch.open = None

    def _initdb(self, engine: Engine, for_index_shard: bool = False) -> None:
        # Dagster's version compares the shard's alembic revision with the newest migration script,
        # parsing every script to find it (~12 ms a shard, in every step process), and acts only
        # when the shard has no revision yet. A shard that has one needs nothing.
        try:
            with engine.connect() as conn:
                if conn.execute(db.text("SELECT version_num FROM alembic_version")).first():
                    return
        except db.exc.OperationalError:  # no alembic_version table: a new shard
            pass
        super()._initdb(engine, for_index_shard=for_index_shard)

    def store_event(self, event: Any) -> None:
        dagster_event = event.dagster_event
        if (dagster_event is None or dagster_event.event_type != DagsterEventType.ASSET_CHECK_EVALUATION
                or not event.run_id):
            super().store_event(event)
            return
        # A run's check evaluation: the rows Dagster's store_event and _update_asset_check_evaluation
        # write (the event in the run shard and the index, the planned row updated, or inserted when
        # there was none), with the event serialized once instead of twice and the statements built
        # once (_INSERT_EVENT). A range step evaluates every check once per date: ~4,200
        # evaluations in a 28-day backfill, ~1.4 ms each in Dagster's version on this machine.
        if not self.supports_asset_checks:
            raise DagsterInvariantViolationError(
                "Asset checks require a database schema migration. Run `dagster instance migrate`.")
        evaluation = dagster_event.event_specific_data
        row = self._event_to_row(event)
        with self.run_connection(event.run_id) as conn:
            conn.execute(_INSERT_EVENT, row)
        target = evaluation.target_materialization_data
        values = dict(
            k_asset_key=evaluation.asset_key.to_string(), k_check_name=evaluation.check_name, k_run_id=event.run_id,
            k_partition=evaluation.partition,
            v_status=(AssetCheckExecutionRecordStatus.SUCCEEDED if evaluation.passed
                      else AssetCheckExecutionRecordStatus.FAILED).value,
            v_event=row["event"], v_timestamp=row["timestamp"], v_partition=evaluation.partition,
            v_materialization_id=target.storage_id if target else None)
        with self.index_connection() as conn:
            values["v_event_id"] = conn.execute(_INSERT_EVENT, row).inserted_primary_key[0]
            updated = conn.execute(_UPDATE_EVALUATION[evaluation.partition is not None], values).rowcount
            if updated == 0:  # no planned row (Dagster: step launchers without planned events)
                updated = conn.execute(_INSERT_EVALUATION, values).rowcount
        if updated > 1:
            raise DagsterInvariantViolationError(
                f"Updated {updated} rows for asset check evaluation {evaluation.asset_check_key} "
                "as a result of duplicate AssetCheckPlanned events.")

    def _store_asset_check_evaluation_planned(self, event: Any, event_id: int | None) -> None:
        # Dagster's version inserts a row per planned partition and serializes the same event for
        # every row: 28 times per check for a 28-date range run, most of creating its plan. The
        # same rows, the event serialized once.
        planned = event.dagster_event.event_specific_data
        keys = planned.partitions_subset.get_partition_keys() if planned.partitions_subset else [None]
        serialized, timestamp = serialize_value(event), self._event_insert_timestamp(event)
        with self.index_connection() as conn:
            conn.execute(AssetCheckExecutionsTable.insert().values([dict(
                asset_key=planned.asset_key.to_string(), check_name=planned.check_name, partition=key,
                run_id=event.run_id, execution_status=AssetCheckExecutionRecordStatus.PLANNED.value,
                evaluation_event=serialized, evaluation_event_timestamp=timestamp,
                evaluation_event_storage_id=event_id) for key in keys]))

    def _has_asset_key_col_on_connection(self, conn: Connection, column_name: str) -> bool:
        # Asked on every asset event (Dagster inspects the table each time); a column, once there, stays.
        if column_name not in self._asset_key_columns:
            if super()._has_asset_key_col_on_connection(conn, column_name):
                self._asset_key_columns.add(column_name)
        return column_name in self._asset_key_columns

    def has_table(self, table_name: str) -> bool:
        # Asked on every check evaluation (supports_asset_checks); Dagster's version builds an engine
        # each time. A table, once there, stays (wipe keeps the index's tables).
        # Called with an index connection open (asset event tags), so no storage lock here.
        if table_name not in self._tables:
            with self._engine(INDEX_SHARD_NAME).connect() as conn:
                if db.inspect(conn).has_table(table_name):
                    self._tables.add(table_name)
        return table_name in self._tables

    def close_connections(self) -> None:
        with self._engines_lock:
            if self._engines_pid != os.getpid():
                self._forget_inherited()
            engines, self._engines = self._engines, {}
        for engine in engines.values():
            engine.dispose()

    def wipe(self) -> None:
        self._tables.clear()
        self._asset_key_columns.clear()
        self.close_connections()  # the shard files are deleted: nothing may keep them open
        super().wipe()

    def dispose(self) -> None:
        super().dispose()
        self.close_connections()

    def watch(self, run_id: str, cursor: str | None, callback: Any) -> None:
        if not self._obs:
            self._obs = Observer()
            self._obs.start()
        handler = _ShardWatchdog(self, run_id, callback, cursor)
        self._watchers[run_id][callback] = (handler, self._obs.schedule(handler, self._base_dir, recursive=True))


class _Batch:
    """The transactions a batch being stored has open, one per shard; they commit together when the
    batch ends, or roll back if storing any of its events fails."""

    def __init__(self, stack: ExitStack):
        self.stack = stack
        self.connections: dict[str, Connection] = {}


class _ShardWatchdog(SqliteEventLogStorageWatchdog):
    """Dagster's run-shard watcher (it streams a run's new events to the UI and stops when the run
    finishes), woken by writes to the shard's write-ahead log as well: events reach the log first
    and the database file only at a checkpoint."""

    @property
    def patterns(self) -> list[str]:
        return [self._log_path, f"{self._log_path}-wal"]

    def on_modified(self, event: Any) -> None:
        self._process_log()
