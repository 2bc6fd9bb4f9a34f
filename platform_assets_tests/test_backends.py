"""The same code and tests on both backends: the embedded default (Parquet + SQLite) and
production (PostgreSQL for the warehouse and the ledger, real server)."""

from __future__ import annotations

import datetime as dt
import decimal
import os
import signal
import subprocess
import sys
import textwrap
import time

import dagster as dg
import pandas as pd
import psycopg
import pytest

from platform_assets import keys
from platform_assets.ingestion.framework import raw_table
from platform_assets.reports import report_table
from platform_assets.resources import PlatformResource
from platform_assets.storage.warehouse import Table
from platform_assets_tests import independent as ind
from platform_assets_tests.conftest import day

T = Table("reports", "example")
D1, D2 = dt.date(2024, 3, 4), dt.date(2024, 3, 5)
S = pd.StringDtype("pyarrow")


def frame(d, n=3, offset=0):
    return pd.DataFrame({
        "business_date": pd.Timestamp(d), "label": pd.Series([f"r{i + offset}" for i in range(n)], dtype=S),
        "amount": [decimal.Decimal(f"{i}.{i:02d}") for i in range(n)], "qty": list(range(n))})


def test_partition_replacement_and_types_round_trip(backend_platform):
    wh = backend_platform.warehouse()
    wh.replace(T, pd.concat([frame(D1), frame(D2, 2)]), [D1, D2])
    wh.replace(T, frame(D1, 1, offset=10), [D1])
    out = wh.read(T, D1, D2).sort_values("label")
    assert out["label"].tolist() == ["r0", "r1", "r10"]
    assert out["amount"].tolist() == [decimal.Decimal("0.00"), decimal.Decimal("1.01"), decimal.Decimal("0.00")]
    assert isinstance(out["amount"].iloc[1], decimal.Decimal) and str(out["label"].dtype) == "string"
    assert wh.row_counts(T, D1, D2) == {D1: 1, D2: 2} and wh.dates(T) == [D1, D2]
    wh.replace(T, frame(D2, 0), [D1, D2])
    assert wh.row_counts(T, D1, D2) == {D1: 0, D2: 0}, "a window with no rows: both partitions emptied, still there"
    with pytest.raises(ValueError, match="outside the partitions"):
        wh.replace(T, frame(D2), [D1])
    edge = pd.DataFrame({"business_date": pd.Timestamp(D1), "i": [0, 1, 2],
                         "label": pd.Series(["", None, "a,\"b\"\nc"], dtype=S),
                         "at": pd.to_datetime(["2024-03-04T12:00:00.123456Z"] * 3, utc=True), "ok": [True, False, True],
                         "ratio": [0.5, float("nan"), 1.0]})
    wh.replace(Table("staging", "edge"), edge, [D1])
    back = wh.read(Table("staging", "edge"), D1, D1).sort_values("i").reset_index(drop=True)
    assert back["label"].tolist()[0] == "" and pd.isna(back["label"].iloc[1]) and back["label"].iloc[2] == 'a,"b"\nc'
    assert back["at"].dtype == "datetime64[ns, UTC]" and back["at"].iloc[0] == edge["at"].iloc[0]
    assert back["ok"].tolist() == [True, False, True] and pd.isna(back["ratio"].iloc[1])
    assert list(wh.read(T, D1, D1, columns=["qty"]).columns) == ["qty"]


