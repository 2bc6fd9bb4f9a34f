"""The import framework on the generator's messy output: every defect is rejected with its
reason, refused, normalized or flagged, and imports are idempotent and reprocessable."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys

import numpy as np
import pandas as pd
import pytest

from platform_assets.generator.mess import HEAVY
from platform_assets.ingestion import registry
from platform_assets.ingestion.framework import raw_table, reprocess
from platform_assets.ingestion.manifest import MANIFEST
from platform_assets_tests.conftest import DAYS, START, day, rewrite_manifest


def published_rows(importer, source, d):
    return importer.warehouse.row_counts(raw_table(source), d, d).get(d)


def manifest_rows(landing, source, d):
    return sum(f["rows"] for f in json.loads((landing / source / d.isoformat() / MANIFEST).read_text())["files"])


@pytest.mark.parametrize("source", sorted(registry.discover()))
def test_every_source_imports_a_messy_day(importer, landing_default, source):
    result = importer.import_day(source, day(9))
    b = result.batch
    assert b.status in ("succeeded", "partially_succeeded"), result.summary()
    assert b.rows_read == manifest_rows(landing_default, source, day(9))
    assert b.rows_loaded + b.rows_rejected == b.rows_read
    assert published_rows(importer, source, day(9)) == b.rows_loaded
    assert importer.ledger.published(source, day(9)).batch_id == b.batch_id
    assert [f["name"] for f in b.files] and all(len(f["sha256"]) == 64 for f in b.files)


def test_reimport_is_a_recorded_noop_and_counts_do_not_change(importer):
    first = importer.import_day("pos_transactions", day(0))
    rows = published_rows(importer, "pos_transactions", day(0))
    second = importer.import_day("pos_transactions", day(0))
    assert second.status == "noop" and second.batch.batch_id != first.batch.batch_id
    assert published_rows(importer, "pos_transactions", day(0)) == rows
    assert importer.ledger.published("pos_transactions", day(0)).batch_id == first.batch.batch_id
    statuses = [b.status for b in importer.ledger.batches(source="pos_transactions", business_date=day(0))]
    assert statuses == ["noop", "partially_succeeded"]


def test_resent_file_is_a_noop(importer, landing_default):
    """Day 2's refunds were delivered twice with the same content (docs/sample-data.md)."""
    assert importer.import_day("refunds", day(2)).status == "succeeded"
    assert importer.import_day("refunds", day(2)).status == "noop"


def test_changed_file_replaces_the_partition(private_landing, private_importer):
    folder = private_landing("customers", 0)
    first = private_importer.import_day("customers", day(0))
    lines = (folder / "customers.csv").read_text().splitlines(keepends=True)
    (folder / "customers.csv").write_text("".join(lines[:-5]))  # upstream re-export: 5 fewer rows
    rewrite_manifest(folder)
    second = private_importer.import_day("customers", day(0))
    assert second.status == "succeeded" and second.batch.replaces_batch_id == first.batch.batch_id
    assert published_rows(private_importer, "customers", day(0)) == first.batch.rows_loaded - 5
    raw = private_importer.warehouse.read(raw_table("customers"), day(0), day(0))
    assert set(raw["_batch_id"]) == {second.batch.batch_id}, "no row of the old batch is left"


def test_truncated_file_is_refused_naming_file_and_rows(private_landing, private_importer, landing_default):
    """Day 4's first POS delivery: pos_APAC.csv cut short in transfer."""
    first = landing_default / "_superseded" / "pos_transactions" / day(4).isoformat() / "delivery-1"
    private_landing("pos_transactions", 4, from_path=first)
    result = private_importer.import_day("pos_transactions", day(4))
    expected = next(f["rows"] for f in json.loads((first / MANIFEST).read_text())["files"] if f["name"] == "pos_APAC.csv")
    msg = result.batch.message
    assert result.failed and "pos_APAC.csv" in msg and f"expects {expected:,} rows" in msg and "found" in msg
    assert "truncated" in msg and "nothing loaded" in msg
    assert published_rows(private_importer, "pos_transactions", day(4)) is None
    # The complete re-delivery then loads.
    private_landing("pos_transactions", 4)
    assert private_importer.import_day("pos_transactions", day(4)).status == "partially_succeeded"


def test_no_manifest_and_missing_file_are_refused(private_landing, private_importer):
    folder = private_landing("orders", 0)
    (folder / MANIFEST).unlink()
    result = private_importer.import_day("orders", day(0))
    assert result.failed and "no _manifest.json" in result.batch.message
    private_landing("orders", 0)
    (private_landing.root / "orders" / day(0).isoformat() / "orders.jsonl").unlink()
    result = private_importer.import_day("orders", day(0))
    assert result.failed and "orders.jsonl is listed in the manifest but missing" in result.batch.message
    missing_folder = private_importer.import_day("orders", day(1))
    assert missing_folder.failed and "not complete yet" in missing_folder.batch.message


