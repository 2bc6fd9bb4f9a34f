"""Validate a partition, publish it only if no blocking check failed, and report the results.

This is the circuit breaker: a partition whose blocking ERROR check fails is not written (the
previous version stays), its check results are reported, and Dagster fails the step, so every
asset downstream of that partition is skipped in the run and stays unmaterialized.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import dagster as dg
import pandas as pd

from platform_assets.quality.checks import CheckContext, DatasetContract, SchemaCount, in_windows
from platform_assets.storage.warehouse import Table

T = TypeVar("T", bound=tuple)


class Publisher:
    def __init__(self, contract: DatasetContract, platform: Any, table: Table, log: Any = None):
        self.contract = contract
        self.platform = platform
        self.table = table
        self.log = log
        self.results_by_day: dict[dt.date, list[dg.AssetCheckResult]] = {}
        self.written: list[dt.date] = []
        self.blocked: dict[dt.date, list[str]] = {}

    def publish(self, frame: pd.DataFrame, day: dt.date, stats: dict[str, Any] | None = None,
                counts: list[SchemaCount] | None = None) -> bool:
        """Check the date's rows and write them if no blocking check failed. ``counts``: what the
        contract's schema found in them, when they were validated with other dates' (publish_each)."""
        results, blockers = self.contract.results(CheckContext(frame, day, self.platform, stats or {}), counts)
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


def publish_each(publishers: Sequence[Publisher], items: Iterable[T]) -> Iterator[T]:
    """Publish a range's dates in date order, as ``publisher.publish(frame, day, stats)`` one date
    at a time does, with the rows of consecutive dates validated in one pandera pass per publisher
    (``DatasetContract.count_rows_each``: pandera's fixed cost per pass is most of validating a
    small date). ``items``: ``(day, [(frame, check stats) per publisher], ...)``, computed lazily a
    window of rows at a time (``in_windows``), so a date's frames must not depend on the dates
    published before it; each item is handed back once its frames are published or blocked."""
    for window in in_windows(items, lambda item: sum(len(frame) for frame, _ in item[1])):
        counts = [pub.contract.count_rows_each([item[1][i][0] for item in window]) for i, pub in enumerate(publishers)]
        for j, item in enumerate(window):
            for i, (pub, (frame, stats)) in enumerate(zip(publishers, item[1], strict=True)):
                pub.publish(frame, item[0], stats, counts=counts[i][j])
            yield item


def publish_all(publishers: Sequence[Publisher], items: Iterable[T]) -> T:
    """``publish_each`` to the end: the last date's item (what a range's metadata describes)."""
    last = None
    for last in publish_each(publishers, items):
        pass
    if last is None:
        raise ValueError("no dates to publish")
    return last


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
