"""One measured run in a process of its own, as Dagster's run launcher starts every run.

The multiprocess executor's forkserver is one per process and keeps the environment and the
preloaded state it started with, so runs measured one after another in a single process would
fork their steps from the first run's server (its data directory, its settings). Each run here
starts its own. Prints one JSON line: wall time of the run (interpreter start excluded, the
forkserver's start included), its id, success, steps, and when ``--until`` was materialized.

    python -m benchmarks.run_once --home H --start D [--end D] [--assets a,b] [--executor in_process]
"""

from __future__ import annotations

import argparse
import json
import os
import time


def daily_job():
    """The job every run executes (reconstructable: step processes rebuild it)."""
    from platform_assets.definitions import defs
    from platform_assets.jobs import DAILY_JOB

    return defs().resolve_job_def(DAILY_JOB)


def main() -> None:
    import dagster as dg

    parser = argparse.ArgumentParser()
    parser.add_argument("--home", required=True)
    parser.add_argument("--start", required=True)
    parser.add_argument("--end")
    parser.add_argument("--assets", default="")
    parser.add_argument("--executor", choices=["multiprocess", "in_process"], default="multiprocess")
    parser.add_argument("--until", default="")
    args = parser.parse_args()
    from platform_assets.partitions import parse_date, run_tags

    end = args.end or args.start
    tags = run_tags(parse_date(args.start), parse_date(end))
    assets = [dg.AssetKey(a) for a in args.assets.split(",") if a]
    # DAGSTER_HOME as in production (make home, the daemon): the forkserver's preload opens this
    # instance, not a scratch one.
    os.environ["DAGSTER_HOME"] = args.home
    with dg.DagsterInstance.get() as instance:
        from platform_assets.demo import QUIET  # the same console log level on both sides

        daily_job()  # definitions built before the clock starts, as a code server has them
        t0 = time.time()
        if args.executor == "in_process":
            job = daily_job()
            if assets:
                job = job.get_subset(asset_selection=set(assets))
            result = job.execute_in_process(instance=instance, run_config=QUIET, raise_on_error=True,
                                            **({"partition_key": args.start} if end == args.start else {"tags": tags}))
            run_id, success = result.run_id, result.success
        else:
            with dg.execute_job(dg.reconstructable(daily_job), instance=instance, tags=tags, run_config=QUIET,
                                asset_selection=assets or None, raise_on_error=True) as result:
                run_id, success = result.run_id, result.success
        elapsed = time.time() - t0
        steps = len(instance.get_records_for_run(run_id, of_type={dg.DagsterEventType.STEP_SUCCESS,
                                                                  dg.DagsterEventType.STEP_FAILURE}).records)
        until = None
        if args.until:
            records = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=dg.AssetKey(args.until), asset_partitions=[end]), limit=1).records
            until = records[0].timestamp - t0 if records and records[0].run_id == run_id else None
    print(json.dumps({"elapsed": elapsed, "run_id": run_id, "success": success, "steps": steps, "until": until}))


if __name__ == "__main__":
    main()
