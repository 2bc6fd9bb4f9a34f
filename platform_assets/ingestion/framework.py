"""The ingestion framework: import one (source, business date) as a tracked batch.

``Importer.import_day`` is the only way rows enter the raw layer:

1. read the manifest; refuse the day if it is missing or a file disagrees with it;
2. if the same files (and contract version) are already published, record a no-op;
3. parse every file into strings exactly as received, detect schema drift;
4. validate rows against the contract; rejected rows keep the raw record and the reason;
5. fail the whole batch (nothing published) on breaking drift or a reject rate over the
   source's threshold; otherwise replace the raw partition atomically and record the batch.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from platform_assets.ingestion import registry
from platform_assets.ingestion.ledger import Batch, Ledger, Reject
from platform_assets.ingestion.manifest import IncompleteDay, day_folder, read_manifest, verify
from platform_assets.ingestion.readers import STRING, ParsedFile, read_file, record_text
from platform_assets.ingestion.validation import Drift, detect_drift, flag_values, validate_rows
from platform_assets.partitions import PARTITION_COLUMN
from platform_assets.storage.warehouse import Table, Warehouse

LINEAGE_COLUMNS = ("_batch_id", "_file", "_row", "_line", "_extra")


def raw_table(source: str) -> Table:
    return Table("raw", f"raw_{source}")


@dataclass
class ImportResult:
    batch: Batch
    previous: Batch | None
    rejects: list[Reject] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.batch.status

    @property
    def failed(self) -> bool:
        return self.batch.status == "failed"

    @property
    def noop(self) -> bool:
        return self.batch.status == "noop"

    @property
    def published_batch(self) -> Batch | None:
        """The batch whose rows are in the warehouse after this import."""
        if self.batch.status in ("succeeded", "partially_succeeded"):
            return self.batch
        return self.previous

    def summary(self) -> str:
        b = self.batch
        head = f"{b.source} {b.business_date} batch {b.batch_id[:12]}: {b.status}"
        if b.status == "noop":
            return f"{head} ({b.message})"
        counts = (f"{b.rows_read:,} read, {b.rows_loaded:,} loaded, {b.rows_rejected:,} rejected"
                  f" ({b.reject_rate:.2%})")
        return f"{head}; {counts}" + (f"; {b.message}" if b.message else "")


class ImportFailed(Exception):
    def __init__(self, result: ImportResult):
        super().__init__(result.batch.message or result.summary())
        self.result = result


class Importer:
    def __init__(self, landing: Path, warehouse: Warehouse, ledger: Ledger):
        self.landing = Path(landing)
        self.warehouse = warehouse
        self.ledger = ledger

    def import_day(self, source: str, business_date: dt.date, *, trigger: str = "cli",
                   force: bool = False) -> ImportResult:
        contract = registry.get(source).contract
        previous = self.ledger.published(source, business_date)
        batch = self.ledger.start(source, business_date, trigger)
        batch.contract_version = contract.version
        batch.replaces_batch_id = previous.batch_id if previous else None
        try:
            return self._run(contract, batch, previous, force)
        except IncompleteDay as exc:
            batch.status, batch.message = "failed", str(exc)
            batch.findings = {"failure": "incomplete_delivery"}
            self.ledger.finish(batch)
            return ImportResult(batch, previous)
        except Exception as exc:
            batch.status, batch.message = "failed", f"unexpected error: {exc!r}"
            self.ledger.finish(batch)
            raise

    def _run(self, contract, batch: Batch, previous: Batch | None, force: bool) -> ImportResult:
        day = batch.business_date
        folder = day_folder(self.landing, contract.name, day)
        manifest = read_manifest(folder, contract, day)
        batch.manifest_exported_at = manifest.exported_at
        batch.fingerprint = manifest.fingerprint
        batch.files = [{"name": f.name, "sha256": f.sha256, "rows": f.rows} for f in manifest.files]
        if (not force and previous is not None and previous.fingerprint == manifest.fingerprint
                and previous.contract_version == contract.version
                and day in self.warehouse.row_counts(raw_table(contract.name), day, day)):
            batch.status = "noop"
            batch.message = f"same files as published batch {previous.batch_id[:12]}; nothing to do"
            if previous.manifest_exported_at and manifest.exported_at != previous.manifest_exported_at:
                # Same content, a newer export: upstream sent the day again.
                batch.findings = {"resent_of": previous.batch_id,
                                  "first_exported_at": previous.manifest_exported_at.isoformat(),
                                  "resent_exported_at": manifest.exported_at.isoformat()}
                batch.message += f" (re-sent: exported again at {manifest.exported_at:%Y-%m-%d %H:%M} UTC)"
            self.ledger.finish(batch)
            return ImportResult(batch, previous)

        files = verify(folder, manifest, contract)
        batch.files = [f.as_record() for f in files]
        parsed = [read_file(f.name, f.data, contract.format, contract.columns) for f in files]
        drift = detect_drift(contract, {p.name: p.columns for p in parsed}, {p.name: p.rows_read for p in parsed})

        frames, rejects = [], []
        for p in parsed:
            for u in p.unparsed:
                rejects.append(Reject(p.name, u.row_number, u.line_number, "", u.reason, u.record))
            frame = p.frame.copy()
            frame["_file"] = p.name
            frames.append(frame)
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        batch.rows_read = sum(p.rows_read for p in parsed)

        checked = validate_rows(contract, frame, day) if len(frame) else None
        if checked is not None:
            drift.retyped = checked.retyped
            by_name = {p.name: p for p in parsed}
            for pos, reasons in checked.reasons.items():
                row = frame.iloc[pos]
                rejects.append(Reject(str(row["_file"]), int(row["_row"]), int(row["_line"]) or None,
                                      ",".join(dict.fromkeys(checked.columns[pos])), "; ".join(reasons),
                                      record_text(by_name[row["_file"]], row)))
        batch.drift = drift.as_dict()
        batch.rows_rejected = len(rejects)
        batch.rows_loaded = batch.rows_read - batch.rows_rejected

        label = f"{contract.name} {day}"
        if drift.breaking:
            batch.rows_loaded = 0
            batch.findings = {"failure": "schema_drift"}
            return self._fail(batch, previous, rejects, f"{label}: schema drift: {drift.describe()}; nothing published")
        if batch.rows_read and batch.reject_rate > contract.max_reject_rate:
            batch.findings = {"failure": "reject_rate"}
            top = "; ".join(f"{n:,} × {why}" for why, n in list(_reason_counts(rejects).items())[:3])
            batch.rows_loaded = 0
            return self._fail(batch, previous, rejects, (
                f"{label}: {batch.rows_rejected:,} of {batch.rows_read:,} rows rejected ({batch.reject_rate:.2%}), "
                f"over the source's threshold of {contract.max_reject_rate:.2%} ({top}); nothing published"))

        valid = frame[checked.valid] if checked is not None else frame
        batch.findings = flag_values(contract, valid)
        raw = build_raw_frame(contract.columns, valid, drift, batch.batch_id, day)
        self.warehouse.replace(raw_table(contract.name), raw, [day])
        batch.status = "partially_succeeded" if rejects else "succeeded"
        notes = []
        if rejects:
            top = "; ".join(f"{n:,} × {why}" for why, n in list(_reason_counts(rejects).items())[:3])
            notes.append(f"rejected: {top}")
        if drift.added:
            notes.append(f"schema drift (warning): {drift.describe()}")
        batch.message = "; ".join(notes) or None
        self.ledger.finish(batch, rejects, publish=True)
        return ImportResult(batch, previous, rejects)

    def _fail(self, batch: Batch, previous: Batch | None, rejects: list[Reject], message: str) -> ImportResult:
        batch.status, batch.message = "failed", message
        self.ledger.finish(batch, rejects)
        return ImportResult(batch, previous, rejects)


def _reason_counts(rejects: list[Reject]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in rejects:
        kind = "; ".join(part.split(", found")[0] for part in r.reason.split("; "))
        counts[kind] = counts.get(kind, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def build_raw_frame(columns: list[str], valid: pd.DataFrame, drift: Drift, batch_id: str,
                    day: dt.date) -> pd.DataFrame:
    """Contract columns as received, added columns kept as JSON in ``_extra``, and lineage."""
    n = len(valid)
    raw = pd.DataFrame({c: (valid[c] if c in valid.columns else pd.Series([None] * n, dtype=STRING))
                        .reset_index(drop=True).astype(STRING) for c in columns})
    raw["_batch_id"] = pd.Series([batch_id] * n, dtype=STRING)
    raw["_file"] = valid["_file"].reset_index(drop=True).astype(STRING)
    raw["_row"] = valid["_row"].to_numpy(dtype=np.int32)
    raw["_line"] = valid["_line"].to_numpy(dtype=np.int32)
    raw["_extra"] = _extra_json(valid.reset_index(drop=True), drift.added) if drift.added else \
        pd.Series([None] * n, dtype=STRING)
    raw[PARTITION_COLUMN] = pd.Timestamp(day)
    return raw


def _extra_json(frame: pd.DataFrame, added: list[str]) -> pd.Series:
    """{"column": value, ...} per row for columns the contract does not declare (vectorized)."""
    parts: list = []
    for i, name in enumerate(added):
        values = pa.array(frame[name].astype(STRING).to_numpy(na_value=None) if name in frame else [None] * len(frame),
                          pa.string())
        escaped = pc.replace_substring(pc.replace_substring(values, "\\", "\\\\"), '"', '\\"')
        quoted = pc.binary_join_element_wise('"', escaped, '"', "")
        value = pc.fill_null(quoted, "null")
        parts.extend([pa.scalar(("{" if i == 0 else ",") + json.dumps(name) + ":"), value])
    parts.append(pa.scalar("}"))
    joined = pc.binary_join_element_wise(*parts, "")
    return pd.Series(joined.to_pandas(types_mapper=lambda t: STRING), dtype=STRING)


@dataclass
class Change:
    """What a re-import changed compared with the batch it replaced."""

    before: Batch | None
    after: Batch
    files: list[str]
    reasons_before: dict[str, int]
    reasons_after: dict[str, int]

    def lines(self) -> list[str]:
        b, a = self.before, self.after
        if b is None:
            return [f"first import of {a.source} {a.business_date}: {a.rows_loaded:,} rows loaded"]
        out = [f"replaces batch {b.batch_id[:12]} ({b.status}, {b.finished_at:%Y-%m-%d %H:%M} UTC)"]
        out.extend(self.files or ["files: unchanged (same checksums)"])
        for label, x, y in (("rows read", b.rows_read, a.rows_read), ("rows loaded", b.rows_loaded, a.rows_loaded),
                            ("rows rejected", b.rows_rejected, a.rows_rejected)):
            delta = y - x
            out.append(f"{label}: {x:,} -> {y:,}" + (f" ({delta:+,})" if delta else " (unchanged)"))
        for reason in dict.fromkeys(list(self.reasons_before) + list(self.reasons_after)):
            x, y = self.reasons_before.get(reason, 0), self.reasons_after.get(reason, 0)
            if x != y:
                out.append(f"rejects '{reason}': {x:,} -> {y:,}")
        if b.drift != a.drift:
            out.append(f"schema drift: {b.drift or 'none'} -> {a.drift or 'none'}")
        return out


def describe_change(ledger: Ledger, before: Batch | None, after: Batch) -> Change:
    files = []
    if before is not None:
        old = {f["name"]: f for f in before.files}
        new = {f["name"]: f for f in after.files}
        for name in sorted(set(old) | set(new)):
            if name not in old:
                files.append(f"file {name}: new ({new[name].get('rows', '?'):,} rows)")
            elif name not in new:
                files.append(f"file {name}: no longer delivered")
            elif old[name]["sha256"] != new[name]["sha256"]:
                files.append(f"file {name}: changed ({old[name].get('rows', 0):,} -> {new[name].get('rows', 0):,} rows)")
    return Change(before, after, files,
                  ledger.reject_reasons(before.batch_id) if before else {}, ledger.reject_reasons(after.batch_id))


def reprocess(importer: Importer, source: str, business_date: dt.date, trigger: str = "cli:reprocess"
              ) -> tuple[ImportResult, Change]:
    """Re-import a day from the landing zone even if its files are unchanged, and say what changed."""
    result = importer.import_day(source, business_date, trigger=trigger, force=True)
    return result, describe_change(importer.ledger, result.previous, result.batch)
