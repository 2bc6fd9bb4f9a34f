"""A source's day is complete when its ``_manifest.json`` exists and every file agrees with it."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from platform_assets.ingestion.contract import SourceContract

MANIFEST = "_manifest.json"


class IncompleteDay(Exception):
    """The day cannot be loaded yet (or as delivered): nothing is loaded."""


@dataclass(frozen=True)
class ManifestFile:
    name: str
    rows: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    source: str
    business_date: dt.date
    exported_at: dt.datetime
    files: tuple[ManifestFile, ...]

    @property
    def fingerprint(self) -> str:
        """What identifies this delivery's content: the files' names and checksums."""
        key = json.dumps(sorted((f.name, f.sha256) for f in self.files))
        return hashlib.sha256(key.encode()).hexdigest()


def day_folder(landing: Path, source: str, day: dt.date) -> Path:
    return Path(landing) / source / day.isoformat()


def read_manifest(folder: Path, contract: SourceContract, day: dt.date) -> Manifest:
    label = f"{contract.name} {day}"
    path = folder / MANIFEST
    if not path.exists():
        raise IncompleteDay(f"{label}: no {MANIFEST} in {folder}; the export is not complete yet, nothing loaded")
    try:
        raw = json.loads(path.read_text(encoding="utf-8-sig"))
        files = tuple(ManifestFile(str(f["name"]), int(f["rows"]), str(f["sha256"]).lower()) for f in raw["files"])
        exported_at = dt.datetime.fromisoformat(str(raw["exported_at"]).replace("Z", "+00:00"))
        manifest = Manifest(str(raw["source"]), dt.date.fromisoformat(raw["business_date"]), exported_at, files)
    except (ValueError, KeyError, TypeError) as exc:
        raise IncompleteDay(f"{label}: {path} is not a valid manifest ({exc!r}); expected "
                            '{"source", "business_date", "exported_at", "files": [{"name", "rows", "sha256"}]}') from exc
    if manifest.source != contract.name or manifest.business_date != day:
        raise IncompleteDay(f"{label}: {path} describes {manifest.source} {manifest.business_date}; "
                            f"expected {contract.name} {day}")
    return manifest


def count_rows(data: bytes, fmt: str) -> int | None:
    """Data rows in a file, as the manifest counts them (None if it cannot be told)."""
    if fmt == "json":
        try:
            value = json.loads(data.decode("utf-8-sig"))
        except ValueError:
            return None
        return len(value) if isinstance(value, list) else None
    lines = [line for line in data.split(b"\n") if line.strip(b"\r\t ")]
    return max(len(lines) - (1 if fmt == "csv" else 0), 0)


@dataclass(frozen=True)
class VerifiedFile:
    name: str
    path: Path
    data: bytes
    rows: int
    sha256: str

    def as_record(self) -> dict:
        return {"name": self.name, "sha256": self.sha256, "rows": self.rows, "bytes": len(self.data)}


def verify(folder: Path, manifest: Manifest, contract: SourceContract) -> list[VerifiedFile]:
    """Every listed file present with the promised checksum and row count, else IncompleteDay."""
    check_listing(manifest, contract)
    return [verify_file(folder, manifest, f, contract) for f in manifest.files]


def check_listing(manifest: Manifest, contract: SourceContract) -> None:
    """The manifest lists every required file and nothing the contract does not expect."""
    label = f"{contract.name} {manifest.business_date}"
    listed = {f.name for f in manifest.files}
    if not listed:  # a day without rows is still a file with its header
        raise IncompleteDay(f"{label}: the manifest lists no files; nothing loaded")
    missing_required = [name for name in contract.required_files if name not in listed]
    if missing_required:
        raise IncompleteDay(f"{label}: the manifest does not list required file(s) {', '.join(missing_required)}; "
                            "nothing loaded")
    unexpected = [f.name for f in manifest.files if not contract.matches(f.name)]
    if unexpected:
        raise IncompleteDay(f"{label}: the manifest lists file(s) {', '.join(unexpected)} that do not match "
                            f"the contract's pattern {contract.files!r}; nothing loaded")


def verify_file(folder: Path, manifest: Manifest, f: ManifestFile, contract: SourceContract) -> VerifiedFile:
    """One listed file, present with the promised checksum and row count, else IncompleteDay."""
    label = f"{contract.name} {manifest.business_date}"
    path = folder / f.name
    if not path.exists():
        raise IncompleteDay(f"{label}: {f.name} is listed in the manifest but missing from {folder}; nothing loaded")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != f.sha256:
        found = count_rows(data, contract.format)
        found_text = "an unreadable file" if found is None else f"{found:,} rows"
        truncated = " (truncated?)" if found is not None and found < f.rows else ""
        raise IncompleteDay(
            f"{label}: {f.name} is incomplete{truncated}: the manifest expects {f.rows:,} rows "
            f"(sha256 {f.sha256[:12]}…), found {found_text} (sha256 {digest[:12]}…, {len(data):,} bytes); "
            "nothing loaded")
    return VerifiedFile(f.name, path, data, f.rows, digest)
