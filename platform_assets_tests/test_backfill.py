"""Acceptance (issue 7): a 7-day backfill launched through Dagster's GraphQL API, as the UI's
"Materialize > range" does, run by the real daemon on a fresh warehouse, equals the per-date
materialization of the same days (the ``materialized`` fixture, one run per arrival batch per date).

The assets' backfill policies decide the runs: imports, FX rates and heavy staging a month per run, the
reports and the rest of staging a whole range in one run, so the 7 days take a handful of runs
rather than one per date and asset group.
"""

from __future__ import annotations

import pandas as pd
import pytest

import dagster as dg
from platform_assets.definitions import build_definitions
from platform_assets.reports import report_table
from platform_assets.staging.assets import table as staging_table
from platform_assets_tests.conftest import day
from platform_assets_tests.processes import BIN, ROOT, Process, instance_home, wait_until
from platform_assets_tests.test_ui import _serving, free_port

pytestmark = [pytest.mark.daemon, pytest.mark.slow, pytest.mark.timeout(900)]

DAYS = [day(i).isoformat() for i in range(7)]

LAUNCH = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on UnauthorizedError { message }
  }
}
"""

STATUS = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { status }
    ... on PythonError { message }
  }
}
"""

DONE = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows without lineage columns (batch ids differ between two loads of the same files), in a
    stable order."""
    frame = frame[[c for c in frame.columns if not c.startswith("_")]]
    frame = frame.astype({c: str for c in frame.columns})
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def test_a_7_day_backfill_through_graphql_equals_per_date_materialization(materialized, tmp_path):
    from dagster_graphql import DagsterGraphQLClient

    from platform_assets.resources import PlatformResource

    home, data = instance_home(tmp_path / "home"), tmp_path / "data"
    port = free_port()
    env = {"DAGSTER_HOME": str(home), "PLATFORM_LANDING_DIR": str(materialized.landing), "PLATFORM_DATA_DIR": str(data)}
    process = Process([str(BIN / "dagster"), "dev", "-h", "127.0.0.1", "-p", str(port), "-w", str(ROOT / "workspace.yaml")],
                      env, tmp_path / "dagster-dev.log")
    graph = build_definitions().resolve_asset_graph()
    assets = sorted(k.to_user_string() for k in graph.materializable_asset_keys)
    try:
        wait_until(lambda: _serving(f"http://127.0.0.1:{port}"), timeout=240, what="the webserver", process=process)
        client = DagsterGraphQLClient("127.0.0.1", port_number=port)
        # The client has no public method for backfills or arbitrary queries in dagster-graphql
        # 1.13; ``_execute`` sends the same mutation the UI's launch dialog sends.
        # Every asset, the same 7 dates. (With ``partitionNames`` instead, Dagster applies the dates
        # to the root assets and derives the rest through partition mappings: a day of FX rates
        # feeds the windowed reports of the weeks after it, so the backfill would grow.)
        launched = client._execute(LAUNCH, {"params": {
            "partitionsByAssets": [{"assetKey": {"path": [a]}, "partitions": {"range": {"start": DAYS[0], "end": DAYS[-1]}}}
                                   for a in assets],
            "fromFailure": False, "title": "7-day backfill (test)"}})["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        backfill_id = launched["backfillId"]

        def status():
            return client._execute(STATUS, {"id": backfill_id})["partitionBackfillOrError"]["status"]

        final = wait_until(lambda: status() in DONE and status(), timeout=780, poll=3,
                           what="the backfill to finish", process=process)
        assert final in ("COMPLETED", "COMPLETED_SUCCESS"), final
        with dg.DagsterInstance.from_config(str(home)) as instance:
            runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
            assert runs and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
            ranges = {(r.tags.get("dagster/asset_partition_range_start"), r.tags.get("dagster/asset_partition_range_end"))
                      for r in runs}
            assert ranges == {(DAYS[0], DAYS[-1])}, f"every run covers the 7 dates at once: {ranges}"
            assert len(runs) < len(DAYS), f"{len(runs)} runs for 7 days: not one run per date"

        # Each date's ledger reconciliation ends as in the per-date materialization (one mess day
        # fails it there): where the backfill ran it with the close before that date's ledger was
        # staged, the automation runs it again (automation.RECHECK).
        expected = {d.isoformat(): e.passed for d, result in materialized.results.items()
                    for e in result.get_asset_check_evaluations() if e.check_name == "reconciles_with_ledger"}
        expected = {d: expected[d] for d in DAYS}

        def reconciled() -> bool:
            latest = {}
            with dg.DagsterInstance.from_config(str(home)) as instance:
                for run in instance.get_runs():
                    for record in instance.get_records_for_run(
                            run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records:
                        entry = record.event_log_entry
                        evaluation = entry.dagster_event.event_specific_data
                        if evaluation.check_name == "reconciles_with_ledger":
                            date = evaluation.partition or run.tags.get("dagster/partition")
                            if entry.timestamp >= latest.get(date, (0, None))[0]:
                                latest[date] = (entry.timestamp, evaluation.passed)
            return {d: latest[d][1] for d in DAYS if d in latest} == expected

        wait_until(reconciled, timeout=180, poll=5, what="each date's reconciliation as per date", process=process)
    finally:
        process.stop()

    backfilled = PlatformResource(landing_dir=str(materialized.landing), data_dir=str(data)).warehouse()
    compared = 0
    for key in sorted(graph.materializable_asset_keys):
        name = key.to_user_string()
        if name.startswith("raw_"):
            continue
        table = report_table(key) if graph.get(key).group_name != "staging" else staging_table(key)
        expected = materialized.warehouse.read(table, day(0), day(6))
        got = backfilled.read(table, day(0), day(6))
        assert len(got) == len(expected), name
        pd.testing.assert_frame_equal(comparable(got), comparable(expected), obj=name)
        compared += 1
    assert compared == len([a for a in assets if not a.startswith("raw_")])
