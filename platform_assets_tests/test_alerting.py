"""Routing and alerting: on-call, deadlines per business date, incidents that alert once and
resolve once, payloads for Slack and PagerDuty delivered over real HTTP."""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from platform_assets import settings_files
from platform_assets.alerting import sensors as S
from platform_assets.alerting.incidents import Incidents
from platform_assets.alerting.oncall import Rotation
from platform_assets.alerting.service import AlertService
from platform_assets.alerting.service_levels import ServiceLevels
from platform_assets.alerting.sla import dates_to_watch, judge
from platform_assets.resources import PlatformResource
from platform_assets.team import load_team
from platform_assets_tests.alert_sink import AlertSink
from platform_assets_tests.conftest import day

NY = ZoneInfo("America/New_York")


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=NY)


@pytest.fixture
def levels() -> ServiceLevels:
    return ServiceLevels.from_config(settings_files.service_levels())


@pytest.fixture
def sink(monkeypatch):
    with AlertSink() as s:
        for k, v in s.env().items():
            monkeypatch.setenv(k, v)
        yield s


# ------------------------------------------------------------------------------------------------
# On-call rotation
# ------------------------------------------------------------------------------------------------

def rotation(holidays=(), overrides=()) -> Rotation:
    cfg = {"rotation": {"engineers": ["toms", "maya", "danny", "rene"], "first_week_starts": "2026-01-05",
                        "handover": {"weekday": "monday", "time": "09:00"}},
           "holidays": list(holidays), "overrides": list(overrides)}
    return Rotation.from_config(cfg, "America/New_York", set(load_team().people))


def test_weekly_rotation_hands_over_on_monday_morning():
    r = rotation()
    assert r.on_call(at("2026-01-05T09:00")) == "toms"
    assert r.on_call(at("2026-01-12T08:59")) == "toms", "until the Monday 09:00 hand-over"
    assert r.on_call(at("2026-01-12T09:00")) == "maya"
    assert [p for _, p in r.schedule(at("2026-01-06T12:00"), 5)] == ["toms", "maya", "danny", "rene", "toms"]


def test_a_holiday_hands_the_week_to_the_next_engineer():
    r = rotation(holidays=[{"person": "maya", "from": "2026-01-15", "to": "2026-01-16"}])
    assert r.on_call(at("2026-01-13T12:00")) == "danny", "Maya is away during her week: the next engineer"
    assert r.on_call(at("2026-01-20T12:00")) == "danny", "the rotation continues as planned"
    both = rotation(holidays=[{"person": "maya", "from": "2026-01-15", "to": "2026-01-16"},
                              {"person": "danny", "from": "2026-01-12", "to": "2026-01-18"}])
    assert both.on_call(at("2026-01-13T12:00")) == "rene"


def test_an_override_swaps_a_week_and_unknown_people_are_refused():
    r = rotation(overrides=[{"week": "2026-01-12", "person": "rene"}])
    assert r.on_call(at("2026-01-13T12:00")) == "rene"
    with pytest.raises(ValueError, match="unknown engineer"):
        Rotation.from_config({"rotation": {"engineers": ["nobody"], "first_week_starts": "2026-01-05"}},
                             "America/New_York", set(load_team().people))


def test_the_shipped_rotation_config_loads():
    r = Rotation.from_config(settings_files.load("oncall.yaml"), "America/New_York", set(load_team().people))
    assert r.on_call(at("2026-12-22T12:00")) != "maya", "Maya's winter break"


# ------------------------------------------------------------------------------------------------
# Deadlines per business date
# ------------------------------------------------------------------------------------------------

def test_business_day_deadlines_roll_over_the_weekend(levels):
    close = levels.reports["revenue_close"]
    tz = levels.timezone
    friday, saturday, sunday, monday = (dt.date(2026, 11, d) for d in (20, 21, 22, 23))
    for d in (friday, saturday, sunday):
        assert close.deadline(d, tz) == at("2026-11-23T07:00"), d
    assert close.deadline(monday, tz) == at("2026-11-24T07:00")
    daily = levels.reports["aggregate_profit"]
    assert daily.deadline(saturday, tz) == at("2026-11-22T08:00")
    assert close.cron() == "0 7 * * 1-5" and levels.upstream["pos_transactions"].cron() == "0 6 * * *"


