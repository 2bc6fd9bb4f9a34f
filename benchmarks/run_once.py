"""One measured run in a process of its own, as Dagster starts every run.

A run with the platform's executor runs in a process spawned the way a code server spawns a run
process (DefaultRunLauncher: ``multiprocessing`` with ``spawn``): it imports the code, builds the
definitions, then executes. That is also where the steps' forkserver starts early
(platform_assets/forkserver.py), as it does in production. An in-process run runs in this process.
Either way the clock starts once the definitions are built (a run process's own start-up is not
timed, on either side) and includes everything after: creating the run (its planned events), the
executor, the forkserver's remaining start-up, every step.

The forkserver is one per process and keeps the environment and preloaded state it started with,
so runs measured one after another in a single process would fork their steps from the first run's
server (its data directory, its settings); each measured run has a process of its own.

Prints one JSON line: wall time of the run, its id, success, steps, when ``--until`` was
materialized, the CPU time of the run's own process on the clock (the orchestrator, with a
multiprocess run), and how long the process took to load the code before the clock.

    python -m benchmarks.run_once --home H --start D [--end D] [--assets a,b] [--executor in_process]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import queue
import time


def daily_job():
    """The job every run executes (reconstructable: step processes rebuild it)."""
    from platform_assets.definitions import defs
    from platform_assets.jobs import DAILY_JOB

    return defs().resolve_job_def(DAILY_JOB)


def location_job():
    """The job as the code server hands it to a run: reconstructed from the code location that
    workspace.yaml names (module ``platform_assets.definitions``, attribute ``defs``), so each step
    looks the job up in the location's repository, built once per process. A job function's
    pointer (``dg.reconstructable(daily_job)``) wraps the job in a new repository whenever a step
    process's one-entry cache misses, ~11 ms a step in the workers (py-spy), which production
    never pays. No public API builds a reconstructable job from a code location; this is the
    class the code server uses (Dagster is pinned)."""
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    from platform_assets.jobs import DAILY_JOB

    location = ReconstructableRepository.for_module("platform_assets.definitions", "defs",
                                                    working_directory=os.getcwd())
    return location.get_reconstructable_job(DAILY_JOB)


def measure(args: argparse.Namespace) -> dict:
    process_start = time.time()
    import dagster as dg

    from platform_assets.partitions import parse_date, run_tags

    end = args.end or args.start
    tags = run_tags(parse_date(args.start), parse_date(end))
    assets = [dg.AssetKey(a) for a in args.assets.split(",") if a]
    with dg.DagsterInstance.get() as instance:
        from platform_assets.demo import QUIET  # the same console log level on both sides

        daily_job()  # definitions built before the clock starts, as a run process builds them first
        t0 = time.time()
        cpu0 = time.process_time()  # all of this process's threads: with workers, the orchestrator
        if args.executor == "in_process":
            job = daily_job()
            if assets:
                job = job.get_subset(asset_selection=set(assets))
            result = job.execute_in_process(instance=instance, run_config=QUIET, raise_on_error=True,
                                            **({"partition_key": args.start} if end == args.start else {"tags": tags}))
            run_id, success = result.run_id, result.success
        else:
            with dg.execute_job(location_job(), instance=instance, tags=tags, run_config=QUIET,
                                asset_selection=assets or None, raise_on_error=True) as result:
                run_id, success = result.run_id, result.success
        elapsed = time.time() - t0
        cpu_run = time.process_time() - cpu0
        steps = len(instance.get_records_for_run(run_id, of_type={dg.DagsterEventType.STEP_SUCCESS,
                                                                  dg.DagsterEventType.STEP_FAILURE}).records)
        until = None
        if args.until:
            records = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=dg.AssetKey(args.until), asset_partitions=[end]), limit=1).records
            until = records[0].timestamp - t0 if records and records[0].run_id == run_id else None
    return {"elapsed": elapsed, "run_id": run_id, "success": success, "steps": steps, "until": until,
            "loaded_before_clock": t0 - process_start, "cpu_run": cpu_run}


def _run_process(args: argparse.Namespace, results) -> None:
    results.put(measure(args))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", required=True)
    parser.add_argument("--start", required=True)
    parser.add_argument("--end")
    parser.add_argument("--assets", default="")
    parser.add_argument("--executor", choices=["multiprocess", "in_process"], default="multiprocess")
    parser.add_argument("--until", default="")
    args = parser.parse_args()
    # DAGSTER_HOME as in production (make home, the daemon): the forkserver's preload opens this
    # instance, not a scratch one.
    os.environ["DAGSTER_HOME"] = args.home
    if args.executor == "in_process":
        result = measure(args)
    else:
        context = multiprocessing.get_context("spawn")
        results = context.Queue()
        run_process = context.Process(target=_run_process, args=(args, results))
        run_process.start()
        while True:
            try:
                result = results.get(timeout=1)
                break
            except queue.Empty:
                if not run_process.is_alive():  # it raised: its traceback is on stderr
                    raise SystemExit(f"run process exited with {run_process.exitcode}") from None
        run_process.join()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
