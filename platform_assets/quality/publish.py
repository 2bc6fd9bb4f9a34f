"""Validate a partition, publish it only if no blocking check failed, and report the results.

This is the circuit breaker: a partition whose blocking ERROR check fails is not written (the
previous version stays), its check results are reported, and Dagster fails the step, so every
asset downstream of that partition is skipped in the run and stays unmaterialized.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import dagster as dg
import pandas as pd

from platform_assets.quality.checks import CheckContext, DatasetContract, SchemaCount
from platform_assets.storage.warehouse import Table


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
        return self._decide(day, results, blockers, lambda: self.platform.warehouse().replace(self.table, frame, [day]))

    def publish_parts(self, day: dt.date, counts: list[SchemaCount], rows: int, stats: dict[str, Any],
                      write: Callable[[], object], discard: Callable[[], object]) -> bool:
        """Publish a partition whose parts were validated (``counts``, added up) and staged by
        steps of their own: the checks judge the whole partition, then ``write`` makes the staged
        parts the partition, or ``discard`` drops them."""
        results, blockers = self.contract.results(CheckContext(None, day, self.platform, stats, rows=rows), counts)
        return self._decide(day, results, blockers, write, discard)

    def _decide(self, day: dt.date, results: list[dg.AssetCheckResult], blockers: list[str],
                write: Callable[[], object], discard: Callable[[], object] = lambda: None) -> bool:
        self.results_by_day[day] = results
        if blockers:
            self.blocked[day] = blockers
            discard()
            if self.log:
                failing = "; ".join(r.description or "" for r in results if r.check_name in blockers)
                self.log.error(f"{self.contract.key.to_user_string()} {day} NOT published: blocking check(s) "
                               f"{', '.join(blockers)} failed: {failing}")
            return False
        write()
        self.written.append(day)
        return True

    def outputs(self, metadata: dict[str, Any], output: str | None = None) -> Iterator[Any]:
        """The materialization and check results of the run's dates. One date: as Dagster ties them
        to the run's partition. A range (a backfill run): every date's results recorded against its
        own partition, and only the dates actually published recorded as materialized.
        ``output``: the asset's output when this is an op of a graph-backed asset."""
        from platform_assets.conventions import plain_metadata

        days = sorted(self.results_by_day)
        if len(days) == 1:
            results = self.results_by_day[days[0]]
            if self.written and output:
                yield dg.Output(None, output, metadata=plain_metadata(metadata))
                yield from results
            elif self.written:
                yield dg.MaterializeResult(asset_key=self.contract.key, metadata=plain_metadata(metadata),
                                           check_results=results)
            else:
                # Nothing published: report the checks; Dagster fails the step on the blocking failure.
                yield from results
                if output:  # an op's results are not tied to blocking specs: fail it here
                    raise dg.Failure(self._blocked_message(), allow_retries=False)
            return
        if not self.blocked:
            if output:
                yield dg.Output(None, output, metadata=plain_metadata(metadata))
            else:
                yield dg.MaterializeResult(asset_key=self.contract.key, metadata=plain_metadata(metadata))
        else:
            # The asset's output stays unset, so nothing downstream runs on this range.
            for day in self.written:
                yield dg.AssetMaterialization(asset_key=self.contract.key, partition=day.isoformat(),
                                              metadata=plain_metadata(metadata))
        blocking = {spec.name: spec.blocking for spec in self.contract.specs()}
        yield from per_partition_checks(self.results_by_day, blocking)

    def _blocked_message(self) -> str:
        return "; ".join(f"{self.contract.key.to_user_string()} {day} not published: blocking check(s) "
                         f"{', '.join(names)} failed" for day, names in sorted(self.blocked.items()))


def per_partition_checks(results_by_day: dict[dt.date, list[dg.AssetCheckResult]], blocking: dict[str, bool],
                         output_name: str | None = None) -> Iterator[Any]:
    """Check results of a range run, one evaluation per date and check against its own partition
    (an AssetCheckResult in a range run has no partition to belong to), then each check's output
    once (``output_name``: a standalone check's single output). A failed blocking ERROR evaluation
    fails the step, as a result would."""
    outputs: dict[str, None] = {}
    for day in sorted(results_by_day):
        for r in results_by_day[day]:
            key = r.asset_key
            yield dg.AssetCheckEvaluation(asset_key=key, check_name=r.check_name, passed=r.passed,
                                          metadata=r.metadata, severity=r.severity, description=r.description,
                                          blocking=blocking.get(r.check_name, False), partition=day.isoformat())
            outputs[dg.AssetCheckSpec(r.check_name, asset=key).get_python_identifier()] = None
    for name in [output_name] if output_name else outputs:
        yield dg.Output(None, output_name=name)
