"""Parallel execution and backfills (issue 7): the platform's executor against in-process runs.

Figures (medians of PLATFORM_BENCH_REPEAT runs, default 3). Each run starts in a process of its
own, as Dagster's run launcher starts runs (benchmarks/run_once.py), on fresh storage and a SQLite
Dagster instance of its own: the same instance kind on both sides of every ratio.
- daily_parallel_over_sequential: one business date at ``bench`` scale (1.1M POS rows, 2M app
  events), every asset and check, the platform's executor (multiprocess, forkserver, preloaded,
  PLATFORM_MAX_CONCURRENT_STEPS) over the in-process executor. Target <= 0.65.
- step_overhead_s: what the executor adds per step, from a ``small``-scale day run one step at a
  time (max_concurrent 1) against the same day in process: (multiprocess - in process) / steps,
  the forkserver's start once per run included. Target <= 0.6.
- pos_tail_over_daily: the morning as it happens: every other source loaded and reported, then
  the POS export lands and the sensor's run (imports by region, stg_pos_lines, revenue_close and
  the rest of the POS-dependent work) starts; from that run's start to revenue_close
  materialized, over the whole sequential day. Target <= 0.25.
- backfill_range_over_per_partition: 28 days at ``small`` scale, both with the platform's
  executor, the two sides interleaved: the runs a Dagster backfill makes from the assets' backfill
  policies (imports and heavy staging up to a month of dates per run, the rest of the range in one
  run) over one run per date.
  Target <= 0.25. ``..._from_launch``: the same runs timed from each process's launch to its exit
  (run process start-up included), for reference.
- daily_run_process_cpu_s: CPU seconds the parallel day's run process (the orchestrator: the
  run's plan, its step hand-overs and events) used on the clock, for reference.
- peak_step_rss_mb: the largest peak resident memory (VmHWM) of any step process during the
  bench-scale parallel day. Target <= 3000.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from benchmarks.common import BENCH_DAY, bench_landing, emit

ROOT = Path(__file__).resolve().parents[1]
BACKFILL_START = dt.date(2024, 3, 4)
BACKFILL_DAYS = 28


def daily_job_definitions() -> dg.Definitions:
    from platform_assets.definitions import defs

    return defs()


@dataclass
class Storage:
    """Fresh storage for a measured run or sequence of runs: landing, warehouse + ledger, instance."""

    landing: Path
    data: Path
    home: Path

    @classmethod
    def fresh(cls, workdir: Path, landing: Path) -> Storage:
        home = Path(tempfile.mkdtemp(dir=workdir, prefix="home-"))
        shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")  # the embedded default, as `make home`
        return cls(landing, Path(tempfile.mkdtemp(dir=workdir, prefix="data-")), home)

    def run(self, start: dt.date, end: dt.date | None = None, assets=(), executor: str = "multiprocess",
            until: str = "", **env: str) -> dict:
        """One run in a process of its own (benchmarks/run_once.py), as the run launcher starts runs."""
        command = [sys.executable, "-m", "benchmarks.run_once", "--home", str(self.home), "--start", start.isoformat(),
                   "--end", (end or start).isoformat(), "--executor", executor, "--until", until,
                   "--assets", ",".join(k.to_user_string() for k in assets)]
        environment = {**os.environ, "PLATFORM_LANDING_DIR": str(self.landing), "PLATFORM_DATA_DIR": str(self.data), **env}
        launched = time.perf_counter()
        done = subprocess.run(command, env=environment, capture_output=True, text=True, cwd=ROOT)
        from_launch = time.perf_counter() - launched
        if done.returncode != 0:
            raise RuntimeError(f"benchmark run failed ({' '.join(command)}):\n{done.stderr[-3000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        if not result["success"]:
            raise RuntimeError(f"benchmark run {result['run_id']} failed")
        return {**result, "from_launch": from_launch}


class PeakStepMemory:
    """Samples the peak resident memory (VmHWM, a high-water mark kept by the kernel, so a
    sample taken after the peak still sees it) of every descendant process of this one."""

    def __init__(self, interval: float = 0.2):  # heavy steps last seconds; the mark outlives the peak
        self.interval, self.peak_kb, self._stop = interval, 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.is_set():
            for pid, depth in descendants(os.getpid()):
                if depth < 3:  # steps: run process -> forkserver -> step
                    continue
                try:
                    for line in (Path("/proc") / str(pid) / "status").read_text().splitlines():
                        if line.startswith("VmHWM:"):
                            self.peak_kb = max(self.peak_kb, int(line.split()[1]))
                except OSError:
                    continue
            self._stop.wait(self.interval)


def descendants(pid: int) -> list[tuple[int, int]]:
    """(pid, depth) of every process below ``pid``, from the kernel's lists of each thread's
    children: a handful of files, where reading every process's stat to find them (as before
    2026-12-04) cost the sampler 1.5% of a core during the measured parallel runs (now 0.3%)."""
    out, frontier = [], [(pid, 0)]
    while frontier:
        parent, depth = frontier.pop()
        try:
            tasks = list((Path("/proc") / str(parent) / "task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except (OSError, ValueError):
                continue
            for child in children:
                out.append((child, depth + 1))
                frontier.append((child, depth + 1))
    return out


def small_landing(root: Path, start: dt.date, days: int) -> Path:
    from platform_assets.generator import generate

    landing = root / f"landing-small-{start}-{days}"
    marker = landing / ".generated"
    if not marker.exists():
        generate(landing, start, days, scale="small", seed=11, mess="none")
        marker.touch()
    return landing


def run(workdir: Path) -> None:
    from platform_assets.ingestion import registry
    from platform_assets.ingestion.arrivals import Planner
    from platform_assets.scheduling import backfill_runs

    repeat = int(os.environ.get("PLATFORM_BENCH_REPEAT", "3"))
    landing = bench_landing(workdir)
    with tempfile.TemporaryDirectory(dir=workdir) as scratch:
        scratch = Path(scratch)

        # -- one bench-scale day: in process vs the platform's executor -----------------------
        sequential, parallel, peaks, orchestrator = [], [], [], []
        for _ in range(repeat):
            sequential.append(Storage.fresh(scratch, landing).run(BENCH_DAY, executor="in_process")["elapsed"])
            with PeakStepMemory() as memory:
                result = Storage.fresh(scratch, landing).run(BENCH_DAY)
            parallel.append(result["elapsed"])
            orchestrator.append(result["cpu_run"])
            peaks.append(memory.peak_kb / 1024)
        t_seq, t_par = statistics.median(sequential), statistics.median(parallel)
        emit("daily_sequential_s", t_seq)
        emit("daily_parallel_s", t_par)
        emit("daily_parallel_over_sequential", t_par / t_seq)
        emit("daily_run_process_cpu_s", statistics.median(orchestrator))
        emit("peak_step_rss_mb", max(peaks))

        # -- the POS tail: everything else loaded, then the POS export lands ------------------
        planner = Planner(defs=daily_job_definitions())
        others = sorted(s for s in registry.discover() if s != "pos_transactions")
        before = planner.plan(BENCH_DAY, others, set())
        tail = planner.plan(BENCH_DAY, ["pos_transactions"], set(others))
        tails = []
        for _ in range(repeat):
            storage = Storage.fresh(scratch, landing)
            storage.run(BENCH_DAY, assets=before.assets)
            tails.append(storage.run(BENCH_DAY, assets=tail.assets, until="revenue_close")["until"])
        emit("pos_tail_s", statistics.median(tails))
        emit("pos_tail_over_daily", statistics.median(tails) / t_seq)

        # -- executor overhead per step (small scale, one step at a time) ---------------------
        small = small_landing(workdir, BENCH_DAY, 1)
        in_process, one_at_a_time, steps = [], [], 0
        for _ in range(repeat):
            in_process.append(Storage.fresh(scratch, small).run(BENCH_DAY, executor="in_process")["elapsed"])
            result = Storage.fresh(scratch, small).run(BENCH_DAY, PLATFORM_MAX_CONCURRENT_STEPS="1")
            one_at_a_time.append(result["elapsed"])
            steps = result["steps"]
        emit("small_day_steps", steps)
        emit("step_overhead_s", (statistics.median(one_at_a_time) - statistics.median(in_process)) / steps)

        # -- a 28-day backfill: the runs backfill policies make vs one run per date -----------
        month = small_landing(workdir, BACKFILL_START, BACKFILL_DAYS)
        days = [BACKFILL_START + dt.timedelta(days=i) for i in range(BACKFILL_DAYS)]
        graph = daily_job_definitions().resolve_asset_graph()
        runs = backfill_runs(graph, set(graph.materializable_asset_keys), days)

        def total(results: list[dict]) -> tuple[float, float]:
            return sum(r["elapsed"] for r in results), sum(r["from_launch"] for r in results)

        def per_partition() -> tuple[float, float]:
            storage = Storage.fresh(scratch, month)
            return total([storage.run(d) for d in days])

        def by_policy() -> tuple[float, float]:
            storage = Storage.fresh(scratch, month)
            return total([storage.run(r.start, r.end, assets=r.assets) for r in runs])

        # Interleaved, one of each per round: the machine's speed drifts within minutes, and one run
        # per side (as before 2026-12-02 afternoon) moved the ratio by +-0.03 between runs.
        singles, ranges = [], []
        for _ in range(repeat):
            singles.append(per_partition())
            ranges.append(by_policy())
        single, ranged = (statistics.median(t for t, _ in singles), statistics.median(t for t, _ in ranges))
        emit("backfill_per_partition_s", single)
        emit("backfill_range_s", ranged)
        emit("backfill_range_over_per_partition", ranged / single)
        # The same runs, each timed from its launch to its process's exit (its start-up included):
        # what a backfill costs the machine; for reference (docs/decisions.md).
        emit("backfill_range_over_per_partition_from_launch",
             statistics.median(t for _, t in ranges) / statistics.median(t for _, t in singles))
