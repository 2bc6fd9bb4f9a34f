"""Parallel execution and backfills (issue 7): the platform's executor against in-process runs.

Figures (medians of PLATFORM_BENCH_REPEAT runs, default 3; each run on fresh storage, on a
SQLite Dagster instance of its own, same instance kind for both sides of a ratio):
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
  executor: the runs a Dagster backfill makes from the assets' backfill policies (imports and
  heavy staging 7 dates per run, the rest of the range in one run) over one run per date.
  Target <= 0.25.
- peak_step_rss_mb: the largest peak resident memory (VmHWM) of any step process during the
  bench-scale parallel day. Target <= 3000.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

from benchmarks.common import BENCH_DAY, bench_landing, emit

BACKFILL_START = dt.date(2024, 3, 4)
BACKFILL_DAYS = 28


def daily_job() -> dg.JobDefinition:
    """The job every run here executes (reconstructable: step processes rebuild it)."""
    from platform_assets.jobs import DAILY_JOB

    return daily_job_definitions().resolve_job_def(DAILY_JOB)


def daily_job_definitions() -> dg.Definitions:
    from platform_assets.definitions import defs

    return defs()


def policy_waves(graph) -> list[tuple[bool, list[dg.AssetKey]]]:
    """The runs' asset sets a Dagster asset backfill makes: assets run with their parents when
    they share a backfill policy; a child with another policy waits for its parents' runs.
    Each wave is (chunked, assets): chunked assets run 7 dates per run, the others the whole range."""
    def chunked(key) -> bool:
        policy = graph.get(key).backfill_policy
        return bool(policy and policy.max_partitions_per_run)

    keys = [k for k in graph.toposorted_asset_keys if graph.get(k).is_materializable]
    done, waves = set(), []
    while len(done) < len(keys):
        progressed = False
        for kind in (True, False):
            group: list[dg.AssetKey] = []
            for k in keys:
                parents = {p for p in graph.get(k).parent_keys if graph.get(p).is_materializable and p != k}
                if k not in done and chunked(k) == kind and parents <= done | set(group):
                    group.append(k)
            if group:
                waves.append((kind, group))
                done |= set(group)
                progressed = True
        assert progressed, "a cycle in the asset graph?"
    return waves


@contextmanager
def environment(**values: str | None):
    """PLATFORM_* for one measurement (read at run time by the resource and the step processes)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update({k: v for k, v in values.items() if v is not None})
    for k in [k for k, v in values.items() if v is None]:
        os.environ.pop(k, None)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _tags(start: dt.date, end: dt.date) -> dict[str, str]:
    if start == end:
        return {"dagster/partition": start.isoformat()}
    return {"dagster/asset_partition_range_start": start.isoformat(),
            "dagster/asset_partition_range_end": end.isoformat()}


def run_parallel(instance: dg.DagsterInstance, start: dt.date, end: dt.date | None = None,
                 assets: list[dg.AssetKey] | None = None) -> dg.ExecuteJobResult:
    with dg.execute_job(dg.reconstructable(daily_job), instance=instance, tags=_tags(start, end or start),
                        asset_selection=assets, raise_on_error=True) as result:
        return result


def run_in_process(instance: dg.DagsterInstance, day: dt.date) -> dg.ExecuteInProcessResult:
    from platform_assets.demo import QUIET

    return daily_job().execute_in_process(partition_key=day.isoformat(), instance=instance, run_config=QUIET)


def steps_run(instance: dg.DagsterInstance, run_id: str) -> int:
    records = instance.get_records_for_run(run_id, of_type={dg.DagsterEventType.STEP_SUCCESS,
                                                             dg.DagsterEventType.STEP_FAILURE}).records
    return len(records)


