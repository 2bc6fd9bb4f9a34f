"""Raw and staging assets materialized with Dagster's own test helpers."""

from __future__ import annotations

import dagster as dg
import pytest

from platform_assets import keys
from platform_assets.definitions import build_definitions
from platform_assets.ingestion.framework import raw_table
from platform_assets.resources import PlatformResource
from platform_assets.staging.assets import table
from platform_assets_tests.conftest import day


def ingestion_assets():
    """The raw and staging assets (without resources bound), for dg.materialize."""
    from platform_assets.ingestion import assets as ingestion_assets
    from platform_assets.staging import assets as staging_assets
    from platform_assets.team import load_team

    team = load_team()
    return [a for a in ingestion_assets.defs(team).assets if isinstance(a, dg.AssetsDefinition)] + \
        staging_assets.build(team)


def test_raw_and_staging_for_a_date(platform):
    # Day 6 has no GBP rate: the look-back needs day 5's FX delivery, loaded first.
    fx = [a for a in ingestion_assets() if keys.raw_key("fx_rates") in a.keys]
    assert dg.materialize(fx, partition_key=day(5).isoformat(), resources={"platform": platform}).success
    result = dg.materialize(ingestion_assets(), partition_key=day(6).isoformat(), resources={"platform": platform})
    assert result.success
    mats = {m.asset_key: m for m in result.get_asset_materialization_events()
            for m in [m.event_specific_data.materialization]}
    raw = mats[keys.raw_key("pos_transactions")].metadata
    batch = platform.ledger().published("pos_transactions", day(6))
    assert raw["batch_id"].value == batch.batch_id
    assert raw["rows_rejected"].value == batch.rows_rejected > 0
    assert raw["rows_loaded"].value == batch.rows_loaded
    # Day 6: GBP missing from the FX export, so the EMEA lines in GBP use day 5's rate.
    assert "GBP" in mats[keys.STG_FX_RATES].metadata["fallback_currencies"].value
    wh = platform.warehouse()
    stg = wh.read(table(keys.STG_POS_LINES), day(6), day(6))
    assert len(stg) == batch.rows_loaded - mats[keys.STG_POS_LINES].metadata["exact_duplicates_removed"].value \
        - mats[keys.STG_POS_LINES].metadata["conflicting_duplicates_resolved"].value
    assert stg["currency"].str.isupper().all()
    assert stg.duplicated(["transaction_id", "sku"]).sum() == 0
    assert wh.row_counts(raw_table("orders"), day(6), day(6))[day(6)] > 0
    assert wh.dates(raw_table("fx_rates")) == [day(5), day(6)]
    for key in (keys.STG_MARKETING_SPEND, keys.STG_MARKETING_ENGAGEMENT, keys.STG_ACTIVE_USERS,
                keys.STG_CUSTOMER_FIRST_ORDERS, keys.STG_PRODUCTS, keys.STG_EXPERIMENT_ASSIGNMENTS):
        assert wh.dates(table(key)) == [day(6)], key


def test_reimport_through_dagster_is_a_noop_with_the_same_data_version(platform):
    assets = [a for a in ingestion_assets() if keys.raw_key("customers") in a.keys]
    first = dg.materialize(assets, partition_key=day(2).isoformat(), resources={"platform": platform})
    second = dg.materialize(assets, partition_key=day(2).isoformat(), resources={"platform": platform})
    meta = [r.get_asset_materialization_events()[0].event_specific_data.materialization for r in (first, second)]
    assert meta[1].metadata["batch_status"].value == "noop"
    assert meta[0].tags["dagster/data_version"] == meta[1].tags["dagster/data_version"]
    assert meta[0].metadata["published_batch_id"] == meta[1].metadata["published_batch_id"]


def test_without_an_earlier_rate_the_missing_currency_blocks_staging(platform):
    result = dg.materialize(ingestion_assets(), partition_key=day(6).isoformat(), resources={"platform": platform},
                            raise_on_error=False)
    failures = {e.step_key: e.event_specific_data.error.message for e in result.get_step_failure_events()}
    assert "no FX rate for GBP on or before 2024-03-10" in failures["stg_pos_lines.lines_emea"]  # GBP: EMEA's
    assert keys.STG_POS_LINES not in {e.asset_key for e in result.get_asset_materialization_events()}