def test_partition_versions_change_with_every_write_and_anomaly_baselines_follow_them(backend_platform):
    """Anomaly checks keep each date's key metrics under its partition's version, so the dates of a
    range share one read of their history; a replaced partition must be read again."""
    from platform_assets.quality.common import history_metrics

    wh = backend_platform.warehouse()
    table = Table("reports", "baseline_example")
    days = [D1 + dt.timedelta(days=i) for i in range(6)]

    def rows(d, value):
        return pd.DataFrame({"business_date": pd.Timestamp(d), "label": pd.Series(["AMER", "EMEA"], dtype=S),
                             "qty": [value, 2 * value]})

    def key_metrics(frame):
        return frame.groupby("business_date").agg(qty=("qty", "sum"))

    wh.replace(table, pd.concat([rows(d, i) for i, d in enumerate(days) if d != days[3]]),
               [d for d in days if d != days[3]])
    before = wh.versions(table, days[0], days[-1])
    assert sorted(before) == [d for d in days if d != days[3]]  # a date never written has no version
    whole = key_metrics(wh.read(table, days[0], days[-1]))
    pd.testing.assert_frame_equal(history_metrics(wh, table, key_metrics, days[0], days[-1]), whole, check_freq=False)

    wh.replace(table, rows(days[2], 100), [days[2]])
    after = wh.versions(table, days[0], days[-1])
    assert after[days[2]] != before[days[2]] and {d: v for d, v in after.items() if d != days[2]} == \
        {d: v for d, v in before.items() if d != days[2]}
    again = history_metrics(wh, table, key_metrics, days[0], days[-1])
    assert int(again.loc[pd.Timestamp(days[2]), "qty"]) == 300
    pd.testing.assert_frame_equal(again, key_metrics(wh.read(table, days[0], days[-1])), check_freq=False)


def parted(d, region, n, offset=0):
    out = frame(d, n, offset)
    out["_file"] = pd.Series([f"pos_{region}.csv"] * n, dtype=S)
    return out


