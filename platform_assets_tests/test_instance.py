"""The embedded instance (platform_assets/instance): Dagster's SQLite files, an event log that keeps
its connections, and the steps' forkserver started while a run process loads the code."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from platform_assets import forkserver
from platform_assets.instance import PlatformInstance, PooledSqliteEventLogStorage
from platform_assets_tests.processes import instance_home
from platform_assets_tests.reconstructable_jobs import probe_run_process

ROOT = Path(__file__).resolve().parents[1]
RUN_ID = "0f0e0d0c-0000-4000-8000-000000000001"


def materialization(i: int, run_id: str = RUN_ID) -> EventLogEntry:
    event = DagsterEvent(DagsterEventType.ASSET_MATERIALIZATION.value, "daily_platform",
                         event_specific_data=StepMaterializationData(
                             dg.AssetMaterialization(asset_key="revenue_close", partition=f"2024-03-{i + 1:02d}")))
    return EventLogEntry(error_info=None, level=20, user_message="", run_id=run_id, timestamp=time.time(),
                         step_key="revenue_close", job_name="daily_platform", dagster_event=event)


def test_the_embedded_instance_uses_the_pooled_event_log_on_dagsters_own_files(tmp_path):
    with dg.DagsterInstance.from_config(str(instance_home(tmp_path / "home"))) as instance:
        assert isinstance(instance, PlatformInstance)
        storage = instance.event_log_storage
        assert isinstance(storage, PooledSqliteEventLogStorage)
        for i in range(3):
            storage.store_event(materialization(i))
        # Dagster's own storage reads what the pooled one wrote, from the same directory, and the
        # other way round: switching between them needs no migration.
        plain = SqliteEventLogStorage(storage._base_dir)
        assert len(plain.get_records_for_run(RUN_ID).records) == 3
        plain.store_event(materialization(3))
        assert len(storage.get_records_for_run(RUN_ID).records) == 4
        records = instance.fetch_materializations(dg.AssetKey("revenue_close"), limit=10).records
        assert sorted(r.partition_key for r in records) == [f"2024-03-0{i}" for i in range(1, 5)]


def test_connections_stay_open_in_wal_mode_with_normal_sync(tmp_path):
    storage = PooledSqliteEventLogStorage(str(tmp_path / "events"))
    storage.store_event(materialization(0))
    engines = dict(storage._engines)
    assert set(engines) == {RUN_ID, "index"}
    storage.store_event(materialization(1))
    assert storage._engines == engines  # one engine per shard, kept
    with storage.run_connection(RUN_ID) as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    storage.dispose()
    assert storage._engines == {}


def test_an_existing_instance_opens_without_reading_the_migration_scripts(tmp_path, monkeypatch):
    """Every step process opens the instance; Dagster's storages check the schema revision by
    parsing every alembic script. An instance whose files exist opens without that; a new one is
    created by Dagster's own code."""
    path = instance_home(tmp_path / "home")
    with dg.DagsterInstance.from_config(str(path)) as instance:  # new: Dagster creates the schemas
        instance.event_log_storage.store_event(materialization(0))

    def refuse(*args, **kwargs):
        raise AssertionError("alembic revision check on an existing instance")

    import dagster._core.storage.event_log.sqlite.sqlite_event_log as event_log
    import dagster._core.storage.runs.sqlite.sqlite_run_storage as runs
    import dagster._core.storage.schedules.sqlite.sqlite_schedule_storage as schedules

    for module in (event_log, runs, schedules):
        monkeypatch.setattr(module, "check_alembic_revision", refuse)
    with dg.DagsterInstance.from_ref(dg.DagsterInstance.from_config(str(path)).get_ref()) as instance:
        instance.event_log_storage.store_event(materialization(1))
        assert len(instance.get_records_for_run(RUN_ID).records) == 2
        assert instance.get_runs() == []


def _write_in_forked_child(storage: PooledSqliteEventLogStorage) -> None:
    for i in range(10, 15):
        storage.store_event(materialization(i))


