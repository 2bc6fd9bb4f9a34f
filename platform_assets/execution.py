"""How runs execute: the multiprocess executor with forkserver and preloaded modules, its steps
run in worker processes the run reuses.

Measured on this machine (docs/decisions.md): the default ``spawn`` start method costs ~2 s per
step (a fresh interpreter importing Dagster and pandas). A forkserver that had only imported the
definitions module still cost 0.84 s per step (opening the instance imported Dagster's storage
layer, the definitions were rebuilt, modules first used in a step were imported); with
``platform_assets.preload`` doing all of that once, 0.24 s.

Step workers (platform_assets/workers.py, on unless PLATFORM_STEP_WORKERS=0): Dagster's executor
still decides which step runs when; each step runs in one of the run's worker processes, forked
from the forkserver once per slot, instead of a process of its own. A bench-scale day in 4
interleaved rounds: 25.5 s with workers against 32.9 s with a process per step (in process: 42.3 s;
ratios 0.55-0.69 against 0.70-0.80), 1.0M page faults against 1.5M: a worker's second step reuses
the memory its first one faulted in.

Concurrency: one step more than there are cores, as long as memory holds that many of the
heaviest step (a bench-scale step holds a 1M-row partition, ~1.5 GB at peak), overridable by
PLATFORM_MAX_CONCURRENT_STEPS. Steps wait on the disk, the database and the run's own event
writes part of the time, so a third step on 2 cores keeps both busy: a bench-scale day took
29.2 s with 2 concurrent steps and 26.8 s with 3 (39.1 s in process); 4 was no better and
noisier (25.6-29.0 s). Re-measured 2026-12-03 with the steps' waits removed: 2 gave the
lower daily ratio in 5 of 6 interleaved rounds, 3 the shorter POS tail (its three regional imports
at once), which is what the deadline needs; 3 stays (docs/decisions.md).
"""

from __future__ import annotations

import os

import dagster as dg

from platform_assets.forkserver import PRELOAD_MODULES
from platform_assets.settings import Settings

STEP_MEMORY_GB = 3.0  # peak of the heaviest step at bench scale, with headroom (make bench: peak_step_rss_mb)


def available_memory_gb() -> float:
    try:
        with open("/proc/meminfo") as fh:
            info = {line.split(":")[0]: int(line.split()[1]) for line in fh}
        return info.get("MemAvailable", info["MemTotal"]) / 1024 / 1024
    except (OSError, KeyError, ValueError):
        return 8.0


def max_concurrent_steps(env_value: str | None = None) -> int:
    if env_value:
        return max(int(env_value), 1)
    cores = os.cpu_count() or 2
    by_memory = int(available_memory_gb() // STEP_MEMORY_GB)
    return max(1, min(cores + 1, by_memory))


# How long the run's orchestrating process waits on one step process's event queue before it
# looks at the next (Dagster's default: 20 ms). It takes one event from each step per round, so a
# step that reports hundreds of events (a backfill range's per-date check results) hands them over
# one per round, 20 ms per quiet neighbour, and its slot stays taken until they are all through:
# a month's import run stalled 4 s at a time. At 5 ms: 28-day backfill 49.6 s -> 43.7 s (median of
# 2, interleaved); a quiet round costs the orchestrator ~15 ms of waiting, not CPU.
# With step workers (the default) this applies only to a process per step (PLATFORM_STEP_WORKERS=0):
# the workers' pipes are waited on together instead (workers.StepWorkers._wait).
EVENT_POLL_SECONDS = 0.005


class StepWorkerExecutor(dg.Executor):
    """Dagster's multiprocess executor (which step runs when: priorities, pools, limits, retries)
    with its steps run in the run's reusable worker processes (platform_assets/workers.py)."""

    def __init__(self, inner: dg.Executor):
        self._inner = inner

    @property
    def retries(self):
        return self._inner.retries

    @property
    def step_dependency_config(self):
        return self._inner.step_dependency_config

    def execute(self, plan_context, execution_plan):
        from platform_assets import workers

        with workers.step_workers():
            yield from self._inner.execute(plan_context, execution_plan)


def _multiprocess_executor(init_context):
    # No public setting for the poll interval: child_process_executor.TICK is read at every poll.
    from dagster._core.executor import child_process_executor

    child_process_executor.TICK = EVENT_POLL_SECONDS
    inner = dg.multiprocess_executor.executor_creation_fn(init_context)
    return StepWorkerExecutor(inner) if Settings.from_env().step_workers else inner


# Dagster's multiprocess executor (same name, config and requirements), with the poll interval above.
platform_multiprocess_executor = dg.ExecutorDefinition(
    name=dg.multiprocess_executor.name, config_schema=dg.multiprocess_executor.config_schema,
    requirements=dg.multiprocess_executor.get_requirements, executor_creation_fn=_multiprocess_executor,
    description=dg.multiprocess_executor.description)


def executor(max_concurrent: int) -> dg.ExecutorDefinition:
    return platform_multiprocess_executor.configured({
        "max_concurrent": max_concurrent,
        "start_method": {"forkserver": {"preload_modules": PRELOAD_MODULES}},
    })