class PeakStepMemory:
    """Samples the peak resident memory (VmHWM, a high-water mark kept by the kernel, so a
    sample taken after the peak still sees it) of every descendant process of this one."""

    def __init__(self, interval: float = 0.05):
        self.interval, self.peak_kb, self._stop = interval, 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        me = os.getpid()
        while not self._stop.is_set():
            parents = {}
            for entry in Path("/proc").iterdir():
                if entry.name.isdigit():
                    try:
                        stat = (entry / "stat").read_text()
                        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
                    except (OSError, ValueError, IndexError):
                        continue
            for pid in parents:
                p, depth = pid, 0
                while p in parents and p != me and depth < 10:
                    p, depth = parents[p], depth + 1
                if p != me or pid == me or depth < 2:  # steps are grandchildren (via the forkserver)
                    continue
                try:
                    for line in (Path("/proc") / str(pid) / "status").read_text().splitlines():
                        if line.startswith("VmHWM:"):
                            self.peak_kb = max(self.peak_kb, int(line.split()[1]))
                except OSError:
                    continue
            self._stop.wait(self.interval)


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def fresh(workdir: Path, landing: Path, **extra: str):
    """A fresh warehouse, ledger and Dagster instance for one measured run."""
    data = Path(tempfile.mkdtemp(dir=workdir, prefix="data-"))
    home = Path(tempfile.mkdtemp(dir=workdir, prefix="home-"))
    return environment(PLATFORM_LANDING_DIR=str(landing), PLATFORM_DATA_DIR=str(data), **extra), \
        dg.DagsterInstance.local_temp(str(home))


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

    repeat = int(os.environ.get("PLATFORM_BENCH_REPEAT", "3"))
    landing = bench_landing(workdir)
    with tempfile.TemporaryDirectory(dir=workdir) as scratch:
        scratch = Path(scratch)

        # -- one bench-scale day: in process vs the platform's executor -----------------------
        sequential, parallel, peaks = [], [], []
        for _ in range(repeat):
            env, instance = fresh(scratch, landing)
            with env, instance:
                sequential.append(timed(lambda: run_in_process(instance, BENCH_DAY)))
            env, instance = fresh(scratch, landing)
            with env, instance, PeakStepMemory() as memory:
                parallel.append(timed(lambda: run_parallel(instance, BENCH_DAY)))
            peaks.append(memory.peak_kb / 1024)
        t_seq, t_par = statistics.median(sequential), statistics.median(parallel)
        emit("daily_sequential_s", t_seq)
        emit("daily_parallel_s", t_par)
        emit("daily_parallel_over_sequential", t_par / t_seq)
        emit("peak_step_rss_mb", max(peaks))

        # -- the POS tail: everything else loaded, then the POS export lands ------------------
        planner = Planner(defs=daily_job_definitions())
        others = sorted(s for s in registry.discover() if s != "pos_transactions")
        before = planner.plan(BENCH_DAY, others, set())
        tail = planner.plan(BENCH_DAY, ["pos_transactions"], set(others))
        tails = []
        for _ in range(repeat):
            env, instance = fresh(scratch, landing)
            with env, instance:
                run_parallel(instance, BENCH_DAY, assets=list(before.assets))
                t0 = time.time()
                result = run_parallel(instance, BENCH_DAY, assets=list(tail.assets))
                done = instance.fetch_materializations(
                    dg.AssetRecordsFilter(asset_key=dg.AssetKey("revenue_close"), asset_partitions=[BENCH_DAY.isoformat()]),
                    limit=1).records[0]
                assert done.run_id == result.run_id
                tails.append(done.timestamp - t0)
        emit("pos_tail_s", statistics.median(tails))
        emit("pos_tail_over_daily", statistics.median(tails) / t_seq)

        # -- executor overhead per step (small scale, one step at a time) ---------------------
        small = small_landing(workdir, BENCH_DAY, 1)
        in_process, one_at_a_time, steps = [], [], 0
        for _ in range(repeat):
            env, instance = fresh(scratch, small)
            with env, instance:
                in_process.append(timed(lambda: run_in_process(instance, BENCH_DAY)))
            env, instance = fresh(scratch, small, PLATFORM_MAX_CONCURRENT_STEPS="1")
            with env, instance:
                holder = {}
                one_at_a_time.append(timed(lambda: holder.update(r=run_parallel(instance, BENCH_DAY))))
                steps = steps_run(instance, holder["r"].run_id)
        emit("small_day_steps", steps)
        emit("step_overhead_s", (statistics.median(one_at_a_time) - statistics.median(in_process)) / steps)

        # -- a 28-day backfill: the runs backfill policies make vs one run per date -----------
        month = small_landing(workdir, BACKFILL_START, BACKFILL_DAYS)
        days = [BACKFILL_START + dt.timedelta(days=i) for i in range(BACKFILL_DAYS)]
        waves = policy_waves(daily_job_definitions().resolve_asset_graph())

        def per_partition(instance):
            for d in days:
                run_parallel(instance, d)

        def by_policy(instance):
            for chunked, assets in waves:
                if chunked:  # 7 dates per run
                    for i in range(0, BACKFILL_DAYS, 7):
                        run_parallel(instance, days[i], days[min(i + 6, BACKFILL_DAYS - 1)], assets=assets)
                else:  # the whole range in one run
                    run_parallel(instance, days[0], days[-1], assets=assets)

        ranges, singles = [], []
        for _ in range(max(1, repeat // 2)):
            env, instance = fresh(scratch, month)
            with env, instance:
                singles.append(timed(lambda: per_partition(instance)))
            env, instance = fresh(scratch, month)
            with env, instance:
                ranges.append(timed(lambda: by_policy(instance)))
        emit("backfill_per_partition_s", statistics.median(singles))
        emit("backfill_range_s", statistics.median(ranges))
        emit("backfill_range_over_per_partition", statistics.median(ranges) / statistics.median(singles))