def test_a_forked_process_writes_through_connections_of_its_own(tmp_path):
    """A step process is forked from the forkserver: connections the parent opened must not be used
    or closed by the child."""
    storage = PooledSqliteEventLogStorage(str(tmp_path / "events"))
    storage.store_event(materialization(0))
    parent_engines = dict(storage._engines)
    child = multiprocessing.get_context("fork").Process(target=_write_in_forked_child, args=(storage,))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    storage.store_event(materialization(1))  # the parent's connections still work
    assert storage._engines == parent_engines
    assert len(storage.get_records_for_run(RUN_ID).records) == 7


WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    sys.path.insert(0, {tests!r})
    from test_instance import materialization
    from platform_assets.instance import PooledSqliteEventLogStorage

    storage = PooledSqliteEventLogStorage({base!r})
    for i in range(5):
        storage.store_event(materialization(i))
    # Keep the connections open, as a run's step does, until the test has seen the events.
    deadline = time.time() + 60
    while not Path({release!r}).exists() and time.time() < deadline:
        time.sleep(0.1)
""")


def test_the_ui_watcher_sees_events_another_process_writes(tmp_path):
    """The UI streams a run's events through the storage's watcher. A writer that keeps its
    connection open leaves the events in the write-ahead log (the database file changes only at a
    checkpoint), so the watcher wakes on the log too; watching the database file alone sees none."""
    base, release = tmp_path / "events", tmp_path / "release"
    watcher = PooledSqliteEventLogStorage(str(base))
    watcher.store_event(materialization(99, run_id="other-run"))  # the index exists before watching
    seen: list[EventLogEntry] = []
    watcher.watch(RUN_ID, None, lambda entry, cursor: seen.append(entry))
    writer = subprocess.Popen([sys.executable, "-c", WRITER.format(tests=str(Path(__file__).parent), base=str(base),
                                                                   release=str(release))], cwd=ROOT)
    try:
        deadline = time.time() + 30
        while len(seen) < 5 and time.time() < deadline and writer.poll() is None:
            time.sleep(0.1)
        assert len(seen) == 5, f"the watcher saw {len(seen)} of 5 events while the writer held its connection"
        assert writer.poll() is None  # seen while the writer's connection was still open
    finally:
        release.touch()
        writer.wait(60)
        watcher.dispose()


def test_only_a_process_started_to_execute_a_run_starts_the_forkserver_early():
    assert not forkserver.executes_runs()  # pytest: neither a spawned run process nor `dagster api execute_run`
    context = multiprocessing.get_context("spawn")  # how a code server starts a run's process
    results = context.Queue()
    child = context.Process(target=probe_run_process, args=(results,))
    child.start()
    is_run_process, server_pid, preload = results.get(timeout=120)
    child.join(60)
    assert is_run_process and server_pid
    # The list Dagster's executor sets before its first step: the server is the one it would start.
    assert preload == ["dagster._core.executor.multiprocess", *forkserver.PRELOAD_MODULES]


@pytest.mark.slow
def test_the_executor_forks_its_steps_from_the_server_started_early(tmp_path):
    """A run process that imported the package runs a job with the platform's executor: its step
    runs in a child of the forkserver started at import, not of a second server."""
    dagster_home = instance_home(tmp_path / "home")
    out = tmp_path / "parent_pid"
    script = textwrap.dedent(f"""
        import multiprocessing, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})

        def run():
            import platform_assets, dagster as dg
            from reconstructable_jobs import forkserver_probe_job
            early = multiprocessing.forkserver._forkserver._forkserver_pid
            with dg.DagsterInstance.get() as instance:
                result = dg.execute_job(dg.reconstructable(forkserver_probe_job), instance=instance,
                                        run_config={{"ops": {{"report_parent": {{"config": {{"path": {str(out)!r}}}}}}}}})
                assert result.success
            assert int(open({str(out)!r}).read()) == early, "steps forked from another server"

        if __name__ == "__main__":
            child = multiprocessing.get_context("spawn").Process(target=run)
            child.start(); child.join()
            sys.exit(child.exitcode)
    """)
    (tmp_path / "probe.py").write_text(script)
    done = subprocess.run([sys.executable, str(tmp_path / "probe.py")], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "DAGSTER_HOME": str(dagster_home)}, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert out.exists()


def test_step_output_is_captured_for_the_ui_without_helper_processes(tmp_path):
    """A step's stdout and stderr reach the files the UI reads (same API as Dagster's manager), and
    capturing them starts no process (Dagster's starts two `tail`s and two Python watchers a step)."""
    from platform_assets.instance import FileComputeLogManager
    from platform_assets_tests.reconstructable_jobs import compute_log_probe_job

    count = tmp_path / "children"
    with dg.DagsterInstance.from_config(str(instance_home(tmp_path / "home"))) as instance:
        assert isinstance(instance.compute_log_manager, FileComputeLogManager)
        result = dg.execute_job(dg.reconstructable(compute_log_probe_job), instance=instance,
                                run_config={"ops": {"print_and_count_children": {"config": {"path": str(count)}}}})
        assert result.success
        captured = [e for e in instance.all_logs(result.run_id, of_type=DagsterEventType.LOGS_CAPTURED)]
        assert len(captured) == 1
        manager = instance.compute_log_manager
        log_key = manager.build_log_key_for_run(result.run_id, captured[0].dagster_event.logs_captured_data.file_key)
        assert manager.is_capture_complete(log_key)
        data = manager.get_log_data(log_key)
        assert b"stdout marker from the step" in data.stdout
        assert b"stderr marker from the step" in data.stderr
    assert count.read_text() == "0"


DAYS = dg.DailyPartitionsDefinition(start_date="2024-03-01")


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run(),
          check_specs=[dg.AssetCheckSpec("rows_positive", asset="ranged", partitions_def=DAYS)])
