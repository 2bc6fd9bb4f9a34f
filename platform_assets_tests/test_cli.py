"""The command line: generate, reprocess, batches, rejects (click's runner, real files)."""

from __future__ import annotations

from click.testing import CliRunner

from platform_assets.cli import main
from platform_assets_tests.conftest import START


def test_generate_then_reprocess_and_inspect_the_ledger(tmp_path, monkeypatch):
    monkeypatch.setenv("PLATFORM_LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("PLATFORM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    runner = CliRunner()
    out = runner.invoke(main, ["generate", "--start", START.isoformat(), "--days", "1"])
    assert out.exit_code == 0, out.output
    assert "pos_transactions" in out.output and "rows" in out.output
    out = runner.invoke(main, ["reprocess", "--source", "pos_transactions", "--date", START.isoformat()])
    assert out.exit_code == 0, out.output
    assert "first import of pos_transactions" in out.output
    out = runner.invoke(main, ["batches", "--source", "pos_transactions"])
    assert "partially_succeeded" in out.output
    batch_prefix = out.output.split()[2]
    out = runner.invoke(main, ["reprocess", "--batch", batch_prefix])
    assert out.exit_code == 0 and "files: unchanged (same checksums)" in out.output
    out = runner.invoke(main, ["rejects", "--source", "pos_transactions", "--date", START.isoformat(), "--limit", "1"])
    assert out.exit_code == 0 and "× quantity: expected an integer >= 1" in out.output
    out = runner.invoke(main, ["rejects", "--batch", batch_prefix, "--format", "csv", "--limit", "3"])
    assert out.output.splitlines()[0] == "batch_id,file,row_number,line_number,columns,reason,record"
    # The run is recorded on the DAGSTER_HOME instance (what the UI shows).
    import dagster as dg

    with dg.DagsterInstance.from_config(str(tmp_path / "dagster_home")) as instance:
        assert len(instance.get_runs()) == 2


def test_clear_errors_and_nonzero_exit():
    runner = CliRunner()
    out = runner.invoke(main, ["reprocess", "--source", "nope", "--date", "2024-03-01"])
    assert out.exit_code != 0 and "unknown source 'nope'" in out.output
    out = runner.invoke(main, ["generate", "--start", "2024-13-01"])
    assert out.exit_code != 0 and "expected a date as YYYY-MM-DD" in out.output


def test_backfill_runs_ranges_by_policy_and_matches_the_landing_files(tmp_path, monkeypatch, landing_clean):
    """`platform-assets backfill`: every run covers the 3 dates at once (the policies allow 7),
    the close equal to the cent to a computation straight from the landing files."""
    import dagster as dg

    from platform_assets import keys
    from platform_assets.reports import report_table
    from platform_assets.resources import PlatformResource
    from platform_assets_tests import independent as ind
    from platform_assets_tests.conftest import day

    monkeypatch.setenv("PLATFORM_LANDING_DIR", str(landing_clean))
    monkeypatch.setenv("PLATFORM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    out = CliRunner().invoke(main, ["backfill", "--start", day(0).isoformat(), "--end", day(2).isoformat()])
    assert out.exit_code == 0, out.output
    with dg.DagsterInstance.from_config(str(tmp_path / "dagster_home")) as instance:
        runs = instance.get_runs()
        evaluations = [record.event_log_entry.dagster_event.event_specific_data for run in runs
                       for record in instance.get_records_for_run(
                           run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, limit=10_000).records]
        materialized = {(r.event_log_entry.dagster_event.event_specific_data.materialization.partition)
                        for r in instance.fetch_materializations(keys.STG_POS_LINES, limit=100).records}
    assert runs and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
    assert {(r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"])
            for r in runs} == {(day(0).isoformat(), day(2).isoformat())}
    # Range runs still record every date's results against its own partition.
    dates = [day(i).isoformat() for i in range(3)]
    assert sorted(materialized) == dates
    by_check: dict[tuple[str, str], list[str | None]] = {}
    for e in evaluations:
        by_check.setdefault((e.asset_key.to_user_string(), e.check_name), []).append(e.partition)
    for check in [("raw_pos_transactions", "contract"), ("raw_fx_rates", "delivery_complete"),
                  ("stg_pos_lines", "no_rows_lost"), ("revenue_close", "schema"),
                  ("revenue_close", "reconciles_with_ledger"), ("aggregate_profit", "net_revenue_matches_close")]:
        assert sorted(by_check[check]) == dates, (check, by_check.get(check))
    assert all(partition in dates for partitions in by_check.values() for partition in partitions)
    warehouse = PlatformResource().warehouse()
    for i in range(3):
        frame = warehouse.read(report_table(keys.REVENUE_CLOSE), day(i), day(i)).set_index("region")
        for region, figures in ind.revenue_close(landing_clean, day(i)).items():
            assert frame.loc[region, "net_revenue_usd"] == figures["net_revenue"], (i, region)
    assert CliRunner().invoke(main, ["backfill", "--start", day(2).isoformat(), "--end", day(0).isoformat()]).exit_code != 0
