"""Arrival-driven execution: completeness, what a run includes, replay, and the SLA report."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from platform_assets.ingestion import registry
from platform_assets.ingestion.arrivals import Planner, scan
from platform_assets.replay import deliveries, drop
from platform_assets_tests.conftest import DAYS, day

ALL = set(registry.discover())


@pytest.fixture(scope="module")
def planner():
    return Planner()


def names(keys):
    return sorted(k.to_user_string() for k in keys)


def test_the_pos_export_landing_last_starts_exactly_the_pos_dependent_work(planner):
    plan = planner.plan(day(0), ["pos_transactions"], ALL - {"pos_transactions"})
    assert names(plan.assets) == ["aggregate_profit", "raw_pos_transactions", "revenue_close", "stg_pos_lines",
                                  "unit_level_profit"]
    assert not plan.waiting
    assert {"reconciles_with_ledger"} <= {c.name for c in plan.checks}


def test_downstream_waits_for_inputs_not_yet_loaded(planner):
    plan = planner.plan(day(0), ["orders"], set())
    assert names(plan.assets) == ["raw_orders"], "stg_orders needs the FX rates"
    assert "stg_orders" in names(plan.waiting) and "revenue_close" in names(plan.waiting)
    plan = planner.plan(day(0), ["orders", "fx_rates"], set())
    assert {"stg_orders", "stg_order_lines", "stg_fx_rates"} <= set(names(plan.assets))
    assert "revenue_close" not in names(plan.assets)


def test_the_ledger_reconciliation_runs_with_whichever_lands_last(planner):
    before = planner.plan(day(0), ["pos_transactions"], ALL - {"pos_transactions", "gl_entries"})
    assert "reconciles_with_ledger" not in {c.name for c in before.checks}
    after = planner.plan(day(0), ["gl_entries"], ALL - {"gl_entries"})
    assert "reconciles_with_ledger" in {c.name for c in after.checks}
    assert names(after.assets) == ["raw_gl_entries", "stg_gl_entries"], "the close is not re-run for it"


def test_scan_finds_complete_deliveries_and_skips_known_ones(tmp_path, landing_default):
    truncated = landing_default / "_superseded" / "pos_transactions" / day(4).isoformat() / "delivery-1"
    drops = [d for d in deliveries(landing_default, {day(4)}) if d.source in ("pos_transactions", "orders")]
    for d in drops:
        drop(landing_default, tmp_path, d)
        if d.path.startswith("_superseded"):
            break
    found = {d.source: d for d in scan(tmp_path, [day(4)])}
    assert found["orders"].complete and found["orders"].fingerprint
    assert not found["pos_transactions"].complete and "pos_APAC.csv is incomplete" in found["pos_transactions"].problem
    known = {f"{d.source}/{d.business_date}": d.signature for d in found.values()}
    assert scan(tmp_path, [day(4)], known) == [], "unchanged manifests are not re-verified"
    del truncated


def test_drop_writes_the_manifest_last_and_a_resend_has_a_new_export_time(tmp_path, landing_default):
    resend = next(d for d in deliveries(landing_default) if d.kind == "resend")
    first = next(d for d in deliveries(landing_default, {resend.business_date}, {resend.source}) if d.kind == "initial")
    folder = drop(landing_default, tmp_path, first)
    before = json.loads((folder / "_manifest.json").read_text())
    drop(landing_default, tmp_path, resend, now=dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc))
    after = json.loads((folder / "_manifest.json").read_text())
    assert after["files"] == before["files"] and after["exported_at"] == "2030-01-01T00:00:00Z"


def test_sla_report_on_a_demo_instance(materialized):
    """Late days are those whose last upstream export landed after the 07:00 deadline (the
    generator's late POS days); checked against _arrivals.csv, independently of the report."""
    from platform_assets.alerting.service_levels import load
    from platform_assets.alerting.sla_report import render, report
    from platform_assets.generator import read_arrivals

    levels = load()
    graph = Planner().graph
    rows = report(materialized.instance, graph, levels, "revenue_close", 30, end=day(DAYS - 1))
    assert [r.business_date for r in rows] == [day(i) for i in range(DAYS)]
    upstream = {"pos_transactions", "orders", "refunds", "fx_rates"}
    final = {}
    for a in read_arrivals(materialized.landing):
        if a["source"] in upstream and not a["path"].startswith("_superseded") and a["kind"] != "resend":
            final.setdefault(a["business_date"], []).append((dt.datetime.fromisoformat(a["arrives_at"]), a["source"]))
    close = levels.reports["revenue_close"]
    expected_late = {d for d, arrivals in final.items()
                     if max(arrivals)[0] > close.deadline(dt.date.fromisoformat(d), levels.timezone)}
    assert {r.business_date.isoformat() for r in rows if not r.on_time} == expected_late
    assert len(expected_late) == 2
    for r in rows:
        if not r.on_time:
            at, source = max(final[r.business_date.isoformat()])
            assert (r.last_upstream, r.last_upstream_at) == (source, at) and source == "pos_transactions"
    lines = render("revenue_close", rows, levels.timezone)
    assert lines[-1] == f"revenue_close: on time {DAYS - 2} of {DAYS} ({(DAYS - 2) / DAYS:.0%})"