def ranged(context):  # (no annotation: this module postpones them, and Dagster checks the type)
    # A range step, as the platform's reports report one: the output for the range, then a check
    # evaluation per date against its own partition.
    yield dg.MaterializeResult(metadata={"dates": len(context.partition_keys)})
    for key in context.partition_keys:
        yield dg.AssetCheckEvaluation(asset_key=dg.AssetKey("ranged"), check_name="rows_positive", passed=key[-1] != "3",
                                      partition=key)
    yield dg.Output(None, output_name="ranged_rows_positive")


def _range_run(instance: dg.DagsterInstance) -> str:
    job = dg.Definitions(assets=[ranged]).resolve_implicit_global_asset_job_def()
    tags = {"dagster/asset_partition_range_start": "2024-03-01", "dagster/asset_partition_range_end": "2024-03-07"}
    return job.execute_in_process(instance=instance, tags=tags, raise_on_error=False).run_id


def _what_was_recorded(instance: dg.DagsterInstance, run_id: str) -> dict:
    counts = Counter(kind.value if (kind := r.event_log_entry.dagster_event_type) else "log"
                     for r in instance.get_records_for_run(run_id).records)
    materialized = sorted(r.partition_key for r in instance.fetch_materializations(dg.AssetKey("ranged"), limit=100).records)
    checks = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(dg.AssetKey("ranged"), "rows_positive"), limit=100)
    return {"events": dict(counts), "materialized": materialized,
            "checks": sorted((c.partition, c.status.value) for c in checks)}


