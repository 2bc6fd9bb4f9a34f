"""The forkserver a run's steps fork from, started as soon as a run process begins loading the code.

Dagster's multiprocess executor starts its forkserver when the run's first step starts: a new
interpreter that imports and warms everything (platform_assets.preload), ~2.3 s on this machine
during which the run has nothing else to do. A run process spends about as long loading the code
location first (importing Dagster, pandas, pandera and the platform, building the definitions). So
when this package is first imported in a process Dagster started to execute a run, the forkserver
is started then, in the background, and the two load side by side on the machine's cores.

The server is the one the executor would start itself: the same preload list, in the same process,
so the executor finds it running and uses it. Anywhere else (code server, webserver, daemon, tests,
the CLI, step processes, the forkserver itself) nothing happens. Standard library only: this runs
while the package is being imported.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import sys
from pathlib import Path

PRELOAD_MODULES = ["platform_assets.preload"]
# What Dagster's multiprocess executor gives the forkserver: its own module first, then ours.
FORKSERVER_PRELOAD = ["dagster._core.executor.multiprocess", *PRELOAD_MODULES]


def executes_runs() -> bool:
    """Whether Dagster started this process to execute a run: the process a code server spawns for
    each run (DefaultRunLauncher, what ``dagster dev`` and the daemon use here; the code server's
    only spawned process) or ``dagster api execute_run`` (the container run launchers)."""
    # The name is set before a spawned child unpickles (and imports) anything; parent_process() only after.
    spawned = multiprocessing.current_process().name.startswith("SpawnProcess")
    api = Path(sys.argv[0]).name == "dagster" and sys.argv[1:3] == ["api", "execute_run"]
    return spawned or api


def start() -> None:
    """Start the forkserver now, in the background (the call returns at once)."""
    multiprocessing.get_context("forkserver").set_forkserver_preload(FORKSERVER_PRELOAD)
    multiprocessing.forkserver.ensure_running()


def start_if_run_process() -> bool:
    if not executes_runs():
        return False
    try:
        start()
    except Exception:  # noqa: BLE001 - an optimization only: the executor starts the server at the first step
        # e.g. imported while a spawned process is still unpickling its target, when multiprocessing
        # refuses to start processes
        return False
    return True