def test_a_refused_day_fails_the_step_with_the_reason(tmp_path):
    platform = PlatformResource(landing_dir=str(tmp_path / "empty"), data_dir=str(tmp_path / "data"))
    assets = [a for a in ingestion_assets() if keys.raw_key("orders") in a.keys]
    result = dg.materialize(assets, partition_key=day(0).isoformat(), resources={"platform": platform},
                            raise_on_error=False)
    assert not result.success
    [failure] = result.get_step_failure_events()
    assert "orders 2024-03-04: no _manifest.json" in failure.event_specific_data.error.message
    assert platform.ledger().batches(source="orders")[0].status == "failed"


def test_daily_job_covers_every_materializable_asset():
    defs = build_definitions()
    job = defs.resolve_job_def("daily_platform")
    graph = defs.resolve_asset_graph()
    materializable = {k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable}
    assert set(job.asset_layer.selected_asset_keys) == materializable


@pytest.mark.parametrize("name", ["platform_assets.definitions"])
def test_importing_reads_no_environment(monkeypatch, name):
    """Nothing reads os.environ at import time (style.md): importing must work with it empty."""
    import importlib
    import os
    import sys

    for key in [k for k in os.environ if k.startswith("PLATFORM_")]:
        monkeypatch.delenv(key)
    reads = []
    real_get = os.environ.get

    def spy(key, default=None):
        if key.startswith("PLATFORM_"):
            reads.append(key)
        return real_get(key, default)

    monkeypatch.setattr(os.environ, "get", spy)
    for mod in [m for m in sys.modules if m.startswith("platform_assets.") and not m.startswith("platform_assets_tests")]:
        monkeypatch.delitem(sys.modules, mod)
    importlib.import_module(name)
    assert reads == []


# ------------------------------------------------------------------------------------------------
# stg_pos_lines by region: the same partition and check results as the whole day at once
# ------------------------------------------------------------------------------------------------

def _pos_lines_whole_day(platform, d):
    """stg_pos_lines of a date as a single step makes it: every region's raw lines at once."""
    from platform_assets.quality.checks import CheckContext
    from platform_assets.quality.common import raw_distinct_keys
    from platform_assets.staging import schemas as S
    from platform_assets.staging import transforms as T

    wh = platform.warehouse()
    raw = wh.read(raw_table("pos_transactions"), d, d)
    frame, stats = T.pos_lines(raw, wh.read(table(keys.STG_FX_RATES), d, d), d)
    context = CheckContext(frame, d, platform, {**stats.check_stats(),
                                               "raw_distinct_keys": raw_distinct_keys(raw, S.stg_pos_lines.KEY)})
    results, _ = S.CONTRACTS[keys.STG_POS_LINES].results(context)
    return frame, {r.check_name: r for r in results}


def _sorted(frame):
    return frame.sort_values(["transaction_id", "sku"]).reset_index(drop=True)


def _assert_same_as_whole_day(platform, result, d):
    import pandas as pd

    whole, expected = _pos_lines_whole_day(platform, d)
    published = platform.warehouse().read(table(keys.STG_POS_LINES), d, d)
    whole = whole.assign(business_date=whole["business_date"].astype("datetime64[ns]"))  # as the warehouse keeps it
    pd.testing.assert_frame_equal(_sorted(published)[list(whole.columns)], _sorted(whole))
    checks = {e.check_name: e for e in result.get_asset_check_evaluations() if e.asset_key == keys.STG_POS_LINES}
    assert set(checks) == set(expected)
    for name, want in expected.items():
        got = checks[name]
        assert (got.passed, got.severity, got.description) == (want.passed, want.severity, want.description), name
        for field in set(want.metadata) - {"failing_rows_sample", "checks"}:
            assert got.metadata[field] == want.metadata[field], (name, field)
        if "checks" in want.metadata:  # the per-check table: the same failing rows per check
            rows = [line.split(" | ")[:3] for line in want.metadata["checks"].value.splitlines()]
            assert [line.split(" | ")[:3] for line in got.metadata["checks"].value.splitlines()] == rows, name
    return checks


