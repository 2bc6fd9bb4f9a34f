"""How runs execute: the multiprocess executor with forkserver and preloaded modules.

Measured on this machine (docs/decisions.md): the default ``spawn`` start method costs ~2 s per
step (a fresh interpreter importing Dagster and pandas). A forkserver that had only imported the
definitions module still cost 0.84 s per step (opening the instance imported Dagster's storage
layer, the definitions were rebuilt, modules first used in a step were imported); with
``platform_assets.preload`` doing all of that once, 0.24 s. Concurrency is sized by cores and memory (a
bench-scale step holds a 1M-row partition, ~1.5 GB at peak), overridable by
PLATFORM_MAX_CONCURRENT_STEPS.
"""

from __future__ import annotations

import os

import dagster as dg

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
    return max(1, min(cores, by_memory))


def executor(max_concurrent: int) -> dg.ExecutorDefinition:
    return dg.multiprocess_executor.configured({
        "max_concurrent": max_concurrent,
        "start_method": {"forkserver": {"preload_modules": ["platform_assets.preload"]}},
    })
