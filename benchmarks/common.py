"""Shared benchmark helpers: timing with medians, bench-scale data generated once per run."""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Callable
from pathlib import Path

BENCH_DAY = dt.date(2024, 3, 8)  # a Friday: ~1.1M POS rows at bench scale


def median_seconds(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_landing(root: Path, sources: list[str] | None = None, days: int = 1) -> Path:
    """A bench-scale landing zone (1M POS rows/day), generated once into ``root``."""
    from platform_assets.generator import generate

    landing = root / "landing"
    marker = landing / f".generated-{BENCH_DAY}-{days}-{'-'.join(sorted(sources or ['all']))}"
    if not marker.exists():
        generate(landing, BENCH_DAY - dt.timedelta(days=days - 1), days, scale="bench", seed=11, mess="default",
                 sources=sources)
        marker.touch()
    return landing


def ok(result):
    """An import result that must have succeeded (a benchmark on a failed import measures nothing)."""
    if result.failed:
        raise RuntimeError(f"benchmark import failed: {result.summary()}")
    return result


def emit(name: str, value: float | int | str) -> None:
    if isinstance(value, float):
        value = f"{value:.3f}"
    print(f"{name}={value}", flush=True)
