"""Validate a partition, publish it only if no blocking check failed, and report the results.

This is the circuit breaker: a partition whose blocking ERROR check fails is not written (the
previous version stays), its check results are reported, and Dagster fails the step, so every
asset downstream of that partition is skipped in the run and stays unmaterialized.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import dagster as dg
import pandas as pd

from platform_assets.quality.checks import ERROR, CheckContext, DatasetContract
from platform_assets.storage.warehouse import Table

_RANK = {dg.AssetCheckSeverity.WARN: 0, ERROR: 1}


class Publisher:
    def __init__(self, contract: DatasetContract, platform: Any, table: Table, log: Any = None):
        self.contract = contract
        self.platform = platform
        self.table = table
        self.log = log
        self.results_by_day: dict[dt.date, list[dg.AssetCheckResult]] = {}
        self.written: list[dt.date] = []
        self.blocked: dict[dt.date, list[str]] = {}

    def publish(self, frame: pd.DataFrame, day: dt.date, stats: dict[str, Any] | None = None) -> bool:
        results, blockers = self.contract.results(CheckContext(frame, day, self.platform, stats or {}))
        self.results_by_day[day] = results
        if blockers:
            self.blocked[day] = blockers
            if self.log:
                failing = "; ".join(r.description or "" for r in results if r.check_name in blockers)
                self.log.error(f"{self.contract.key.to_user_string()} {day} NOT published: blocking check(s) "
                               f"{', '.join(blockers)} failed: {failing}")
            return False
        self.platform.warehouse().replace(self.table, frame, [day])
        self.written.append(day)
        return True

    def check_results(self) -> list[dg.AssetCheckResult]:
        """One result per check: as is for one date; for a range, failed if any date failed."""
        days = sorted(self.results_by_day)
        if len(days) == 1:
            return self.results_by_day[days[0]]
        merged = []
        for name in [r.check_name for r in self.results_by_day[days[0]]]:
            per_day = {d: next(r for r in self.results_by_day[d] if r.check_name == name) for d in days}
            failed = [d for d, r in per_day.items() if not r.passed]
            worst = max((per_day[d] for d in failed), key=lambda r: _RANK[r.severity], default=per_day[days[-1]])
            description = (f"failed on {len(failed)} of {len(days)} dates ({', '.join(map(str, failed[:5]))}): "
                           f"{worst.description}") if failed else f"passed on all {len(days)} dates"
            merged.append(dg.AssetCheckResult(
                asset_key=self.contract.key, check_name=name, passed=not failed, severity=worst.severity,
                description=description,
                metadata={**worst.metadata, "dates_checked": len(days), "dates_failed": len(failed)}))
        return merged

    def outputs(self, metadata: dict[str, Any]) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        from platform_assets.conventions import plain_metadata

        results = self.check_results()
        if self.written:
            yield dg.MaterializeResult(asset_key=self.contract.key, metadata=plain_metadata(metadata),
                                       check_results=results)
        else:
            # Nothing published: report the checks; Dagster fails the step on the blocking failure.
            yield from results
