"""`platform-assets export`: format and errors."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

from click.testing import CliRunner

from platform_assets.cli import main
from platform_assets_tests import independent as ind
from platform_assets_tests.conftest import day


def run(materialized, monkeypatch, *args):
    monkeypatch.setenv("PLATFORM_DATA_DIR", materialized.platform.data_dir)
    return CliRunner().invoke(main, ["export", *args])


def test_csv_has_a_header_and_one_row_per_date_and_region(materialized, monkeypatch):
    out = run(materialized, monkeypatch, "revenue_close", "--start", day(4).isoformat(), "--end", day(6).isoformat(),
              "--format", "csv")
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(out.output)))
    assert out.output.splitlines()[0] == ("business_date,region,gross_sales_usd,discounts_usd,refunds_usd,"
                                          "net_revenue_usd,transactions")
    assert [(r["business_date"], r["region"]) for r in rows] == [
        (day(i).isoformat(), region) for i in (4, 5, 6) for region in ("AMER", "APAC", "EMEA", "ONLINE")]
    expected = ind.revenue_close(materialized.landing, day(5))
    emea = next(r for r in rows if r["business_date"] == day(5).isoformat() and r["region"] == "EMEA")
    assert Decimal(emea["net_revenue_usd"]) == expected["EMEA"]["net_revenue"]
    assert len(emea["net_revenue_usd"].split(".")[1]) == 2


def test_json_keeps_money_exact_as_strings(materialized, monkeypatch):
    out = run(materialized, monkeypatch, "aggregate_profit", "--start", day(2).isoformat(), "--end", day(3).isoformat(),
              "--format", "json")
    rows = json.loads(out.output)
    assert [r["business_date"] for r in rows] == [day(2).isoformat(), day(3).isoformat()]
    assert isinstance(rows[0]["net_revenue_usd"], str) and isinstance(rows[0]["gross_margin"], float)


def test_every_report_exports(materialized, monkeypatch):
    from platform_assets.export import REPORT_NAMES

    for name in REPORT_NAMES:
        out = run(materialized, monkeypatch, name, "--start", day(9).isoformat(), "--end", day(9).isoformat())
        assert out.exit_code == 0 and len(out.output.splitlines()) >= 2, name


def test_unknown_report_and_missing_dates_fail_clearly(materialized, monkeypatch):
    out = run(materialized, monkeypatch, "revenue", "--start", day(0).isoformat(), "--end", day(0).isoformat())
    assert out.exit_code == 1 and "unknown report 'revenue'; reports: revenue_close" in out.output
    out = run(materialized, monkeypatch, "revenue_close", "--start", day(12).isoformat(), "--end", "2024-03-20")
    assert out.exit_code == 1
    assert "revenue_close has no data for 3 date(s): 2024-03-18, 2024-03-19, 2024-03-20" in out.output
    out = run(materialized, monkeypatch, "revenue_close", "--start", day(3).isoformat(), "--end", day(1).isoformat())
    assert out.exit_code == 1 and "is before --start" in out.output
