"""Arrivals: which deliveries in the landing zone are complete, and what a run can do with them.

``scan`` finds day folders whose manifest is present and whose files agree with it (the same
verification the import does, so a run is only started for a day the import will accept).
``plan`` decides what one run for a business date includes: the raw imports of the sources
arriving now, every asset downstream of them whose raw inputs are all published (or arriving in
this run), and the standalone checks whose inputs are ready. Anything whose inputs are still
missing waits; the automation condition picks it up once they land.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from platform_assets.ingestion import registry
from platform_assets.ingestion.ledger import Ledger
from platform_assets.ingestion.manifest import MANIFEST, IncompleteDay, read_manifest, verify
from platform_assets.keys import raw_key


@dataclass(frozen=True)
class Delivery:
    source: str
    business_date: dt.date
    folder: Path
    signature: str           # changes when the delivery changes (manifest content)
    fingerprint: str | None  # the files' checksums (None if incomplete)
    exported_at: dt.datetime | None
    seen_at: dt.datetime
    problem: str | None = None

    @property
    def complete(self) -> bool:
        return self.problem is None


def scan(landing: Path, dates: list[dt.date], known: dict[str, str] | None = None,
         now: dt.datetime | None = None) -> list[Delivery]:
    """Deliveries with a manifest for ``dates``; those whose signature is in ``known`` are skipped
    (already handled), so the files of an unchanged day are not hashed again."""
    now = now or dt.datetime.now(dt.timezone.utc)
    out = []
    for name, source in registry.discover().items():
        for day in dates:
            folder = Path(landing) / name / day.isoformat()
            manifest_path = folder / MANIFEST
            if not manifest_path.exists():
                continue
            signature = hashlib.sha256(manifest_path.read_bytes()).hexdigest()[:24]
            if known is not None and known.get(f"{name}/{day}") == signature:
                continue
            try:
                manifest = read_manifest(folder, source.contract, day)
                verify(folder, manifest, source.contract)
                out.append(Delivery(name, day, folder, signature, manifest.fingerprint, manifest.exported_at, now))
            except IncompleteDay as exc:
                out.append(Delivery(name, day, folder, signature, None, None, now, problem=str(exc)))
    return out


@dataclass(frozen=True)
class Plan:
    business_date: dt.date
    sources: tuple[str, ...]
    assets: tuple[dg.AssetKey, ...]
    checks: tuple[dg.AssetCheckKey, ...]
    waiting: tuple[dg.AssetKey, ...]  # downstream assets left for later (inputs not ready)

    def run_key(self, fingerprints: dict[str, str]) -> str:
        key = ",".join(f"{s}:{fingerprints.get(s, '')[:12]}" for s in self.sources)
        return f"arrival:{self.business_date}:{key}"


class Planner:
    def __init__(self, graph: dg.AssetGraph | None = None, defs: dg.Definitions | None = None):
        from platform_assets.definitions import build_definitions

        self.defs = defs or build_definitions()
        self.graph = graph or self.defs.resolve_asset_graph()
        self.raw_keys = {raw_key(s) for s in registry.discover()}
        self._raw_inputs: dict[dg.AssetKey, set[dg.AssetKey]] = {}

    def raw_inputs(self, key: dg.AssetKey) -> set[dg.AssetKey]:
        """The raw assets an asset is built from (its raw ancestors, itself if raw)."""
        if key not in self._raw_inputs:
            upstream = dg.AssetSelection.assets(key).upstream().resolve(self.graph)
            self._raw_inputs[key] = (upstream | {key}) & self.raw_keys
        return self._raw_inputs[key]

    def standalone_checks(self) -> list[dg.AssetCheckKey]:
        """Checks that are their own step (not evaluated inside an asset's op)."""
        if not hasattr(self, "_standalone"):
            self._standalone = [k for k in self.graph.asset_check_keys if not self.graph.assets_def_for_key(k).keys]
        return self._standalone

    def plan(self, business_date: dt.date, arriving: list[str], published: set[str]) -> Plan:
        ready = {raw_key(s) for s in set(arriving) | set(published)}
        arriving_keys = {raw_key(s) for s in arriving}
        downstream = dg.AssetSelection.assets(*arriving_keys).downstream().resolve(self.graph)
        selected, waiting = set(arriving_keys), set()
        for key in downstream - arriving_keys:
            (selected if self.raw_inputs(key) <= ready else waiting).add(key)
        standalone = set(self.standalone_checks())
        checks = set()
        for key in selected:  # checks evaluated inside the selected assets' ops
            checks |= set(self.graph.get(key).check_keys) - standalone
        # Standalone checks (their own op) whose inputs are ready join the run when one of their
        # inputs is in it, e.g. the ledger reconciliation once both the close and the ledger exist.
        for check_key in standalone:
            inputs = {check_key.asset_key, *(k for k in self.graph.get(check_key).parent_entity_keys
                                             if isinstance(k, dg.AssetKey))}
            if not inputs & selected:
                continue
            if all(self.raw_inputs(k) <= ready for k in inputs):
                checks.add(check_key)
        return Plan(business_date, tuple(sorted(arriving)), tuple(sorted(selected, key=str)),
                    tuple(sorted(checks, key=str)), tuple(sorted(waiting, key=str)))


def published_sources(ledger: Ledger, business_date: dt.date) -> set[str]:
    return {s for s in registry.discover() if ledger.published(s, business_date) is not None}
