"""Sample data that looks like production: every source of the brief, mess included.

``generate()`` writes, per source and business date, the files and their ``_manifest.json``
into ``<landing>/<source>/<YYYY-MM-DD>/``, and appends to ``<landing>/_arrivals.csv`` when each
delivery would have arrived. Deliveries that were later replaced (a truncated file, a renamed
column) are kept under ``<landing>/_superseded/`` so replay can re-enact the morning. The defect
schedule is in ``mess.py`` and documented in docs/sample-data.md.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from platform_assets.generator import days as D
from platform_assets.generator.mess import PLANS
from platform_assets.generator.world import SCALES, World, rng

NY = D.NY

# source -> (builder, usual arrival as hours after midnight following the business date, jitter minutes)
# Money sources come before gl_entries: the ledger export is built from their truth.
SOURCES: dict[str, tuple[Callable[[D.Day], list[D.GeneratedFile]], float, int]] = {
    "fx_rates": (D.build_fx, 0.33, 10),
    "products": (D.build_products, 0.6, 10),
    "customers": (D.build_customers, 1.1, 15),
    "orders": (D.build_orders, 1.4, 15),
    "refunds": (D.build_refunds, 1.6, 15),
    "app_events": (D.build_app_events, 1.9, 20),
    "experiment_assignments": (D.build_experiment_assignments, 2.4, 15),
    "tiktok_ads": (D.build_tiktok_ads, 3.0, 40),
    "pinterest_ads": (D.build_pinterest_ads, 3.2, 40),
    "klaviyo": (D.build_klaviyo, 3.5, 30),
    "attentive": (D.build_attentive, 3.7, 30),
    "yotpo": (D.build_yotpo, 3.9, 30),
    "pos_transactions": (D.build_pos, 5.1, 40),
    "gl_entries": (D.build_gl_entries, 5.6, 10),
}
ARRIVALS_FILE = "_arrivals.csv"
ARRIVALS_COLUMNS = ("source", "business_date", "delivery", "arrives_at", "kind", "path", "note")


@dataclass
class Delivery:
    files: list[D.GeneratedFile]
    arrives_at: dt.datetime
    kind: str = "initial"        # initial | redelivery | resend
    note: str = ""
    superseded: bool = False
    manifest_files: list[D.GeneratedFile] | None = None  # what the manifest promises, if different
    exported_at: dt.datetime | None = None                # a re-sent old export keeps its original time


def _arrival(d: D.Day, source: str, hours: float, jitter: int, index: int) -> dt.datetime:
    r = rng(d.seed, d.day, "arrivals", index)
    nxt = d.day + dt.timedelta(days=1)
    base = dt.datetime(nxt.year, nxt.month, nxt.day, tzinfo=NY) + dt.timedelta(hours=hours)
    return base + dt.timedelta(minutes=int(r.integers(0, jitter + 1)), seconds=int(r.integers(0, 60)))


def _at(d: D.Day, hh: int, mm_low: int, mm_high: int, index: int) -> dt.datetime:
    r = rng(d.seed, d.day, "arrivals", 100 + index)
    nxt = d.day + dt.timedelta(days=1)
    return dt.datetime(nxt.year, nxt.month, nxt.day, hh, int(r.integers(mm_low, mm_high + 1)),
                       int(r.integers(0, 60)), tzinfo=NY)


def deliveries_for(d: D.Day, source: str, index: int) -> list[Delivery]:
    builder, hours, jitter = SOURCES[source]
    plan = d.plan
    when = _arrival(d, source, hours, jitter, index)
    if source == "pos_transactions":
        files = builder(d)
        if d.on(plan.late_pos_days):
            return [Delivery(files, _at(d, 7, 20, 55, index), note="late POS export")]
        if d.on(plan.truncated_pos_days):
            cut = []
            for f in files:
                if f.name == "pos_APAC.csv":
                    # The transfer stopped part-way through a row.
                    f = D.GeneratedFile(f.name, f.data[: int(len(f.data) * 0.6)], f.rows)
                cut.append(f)
            return [
                Delivery(cut, when, note="pos_APAC.csv truncated in transfer", superseded=True,
                         manifest_files=files),
                Delivery(files, _at(d, 6, 35, 50, index), kind="redelivery", note="complete re-delivery"),
            ]
        return [Delivery(files, when)]
    if source == "refunds":
        if d.on(plan.renamed_column_days):
            broken = D.build_refunds(d, renamed=True)
            files = builder(d)
            return [
                Delivery(broken, when, note="column amount renamed to refund_amount", superseded=True),
                Delivery(files, when + dt.timedelta(hours=2, minutes=20), kind="redelivery",
                         note="export fixed upstream"),
            ]
        files = builder(d)
        if d.on(plan.resent_file_days):
            return [Delivery(files, when),
                    Delivery(files, when + dt.timedelta(minutes=45), kind="resend", note="same files sent again")]
        return [Delivery(files, when)]
    if source == "products" and d.on(plan.stale_products_days):
        as_of = D.products_snapshot_day(d)
        original = _arrival(d.at(as_of), source, hours, jitter, index) - dt.timedelta(minutes=2)
        return [Delivery(builder(d), when, note=f"stale snapshot re-sent (exported {as_of})", exported_at=original)]
    return [Delivery(builder(d), when)]


def _manifest(source: str, day: dt.date, exported_at: dt.datetime, files: list[D.GeneratedFile]) -> bytes:
    return json.dumps({
        "source": source,
        "business_date": day.isoformat(),
        "exported_at": exported_at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "files": [{"name": f.name, "rows": f.rows, "sha256": hashlib.sha256(f.data).hexdigest()} for f in files],
    }, indent=2).encode()


def write_delivery(folder: Path, source: str, day: dt.date, delivery: Delivery, exported_at: dt.datetime) -> None:
    """Data files first, the manifest last: a manifest means the day is complete."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for f in delivery.files:
        (folder / f.name).write_bytes(f.data)
    manifest = _manifest(source, day, exported_at, delivery.manifest_files or delivery.files)
    tmp = folder / "._manifest.json.tmp"
    tmp.write_bytes(manifest)
    os.replace(tmp, folder / "_manifest.json")