def test_pos_lines_staged_by_region_equal_the_whole_day_at_once(platform):
    fx = [a for a in ingestion_assets() if keys.raw_key("fx_rates") in a.keys]
    assert dg.materialize(fx, partition_key=day(5).isoformat(), resources={"platform": platform}).success
    result = dg.materialize(ingestion_assets(), partition_key=day(6).isoformat(), resources={"platform": platform})
    assert {e.step_key for e in result.get_step_success_events() if e.step_key.startswith("stg_pos_lines")} == {
        "stg_pos_lines.lines_amer", "stg_pos_lines.lines_emea", "stg_pos_lines.lines_apac", "stg_pos_lines.publish_lines"}
    checks = _assert_same_as_whole_day(platform, result, day(6))
    assert not checks["duplicates"].passed  # the default mess re-sends rows: the parts' counts add up
    # The published partition is the three staged parts, one per region, and nothing is left staged.
    folder = platform.warehouse().partition_dir(table(keys.STG_POS_LINES), day(6))
    assert len(list(folder.glob("v-*.parquet"))) == 3
    amer = platform.warehouse().read(table(keys.STG_POS_LINES), day(6), day(6), where={"region": ["AMER"]})
    assert len(amer) and set(amer["region"]) == {"AMER"}


def test_a_key_delivered_in_two_regions_files_is_deduplicated_across_them(tmp_path, private_landing, landing_default):
    import pandas as pd

    from platform_assets_tests.conftest import rewrite_manifest
    from platform_assets_tests.test_quality import run_day, stage_day

    stage_day(private_landing, landing_default, 6)
    folder = private_landing.root / "pos_transactions" / day(6).isoformat()
    amer = pd.read_csv(folder / "pos_AMER.csv", dtype=str, keep_default_na=False)
    emea = pd.read_csv(folder / "pos_EMEA.csv", dtype=str, keep_default_na=False)
    again = amer.iloc[:2].assign(region="EMEA", quantity="3")  # a conflicting version, in EMEA's file
    pd.concat([emea, again]).to_csv(folder / "pos_EMEA.csv", index=False, quoting=1)
    rewrite_manifest(folder)
    platform = PlatformResource(landing_dir=str(private_landing.root), data_dir=str(tmp_path / "data"))
    run_day(platform, 5, selection=[keys.raw_key("fx_rates")])
    instance = dg.DagsterInstance.ephemeral()
    result = run_day(platform, 6, instance, selection=[keys.raw_key("pos_transactions"), keys.raw_key("fx_rates"),
                                                        keys.STG_FX_RATES, keys.STG_POS_LINES])
    assert result.success
    logs = [e.user_message for e in instance.all_logs(result.run_id)]
    assert any("a transaction was delivered in more than one region's file" in m for m in logs)
    checks = _assert_same_as_whole_day(platform, result, day(6))
    assert "2 conflicting version(s)" in checks["duplicates"].description
    published = platform.warehouse().read(table(keys.STG_POS_LINES), day(6), day(6))
    kept = published.set_index(["transaction_id", "sku"]).loc[list(zip(again["transaction_id"], again["sku"]))]
    assert list(kept["region"]) == ["EMEA", "EMEA"] and list(kept["quantity"]) == [3, 3]  # the last file's


def test_a_blocking_failure_in_one_region_publishes_no_region(platform, monkeypatch):
    from platform_assets.staging import transforms as T

    fx = [a for a in ingestion_assets() if keys.raw_key("fx_rates") in a.keys]
    assert dg.materialize(fx, partition_key=day(5).isoformat(), resources={"platform": platform}).success
    real = T.pos_lines

    def apac_loses_a_line(raw, rates, d):
        frame, stats = real(raw, rates, d)
        return (frame.iloc[1:].reset_index(drop=True) if (frame["region"] == "APAC").all() else frame), stats

    monkeypatch.setattr(T, "pos_lines", apac_loses_a_line)
    result = dg.materialize(ingestion_assets(), partition_key=day(6).isoformat(), resources={"platform": platform},
                            raise_on_error=False)
    [lost] = [e for e in result.get_asset_check_evaluations() if e.check_name == "no_rows_lost"
              and e.asset_key == keys.STG_POS_LINES]
    assert not lost.passed and "1 row(s) dropped" in lost.description
    assert "stg_pos_lines.publish_lines" in {e.step_key for e in result.get_step_failure_events()}
    folder = platform.warehouse().partition_dir(table(keys.STG_POS_LINES), day(6))
    assert day(6) not in platform.warehouse().dates(table(keys.STG_POS_LINES))
    assert not list(folder.glob("v-*.parquet"))  # the staged parts were dropped
