"""Acceptance (issue 5): a real Dagster instance and daemon (sensors, freshness) against a replayed
morning in which the POS export lands late. Alerts go to a real HTTP server on loopback.

Deadlines are configured relative to the test's clock: the POS export is due ~80 s after the
start, the close ~110 s after. Expected: one page for the POS deadline; revenue_close fails and
pages once; POS lands, the close is materialized within 60 s, and each incident sends one
resolution.
"""

from __future__ import annotations

import datetime as dt
import time

import dagster as dg
import pytest

from platform_assets.generator import generate
from platform_assets.replay import deliveries, drop
from platform_assets_tests.alert_sink import AlertSink
from platform_assets_tests.processes import daemon, instance_home, wait_until
from platform_assets_tests.sla_config import NY, morning_window, write_config

pytestmark = [pytest.mark.daemon, pytest.mark.slow, pytest.mark.timeout(900)]


def test_late_pos_morning_pages_once_and_resolves(tmp_path):
    morning_window()
    business_date = dt.datetime.now(NY).date() - dt.timedelta(days=1)
    outbox = tmp_path / "outbox"
    generate(outbox, business_date, 1, scale="small", seed=5, mess="none")
    landing, data, home, config = tmp_path / "landing", tmp_path / "data", tmp_path / "home", tmp_path / "config"
    t0 = dt.datetime.now(dt.timezone.utc)
    pos_due, close_due = t0 + dt.timedelta(seconds=80), t0 + dt.timedelta(seconds=110)
    write_config(config, pos_due, close_due)
    instance_home(home)
    morning = deliveries(outbox, {business_date})
    for d in morning:  # everything but the POS export has landed
        if d.source != "pos_transactions" and not d.path.startswith("_superseded") and d.kind != "resend":
            drop(outbox, landing, d)

    with AlertSink() as sink:
        env = {"DAGSTER_HOME": str(home), "PLATFORM_LANDING_DIR": str(landing), "PLATFORM_DATA_DIR": str(data),
               "PLATFORM_CONFIG_DIR": str(config), "PLATFORM_SENSOR_INTERVAL_SECONDS": "2",
               "FRESHNESS_DAEMON_INTERVAL_SECONDS": "5", **sink.env()}
        proc = daemon(env, tmp_path / "daemon.log")
        try:
            partition = business_date.isoformat()
            # The POS deadline passes: the on-call engineer is paged, once.
            pos_page = wait_until(lambda: [p for p in sink.pages("trigger") if p["payload"]["component"] == "pos_transactions"],
                                  timeout=200, what="the POS deadline page", process=proc)
            assert dt.datetime.now(dt.timezone.utc) >= pos_due
            details = pos_page[0]["payload"]["custom_details"]
            assert pos_page[0]["payload"]["severity"] == "critical"
            assert details["partition"] == partition and "revenue_close" in details["what"]
            assert details["on_call"]["name"] and details["response_target"] == "respond within 15 min, resolve within 1 h"
            assert details["runbook"].startswith("docs/runbooks/sales_ingestion.md")
            assert {o["name"] for o in details["owners"]} == {"POS engineering", "Danny"}
            # The close's deadline passes: it goes to fail and pages once.
            close_page = wait_until(lambda: [p for p in sink.pages("trigger") if p["payload"]["component"] == "revenue_close"],
                                    timeout=200, what="the revenue_close deadline page", process=proc)
            details = close_page[0]["payload"]["custom_details"]
            assert details["state"] == "fail" and "pos_transactions" in details["waiting_on"]
            assert details["rerun_command"] == f"platform-assets materialize --start {partition} --end {partition} --select revenue_close"
            with dg.DagsterInstance.from_config(str(home)) as instance:
                # The freshness state the UI shows is the due partition's.
                wait_until(lambda: _freshness(instance) == "FAIL", timeout=60, what="freshness FAIL", process=proc)
                # An old partition backfilled now does not make the late close look fresh.
                old = (business_date - dt.timedelta(days=1)).isoformat()
                instance.report_runless_asset_event(dg.AssetMaterialization("revenue_close", partition=old))
            time.sleep(8)  # several sensor ticks: no repeats, no resolution
            triggers = sink.pages("trigger")
            assert sorted(p["payload"]["component"] for p in triggers) == ["pos_transactions", "revenue_close"]
            assert len({p["dedup_key"] for p in triggers}) == 2
            assert not sink.pages("resolve")
            with dg.DagsterInstance.from_config(str(home)) as instance:
                assert _freshness(instance) == "FAIL"

            # POS lands: the close is materialized within 60 s, and each incident resolves once.
            pos = next(d for d in morning if d.source == "pos_transactions" and not d.path.startswith("_superseded"))
            landed = time.time()
            drop(outbox, landing, pos)
            with dg.DagsterInstance.from_config(str(home)) as instance:
                key = dg.AssetKey("revenue_close")
                record = wait_until(lambda: instance.fetch_materializations(
                    dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition]), limit=1).records,
                    timeout=120, poll=0.5, what="revenue_close materialized", process=proc)[0]
                print(f"revenue_close materialized {record.timestamp - landed:.1f} s after the POS export landed")
                assert record.timestamp - landed <= 60, f"close took {record.timestamp - landed:.0f} s after POS landed"
                resolves = wait_until(lambda: len(sink.pages("resolve")) >= 2 and sink.pages("resolve"),
                                      timeout=90, what="two resolutions", process=proc)
                time.sleep(6)
                resolves = sink.pages("resolve")
                assert sorted(r["dedup_key"] for r in resolves) == sorted(p["dedup_key"] for p in triggers)
                assert len(sink.pages("trigger")) == 2, "nothing alerted twice"
                wait_until(lambda: _freshness(instance) == "PASS", timeout=30, what="freshness PASS", process=proc)
        finally:
            proc.stop()