def test_renamed_column_fails_the_batch_naming_the_column(private_landing, private_importer, landing_default):
    """Day 11's first refunds delivery renamed `amount` to `refund_amount`."""
    private_landing("refunds", 11)
    good = private_importer.import_day("refunds", day(11))
    broken = landing_default / "_superseded" / "refunds" / day(11).isoformat() / "delivery-1"
    private_landing("refunds", 11, from_path=broken)
    result = private_importer.import_day("refunds", day(11))
    assert result.failed
    assert "required column(s) missing: amount" in result.batch.message
    assert "refund_amount" in result.batch.message and "nothing published" in result.batch.message
    assert result.batch.drift == {"added": ["refund_amount"], "missing": {"amount": ["refunds.csv"]}}
    # The previously published version stays, intact.
    assert private_importer.ledger.published("refunds", day(11)).batch_id == good.batch.batch_id
    assert published_rows(private_importer, "refunds", day(11)) == good.batch.rows_loaded


def test_retyped_column_is_breaking_drift(private_landing, private_importer):
    folder = private_landing("customers", 3)
    frame = pd.read_csv(folder / "customers.csv", dtype=str)
    frame["signup_at"] = "1709251200"  # epoch seconds instead of ISO-8601
    frame.to_csv(folder / "customers.csv", index=False)
    rewrite_manifest(folder)
    result = private_importer.import_day("customers", day(3))
    assert result.failed and "signup_at" in result.batch.drift["retyped"]
    assert "changed type" in result.batch.message and "1709251200" in result.batch.message


def test_invalid_rows_are_rejected_with_reason_and_raw_record(importer, landing_default):
    result = importer.import_day("pos_transactions", day(0))
    rejects = importer.ledger.rejects(batch_id=result.batch.batch_id)
    assert len(rejects) == result.batch.rows_rejected > 0
    reasons = {r["reason"].split(", found")[0] for r in rejects}
    assert reasons == {"quantity: expected an integer >= 1", "unit_price: required value is missing"}
    for r in rejects[:20]:
        lines = (landing_default / "pos_transactions" / day(0).isoformat() / r["file"]).read_text(
            encoding="utf-8-sig").splitlines()
        assert lines[r["line_number"] - 1] == r["record"], "the record is the file's own line"
        assert r["row_number"] == r["line_number"] - 1
    negative = next(r for r in rejects if r["columns"] == "quantity")
    assert "found '-" in negative["reason"]
    # The CLI's reason summary (ledger.reject_reasons) adds up.
    assert sum(importer.ledger.reject_reasons(result.batch.batch_id).values()) == len(rejects)


def test_rows_outside_the_business_date_are_rejected(private_landing, private_importer):
    folder = private_landing("refunds", 5)
    text = (folder / "refunds.csv").read_text().splitlines()
    first = text[1].split(",")
    first[2] = f'"{day(4).isoformat()}T15:00:00Z"'
    text[1] = ",".join(first)
    (folder / "refunds.csv").write_text("\n".join(text) + "\n")
    rewrite_manifest(folder)
    result = private_importer.import_day("refunds", day(5))
    [reject] = private_importer.ledger.rejects(batch_id=result.batch.batch_id)
    assert f"business date {day(4)} (New York) is not the delivery's business date {day(5)}" in reject["reason"]


def test_unparseable_rows_and_json_lines_are_rejects(private_landing, private_importer):
    folder = private_landing("app_events", 2)
    path = folder / "events_10.jsonl"
    lines = path.read_text().splitlines()
    lines[3] = lines[3][:40]            # a line cut in half
    path.write_text("\n".join(lines) + "\n")
    rewrite_manifest(folder)
    result = private_importer.import_day("app_events", day(2))
    [reject] = private_importer.ledger.rejects(batch_id=result.batch.batch_id)
    assert reject["file"] == "events_10.jsonl" and reject["line_number"] == 4
    assert "not valid JSON" in reject["reason"] and reject["record"] == lines[3]
    folder = private_landing("gl_entries", 2)
    text = (folder / "gl_entries.csv").read_bytes().replace(b'"USD"\r\n', b'"USD","extra"\r\n', 1)
    (folder / "gl_entries.csv").write_bytes(text)
    rewrite_manifest(folder)
    result = private_importer.import_day("gl_entries", day(2))
    assert result.failed, "finance's export accepts no bad row (threshold 0%)"
    [reject] = private_importer.ledger.rejects(batch_id=result.batch.batch_id)
    assert reject["reason"] == "row has 7 fields, expected 6"


def test_reject_rate_over_the_threshold_fails_the_whole_batch(tmp_path):
    """The heavy plan's day 9 puts 4% invalid rows in POS EMEA: over POS's 1% threshold."""
    from platform_assets.generator import generate
    from platform_assets.resources import PlatformResource

    generate(tmp_path / "landing", START, 10, scale="small", seed=3, mess="heavy", sources=["pos_transactions"])
    assert 9 in HEAVY.over_threshold_days
    platform = PlatformResource(landing_dir=str(tmp_path / "landing"), data_dir=str(tmp_path / "data"))
    result = platform.importer().import_day("pos_transactions", day(9))
    assert result.failed and "over the source's threshold of 1.00%" in result.batch.message
    assert result.batch.rows_rejected > 0.01 * result.batch.rows_read
    assert len(platform.ledger().rejects(batch_id=result.batch.batch_id)) == result.batch.rows_rejected
    assert platform.warehouse().dates(raw_table("pos_transactions")) == []


def test_added_column_is_a_warning_and_kept(importer):
    """From day 8 POS carries `loyalty_tier`: recorded as drift, the batch flows, values kept."""
    result = importer.import_day("pos_transactions", day(8))
    assert result.status == "partially_succeeded" and result.batch.drift == {"added": ["loyalty_tier"]}
    assert "schema drift (warning)" in result.batch.message
    raw = importer.warehouse.read(raw_table("pos_transactions"), day(8), day(8))
    extra = raw["_extra"].dropna().map(json.loads)
    assert len(extra) == len(raw) and set(extra.iloc[0]) == {"loyalty_tier"}