def test_batched_events_are_recorded_as_events_written_one_by_one(tmp_path, monkeypatch):
    """A range run's planned events and per-date materializations go to store_event_batch (the
    instance's default), one transaction per shard; what the instance then holds is what it holds
    when every event is written alone (DAGSTER_EVENT_BATCH_SIZE=0)."""
    batches: list[int] = []
    real = PooledSqliteEventLogStorage.store_event_batch

    def spy(self, events):
        batches.append(len(events))
        return real(self, events)

    monkeypatch.setattr(PooledSqliteEventLogStorage, "store_event_batch", spy)
    recorded = {}
    for name, size in (("alone", "0"), ("batched", None)):  # None: the instance's default
        if size is None:
            monkeypatch.delenv("DAGSTER_EVENT_BATCH_SIZE", raising=False)
        else:
            monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", size)
        with dg.DagsterInstance.from_config(str(instance_home(tmp_path / name / "home"))) as instance:
            recorded[name] = _what_was_recorded(instance, _range_run(instance))
        if name == "alone":
            assert batches == []
    # The run's plan (7 materializations, and the check once for the range), then the step's 7
    # per-date materializations; the check evaluations are not batched by Dagster.
    assert batches == [7 + 1, 7]
    assert recorded["batched"] == recorded["alone"]
    assert recorded["batched"]["materialized"] == [f"2024-03-0{d}" for d in range(1, 8)]
    assert ("2024-03-03", "FAILED") in recorded["batched"]["checks"]
    assert len(recorded["batched"]["checks"]) == 7


def test_a_batch_that_fails_leaves_nothing_half_written(tmp_path, monkeypatch):
    """An error while storing a batch rolls back every shard's transaction (Dagster then writes the
    events one by one); the storage's lock is released and the next write goes through."""
    with dg.DagsterInstance.from_config(str(instance_home(tmp_path / "home"))) as instance:
        storage = instance.event_log_storage
        real = PooledSqliteEventLogStorage._store_asset_event

        def fail_on_the_third(self, conn, event, event_id):
            if event.dagster_event.event_specific_data.materialization.partition == "2024-03-03":
                raise RuntimeError("disk full")
            return real(self, conn, event, event_id)

        monkeypatch.setattr(PooledSqliteEventLogStorage, "_store_asset_event", fail_on_the_third)
        with pytest.raises(RuntimeError, match="disk full"):
            storage.store_event_batch([materialization(i) for i in range(5)])
        assert storage.get_records_for_run(RUN_ID).records == []
        assert instance.fetch_materializations(dg.AssetKey("revenue_close"), limit=10).records == []
        monkeypatch.undo()
        storage.store_event_batch([materialization(i) for i in range(5)])
        assert len(storage.get_records_for_run(RUN_ID).records) == 5
        assert len(instance.fetch_materializations(dg.AssetKey("revenue_close"), limit=10).records) == 5


def test_planned_check_rows_are_the_rows_dagster_writes(tmp_path):
    """A range run plans each check once with a row per date; the storage serializes the planned
    event once for all rows instead of once per row. The rows are the ones Dagster's own method
    writes for the same events (into a second, fresh storage)."""
    import sqlalchemy as db
    from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable

    def rows(storage, run_id: str) -> list[tuple]:
        table = AssetCheckExecutionsTable
        with storage.index_connection() as conn:
            found = conn.execute(db.select(table.c.asset_key, table.c.check_name, table.c.partition, table.c.run_id,
                                           table.c.execution_status, table.c.evaluation_event,
                                           table.c.evaluation_event_timestamp)
                                 .where(table.c.run_id == run_id, table.c.execution_status == "PLANNED")).fetchall()
        return sorted(tuple(r) for r in found)

    with dg.DagsterInstance.from_config(str(instance_home(tmp_path / "ours"))) as ours, \
            dg.DagsterInstance.from_config(str(instance_home(tmp_path / "dagster"))) as theirs:
        job = dg.Definitions(assets=[ranged]).resolve_implicit_global_asset_job_def()
        tags = {"dagster/asset_partition_range_start": "2024-03-01", "dagster/asset_partition_range_end": "2024-03-07"}
        run = ours.create_run_for_job(job, tags=tags)  # plans the materializations and the check
        planned = ours.get_records_for_run(run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED).records
        assert len(planned) == 1
        for record in planned:
            SqliteEventLogStorage._store_asset_check_evaluation_planned(  # Dagster's own, unchanged
                theirs.event_log_storage, record.event_log_entry, record.storage_id)
        written = rows(ours.event_log_storage, run.run_id)
        assert [r[2] for r in written] == [f"2024-03-0{d}" for d in range(1, 8)]
        assert written == rows(theirs.event_log_storage, run.run_id)


