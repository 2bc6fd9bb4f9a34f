"""Step workers (platform_assets/workers.py): a run's steps run in worker processes it reuses.

Real runs with the platform's executor (forkserver, preload), real processes and signals."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import dagster as dg
import pytest

from platform_assets_tests.processes import instance_home, wait_until
from platform_assets_tests.reconstructable_jobs import (
    PickleThreadCommand, UnpicklableCommand, run_hold_job, worker_crash_job, worker_reuse_job,
)


def _pids(directory: Path) -> dict[str, int]:
    return {p.name: int(p.read_text()) for p in directory.iterdir()}


def _running(pid: int) -> bool:
    """Alive and not a zombie (a re-parented child may stay unreaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _run(instance, job, directory: Path):
    ops = {name: {"config": {"dir": str(directory)}} for name in job().graph.node_names()}
    return dg.execute_job(dg.reconstructable(job), instance=instance, run_config={"ops": ops})


@pytest.mark.parametrize("workers", ["1", "0"])
def test_steps_share_the_runs_workers_unless_turned_off(tmp_path, monkeypatch, workers):
    """Six steps, two at a time: two worker processes run them all; with PLATFORM_STEP_WORKERS=0
    each step has a process of its own (Dagster's multiprocess executor)."""
    monkeypatch.setenv("PLATFORM_STEP_WORKERS", workers)
    out = tmp_path / "pids"
    out.mkdir()
    with dg.DagsterInstance.from_config(str(instance_home(tmp_path / "home"))) as instance:
        result = _run(instance, worker_reuse_job, out)
        assert result.success
        successes = instance.get_records_for_run(result.run_id, of_type=dg.DagsterEventType.STEP_SUCCESS).records
    pids = _pids(out)
    assert sorted(pids) == [f"step_{i}" for i in range(6)] and len(successes) == 6
    processes = set(pids.values())
    if workers == "1":
        assert len(processes) <= 2  # one worker per slot
    else:
        assert len(processes) == 6
    assert os.getpid() not in pids.values()


def test_a_step_whose_worker_dies_fails_and_the_next_step_gets_a_new_worker(tmp_path):
    out = tmp_path / "pids"
    out.mkdir()
    with dg.DagsterInstance.from_config(str(instance_home(tmp_path / "home"))) as instance:
        result = _run(instance, worker_crash_job, out)
        assert not result.success
        failed = {e.step_key for e in instance.all_logs(result.run_id, of_type=dg.DagsterEventType.STEP_FAILURE)}
        succeeded = {e.step_key for e in instance.all_logs(result.run_id, of_type=dg.DagsterEventType.STEP_SUCCESS)}
        engine = [e.message for e in instance.all_logs(result.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)]
    assert failed == {"crash"} and succeeded == {"after_crash"}
    assert any("child process for step crash" in (m or "") for m in engine), engine
    pids = _pids(out)
    assert pids["after_crash"] != pids["crash"]


def _hand_over(command) -> tuple[list, BaseException | None, int]:
    """Run one command through a pool of workers in a thread, as the executor does: what it
    yielded or raised, and that thread's id. A command the worker never receives would wait
    forever: bounded."""
    from platform_assets import workers

    out: dict = {"events": [], "error": None, "thread": None}

    def go() -> None:
        out["thread"] = threading.get_ident()
        run_stop = threading.Event()
        command.term_event = run_stop
        try:
            with workers.step_workers() as pool:
                out["events"] = list(pool.execute(multiprocessing.get_context("forkserver"), command))
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            out["error"] = exc

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    thread.join(120)
    assert not thread.is_alive(), "the step was handed to a worker and never came back"
    return out["events"], out["error"], out["thread"]


def test_a_step_command_is_pickled_by_the_executors_thread_as_it_is_handed_over():
    """The executor's command refers to its live state (the outputs ready so far), which changes
    as other steps report. A queue pickles later in a thread of its own: a command that changed
    meanwhile was dropped there and its run waited forever. It is pickled when handed over."""
    command = PickleThreadCommand()
    events, error, executor_thread = _hand_over(command)
    assert error is None
    assert command.pickled_by and set(command.pickled_by) == {executor_thread}
    assert type(events[-1]).__name__ == "ChildProcessDoneEvent", events


def test_a_step_command_that_cannot_be_pickled_fails_instead_of_waiting_forever():
    events, error, _ = _hand_over(UnpicklableCommand())
    assert isinstance(error, TypeError) and "cannot be pickled" in str(error), (events, error)


def _spawn_hold(tmp_path: Path, seconds: float):
    out = tmp_path / "pids"
    out.mkdir()
    run = multiprocessing.get_context("spawn").Process(target=run_hold_job,
                                                       args=(str(instance_home(tmp_path / "home")), str(out), seconds))
    run.start()
    wait_until(lambda: (out / "hold").exists(), 120, poll=0.1, what="the step to start")
    return run, out, int((out / "hold").read_text())


def test_interrupting_the_run_interrupts_the_step_in_its_worker_and_retires_it(tmp_path):
    run, out, worker = _spawn_hold(tmp_path, seconds=60)
    try:
        os.kill(run.pid, signal.SIGINT)  # what terminating a run sends its process
        run.join(60)
        assert not run.is_alive(), "the run did not end after the interrupt"
        assert (out / "interrupted").exists(), "the step was not interrupted"
        wait_until(lambda: not _running(worker), 10, poll=0.1, what="the interrupted worker to be retired")
    finally:
        if run.is_alive():
            run.kill()


def test_workers_exit_when_their_run_process_is_killed(tmp_path):
    run, out, worker = _spawn_hold(tmp_path, seconds=1)
    run.kill()  # SIGKILL: the run process closes nothing
    run.join(30)
    # The step finishes its second, then the worker finds its run gone at its next wait for a step.
    wait_until(lambda: not _running(worker), 15, poll=0.1, what="the worker to exit after its run process")
    assert not (out / "interrupted").exists()


ALLOCATION_CYCLE = """
import resource
import numpy as np
from platform_assets import allocator
tuned = allocator.tune()
a = np.ones(50_000_000 // 8); del a  # a step's 50 MB column, freed
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):  # the next steps' columns of the same size
    a = np.ones(50_000_000 // 8); del a
print(tuned, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def test_a_step_process_reuses_the_memory_its_previous_arrays_freed():
    """allocator.tune: glibc mapped every array over 32 MB afresh and unmapped it when freed, so
    each of a step's large columns was faulted in and zeroed again (~450 faults per 50 MB here, numpy
    asks for huge pages; each fault zeroes 2 MB); tuned,
    the next column of the same size reuses the freed memory. PLATFORM_MALLOC_TUNING=0 opts out."""
    def cycle(tuning: str) -> tuple[str, int]:
        done = subprocess.run([sys.executable, "-c", ALLOCATION_CYCLE], capture_output=True, text=True, check=True,
                              env={**os.environ, "PLATFORM_MALLOC_TUNING": tuning})
        tuned, faults = done.stdout.split()
        return tuned, int(faults)

    untuned_flag, untuned = cycle("0")
    tuned_flag, tuned = cycle("1")
    assert (untuned_flag, tuned_flag) == ("False", "True")
    assert untuned > 1_000, "each 50 MB array faulted in afresh"
    assert tuned < untuned / 10