def test_lowercase_currency_is_accepted_raw_and_kept_as_received(importer):
    importer.import_day("pos_transactions", day(1))
    raw = importer.warehouse.read(raw_table("pos_transactions"), day(1), day(1))
    assert raw["currency"].str.islower().any(), "raw keeps values exactly as received"


def test_reprocess_reimports_and_describes_the_change(private_landing, private_importer):
    folder = private_landing("customers", 1)
    private_importer.import_day("customers", day(1))
    lines = (folder / "customers.csv").read_text().splitlines(keepends=True)
    (folder / "customers.csv").write_text("".join(lines[:-3]))
    rewrite_manifest(folder)
    result, change = reprocess(private_importer, "customers", day(1))
    text = "\n".join(change.lines())
    assert result.status == "succeeded"
    assert "file customers.csv: changed" in text and "rows loaded:" in text and "(-3)" in text
    # By unchanged files: still re-imported (force), and says so.
    result, change = reprocess(private_importer, "customers", day(1))
    assert result.status == "succeeded" and "files: unchanged" in "\n".join(change.lines())


def test_a_new_source_is_one_module(tmp_path, monkeypatch):
    """Adding a source = one module with a CONTRACT in the sources package; nothing else."""
    from platform_assets.ingestion import sources as package

    extra = tmp_path / "extra_sources"
    extra.mkdir()
    (extra / "store_footfall.py").write_text(
        "from platform_assets.ingestion.contract import SourceContract, date, integer, text\n"
        "CONTRACT = SourceContract(name='store_footfall', description='Visitors per store.', domain='sales',\n"
        "    format='csv', files=r'footfall\\.csv', fields=(date('day'), text('store_id'), integer('visitors', minimum=0)),\n"
        "    business_key=('day', 'store_id'))\n")
    monkeypatch.setattr(package, "__path__", [*package.__path__, str(extra)])
    registry.discover.cache_clear()
    try:
        assert "store_footfall" in registry.discover()
        import dagster as dg

        from platform_assets.definitions import build_definitions
        from platform_assets.team import load_team

        graph = build_definitions().resolve_asset_graph()
        assert graph.has(dg.AssetKey("raw_store_footfall")) and graph.has(dg.AssetKey("store_footfall"))
        # Owned from day one by the catch-all, until the team names it in a pipeline.
        assert load_team().pipeline_for("raw_store_footfall").name == "unassigned"
    finally:
        registry.discover.cache_clear()
        sys.modules.pop("platform_assets.ingestion.sources.store_footfall", None)


def test_contract_module_name_must_match(tmp_path, monkeypatch):
    from platform_assets.ingestion import sources as package

    extra = tmp_path / "bad_sources"
    extra.mkdir()
    (extra / "misnamed.py").write_text(
        "from platform_assets.ingestion.contract import SourceContract, text\n"
        "CONTRACT = SourceContract(name='other', description='', domain='sales', format='csv',\n"
        "    files='x.csv', fields=(text('a'),), business_key=('a',))\n")
    monkeypatch.setattr(package, "__path__", [*package.__path__, str(extra)])
    registry.discover.cache_clear()
    try:
        with pytest.raises(ValueError, match="misnamed.py declares CONTRACT.name='other'"):
            registry.discover()
    finally:
        registry.discover.cache_clear()
        sys.modules.pop("platform_assets.ingestion.sources.misnamed", None)


def test_stale_products_snapshot_keeps_its_original_export_time(importer):
    result = importer.import_day("products", day(7))
    age = day(7) - result.batch.manifest_exported_at.date()
    assert age > dt.timedelta(days=35), "recorded with the batch, for the reference-data check"


def test_ledger_survives_reopening(platform, tmp_path):
    importer = platform.importer()
    importer.import_day("fx_rates", day(0))
    from platform_assets.ingestion.ledger import Ledger

    again = Ledger(platform.settings().ledger_url)
    assert again.published("fx_rates", day(0)).status == "succeeded"
    again.close()
    shutil.rmtree(tmp_path / "data" / "warehouse")
    # The warehouse lost the partition: the same files are re-imported, not skipped.
    assert importer.import_day("fx_rates", day(0)).status == "succeeded"


def _open_ledger(url, barrier, errors):
    from platform_assets.ingestion.ledger import Ledger

    barrier.wait()
    try:
        Ledger(url).close()
    except Exception as exc:  # noqa: BLE001 - reported to the test
        errors.put(repr(exc))