def test_check_evaluations_are_stored_as_dagster_stores_them(tmp_path):
    """A run's check evaluations take the storage's own path (the event serialized once, statements
    built once). Replaying the same run's events through Dagster's unchanged SQLite storage gives
    the same rows: the event in the run shard and the index, and the check execution rows, for
    passed and failed dates, an evaluation without a partition and one whose run planned nothing."""
    import sqlalchemy as db
    from dagster._core.definitions.asset_checks.asset_check_evaluation import (
        AssetCheckEvaluation,
        AssetCheckEvaluationTargetMaterializationData,
    )
    from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable, SqlEventLogStorageTable

    def extra(run_id: str, partition: str | None, passed: bool) -> EventLogEntry:
        target = AssetCheckEvaluationTargetMaterializationData(storage_id=2, run_id=run_id, timestamp=time.time())
        event = DagsterEvent(DagsterEventType.ASSET_CHECK_EVALUATION.value, "daily_platform", step_key="ranged",
                             event_specific_data=AssetCheckEvaluation(
                                 asset_key=dg.AssetKey("ranged"), check_name="rows_positive", passed=passed,
                                 partition=partition, metadata={"rows": dg.MetadataValue.int(3)},
                                 target_materialization_data=target))
        return EventLogEntry(error_info=None, level=20, user_message="", run_id=run_id, timestamp=time.time(),
                             step_key="ranged", job_name="daily_platform", dagster_event=event)

    def table(storage, shard_connection, columns) -> list[tuple]:
        with shard_connection as conn:
            return [tuple(r) for r in conn.execute(db.select(*columns).order_by(columns[0].table.c.id)).fetchall()]

    def recorded(storage, run_id: str) -> dict:
        events = [c for c in SqlEventLogStorageTable.c if c.name != "id"]
        executions = [c for c in AssetCheckExecutionsTable.c if c.name not in ("id", "create_timestamp")]
        return {"run": table(storage, storage.run_connection(run_id), events),
                "index": table(storage, storage.index_connection(), [SqlEventLogStorageTable.c.id, *events]),
                "executions": table(storage, storage.index_connection(), executions)}

    with dg.DagsterInstance.from_config(str(instance_home(tmp_path / "ours"))) as instance:
        run_id = _range_run(instance)
        ours = instance.event_log_storage
        assert isinstance(ours, PooledSqliteEventLogStorage)
        entries = [r.event_log_entry for r in instance.get_records_for_run(run_id).records]
        extras = [extra(run_id, None, True), extra("0f0e0d0c-0000-4000-8000-0000000000ff", "2024-03-02", False)]
        for entry in extras:
            ours.store_event(entry)
        theirs = SqliteEventLogStorage(str(tmp_path / "dagster"))  # Dagster's own storage, unchanged
        for entry in entries + extras:
            theirs.store_event(entry)
        evaluations = [e for e in entries if e.dagster_event_type == DagsterEventType.ASSET_CHECK_EVALUATION]
        assert len(evaluations) == 7
        mine = recorded(ours, run_id)
        assert mine == recorded(theirs, run_id)
        assert recorded(ours, extras[1].run_id) == recorded(theirs, extras[1].run_id)
        statuses = {(row[2], row[4]) for row in mine["executions"]}  # (partition, status)
        assert ("2024-03-03", "FAILED") in statuses and ("2024-03-02", "FAILED") in statuses
        assert (None, "SUCCEEDED") in statuses and ("2024-03-01", "SUCCEEDED") in statuses
        assert [row[-1] for row in mine["executions"]][-1] == 2  # materialization_event_storage_id
        theirs.dispose()