def test_a_partition_written_in_parts_from_parallel_processes_appears_at_once(backend_platform, tmp_path):
    """What the POS split relies on (scheduling.py): each region's step stages its part, in its
    own process, and the publish step swaps the whole date in."""
    wh = backend_platform.warehouse()
    wh.replace(T, pd.concat([parted(D1, "AMER", 2), parted(D2, "AMER", 1)]), [D1, D2])
    script = textwrap.dedent("""
        import datetime as dt, decimal, sys, pandas as pd
        from platform_assets.resources import PlatformResource
        from platform_assets.storage.warehouse import Table
        platform = PlatformResource.model_validate_json(sys.argv[1])
        region, n = sys.argv[2], int(sys.argv[3])
        S = pd.StringDtype("pyarrow")
        frame = pd.DataFrame({"business_date": pd.Timestamp("2024-03-04"),
                              "label": pd.Series([f"{region}{i}" for i in range(n)], dtype=S),
                              "amount": [decimal.Decimal(f"{i}.25") for i in range(n)], "qty": list(range(n)),
                              "_file": pd.Series([f"pos_{region}.csv"] * n, dtype=S)})
        platform.warehouse().stage(Table("reports", "example"), dt.date(2024, 3, 4), "tok12345abc", frame,
                                   "_file", f"pos_{region}.csv")
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, backend_platform.model_dump_json(), region, str(n)],
                              stderr=subprocess.PIPE, text=True)
             for region, n in (("AMER", 3000), ("EMEA", 2000), ("APAC", 0))]
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read()
    assert sorted(wh.read(T, D1, D1)["label"]) == ["r0", "r1"], "staged parts are invisible"
    files = ["pos_AMER.csv", "pos_EMEA.csv", "pos_APAC.csv"]
    assert wh.publish(T, D1, "tok12345abc", "_file", files).rows == 5000
    out = wh.read(T, D1, D1)
    assert len(out) == 5000 and out["amount"].sum() == sum(decimal.Decimal(f"{i}.25") for i in [*range(3000), *range(2000)])
    assert wh.row_counts(T, D1, D2) == {D1: 5000, D2: 1} and wh.dates(T) == [D1, D2]
    emea = wh.read(T, D1, D2, columns=["label"], where={"_file": ["pos_EMEA.csv"]})
    assert list(emea.columns) == ["label"] and len(emea) == 2000 and emea["label"].str.startswith("EMEA").all()
    # Then a whole-partition write replaces the parted version, and a new parted version that one.
    wh.replace(T, parted(D1, "AMER", 1, offset=7), [D1])
    assert wh.read(T, D1, D1)["label"].tolist() == ["r7"]
    wh.stage(T, D1, "tok2", parted(D1, "EMEA", 2), "_file", "pos_EMEA.csv")
    wh.publish(T, D1, "tok2", "_file", ["pos_EMEA.csv"])
    assert sorted(wh.read(T, D1, D1)["label"]) == ["r0", "r1"] and wh.row_counts(T, D1, D1) == {D1: 2}
    # A version that is not published leaves nothing behind.
    wh.stage(T, D1, "tok3", parted(D1, "APAC", 4), "_file", "pos_APAC.csv")
    with pytest.raises(FileNotFoundError, match="no staged part"):
        wh.publish(T, D1, "tok3", "_file", ["pos_APAC.csv", "pos_AMER.csv"])
    wh.discard(T, D1, "tok3")
    assert sorted(wh.read(T, D1, D1)["label"]) == ["r0", "r1"]
    if backend_platform.database_url:
        with psycopg.connect(backend_platform.database_url) as conn:
            leftovers = conn.execute("SELECT relname FROM pg_class WHERE relname LIKE 'example%%tok3%%'").fetchall()
        assert leftovers == []


def test_a_write_after_reading_a_missing_table_is_committed(backend_platform):
    """Regression: on PostgreSQL a read left a transaction open and the next write became a
    savepoint that was never committed; data was lost when the step's connection closed."""
    wh = backend_platform.warehouse()
    table = Table("reports", "fresh")
    assert wh.read(table, D1, D1).empty
    wh.replace(table, frame(D1), [D1])
    wh.close()
    other = PlatformResource(**backend_platform.model_dump()).warehouse()  # a new connection
    assert len(other.read(table, D1, D1)) == 3 and other.dates(table) == [D1]


def test_imports_are_idempotent_and_reprocessable_on_both_backends(backend_platform):
    from platform_assets.ingestion.framework import reprocess

    importer = backend_platform.importer()
    first = importer.import_day("pos_transactions", day(0))
    assert first.status == "partially_succeeded"
    again = importer.import_day("pos_transactions", day(0))
    assert again.status == "noop"
    assert importer.warehouse.row_counts(raw_table("pos_transactions"), day(0), day(0))[day(0)] == first.batch.rows_loaded
    rejects = importer.ledger.rejects(batch_id=first.batch.batch_id)
    assert len(rejects) == first.batch.rows_rejected and rejects[0]["reason"]
    result, change = reprocess(importer, "pos_transactions", day(0))
    assert result.status == "partially_succeeded" and "files: unchanged" in "\n".join(change.lines())


def test_a_day_materializes_the_same_on_both_backends(backend_platform):
    import dagster as dg

    from platform_assets.definitions import build_definitions
    from platform_assets.demo import replay_day

    instance = dg.DagsterInstance.ephemeral()
    defs = build_definitions(platform=backend_platform)
    for i in (5, 6):  # day 6 needs day 5's FX rates (GBP is missing on day 6)
        assert not replay_day(defs, backend_platform, instance, day(i))
    backend_platform.warehouse().close()
    fresh = PlatformResource(**backend_platform.model_dump()).warehouse()  # what another process sees
    close = fresh.read(report_table(keys.REVENUE_CLOSE), day(6), day(6)).set_index("region")
    for region, figures in ind.revenue_close(backend_platform.settings().landing_dir, day(6)).items():
        assert close.loc[region, "net_revenue_usd"] == figures["net_revenue"], region


# ------------------------------------------------------------------------------------------------
# PostgreSQL only
# ------------------------------------------------------------------------------------------------

def _writer_script(url: str, day: str, rows: int, barrier: str = "") -> str:
    return textwrap.dedent(f"""
        import datetime as dt, os, time, numpy as np, pandas as pd
        from platform_assets.storage.postgres import PostgresWarehouse
        from platform_assets.storage.warehouse import Table
        n = {rows}
        frame = pd.DataFrame({{"business_date": pd.Timestamp("{day}"), "label": pd.Series(np.arange(n).astype(str), dtype="string[pyarrow]"),
                               "qty": np.arange(n)}})
        while {barrier!r} and not os.path.exists({barrier!r}):
            time.sleep(0.01)
        PostgresWarehouse({url!r}).replace(Table("staging", "big"), frame, [dt.date.fromisoformat("{day}")])
        print("done")
    """)


@pytest.mark.postgres
def test_a_process_killed_mid_write_leaves_the_previous_version(pg_url):
    from platform_assets.storage.postgres import PostgresWarehouse

    wh = PostgresWarehouse(pg_url)
    table = Table("staging", "big")
    wh.replace(table, pd.DataFrame({"business_date": pd.Timestamp(D1), "label": pd.Series(["old"] * 5, dtype=S),
                                    "qty": range(5)}), [D1])
    proc = subprocess.Popen([sys.executable, "-c", _writer_script(pg_url, str(D1), 4_000_000)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    copying = False
    deadline = time.monotonic() + 60
    with psycopg.connect(pg_url, autocommit=True) as watch:
        while time.monotonic() < deadline and proc.poll() is None:
            row = watch.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                                "'platform_assets warehouse' AND query LIKE 'COPY%%' AND state = 'active'").fetchone()
            if row[0]:
                copying = True
                break
            time.sleep(0.02)
    assert copying, f"the writer never reached COPY: {proc.communicate()}"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(0.5)
    out = PostgresWarehouse(pg_url).read(table, D1, D1)
    assert out["label"].tolist() == ["old"] * 5, "the previous version is intact and readable"
    assert PostgresWarehouse(pg_url).row_counts(table, D1, D1) == {D1: 5}
    with psycopg.connect(pg_url) as conn:
        assert conn.execute('SELECT count(*) FROM staging.big').fetchone()[0] == 5, "nothing half-written"


@pytest.mark.postgres
def test_two_parallel_writers_of_different_partitions_of_a_new_table_both_land(pg_url, tmp_path):
    from platform_assets.storage.postgres import PostgresWarehouse

    barrier = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", _writer_script(pg_url, str(d), 200_000, str(barrier))],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for d in (D1, D2)]
    time.sleep(1.5)
    barrier.touch()
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    wh = PostgresWarehouse(pg_url)
    assert wh.row_counts(Table("staging", "big"), D1, D2) == {D1: 200_000, D2: 200_000}


@pytest.mark.postgres
def test_daily_materialization_with_the_dagster_instance_on_postgres(pg_url, tmp_path, landing_default):
    """Dagster's runs, events and schedules, the warehouse and the ledger all in PostgreSQL."""
    from platform_assets.definitions import build_definitions
    from platform_assets.demo import replay_day
    from platform_assets_tests.processes import instance_home

    home = instance_home(tmp_path / "home", f"storage:\n  postgres:\n    postgres_url: {pg_url}\n")
    platform = PlatformResource(landing_dir=str(landing_default), data_dir=str(tmp_path / "data"), database_url=pg_url)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        defs = build_definitions(platform=platform)
        for i in (0, 1):
            assert not replay_day(defs, platform, instance, day(i))
        runs = instance.get_runs()
        assert len(runs) >= 6 and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        assert instance.get_materialized_partitions(keys.REVENUE_CLOSE) == {day(0).isoformat(), day(1).isoformat()}
        evaluations = [e for r in runs for e in instance.get_records_for_run(
            r.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records]
        assert len(evaluations) > 200
    with psycopg.connect(pg_url) as conn:
        tables = {r[0] for r in conn.execute("SELECT table_schema || '.' || table_name FROM information_schema.tables")}
        assert {"public.runs", "public.event_logs", "public.import_batches", "reports.revenue_close",
                "staging.stg_pos_lines", "meta.warehouse_partitions"} <= tables
        money = conn.execute("SELECT data_type, numeric_scale FROM information_schema.columns WHERE table_schema = "
                             "'reports' AND table_name = 'revenue_close' AND column_name = 'net_revenue_usd'").fetchone()
        assert money == ("numeric", 2)
        # Partitioned by business_date: a lookup by date reads that date's child table only.
        key = conn.execute("SELECT pg_get_partkeydef('staging.stg_pos_lines'::regclass)").fetchone()[0]
        assert key == "RANGE (business_date)"
        children = conn.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = 'staging.stg_pos_lines'::regclass").fetchone()[0]
        assert children == 2, "one child table per business date"


@pytest.mark.postgres
@pytest.mark.slow
def test_a_parallel_run_uses_a_bounded_number_of_connections(pg_url, tmp_path, landing_default, monkeypatch):
    """docs/decisions.md: a run uses at most steps x 3 + 1 connections (warehouse, ledger, Dagster
    storage per step process, plus the orchestrating process). Measured on the real server."""
    import threading

    from platform_assets_tests.processes import instance_home
    from platform_assets_tests.reconstructable_jobs import daily_platform_job

    steps = 2
    for key, value in {"PLATFORM_LANDING_DIR": str(landing_default), "PLATFORM_DATA_DIR": str(tmp_path / "data"),
                       "PLATFORM_DATABASE_URL": pg_url, "PLATFORM_MAX_CONCURRENT_STEPS": str(steps)}.items():
        monkeypatch.setenv(key, value)
    home = instance_home(tmp_path / "home", f"storage:\n  postgres:\n    postgres_url: {pg_url}\n")
    database = pg_url.rsplit("/", 1)[1]
    peak = {"total": 0, "by_app": {}}
    done = threading.Event()

    def sample():
        with psycopg.connect(pg_url, autocommit=True) as conn:
            while not done.is_set():
                rows = conn.execute("SELECT application_name, count(*) FROM pg_stat_activity WHERE datname = %s "
                                    "AND pid <> pg_backend_pid() GROUP BY 1", (database,)).fetchall()
                total = sum(n for _, n in rows)
                if total > peak["total"]:
                    peak.update(total=total, by_app=dict(rows))
                time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        sampler.start()
        try:
            with dg.execute_job(dg.reconstructable(daily_platform_job), instance=instance,
                                tags={"dagster/partition": day(0).isoformat()}) as result:
                assert result.success, [e.message for e in result.all_events if e.is_failure]
        finally:
            done.set()
            sampler.join()
    print(f"peak connections during the run: {peak}")
    assert 0 < peak["total"] <= steps * 3 + 1, peak


@pytest.mark.postgres
def test_the_production_instance_config_loads_and_stores_runs(pg_url, tmp_path, monkeypatch):
    """deploy/dagster.postgres.yaml with its connection settings from the environment."""
    import shutil
    from urllib.parse import urlsplit

    from platform_assets_tests.processes import ROOT

    parts = urlsplit(pg_url)
    for key, value in {"DAGSTER_PG_HOST": parts.hostname, "DAGSTER_PG_PORT": str(parts.port or 5432),
                       "DAGSTER_PG_DB": parts.path.lstrip("/"), "DAGSTER_PG_USER": parts.username or "postgres",
                       "DAGSTER_PG_PASSWORD": parts.password or ""}.items():
        monkeypatch.setenv(key, value)
    shutil.copy(ROOT / "deploy" / "dagster.postgres.yaml", tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        assert instance.run_monitoring_enabled

        @dg.asset
        def probe():
            return 1

        assert dg.materialize([probe], instance=instance).success
        assert len(instance.get_runs()) == 1
