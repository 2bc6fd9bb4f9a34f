"""The embedded default's Dagster instance: Dagster's SQLite instance with an event log that keeps
its connections (``event_log.PooledSqliteEventLogStorage``), storages that open without re-reading
alembic's migration scripts, and compute logs captured without per-step ``tail`` processes
(``compute_logs.FileComputeLogManager``).

``dagster.yaml`` names the class (``instance_class``), so every process that opens the instance
(webserver, daemon, run workers, step processes, the CLI) uses the same storage. An instance class
is the one place that is given the instance directory (``config_defaults(base_dir)``), so the
event logs stay exactly where Dagster's default SQLite storage keeps them
(``<instance dir>/storage``); the run and schedule storages are Dagster's own. Files written by
either are read by the other, so switching between them needs no migration.

Dagster exports no public base classes for this; ``InstanceRef`` and ``DagsterSqliteStorage`` come
from ``dagster._core`` (Dagster is pinned, 1.13.27). The production instance on PostgreSQL
(deploy/dagster.postgres.yaml) does not use this module.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
from typing import Any

import dagster as dg
import yaml
from dagster._core.instance.ref import InstanceRef  # no public export (module docstring)
from dagster._core.storage.runs import SqliteRunStorage  # no public exports (module docstring)
from dagster._core.storage.schedules import SqliteScheduleStorage
from dagster._core.storage.sqlite import create_db_conn_string
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage
from dagster._serdes import ConfigurableClassData  # how an instance names its storage classes

from platform_assets.instance.compute_logs import FileComputeLogManager
from platform_assets.instance.event_log import PooledSqliteEventLogStorage

__all__ = ["FileComputeLogManager", "PlatformInstance", "PlatformSqliteStorage", "PooledSqliteEventLogStorage"]


def _has_schema(path: str, tables: set[str]) -> bool:
    """Whether the SQLite file at ``path`` has ``tables`` and an alembic revision: what Dagster's
    storages check, by parsing every migration script, before they create a schema."""
    if not os.path.exists(path):
        return False
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as conn:
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            return tables <= names and conn.execute("SELECT version_num FROM alembic_version").fetchone() is not None
    except sqlite3.Error:
        return False


def _open(storage: type, directory: str, name: str, tables: set[str]) -> Any:
    # Every process that opens the instance (each step process of a run) opens these; Dagster's
    # from_local checks the schema revision by parsing every alembic script (~15 ms each). Created
    # or stamped by Dagster itself when missing, one process at a time: a run process and the
    # forkserver it starts early open a new instance together, and Dagster's run and schedule
    # storages do not retry a concurrent creation ("table alembic_version already exists").
    path, tables = os.path.join(directory, f"{name}.db"), tables | {"alembic_version"}
    if not _has_schema(path, tables):
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, f".{name}.create.lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not _has_schema(path, tables):
                return storage.from_local(directory)
    return storage(create_db_conn_string(directory, name))


class PlatformSqliteStorage(DagsterSqliteStorage):
    """Dagster's SQLite storage (runs, schedules, event logs under ``base_dir``, the same files) with
    the pooled event log, opened without re-reading alembic's migration scripts each time."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self.base_dir = base_dir
        self._run_storage = _open(SqliteRunStorage, os.path.join(base_dir, "history"), "runs", {"runs", "instance_info"})
        self._event_log_storage = PooledSqliteEventLogStorage(os.path.join(base_dir, "history", "runs"))
        self._schedule_storage = _open(SqliteScheduleStorage, os.path.join(base_dir, "schedules"), "schedules",
                                       {"jobs", "job_ticks"})
        self._inst_data = inst_data
        super(DagsterSqliteStorage, self).__init__()  # the storages above replace DagsterSqliteStorage's

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value: Any) -> PlatformSqliteStorage:
        return cls(inst_data=inst_data, **config_value)


# Events per batch: a 28-day range run plans ~700 (its materializations and checks, every date).
EVENT_BATCH_SIZE = 1000


class PlatformInstance(dg.DagsterInstance):
    """A ``DagsterInstance`` whose default storage is ``PlatformSqliteStorage`` and default compute
    log manager ``FileComputeLogManager``. A ``storage:`` or ``compute_logs:`` block in dagster.yaml
    still takes precedence.

    Events Dagster can write as a batch (a run's planned events, a range step's per-date
    materializations) are handed to the storage ``EVENT_BATCH_SIZE`` at a time
    (``PooledSqliteEventLogStorage.store_event_batch``: one transaction per shard). Dagster reads the
    size from ``DAGSTER_EVENT_BATCH_SIZE`` (default 0: every event alone) in a private method and
    has no instance setting for it, so the method is overridden; the variable, when set, still
    decides (0 turns batching off)."""

    @classmethod
    def config_schema(cls) -> dict:
        return {}

    @staticmethod
    def config_defaults(base_dir: str) -> dict[str, ConfigurableClassData | None]:
        defaults = dict(InstanceRef.config_defaults(base_dir))
        defaults["storage"] = ConfigurableClassData(
            PlatformSqliteStorage.__module__, PlatformSqliteStorage.__name__,
            yaml.dump({"base_dir": base_dir}, default_flow_style=False))
        # Where Dagster's default compute log manager keeps the files.
        defaults["compute_logs"] = ConfigurableClassData(
            FileComputeLogManager.__module__, FileComputeLogManager.__name__,
            yaml.dump({"base_dir": os.path.join(base_dir, "storage")}, default_flow_style=False))
        return defaults

    def _get_event_batch_size(self) -> int:  # Dagster's private hook (class docstring)
        return int(os.getenv("DAGSTER_EVENT_BATCH_SIZE", str(EVENT_BATCH_SIZE)))