def test_judge_states(levels):
    close, tz, d = levels.reports["revenue_close"], levels.timezone, dt.date(2026, 11, 17)
    assert judge(close, d, tz, None, at("2026-11-18T06:00")).state == "pending"
    assert judge(close, d, tz, None, at("2026-11-18T06:45")).state == "warn"
    assert judge(close, d, tz, None, at("2026-11-18T07:00")).state == "fail"
    assert judge(close, d, tz, at("2026-11-18T06:59"), at("2026-11-18T09:00")).state == "on_time"
    late = judge(close, d, tz, at("2026-11-18T07:42"), at("2026-11-18T09:00"))
    assert late.state == "late" and late.minutes_late == 42


def test_deadlines_before_monitoring_began_are_not_judged(levels):
    close, tz = levels.reports["revenue_close"], levels.timezone
    now = at("2026-11-18T07:30")
    assert dates_to_watch(close, tz, now) == [dt.date(2026, 11, d) for d in (13, 14, 15, 16, 17)]
    assert dates_to_watch(close, tz, now, since=at("2026-11-18T05:00")) == [dt.date(2026, 11, 17)]


# ------------------------------------------------------------------------------------------------
# Incidents, payloads, delivery
# ------------------------------------------------------------------------------------------------

def service(tmp_path) -> AlertService:
    return AlertService(PlatformResource(landing_dir=str(tmp_path), data_dir=str(tmp_path / "data")).ledger())


SLA_DETAILS = {"title": "revenue_close 2026-11-17 missed its 07:00 deadline", "what": "not materialized",
               "title_resolved": "revenue_close 2026-11-17 delivered", "rerun": "platform-assets materialize ...",
               "rerun_ui": "Dagster UI > Assets > revenue_close"}


def test_an_incident_alerts_once_per_state_and_resolves_once(tmp_path, sink):
    svc = service(tmp_path)
    kw = dict(kind="sla", subject="revenue_close", partition="2026-11-17", severity="critical", details=SLA_DETAILS)
    assert svc.raise_("sla:revenue_close:2026-11-17", state="warn", **kw)
    assert not svc.raise_("sla:revenue_close:2026-11-17", state="warn", **kw), "same state: no repeat"
    assert svc.raise_("sla:revenue_close:2026-11-17", state="fail", **kw), "escalation is news"
    assert not svc.raise_("sla:revenue_close:2026-11-17", state="warn", **kw), "no de-escalation noise"
    assert [b["text"].split("\n")[0] for b in sink.channel()] == [
        ":warning: [CRITICAL] revenue_close 2026-11-17 missed its 07:00 deadline"], "the warning went to the channel"
    [page] = sink.pages("trigger")
    assert svc.resolve("sla:revenue_close:2026-11-17")
    assert not svc.resolve("sla:revenue_close:2026-11-17")
    [resolve] = sink.pages("resolve")
    assert resolve == {"routing_key": "test-routing-key", "event_action": "resolve", "dedup_key": page["dedup_key"]}
    assert svc.raise_("sla:revenue_close:2026-11-17", state="fail", **kw), "broken again after resolution: reopens"


def test_every_page_says_what_where_who_how_fast_and_how_to_rerun(tmp_path, sink):
    service(tmp_path).raise_("sla:revenue_close:2026-11-17", kind="sla", subject="revenue_close",
                             partition="2026-11-17", severity="critical", state="fail", details=SLA_DETAILS)
    [page] = sink.pages("trigger")
    payload = page["payload"]
    assert payload["severity"] == "critical" and payload["source"] == "platform_assets"
    assert payload["summary"] == "[CRITICAL] revenue_close 2026-11-17 missed its 07:00 deadline"
    d = payload["custom_details"]
    assert d["partition"] == "2026-11-17" and d["what"] == "not materialized"
    assert [o["name"] for o in d["owners"]] == ["Danny", "Rene"] and d["on_call"]["name"]
    assert d["response_target"] == "respond within 15 min, resolve within 1 h"
    assert d["runbook"] == "docs/runbooks/revenue_close.md" and page["links"][0]["text"] == "Run book"
    assert d["rerun_command"].startswith("platform-assets materialize") and d["rerun_ui"].startswith("Dagster UI")