def test_parallel_first_steps_create_the_ledger_once(tmp_path):
    """The first steps of a run open a fresh ledger at the same moment; before the schema lock,
    one in four parallel first runs failed with "table import_batches already exists"."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    errors = ctx.Queue()
    for attempt in range(5):
        url = f"sqlite:///{tmp_path / f'ledger-{attempt}.sqlite'}"
        barrier = ctx.Barrier(6)
        workers = [ctx.Process(target=_open_ledger, args=(url, barrier, errors)) for _ in range(6)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(60)
        assert all(w.exitcode == 0 for w in workers)
    failures = []
    while not errors.empty():
        failures.append(errors.get())
    assert failures == []


@pytest.mark.parametrize("dtype", ["string[pyarrow]", object])
def test_timestamp_checks_parse_with_arrow_and_agree_with_pandas(dtype):
    """The contract's timestamp checks and business-date rule parse with Arrow first (the import's
    validation of 1M rows spent most of its time in pd.to_datetime); whatever Arrow accepts gives
    pandas' instant, and a column with anything Arrow refuses goes through pandas as before."""
    from platform_assets.ingestion import contract as C
    from platform_assets.storage.frames import utc_timestamps

    values = pd.Series(["2024-03-06T10:00:00+01:00", "2024-03-06T09:00:00.123456Z", "2024-03-06 10:00:00+0530", None,
                        "2024-03-05T23:30:00-05:00", "2024-02-30T10:00:00Z", "2024-03-06T09:00:00", "garbage"],
                       dtype=dtype)
    for rows in ([0, 1, 2, 3, 4], [0, 5], [1, 6], list(range(8))):
        part = values.iloc[rows]
        expected = pd.to_datetime(part, format="ISO8601", utc=True, errors="coerce")
        assert utc_timestamps(part, errors="coerce").equals(expected)
        ny = C._ny_date_of_timestamp(part)  # the New York date, as a datetime64 midnight (NaT: not a timestamp)
        assert ny.dtype == "datetime64[ns]" and (ny.dt.normalize().equals(ny))
        assert [None if pd.isna(d) else d.date() for d in ny] == [
            None if pd.isna(d) else d for d in expected.dt.tz_convert("America/New_York").dt.date]
        assert C._parses(None, utc=True)(part).tolist() == expected.notna().tolist()


def _file_by_file(importer, delivery):
    """Each file of the delivery read and validated on its own (as a parallel import's step does)."""
    files, raws = [], []
    for f in delivery.manifest.files:
        [one], raw = importer.read_files(delivery, [f.name], "batch")
        files.append(one)
        raws.append(raw)
    return files, pd.concat(raws, ignore_index=True)


@pytest.mark.parametrize(("source", "index", "group_rows"), [
    ("pos_transactions", 0, 250_000), ("pos_transactions", 8, 250_000), ("app_events", 2, 250_000),
    ("app_events", 2, 5_000)])  # groups of a few files each
def test_a_delivery_validated_as_one_frame_rejects_what_each_file_would(private_landing, private_importer, source,
                                                                        index, group_rows, monkeypatch):
    """Files with the same columns are validated together: every reject keeps its file, row,
    line, columns, reason and record, and the raw rows and counts are those of file-by-file."""
    from platform_assets.ingestion import framework
    from platform_assets.ingestion.validation import merge_flags

    monkeypatch.setattr(framework, "VALIDATION_GROUP_ROWS", group_rows)

    folder = private_landing(source, index)
    if source == "app_events":  # bad values in two files of the 24, one of them a wrong business date
        for name, line, old, new in (("events_03.jsonl", 2, '"platform":"', '"platform":"x'),
                                     ("events_17.jsonl", 5, '"occurred_at":"2024', '"occurred_at":"2023')):
            lines = (folder / name).read_text().splitlines()
            assert old in lines[line]
            lines[line] = lines[line].replace(old, new, 1)
            (folder / name).write_text("\n".join(lines) + "\n")
        rewrite_manifest(folder)
    delivery = private_importer.open_delivery(registry.get(source).contract, day(index), force=True)
    together, raw = private_importer.read_files(delivery, [f.name for f in delivery.manifest.files], "batch")
    alone, raw_alone = _file_by_file(private_importer, delivery)

    assert [r for f in together for r in f.rejects] == [r for f in alone for r in f.rejects]
    assert len({r.file for f in together for r in f.rejects}) >= 2, "rejects in more than one file"
    pd.testing.assert_frame_equal(raw, raw_alone)

    def summed(files, attribute):
        total: dict = {}
        for f in files:
            for column, n in getattr(f, attribute).items():
                total[column] = total.get(column, 0) + n
        return total

    for attribute in ("failures", "non_null"):
        assert summed(together, attribute) == summed(alone, attribute)
    assert merge_flags([f.flags for f in together]) == merge_flags([f.flags for f in alone])
    result = private_importer.import_day(source, day(index))
    assert result.batch.rows_loaded == len(raw) and result.rejects == [r for f in alone for r in f.rejects]
    # The import validates each group as soon as it is read (all but the last): the same rows published.
    published = private_importer.warehouse.read(raw_table(source), day(index), day(index))
    assert (published["_batch_id"] == result.batch.batch_id).all()
    pd.testing.assert_frame_equal(published.drop(columns="_batch_id"), raw_alone.drop(columns="_batch_id"),
                                  check_dtype=False)


def test_json_text_writes_what_json_dumps_writes():
    import math

    from platform_assets.ingestion.readers import json_text

    values = [0, -7, 10**18, 2.5, 0.1, -0.0, 1e16, 1e-7, 123456.789, 3.0, float("inf"), float("nan"), True, False,
              None, "12.50", "", [1, 2], {"a": 1.5}]
    for value in values:
        expected = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        assert json_text(value) == expected, value
        if isinstance(value, float) and math.isfinite(value):
            assert float(json_text(value)) == value


