"""What the forkserver loads once, so each step's process starts warm (platform_assets.execution).

Measured on a 32-step small-scale day with one step at a time (docs/decisions.md): a step's
process spent ~0.3 s importing Dagster's storage layer (SQLite/PostgreSQL storages, alembic,
SQLAlchemy dialects) to open the instance, ~0.1 s building the definitions and ~0.04 s importing
platform modules first used inside a step. Paid here once instead of once per step.

Only what steps use: a run's first steps wait for this to finish (the POS tail's first second),
so the PostgreSQL warehouse (psycopg, ~0.26 s) is imported only where it is configured, and the
jobs' snapshots (~0.16 s; no step builds one) are not built, only the run config schema a step
resolves its config with.

Imported only by the forkserver. Warming reads the environment (the code location's settings);
it is best effort: a failure here leaves the step to raise the real error in its own process.
"""

from __future__ import annotations

import gc
import importlib
import os
import pkgutil
import tempfile
from pathlib import Path

import dagster as dg

import platform_assets
from platform_assets import allocator, definitions
from platform_assets.settings import Settings

SKIP = ("__main__", "preload")
POSTGRES_ONLY = ("platform_assets.storage.postgres",)


def import_platform_modules() -> None:
    skip = () if Settings.from_env().backend == "postgres" else POSTGRES_ONLY
    for module in pkgutil.walk_packages(platform_assets.__path__, prefix="platform_assets."):
        if not module.name.endswith(SKIP) and module.name not in skip:
            importlib.import_module(module.name)


def import_storage() -> None:
    """Open and close the instance (a scratch one without DAGSTER_HOME): loads the storage modules
    every step's instance needs, its compute log manager included. The connection is closed before
    any step forks."""
    if os.environ.get("DAGSTER_HOME"):
        with dg.DagsterInstance.get() as instance:
            instance.get_runs(limit=1)
            _ = instance.compute_log_manager
        return
    with tempfile.TemporaryDirectory(prefix="platform-preload-") as home:
        (Path(home) / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        with dg.DagsterInstance.from_config(home) as instance:
            instance.get_runs(limit=1)
            _ = instance.compute_log_manager
    for optional in ("dagster_postgres", "psycopg2", "psycopg"):
        try:
            importlib.import_module(optional)
        except ImportError:
            pass


def exercise_libraries() -> None:
    """What pandera, pyarrow and pandas import on first use (pandera's pandas backends and checks,
    Arrow datasets and its pandas bridge, time zone data), ~25 ms a step otherwise: a tiny
    contract check and a Parquet round trip through the warehouse."""
    import pandas as pd
    import pandera.pandas as pa

    from platform_assets.partitions import REPORTING_TZ
    from platform_assets.storage.frames import from_arrow, to_arrow
    from platform_assets.storage.parquet import ParquetWarehouse
    from platform_assets.storage.warehouse import Table

    frame = pd.DataFrame({"business_date": [pd.Timestamp("2024-01-01")], "n": [1],
                          "s": pd.Series(["a"], dtype=pd.StringDtype("pyarrow"))})
    pa.DataFrameSchema({"n": pa.Column("int64", pa.Check.ge(0)), "s": pa.Column(checks=pa.Check.isin(["a"]))},
                       unique=["n"]).validate(frame, lazy=True)
    from_arrow(to_arrow(frame))
    pd.Timestamp("2024-01-01T00:00:00Z").tz_convert(REPORTING_TZ)
    "".encode("utf-8-sig")
    pd.DataFrame({"a": [1], "b": [2]}).pivot_table(index="a", columns="b", aggfunc="size")
    repr(frame)
    # What a step's own execution imports on first use (its plan's active execution, run config
    # resolution). No public API preloads these; naming the modules only imports them.
    for name in ("dagster._core.execution.plan.active", "dagster._core.system_config.composite_descent"):
        importlib.import_module(name)
    with tempfile.TemporaryDirectory(prefix="platform-preload-") as root:
        warehouse = ParquetWarehouse(Path(root))
        table = Table("staging", "preload")
        warehouse.replace(table, frame, [pd.Timestamp("2024-01-01").date()])
        warehouse.read(table, pd.Timestamp("2024-01-01").date(), pd.Timestamp("2024-01-01").date())


def build_location() -> None:
    repository = definitions.defs().get_repository_def()
    for job in repository.get_all_jobs():
        _ = job.run_config_schema


def warm() -> None:
    for step in (import_platform_modules, import_storage, exercise_libraries, build_location):
        try:
            step()
        except Exception:  # noqa: BLE001 - best effort, see the module docstring
            pass


allocator.tune()  # the workers forked from this process start with its allocator settings
warm()
gc.freeze()  # what the forkserver built stays out of every step's garbage collection