def test_medium_severity_goes_to_the_channel_with_everything_in_the_text(tmp_path, sink):
    service(tmp_path).raise_("sla:daily_growth:2026-11-17", kind="sla", subject="daily_growth",
                             partition="2026-11-17", severity="medium", state="fail",
                             details={**SLA_DETAILS, "title": "daily_growth 2026-11-17 missed its 09:00 deadline"})
    assert not sink.pages()
    [message] = sink.channel()
    text = message["text"]
    for part in ("[MEDIUM] daily_growth 2026-11-17", "Partition: 2026-11-17", "Owners: Maya (@maya), Toms (@toms)",
                 "On call:", "respond within 1 h, resolve within 8 h", "Run book: docs/runbooks/daily_growth.md",
                 "Re-run: platform-assets materialize"):
        assert part in text, part
    assert message["channel"] == "#data-platform-alerts"


def test_failed_delivery_is_retried_and_secrets_stay_out_of_logs(tmp_path, sink, caplog):
    svc = service(tmp_path)
    sink.fail_next = 3  # every attempt of this tick fails
    with caplog.at_level(logging.WARNING):
        sent = svc.raise_("sla:revenue_close:2026-11-17", kind="sla", subject="revenue_close",
                          partition="2026-11-17", severity="critical", state="fail", details=SLA_DETAILS)
    assert not sent and not sink.received
    assert "test-routing-key" not in caplog.text and "secret" not in caplog.text and "127.0.0.1" in caplog.text
    svc.retry_pending()
    assert len(sink.pages("trigger")) == 1, "delivered on the next tick, once"


def test_a_page_without_pagerduty_configured_still_reaches_the_channel(tmp_path, sink, monkeypatch):
    monkeypatch.delenv("PLATFORM_PAGERDUTY_ROUTING_KEY")
    service(tmp_path).raise_("sla:revenue_close:2026-11-17", kind="sla", subject="revenue_close",
                             partition="2026-11-17", severity="critical", state="fail", details=SLA_DETAILS)
    [message] = sink.channel()
    assert "PAGE NOT SENT (PagerDuty not configured)" in message["text"] and "<!here>" in message["text"]


# ------------------------------------------------------------------------------------------------
# Checks and runs, from the instance's records
# ------------------------------------------------------------------------------------------------

def test_a_failed_error_check_in_a_successful_run_alerts_the_assets_owner(materialized, sink):
    """Day 5's ledger disagreement fails revenue_close.reconciles_with_ledger in a run that succeeded."""
    assert materialized.results[day(5)].success
    svc = AlertService(materialized.platform.ledger())
    cursor: dict = {}
    S.process_finished_runs(svc, materialized.instance, cursor, dt.datetime.now(dt.timezone.utc))
    pages = [p for p in sink.pages("trigger") if p["payload"]["class"] == "check"]
    [page] = [p for p in pages if p["payload"]["custom_details"]["partition"] == day(5).isoformat()]
    d = page["payload"]["custom_details"]
    assert page["payload"]["component"] == "revenue_close" and d["check"] == "reconciles_with_ledger"
    assert [o["email"] for o in d["owners"]] == ["danny@retailer.example", "rene@retailer.example"]
    assert "EMEA revenue" in d["what"] and d["run_status"] == "SUCCESS"
    assert len(pages) == 1, "WARN checks (duplicates, anomalies...) do not alert"
    S.process_finished_runs(svc, materialized.instance, cursor, dt.datetime.now(dt.timezone.utc))
    assert len(sink.pages("trigger")) == len(pages), "the same evaluation is not alerted twice"


def _evaluate_failure_sensor(sensor, instance, run, platform) -> None:
    record = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records[0]
    with dg.build_run_status_sensor_context(
            sensor_name="run_failure_alerts", dagster_event=record.event_log_entry.dagster_event,
            dagster_instance=instance, dagster_run=run, resources={"platform": platform}) as context:
        sensor(context.for_run_failure())