@pytest.mark.parametrize("dtype", ["string[pyarrow]", object])
def test_contract_numbers_parse_as_pandas_does(dtype):
    """The numeric-range checks parse with Arrow and fall back to pandas (frames.float_numbers): the
    same values, NaN for what is missing or no number, as pd.to_numeric(errors="coerce")."""
    from platform_assets.ingestion.contract import decimal, integer
    from platform_assets.storage.frames import float_numbers

    clean = pd.Series(["1.25", "0.1", "2", "-0.005", None, "1234567890123.45", "999999999999999", "0.10"],
                      dtype=dtype, index=range(10, 18))
    messy = pd.Series(["1.5", " 2", "", "abc", "1e3", None, "0x10"], dtype=dtype)
    for values in (clean, messy):
        got = float_numbers(values, errors="coerce")
        expected = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        assert got.dtype == "float64" and len(got) == len(values)
        np.testing.assert_array_equal(got, expected)  # exactly, NaN where pandas has none
    checks = {"integer 1..50": (integer("q", minimum=1, maximum=50), ["1", "50", "0", "51", "1.0", "-1", "7", None]),
              "decimal > 0.1": (decimal("p", minimum=0.1, exclusive_min=True), ["0.10", "0.11", "0.1", "12.50", "-1",
                                                                                "1.234", "abc", None])}
    expected = {"integer 1..50": [True, True, False, False, False, False, True, False],
                "decimal > 0.1": [False, True, False, True, False, False, False, False]}
    for name, (field, raw) in checks.items():
        assert field.validator(pd.Series(raw, dtype=dtype)).tolist() == expected[name], name


def test_a_line_of_another_region_in_a_regions_file_is_rejected_naming_file_row_and_column(
        private_landing, private_importer):
    """pos_<region>.csv holds that region's stores only: a line of another region is rejected (it
    would be counted in the wrong region's part of staging), in the in-process import and the
    parallel one alike."""
    folder = private_landing("pos_transactions", 1)
    path = folder / "pos_AMER.csv"
    lines = path.read_text().splitlines(keepends=True)
    lines[3] = lines[3].replace('"AMER"', '"EMEA"', 1)  # data row 3
    path.write_text("".join(lines))
    rewrite_manifest(folder)
    result = private_importer.import_day("pos_transactions", day(1))
    assert not result.failed
    [wrong] = [r for r in result.rejects if r.reason.startswith("region:")]
    assert (wrong.file, wrong.row_number, wrong.columns) == ("pos_AMER.csv", 3, "region")
    assert wrong.reason == "region: 'EMEA' in pos_AMER.csv, which holds region AMER only"
    token = "t" * 32
    staged = private_importer.stage_file("pos_transactions", day(1), "pos_AMER.csv", token, force=True)
    assert [r.row_number for r in staged.rejects if r.reason.startswith("region:")] == [3]
    private_importer.warehouse.discard(raw_table("pos_transactions"), day(1), token)


def _range_against_one_by_one(tmp_path, landing, source, days, monkeypatch) -> list:
    """Import ``days`` of ``source`` with ``import_days`` and a date at a time with ``import_day``
    (stopping at the first failed batch, as a run does) into two warehouses; assert the same
    batches (status, counts, drift, findings, message), rejects in the same order and raw rows,
    and fewer passes of the contract. Returns the range's results."""
    from dataclasses import asdict

    from platform_assets.ingestion import framework
    from platform_assets.resources import PlatformResource

    calls = []
    real = framework.validate_rows
    monkeypatch.setattr(framework, "validate_rows", lambda *a, **k: calls.append(len(a[1])) or real(*a, **k))

    def importer(name):
        return PlatformResource(landing_dir=str(landing), data_dir=str(tmp_path / name)).importer()

    alone, together = importer("alone"), importer("together")
    one_by_one = []
    for d in days:
        one_by_one.append(alone.import_day(source, d, trigger="test"))
        if one_by_one[-1].failed:
            break
    passes_alone, calls[:] = len(calls), []
    at_once = together.import_days(source, days, trigger="test")
    assert len(calls) < passes_alone or passes_alone <= 1, (len(calls), passes_alone)

    def comparable(result):
        b = {k: v for k, v in asdict(result.batch).items() if k not in ("batch_id", "started_at", "finished_at")}
        return b, [(r.file, r.row_number, r.line_number, r.columns, r.reason, r.record) for r in result.rejects]

    assert len(at_once) == len(one_by_one)
    for got, expected in zip(at_once, one_by_one):
        (batch, rejects), (batch_alone, rejects_alone) = comparable(got), comparable(expected)
        assert {k: v for k, v in batch.items() if v != batch_alone[k]} == {}, (got.batch.business_date, batch_alone)
        assert rejects == rejects_alone, got.batch.business_date
    for d in [r.batch.business_date for r in one_by_one if r.published_batch is not None]:
        got = together.warehouse.read(raw_table(source), d, d).drop(columns="_batch_id")
        expected = alone.warehouse.read(raw_table(source), d, d).drop(columns="_batch_id")
        pd.testing.assert_frame_equal(got, expected)
    alone.ledger.close()
    together.ledger.close()
    return at_once


@pytest.mark.parametrize("source", sorted(registry.discover()))
def test_a_range_imported_at_once_is_each_date_imported_alone(tmp_path, landing_default, source, monkeypatch):
    """A backfill run imports its dates with ``import_days``: every date's files read first, the
    rows of consecutive dates validated together, then each date judged and published on its
    own. The messy fortnight, every source: as a date at a time."""
    _range_against_one_by_one(tmp_path, landing_default, source, [day(i) for i in range(DAYS)], monkeypatch)


