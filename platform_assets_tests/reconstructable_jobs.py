"""Jobs tests execute in separate processes (multiprocess executor): they must be importable. This
module imports no platform module at the top: a spawned process that unpickles something from it
imports the platform later, as a code server's run process does."""

import dagster as dg


def daily_platform_job() -> dg.JobDefinition:
    from platform_assets.definitions import defs
    from platform_assets.jobs import DAILY_JOB

    return defs().resolve_job_def(DAILY_JOB)


@dg.op(config_schema={"path": str})
def report_parent(context) -> None:
    """Writes the pid of the process this step was forked from."""
    import os

    with open(context.op_config["path"], "w") as fh:
        fh.write(str(os.getppid()))


def forkserver_probe_job() -> dg.JobDefinition:
    from platform_assets import execution

    @dg.job(executor_def=execution.executor(1))
    def forkserver_probe():
        report_parent()

    return forkserver_probe


def probe_run_process(results) -> None:
    """In a spawned process: import the package as a run process does, report what it started."""
    import multiprocessing.forkserver

    import platform_assets  # noqa: F401 - importing the package is what starts the server
    from platform_assets import forkserver

    server = multiprocessing.forkserver._forkserver
    results.put((forkserver.executes_runs(), server._forkserver_pid, list(server._preload_modules or [])))


@dg.op(config_schema={"path": str})
def print_and_count_children(context) -> None:
    """Prints a marker to stdout and stderr and records how many processes this step has started
    (Dagster's default compute log capture starts a `tail` and a watcher per stream)."""
    import os
    import sys
    from pathlib import Path

    me = str(os.getpid())
    children = [p for p in Path("/proc").iterdir() if p.name.isdigit() and
                (p / "stat").exists() and (p / "stat").read_text().rsplit(")", 1)[1].split()[1] == me]
    print("stdout marker from the step", flush=True)
    print("stderr marker from the step", file=sys.stderr, flush=True)
    Path(context.op_config["path"]).write_text(str(len(children)))


def compute_log_probe_job() -> dg.JobDefinition:
    from platform_assets import execution

    @dg.job(executor_def=execution.executor(1))
    def compute_log_probe():
        print_and_count_children()

    return compute_log_probe


def _pid_file(context, name: str | None = None) -> None:
    import os
    from pathlib import Path

    (Path(context.op_config["dir"]) / (name or context.op_handle.name)).write_text(str(os.getpid()))


@dg.op(config_schema={"dir": str})
def record_pid(context) -> None:
    _pid_file(context)


def worker_reuse_job() -> dg.JobDefinition:
    """Six independent steps, two at a time."""
    from platform_assets import execution

    @dg.job(executor_def=execution.executor(2))
    def worker_reuse():
        for i in range(6):
            record_pid.alias(f"step_{i}")()

    return worker_reuse


@dg.op(config_schema={"dir": str}, tags={"dagster/priority": "10"})
def crash(context) -> None:
    """Dies as a step process killed by the kernel would (no exception, no events)."""
    import os

    _pid_file(context)
    os._exit(3)


@dg.op(config_schema={"dir": str}, tags={"dagster/priority": "0"})
def after_crash(context) -> None:
    _pid_file(context)


def worker_crash_job() -> dg.JobDefinition:
    """A step whose process dies, then (one step at a time) an independent step."""
    from platform_assets import execution

    @dg.job(executor_def=execution.executor(1))
    def worker_crash():
        crash()
        after_crash()

    return worker_crash


@dg.op(config_schema={"dir": str, "seconds": float})
def hold(context) -> None:
    """Records its process, then works for ``seconds``; records an interruption if it gets one."""
    import time

    _pid_file(context)
    try:
        deadline = time.monotonic() + context.op_config["seconds"]
        while time.monotonic() < deadline:
            time.sleep(0.05)
    except BaseException:
        _pid_file(context, "interrupted")
        raise


def worker_hold_job() -> dg.JobDefinition:
    from platform_assets import execution

    @dg.job(executor_def=execution.executor(1))
    def worker_hold():
        hold()

    return worker_hold


def run_hold_job(dagster_home: str, directory: str, seconds: float) -> None:
    """A run process (spawned, as a code server starts one) executing worker_hold_job."""
    import os

    os.environ["DAGSTER_HOME"] = dagster_home
    with dg.DagsterInstance.get() as instance:
        dg.execute_job(dg.reconstructable(worker_hold_job), instance=instance,
                       run_config={"ops": {"hold": {"config": {"dir": directory, "seconds": seconds}}}})


# -- step commands handed to workers directly (test_workers) --------------------------------------
# Dagster's child-process command base class has no public export; the worker runs any subclass.
from dagster._core.executor.child_process_executor import ChildProcessCommand  # noqa: E402


class PickleThreadCommand(ChildProcessCommand):
    """A step command that records which thread pickled it (in the process handing it over)."""

    def __init__(self):
        self.term_event = None
        self.pickled_by: list[int] = []

    def __reduce__(self):
        import threading

        self.pickled_by.append(threading.get_ident())
        return (PickleThreadCommand, ())

    def execute(self):
        return iter(())


class UnpicklableCommand(PickleThreadCommand):
    def __reduce__(self):
        raise TypeError("this command cannot be pickled")