def test_a_retry_of_a_failed_run_does_not_alert_again_and_success_resolves(tmp_path, sink):
    from platform_assets.definitions import build_definitions
    from platform_assets.keys import raw_key

    platform = PlatformResource(landing_dir=str(tmp_path / "empty"), data_dir=str(tmp_path / "data"))
    defs = build_definitions(platform=platform)
    job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection={raw_key("orders")})
    instance = dg.DagsterInstance.ephemeral()
    first = job.execute_in_process(partition_key=day(0).isoformat(), instance=instance, raise_on_error=False)
    retry = job.execute_in_process(partition_key=day(0).isoformat(), instance=instance, raise_on_error=False,
                                   tags={"dagster/root_run_id": first.run_id, "dagster/parent_run_id": first.run_id})
    sensor = defs.get_repository_def().get_sensor_def("run_failure_alerts")
    for result in (first, retry):
        _evaluate_failure_sensor(sensor, instance, result.dagster_run, platform)
    [page] = sink.pages("trigger")
    d = page["payload"]["custom_details"]
    assert page["payload"]["class"] == "run_failure" and d["failed_assets"] == ["raw_orders"]
    assert "orders 2024-03-04: no _manifest.json" in d["what"] and d["partition"] == day(0).isoformat()
    assert page["payload"]["severity"] == "critical", "raw_orders feeds the revenue close"
    assert d["rerun_command"] == f"platform-assets materialize --start {day(0)} --end {day(0)} --select raw_orders"
    # The export lands and a run rebuilds the asset: one resolution.
    from platform_assets.generator import generate

    generate(tmp_path / "empty", day(0), 1, sources=["orders"])
    assert job.execute_in_process(partition_key=day(0).isoformat(), instance=instance).success
    S.process_finished_runs(AlertService(platform.ledger()), instance, {}, dt.datetime.now(dt.timezone.utc))
    assert [r["dedup_key"] for r in sink.pages("resolve")] == [page["dedup_key"]]


def test_incidents_are_shared_through_the_ledger_database(tmp_path):
    platform = PlatformResource(landing_dir=str(tmp_path), data_dir=str(tmp_path / "data"))
    a, b = Incidents(platform.ledger()), Incidents(platform.ledger())
    a.observe("k", kind="sla", subject="s", partition=None, severity="low", state="fail", details={})
    assert [i.key for i in b.open_incidents()] == ["k"]


def test_a_run_outliving_its_time_window_alerts_once_and_resolves_when_it_ends(tmp_path, sink):
    """The run-duration guard, on a real run that holds until the test releases it."""
    import threading

    from platform_assets.alerting.run_windows import check_run_durations

    config = {**settings_files.service_levels(), "run_time_windows": {"run_minutes": 0.02}}  # 1.2 s
    platform = PlatformResource(landing_dir=str(tmp_path), data_dir=str(tmp_path / "data"))
    service = AlertService(platform.ledger(), levels=ServiceLevels.from_config(config))
    release = threading.Event()

    @dg.asset(name="revenue_close", partitions_def=dg.DailyPartitionsDefinition("2024-01-01"))
    def slow_close() -> None:  # stands in for a close whose step hangs
        release.wait(120)

    (tmp_path / "home").mkdir()
    with dg.DagsterInstance.local_temp(str(tmp_path / "home")) as instance:
        worker = threading.Thread(target=lambda: dg.materialize([slow_close], instance=instance,
                                                                 partition_key=day(3).isoformat()))
        worker.start()
        try:
            def running():
                return instance.get_run_records(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))

            deadline = dt.datetime.now() + dt.timedelta(seconds=60)
            found = running()
            while not found and dt.datetime.now() < deadline:
                release.wait(0.2)
                found = running()
            [record] = found
            check_run_durations(service, instance, dt.datetime.now(dt.timezone.utc))
            assert not sink.pages("trigger"), "within its window: nothing to say"
            later = dt.datetime.fromtimestamp(record.start_time, dt.timezone.utc) + dt.timedelta(seconds=5)
            check_run_durations(service, instance, later)
            check_run_durations(service, instance, later + dt.timedelta(minutes=5))
        finally:
            release.set()
            worker.join(60)
        [page] = sink.pages("trigger")
        d = page["payload"]["custom_details"]
        assert page["payload"]["severity"] == "critical", "the close's run pages on-call"
        assert page["payload"]["class"] == "run_duration" and d["partition"] == day(3).isoformat()
        assert "exceeds its time window" in page["payload"]["summary"] and d["window_minutes"] == pytest.approx(0.02)
        assert d["run_id"] == record.dagster_run.run_id and d["assets_in_run"] == ["revenue_close"]
        check_run_durations(service, instance, dt.datetime.now(dt.timezone.utc))
        assert [r["dedup_key"] for r in sink.pages("resolve")] == [page["dedup_key"]]