def test_rejects_on_several_dates_of_one_validation_are_each_dates_own(private_landing, tmp_path, monkeypatch):
    """Bad values and rows of another business date on two dates validated together: each date's
    rejects name its own file, row and delivery date, as importing that date alone does."""
    for index, name, line, old, new in ((1, "events_03.jsonl", 2, '"platform":"', '"platform":"x'),
                                        (1, "events_17.jsonl", 5, '"occurred_at":"2024', '"occurred_at":"2023'),
                                        (2, "events_05.jsonl", 3, '"occurred_at":"2024', '"occurred_at":"2022'),
                                        (2, "events_06.jsonl", 4, '"platform":"', '"platform":"y')):
        folder = private_landing("app_events", index) if not (tmp_path / "landing" / "app_events" / day(index).isoformat()).exists() \
            else tmp_path / "landing" / "app_events" / day(index).isoformat()
        lines = (folder / name).read_text().splitlines()
        assert old in lines[line]
        lines[line] = lines[line].replace(old, new, 1)
        (folder / name).write_text("\n".join(lines) + "\n")
        rewrite_manifest(folder)
    private_landing("app_events", 0)
    retyped = private_landing("app_events", 3)  # every platform value changed: breaking drift on that date
    for path in retyped.glob("events_*.jsonl"):
        path.write_text(path.read_text().replace('"platform":"', '"platform":"9'))
    rewrite_manifest(retyped)
    results = _range_against_one_by_one(tmp_path, tmp_path / "landing", "app_events", [day(i) for i in range(4)],
                                        monkeypatch)
    by_date = {r.batch.business_date: [x.reason for x in r.rejects] for r in results}
    for index in (1, 2):
        assert any("is not the delivery's business date" in why and str(day(index)) in why for why in by_date[day(index)])
        assert any(why.startswith("platform:") for why in by_date[day(index)])
    assert not by_date[day(0)]
    assert results[3].failed and "platform" in results[3].batch.drift.get("retyped", {}), results[3].batch.message
    assert not any(r.failed for r in results[:3])  # the retyped date's failures are its own


def test_a_range_staged_at_once_is_each_date_staged_alone(tmp_path, landing_default, monkeypatch):
    """A backfill run's step for one region's POS file stages every date of the range with
    ``stage_files`` (consecutive dates validated together): per date the same file outcome
    (rows, rejects in order, counts, flags) as ``stage_file``, and once published the same raw rows."""
    from dataclasses import asdict

    from platform_assets.ingestion import framework
    from platform_assets.resources import PlatformResource

    calls = []
    real = framework.validate_rows
    monkeypatch.setattr(framework, "validate_rows", lambda *a, **k: calls.append(len(a[1])) or real(*a, **k))
    source, days = "pos_transactions", [day(i) for i in range(DAYS)]
    contract = registry.get(source).contract
    importers = {name: PlatformResource(landing_dir=str(landing_default), data_dir=str(tmp_path / name)).importer()
                 for name in ("alone", "together")}
    staged = {"alone": [], "together": []}
    passes = {}
    for name, importer in importers.items():
        calls[:] = []
        for file_name in contract.split_files.values():
            tokens = [f"{name}-{d}" for d in days]
            if name == "alone":
                staged[name].append([importer.stage_file(source, d, file_name, t) for d, t in zip(days, tokens)])
            else:
                staged[name].append(importer.stage_files(source, days, file_name, tokens))
        passes[name] = len(calls)
    assert passes["together"] < passes["alone"]

    def comparable(file):
        return {k: v for k, v in asdict(file).items() if k != "started_at"}

    assert [[comparable(f) for f in per_file] for per_file in staged["together"]] == \
        [[comparable(f) for f in per_file] for per_file in staged["alone"]]
    assert any(f.rejects for per_file in staged["alone"] for f in per_file), "some rejects to compare"
    for name, importer in importers.items():
        for i, d in enumerate(days):
            importer.publish_staged(source, d, [per_file[i] for per_file in staged[name]], f"{name}-{d}", trigger="test")
    for d in days:
        got = importers["together"].warehouse.read(raw_table(source), d, d).drop(columns="_batch_id")
        expected = importers["alone"].warehouse.read(raw_table(source), d, d).drop(columns="_batch_id")
        pd.testing.assert_frame_equal(got, expected)
    for importer in importers.values():
        importer.ledger.close()


@pytest.mark.parametrize("data", [
    b"", b"\n", b"a", b"a\n", b"a,b\n1,2\n3,4", b"a,b\r\n1,2\r\n\r\n3,4\r\n", b"\xef\xbb\xbfa\n\n\n1\n",
    b"\n\nheader\nx\n\ny\n", b"abcdef\n" * 9, b"abcdefg\n" * 9 + b"\r", b"\r\n" * 5,
])
def test_a_files_lines_are_found_a_chunk_at_a_time_as_in_one_pass(monkeypatch, data):
    """Line ends are searched a chunk at a time (one reused mask instead of a file-sized one): line
    numbers in rejects must not depend on where a chunk ends. Chunks of 7 bytes put line ends at,
    before and after every chunk boundary of these files; the reference is the whole file at once."""
    from platform_assets.ingestion import readers

    monkeypatch.setattr(readers, "NEWLINE_CHUNK", 7)
    arr = np.frombuffer(data, dtype=np.uint8)
    assert readers.newline_offsets(arr).tolist() == np.flatnonzero(arr == 10).tolist()
    lines = readers.LineIndex(data)
    expected = [i for i, text in enumerate(data.split(b"\n")) if text.rstrip(b"\r")]
    assert lines.nonempty.tolist() == expected
    for i in expected:
        shown = data.split(b"\n")[i].rstrip(b"\r").removeprefix(readers.BOM if i == 0 else b"")
        assert lines.text(i + 1) == shown.decode()


