"""The sample-data generator: complete, deterministic, realistic, and messy where documented."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json

import pytest

from platform_assets.generator import SOURCES, generate, read_arrivals
from platform_assets.generator.mess import CYCLE_DAYS, DEFAULT
from platform_assets.ingestion import registry
from platform_assets_tests.conftest import DAYS, SEED, START, day


def read_csv(path):
    text = path.read_text(encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_every_source_every_day_with_a_consistent_manifest(landing_default):
    assert set(SOURCES) == set(registry.discover()), "generator and contracts cover the same sources"
    for source in SOURCES:
        for i in range(DAYS):
            folder = landing_default / source / day(i).isoformat()
            manifest = json.loads((folder / "_manifest.json").read_text())
            assert manifest["source"] == source and manifest["business_date"] == day(i).isoformat()
            for f in manifest["files"]:
                data = (folder / f["name"]).read_bytes()
                assert hashlib.sha256(data).hexdigest() == f["sha256"], (source, i, f["name"])


def test_same_seed_same_bytes_and_a_day_alone_equals_the_day_in_a_run(tmp_path, landing_default):
    generate(tmp_path / "a", START, 2, scale="small", seed=SEED, mess="default")
    for source in SOURCES:
        for i in range(2):
            ours = (tmp_path / "a" / source / day(i).isoformat() / "_manifest.json").read_text()
            theirs = (landing_default / source / day(i).isoformat() / "_manifest.json").read_text()
            assert json.loads(ours)["files"] == json.loads(theirs)["files"], (source, i)
    generate(tmp_path / "b", START, 2, scale="small", seed=SEED + 1, mess="default")
    other = json.loads((tmp_path / "b" / "pos_transactions" / START.isoformat() / "_manifest.json").read_text())
    ours = json.loads((tmp_path / "a" / "pos_transactions" / START.isoformat() / "_manifest.json").read_text())
    assert other["files"] != ours["files"], "a different seed gives different data"


def test_small_scale_volumes(landing_clean):
    pos = sum(len(read_csv(landing_clean / "pos_transactions" / START.isoformat() / f"pos_{r}.csv"))
              for r in ("AMER", "EMEA", "APAC"))
    assert 14_000 <= pos <= 30_000, pos   # "~20k POS rows/day"
    orders = (landing_clean / "orders" / START.isoformat() / "orders.jsonl").read_text().splitlines()
    assert 2_000 <= len(orders) <= 4_500
    for line in orders[:200] + [(landing_clean / "app_events" / START.isoformat() / "events_12.jsonl")
                                .read_text().splitlines()[0]]:
        json.loads(line)  # the vectorized JSON writer produces valid JSON


def test_clean_data_has_no_duplicates_invalid_rows_or_drift(landing_clean):
    rows = []
    for r in ("AMER", "EMEA", "APAC"):
        rows += read_csv(landing_clean / "pos_transactions" / day(9).isoformat() / f"pos_{r}.csv")
    keys = [(x["transaction_id"], x["sku"]) for x in rows]
    assert len(keys) == len(set(keys))
    assert all(int(x["quantity"]) > 0 and x["unit_price"] and x["currency"].isupper() for x in rows)
    assert "loyalty_tier" not in rows[0]
    assert not (landing_clean / "_superseded").exists()


def test_walk_in_sales_have_no_customer(landing_clean):
    rows = read_csv(landing_clean / "pos_transactions" / START.isoformat() / "pos_AMER.csv")
    walk_in = sum(1 for x in rows if not x["customer_id"]) / len(rows)
    assert 0.3 < walk_in < 0.5


def test_arrivals_record_every_delivery_and_late_pos_days(landing_default):
    arrivals = read_arrivals(landing_default)
    assert {(a["source"], a["business_date"]) for a in arrivals} == {
        (s, day(i).isoformat()) for s in SOURCES for i in range(DAYS)}
    pos = {a["business_date"]: a for a in arrivals if a["source"] == "pos_transactions" and a["kind"] == "initial"}
    for i in range(DAYS):
        arrives = dt.datetime.fromisoformat(pos[day(i).isoformat()]["arrives_at"])
        assert arrives.date() == day(i) + dt.timedelta(days=1)
        late = arrives.time() > dt.time(7, 0)
        assert late == (i % CYCLE_DAYS in DEFAULT.late_pos_days), (i, arrives)


def test_documented_defects_are_on_their_documented_days(landing_default):
    """docs/sample-data.md: each defect of the default plan, checked on the files themselves."""
    d = lambda i: landing_default / "{}" / day(i).isoformat()  # noqa: E731
    # day 1: lowercase currency codes in POS EMEA
    emea = read_csv(landing_default / "pos_transactions" / day(1).isoformat() / "pos_EMEA.csv")
    assert any(x["currency"].islower() for x in emea)
    # every day: duplicated rows and invalid rows (negative quantity, missing price)
    amer = read_csv(landing_default / "pos_transactions" / day(0).isoformat() / "pos_AMER.csv")
    keys = [(x["transaction_id"], x["sku"]) for x in amer]
    assert len(keys) > len(set(keys))
    assert any(x["quantity"].startswith("-") for x in amer) or any(not x["unit_price"] for x in amer)
    # day 2: refunds re-sent unchanged
    resent = [a for a in read_arrivals(landing_default) if a["kind"] == "resend"]
    assert [(a["source"], a["business_date"]) for a in resent] == [("refunds", day(2).isoformat())]
    # day 4: the first POS delivery was truncated, superseded by a complete re-delivery
    first = landing_default / "_superseded" / "pos_transactions" / day(4).isoformat() / "delivery-1"
    manifest = json.loads((first / "_manifest.json").read_text())
    apac = next(f for f in manifest["files"] if f["name"] == "pos_APAC.csv")
    assert hashlib.sha256((first / "pos_APAC.csv").read_bytes()).hexdigest() != apac["sha256"]
    # day 6: GBP missing from the FX export
    assert "GBP" not in {x["currency"] for x in read_csv(landing_default / "fx_rates" / day(6).isoformat() / "fx_rates.csv")}
    # day 7: the products snapshot is 40 days old
    products = json.loads((landing_default / "products" / day(7).isoformat() / "_manifest.json").read_text())
    assert dt.datetime.fromisoformat(products["exported_at"].replace("Z", "+00:00")).date() < day(7) - dt.timedelta(days=35)
    # day 8 on: POS has an added column
    assert "loyalty_tier" in read_csv(landing_default / "pos_transactions" / day(8).isoformat() / "pos_AMER.csv")[0]
    assert "loyalty_tier" not in read_csv(landing_default / "pos_transactions" / day(7).isoformat() / "pos_AMER.csv")[0]
    # day 11: the first refunds delivery renamed `amount`
    renamed = landing_default / "_superseded" / "refunds" / day(11).isoformat() / "delivery-1" / "refunds.csv"
    assert "refund_amount" in renamed.read_text().splitlines()[0]
    # day 12: online orders three times the usual (flash sale); days 12-13: FX provider stale
    n = lambda i: len((landing_default / "orders" / day(i).isoformat() / "orders.jsonl").read_text().splitlines())  # noqa: E731
    assert n(12) > 2.5 * n(5)
    fx13 = read_csv(landing_default / "fx_rates" / day(13).isoformat() / "fx_rates.csv")
    assert {x["rate_date"] for x in fx13} == {day(11).isoformat()}
    del d


def test_ledger_export_matches_transactions_except_on_its_defect_day(landing_default):
    """The GL is built from the rows that stay valid; on day 5 EMEA revenue carries a +2.5%
    adjustment. Checked against the independent computation from the landing files."""
    from decimal import Decimal

    from platform_assets_tests import independent as ind

    for i in range(DAYS):
        close = ind.revenue_close(landing_default, day(i))
        booked: dict = {}
        for x in read_csv(landing_default / "gl_entries" / day(i).isoformat() / "gl_entries.csv"):
            booked[(x["entity"], x["account"])] = booked.get((x["entity"], x["account"]), Decimal(0)) + Decimal(x["amount"])
        for entity, figures in close.items():
            revenue = figures["gross_sales"] - figures["discounts"]
            if i == 5 and entity == "EMEA":
                assert booked[(entity, "revenue")] > revenue * Decimal("1.02"), "the documented disagreement"
            else:
                assert booked.get((entity, "revenue"), Decimal(0)) == revenue, (i, entity)
            assert booked.get((entity, "refunds"), Decimal(0)) == figures["refunds"], (i, entity)
    raw = (landing_default / "gl_entries" / day(5).isoformat() / "gl_entries.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw, "finance's tool writes a BOM and CRLF"


def test_generate_rejects_unknown_options(tmp_path):
    with pytest.raises(ValueError, match="scale"):
        generate(tmp_path, START, 1, scale="huge")
    with pytest.raises(ValueError, match="mess"):
        generate(tmp_path, START, 1, mess="chaos")