@dataclass
class Summary:
    landing: Path
    days: list[dt.date]
    files: int
    bytes: int
    rows: dict[str, int]


def generate(landing: Path, start: dt.date, days: int, scale: str = "small", seed: int = 7,
             mess: str = "default", sources: list[str] | None = None) -> Summary:
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {sorted(SCALES)}, got {scale!r}")
    if mess not in PLANS:
        raise ValueError(f"mess must be one of {sorted(PLANS)}, got {mess!r}")
    wanted = list(SOURCES) if sources is None else sources
    unknown = set(wanted) - set(SOURCES)
    if unknown:
        raise ValueError(f"unknown sources {sorted(unknown)}; known: {sorted(SOURCES)}")
    if "gl_entries" in wanted:  # the ledger needs the truth of every money source
        wanted = list(SOURCES)
    landing = Path(landing)
    world, plan = World(seed, SCALES[scale]), PLANS[mess]
    arrivals: list[dict] = []
    total_files = total_bytes = 0
    rows: dict[str, int] = {}
    generated_days = [start + dt.timedelta(days=i) for i in range(days)]
    for i, day in enumerate(generated_days):
        d = D.Day(world, plan, day, i, start)
        for index, source in enumerate(SOURCES):
            if source not in wanted:
                continue
            deliveries = deliveries_for(d, source, index)
            for n, delivery in enumerate(deliveries, start=1):
                exported_at = delivery.exported_at or delivery.arrives_at - dt.timedelta(minutes=2)
                if delivery.superseded:
                    rel = Path("_superseded") / source / day.isoformat() / f"delivery-{n}"
                else:
                    rel = Path(source) / day.isoformat()
                if delivery.kind != "resend" or delivery.superseded:
                    write_delivery(landing / rel, source, day, delivery, exported_at)
                arrivals.append({
                    "source": source, "business_date": day.isoformat(), "delivery": n,
                    "arrives_at": delivery.arrives_at.isoformat(), "kind": delivery.kind,
                    "path": rel.as_posix(), "note": delivery.note,
                })
            final = deliveries[-1]
            total_files += len(final.files)
            total_bytes += sum(len(f.data) for f in final.files)
            rows[source] = rows.get(source, 0) + sum(f.rows for f in final.files)
    _write_arrivals(landing, arrivals, {d.isoformat() for d in generated_days})
    return Summary(landing, generated_days, total_files, total_bytes, rows)


def _write_arrivals(landing: Path, new_rows: list[dict], days: set[str]) -> None:
    path = landing / ARRIVALS_FILE
    kept: list[dict] = []
    if path.exists():
        with path.open(newline="") as fh:
            kept = [row for row in csv.DictReader(fh) if row["business_date"] not in days]
    rows = sorted(kept + new_rows, key=lambda r: (r["arrives_at"], r["source"], int(r["delivery"])))
    landing.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=ARRIVALS_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


def read_arrivals(landing: Path) -> list[dict]:
    path = Path(landing) / ARRIVALS_FILE
    if not path.exists():
        return []
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))