def _read_both_ways(name: str, data: bytes, columns: list[str], monkeypatch) -> bool:
    """Read JSON lines with the Arrow path and with the careful path (json.loads line by line);
    assert they give the same frame, columns and unparsed lines; whether Arrow took the file."""
    from platform_assets.ingestion import readers

    took = readers._read_jsonl_arrow(name, data, columns, readers.LineIndex(data)) is not None
    fast = readers.read_jsonl(name, data, columns)
    with monkeypatch.context() as m:
        m.setattr(readers, "_read_jsonl_arrow", lambda *a: None)
        careful = readers.read_jsonl(name, data, columns)
    assert fast.columns == careful.columns and fast.unparsed == careful.unparsed, name
    pd.testing.assert_frame_equal(fast.frame, careful.frame, obj=name)
    return took


@pytest.mark.parametrize("source, files", [("app_events", 24), ("orders", 1)])
def test_json_lines_read_by_arrow_are_the_lines_read_one_by_one(landing_default, monkeypatch, source, files):
    """The Arrow path for JSON lines gives the frame, columns and rows the careful path gives, on
    the messy fortnight: app events' 336 hourly files (flat), orders' daily files (their lines
    nested, written back as the JSON text json.dumps gives)."""
    contract = registry.get(source).contract
    compared = took = 0
    for index in range(DAYS):
        folder = landing_default / source / day(index).isoformat()
        for path in sorted(folder.glob("*.jsonl")):
            took += _read_both_ways(path.name, path.read_bytes(), contract.columns, monkeypatch)
            compared += 1
    assert compared == took == DAYS * files


_LINE = {"order_id": "O-1", "customer_id": "C-1", "channel": "web", "ordered_at": "2024-03-04T12:00:00Z",
         "status": "completed", "currency": "USD", "tax_amount": "1.00", "shipping_amount": "0.00"}
_ITEMS = [{"sku": "SKU-1", "quantity": 2, "unit_price": "3.50", "discount_amount": "0.00"},
          {"sku": "SKU-2", "quantity": 1, "unit_price": "10.00", "discount_amount": "1.25"}]


@pytest.mark.parametrize("case, second, arrow", [
    ("compact", json.dumps({**_LINE, "lines": _ITEMS}, separators=(",", ":")), True),
    ("spaces as json.dumps writes by default", json.dumps({**_LINE, "lines": _ITEMS}), False),
    ("keys of an item in another order",
     json.dumps({**_LINE, "lines": [dict(reversed(list(_ITEMS[0].items())))]}, separators=(",", ":")), False),
    ("a key missing", json.dumps({**_LINE, "lines": [{"sku": "SKU-1", "quantity": 2}]}, separators=(",", ":")), False),
    ("a null value", json.dumps({**_LINE, "lines": [{**_ITEMS[0], "sku": None}]}, separators=(",", ":")), False),
    ("a null item", json.dumps({**_LINE, "lines": [None, _ITEMS[0]]}, separators=(",", ":")), False),
    ("a float quantity", json.dumps({**_LINE, "lines": [{**_ITEMS[0], "quantity": 2.0}]}, separators=(",", ":")), False),
    ("non-ASCII as written", json.dumps({**_LINE, "lines": [{**_ITEMS[0], "sku": "Caf\u00e9"}]},
                                        separators=(",", ":"), ensure_ascii=False), False),
    ("escapes", json.dumps({**_LINE, "lines": [{**_ITEMS[0], "sku": 'A "1"\\'}]}, separators=(",", ":")), False),
    ("no lines", json.dumps({**_LINE, "lines": None}, separators=(",", ":")), True),
    ("an empty array", json.dumps({**_LINE, "lines": []}, separators=(",", ":")), True),
    ("an array of numbers", json.dumps({**_LINE, "lines": [1, 2]}, separators=(",", ":")), False),
    ("a string", json.dumps({**_LINE, "lines": "SKU-1 x2"}, separators=(",", ":")), False),
])
def test_nested_json_lines_read_by_arrow_only_when_the_text_is_what_json_dumps_gives(monkeypatch, case, second,
                                                                                      arrow):
    """Orders' nested lines are kept as the JSON text json.dumps gives the parsed array; Arrow reads a
    file only when the text it builds is that text (found as written in each line), and whichever
    path reads it, the frame is the careful path's."""
    first = json.dumps({**_LINE, "lines": _ITEMS}, separators=(",", ":"))
    data = f"{first}\n{second}\n".encode()
    assert _read_both_ways(case, data, registry.get("orders").contract.columns, monkeypatch) is arrow, case