def _freshness(instance: dg.DagsterInstance) -> str | None:
    records = instance.get_freshness_state_records([dg.AssetKey("revenue_close")])
    record = records.get(dg.AssetKey("revenue_close"))
    return record.freshness_state.value if record else None


def test_watchdog_notices_a_failing_sensor_and_a_stopped_daemon(tmp_path):
    import subprocess

    from platform_assets_tests.processes import BIN, ROOT

    landing, home = tmp_path / "landing", instance_home(tmp_path / "home")
    yesterday = (dt.datetime.now(NY).date() - dt.timedelta(days=1)).isoformat()
    broken = landing / "pos_transactions" / yesterday / "_manifest.json"
    broken.mkdir(parents=True)  # unreadable manifest: every landing_arrivals tick fails
    with AlertSink() as sink:
        env = {"DAGSTER_HOME": str(home), "PLATFORM_LANDING_DIR": str(landing), "PLATFORM_DATA_DIR": str(tmp_path / "data"),
               "PLATFORM_SENSOR_INTERVAL_SECONDS": "2", **sink.env()}
        proc = daemon(env, tmp_path / "daemon.log")
        try:
            page = wait_until(lambda: [p for p in sink.pages("trigger") if "landing_arrivals" in p["payload"]["summary"]],
                              timeout=180, what="the failing-sensor page", process=proc)[0]
            details = page["payload"]["custom_details"]
            assert "failed its last 3 ticks" in details["what"] and "IsADirectoryError" in details["what"]
            assert [o["name"] for o in details["owners"]] == ["Rene", "Danny"], "the platform's owners (team.yaml)"
            assert details["runbook"] == "docs/runbooks/platform_operations.md"
            broken.rmdir()
            wait_until(lambda: [r for r in sink.pages("resolve") if r["dedup_key"] == page["dedup_key"]], timeout=120,
                       what="the sensor's recovery", process=proc)
            with dg.DagsterInstance.from_config(str(home)) as instance:
                wait_until(lambda: "SENSOR" in instance.get_daemon_heartbeats(), timeout=60, what="a heartbeat")
        finally:
            proc.proc.send_signal(9) if proc.alive() else None  # a crash, not a clean stop
            proc.stop()

        def watchdog() -> subprocess.CompletedProcess:
            return subprocess.run([str(BIN / "platform-assets"), "watchdog", "--heartbeat-tolerance", "10"], cwd=ROOT,
                                  env={"PATH": str(BIN), **env}, capture_output=True, text=True, timeout=300)

        time.sleep(12)
        down = watchdog()
        assert down.returncode == 1 and "DOWN dagster-daemon: dagster-daemon is not heartbeating" in down.stdout, \
            down.stdout + down.stderr
        [daemon_page] = [p for p in sink.pages("trigger") if p["payload"]["component"] == "platform:dagster-daemon"]
        assert daemon_page["payload"]["severity"] == "error", "high severity pages"
        assert "restart the daemon" in daemon_page["payload"]["custom_details"]["rerun_command"]
        assert watchdog().returncode == 1 and len(sink.pages("trigger")) == 2, "still down: no second page"
        proc = daemon(env, tmp_path / "daemon2.log")
        try:
            with dg.DagsterInstance.from_config(str(home)) as instance:
                started = time.time()
                wait_until(lambda: instance.get_daemon_heartbeats().get("SENSOR") and
                           instance.get_daemon_heartbeats()["SENSOR"].timestamp > started, timeout=90, what="a new heartbeat")
            up = watchdog()
            assert up.returncode == 0, up.stdout
            assert [r["dedup_key"] for r in sink.pages("resolve") if r["dedup_key"] == daemon_page["dedup_key"]]
        finally:
            proc.stop()