@pytest.mark.parametrize("texts", [
    [json.dumps(_ITEMS, separators=(",", ":")), json.dumps(_ITEMS[:1])],
    [json.dumps(_ITEMS), json.dumps([{**_ITEMS[0], "quantity": 0}])],            # a quantity below 1
    [json.dumps(_ITEMS), json.dumps([{**_ITEMS[0], "unit_price": "x"}])],        # not a decimal
    [json.dumps(_ITEMS), "[]"],                                                   # empty
    [json.dumps(_ITEMS), json.dumps([{"sku": "SKU-1", "quantity": 1}])],         # keys missing
    [json.dumps(_ITEMS), json.dumps([{**_ITEMS[0], "sku": None}])],               # a null value
    [json.dumps(_ITEMS), json.dumps([None])],                                     # a null item
    [json.dumps(_ITEMS), json.dumps([{**_ITEMS[0], "extra": 1.5}])],             # another key, a float
    [json.dumps(_ITEMS), "not json"],
    [json.dumps(_ITEMS), json.dumps(_ITEMS) + ',"w":[1]'],                         # closes the object early
    [json.dumps(_ITEMS), "[\n" + json.dumps(_ITEMS[0]) + "]"],                   # a line break inside
    [json.dumps(_ITEMS), json.dumps({"sku": "SKU-1"})],                          # an object, not an array
    [json.dumps(_ITEMS), json.dumps([{**_ITEMS[0], "sku": 17}])],                # a number as the SKU
], ids=lambda texts: texts[1][:24])
def test_json_arrays_parsed_by_arrow_are_checked_and_staged_as_parsed_one_by_one(texts, monkeypatch):
    """The orders' lines column checked (contract) and flattened (staging) from one Arrow parse gives
    what json.loads row by row gives, whether Arrow can parse the texts or not."""
    from platform_assets.ingestion import contract as contract_module
    from platform_assets.staging import transforms

    check = registry.get("orders").contract.field("lines").validator
    import pyarrow as pa

    # As read from Parquet: Arrow strings in more than one chunk.
    column = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array([texts, texts * 2], pa.string())))
    fast = check(column)
    with monkeypatch.context() as m:
        m.setattr(contract_module, "json_array_items", lambda texts: None)
        careful = check(column)
    pd.testing.assert_series_equal(fast, careful)
    if careful.all():
        staged = transforms.order_line_values(column)
        with monkeypatch.context() as m:
            m.setattr(transforms, "json_array_items", lambda texts: None)
            expected = transforms.order_line_values(column)
        np.testing.assert_array_equal(staged[0], expected[0])
        for key in transforms.ORDER_LINE_KEYS:
            assert pd.Series(staged[1][key]).astype("string").tolist() == \
                pd.Series(expected[1][key]).astype("string").tolist(), key


def test_json_arrays_of_a_clean_day_are_parsed_by_arrow(importer):
    """The Arrow parse is what a clean day's orders take (not the row-by-row fallback)."""
    from platform_assets.ingestion.readers import json_array_items

    importer.import_day("orders", day(0))
    lines = importer.warehouse.read(raw_table("orders"), day(0), day(0))["lines"]
    parsed = json_array_items(lines)
    assert parsed is not None and parsed[0].sum() > len(lines) > 0
    assert parsed[1]["quantity"].tolist() == [str(i["quantity"]) for t in lines for i in json.loads(t)]


def test_a_column_checked_once_per_distinct_value_gets_every_rows_own_verdict(landing_default):
    """Columns with few distinct values are checked once per value (contract.per_distinct): every
    source's every check, warning and business-date rule gives each row of the generator's messy
    days, with odd values and missing ones mixed in, exactly what checking every row gives."""
    from platform_assets.ingestion import contract as C
    from platform_assets.ingestion.readers import read_file

    odd = ["", " ", "abc", None, "1e3", "2024-02-30", "-1", "0.001", "usd"]
    distinct_path = []
    for source in registry.discover():
        contract = registry.get(source).contract
        frames = []
        for index in range(4):
            folder = landing_default / source / day(index).isoformat()
            for path in sorted(folder.iterdir()) if folder.exists() else []:
                if contract.matches(path.name):
                    frames.append(read_file(path.name, path.read_bytes(), contract.format, contract.columns).frame)
        frame = pd.concat(frames, ignore_index=True)
        frame = pd.concat([frame] * (3 * C.DISTINCT_SAMPLE // max(len(frame), 1) + 1), ignore_index=True)
        frame.index = frame.index + 7  # not a default index: verdicts must keep the rows' labels
        for f in contract.fields:
            if f.name not in frame.columns or not isinstance(frame[f.name].dtype, pd.StringDtype):
                continue
            column = frame[f.name].copy()
            column.iloc[::997] = [odd[i % len(odd)] for i in range(len(column.iloc[::997]))]
            calls = []

            def counted(s, fn):
                calls.append(len(s))
                return fn(s)

            for fn in [f.validator, *(v for _, v in f.warnings), *([f.to_date] if f.to_date else [])]:
                calls.clear()
                got = C.per_distinct(lambda s, fn=fn: counted(s, fn))(column)
                pd.testing.assert_series_equal(got, fn(column), check_names=False, obj=f"{source}.{f.name}")
                if calls and calls[0] < len(column):
                    distinct_path.append(f"{source}.{f.name}")
    # the per-value path is taken where it pays: dates of a day, enums, small price lists
    assert {"pos_transactions.business_date", "pos_transactions.quantity", "pos_transactions.region"} <= set(
        distinct_path)
