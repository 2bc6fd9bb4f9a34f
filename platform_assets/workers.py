"""Step workers: the run's step processes, forked once from the forkserver and reused step after step.

Dagster's multiprocess executor starts a process per step. On this machine that costs each step
its process start (fork, opening the instance, building the step's plan) and, more, the first
touch of every page of memory the step uses: a fresh process faults in its working set, where a
process that ran a step before reuses the memory its allocators kept. A bench-scale day's steps
took ~20-25% more CPU as 38 processes than in one process (docs/decisions.md).

Here the run keeps one worker process per concurrency slot. Dagster's executor still decides
which step runs when (priorities, pools, tag limits, retries); only where a step runs changes: the
step's command goes to an idle worker, which runs it exactly as the step process would have
(``_execute_command_in_child_process``: the same events, the same error handling) and then waits
for the next. A worker that dies mid-step fails that step as a crashed step process does, and the
next step gets a new worker; a worker whose step was interrupted, or that holds more than
``RECYCLE_RSS_GB`` after a step, is retired.

What a step loses against a process of its own: a step that leaves global state behind (a module
patched, a cache filled) leaves it for the next step of that worker, as in the in-process executor.
The platform's steps keep their state in resources and the warehouse, not in module globals.

Private Dagster APIs: no public API places a step in an existing process. The child-process
plumbing (``dagster._core.executor.child_process_executor``) is used as it is, and the executor's
call to start a step's process (``multiprocess.execute_child_process_command``) is routed here
while a worker pool is active in this process; outside one it is Dagster's own function.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import pickle
import queue
import threading
from collections.abc import Iterator
from multiprocessing.reduction import ForkingPickler

from dagster._core.executor import child_process_executor as _child
from dagster._core.executor import multiprocess as _multiprocess

PARENT_CHECK_SECONDS = 2.0
# How long one round of the executor's loop waits for any of the run's workers to report when none
# has (one wait for all of them, ended by the first event or worker exit): the loop still turns
# this often to see the run's interrupts and the steps that became ready without an event.
WAIT_SECONDS = 0.05
RECYCLE_RSS_GB = 4.0  # a worker holding more than this after a step is retired (step peaks ~1.5 GB)
_dagster_execute_child_process_command = _child.execute_child_process_command
_active_pool: StepWorkers | None = None


def _resident_gb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024 ** 3
    except (OSError, ValueError, IndexError):
        return 0.0


def _orphaned(forkserver_pid: int, run_pid: int) -> bool:
    """The run process is gone: its forkserver exits with it (the worker is re-parented), or the
    run process itself no longer exists."""
    if os.getppid() != forkserver_pid:
        return True
    try:
        os.kill(run_pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass
    return False


class _EventPipe:
    """What a step command reports into (Dagster's child-process plumbing calls ``put``): each event
    pickled and written to the run process as it happens, in the step's own thread. A
    ``multiprocessing.Queue`` pickles in a feeder thread, and its reader can wait on one queue at a
    time (the executor waited on each step's queue in turn); the run process waits on all its
    workers' pipes at once."""

    def __init__(self, connection):
        self._connection = connection

    def put(self, event) -> None:
        self._connection.send(event)


def _worker_main(tasks, events, stop, run_pid: int) -> None:
    """A worker's loop: run each step command it is given, as a step process would, until None.
    A worker whose run process is gone (killed without closing its workers) exits at its next
    wait for a step instead of waiting forever."""
    current: dict[str, object] = {"event": None}
    forkserver_pid = os.getppid()

    def forward_stop() -> None:  # the run asked the worker's step to stop: interrupt it
        stop.wait()
        if current["event"] is not None:
            current["event"].set()

    threading.Thread(target=forward_stop, name="step-worker-stop", daemon=True).start()
    events_ctx = multiprocessing.get_context("fork")  # events local to this process: no tracker
    while True:
        try:
            command = tasks.get(timeout=PARENT_CHECK_SECONDS)
        except queue.Empty:
            if _orphaned(forkserver_pid, run_pid):
                return
            continue
        except KeyboardInterrupt:  # Ctrl-C in a terminal reaches the whole process group
            return
        if command is None:
            return
        command = pickle.loads(command)  # pickled by the run process as it handed the step over
        command.term_event = current["event"] = events_ctx.Event()
        if stop.is_set():
            command.term_event.set()
        try:
            _child._execute_command_in_child_process(_EventPipe(events), command)
        except OSError:  # the run process closed its end: nobody reads this step's events any more
            return
        current["event"] = None


class StepWorker:
    def __init__(self, ctx):
        self.tasks, self.stop = ctx.Queue(), ctx.Event()
        self.events, sender = ctx.Pipe(duplex=False)
        self.process = ctx.Process(target=_worker_main, args=(self.tasks, sender, self.stop, os.getpid()),
                                   name="platform-step-worker")
        self.process.start()
        sender.close()  # the worker holds the only writing end: its exit ends the pipe
        self.exited = False  # its process is gone (seen when waiting); what it sent is still read

    def receive(self):
        """The next event the worker sent, None if there is none yet, or
        ``PROCESS_DEAD_AND_QUEUE_EMPTY`` once its process is gone and everything it sent is read."""
        try:
            if self.events.poll():
                return self.events.recv()
        except (EOFError, OSError):  # its end closed, possibly mid-event: the process is gone
            self.exited = True
        return _child.PROCESS_DEAD_AND_QUEUE_EMPTY if self.exited else None

    def close(self, timeout: float = 5.0) -> None:
        if self.process.is_alive():
            self.tasks.put(None)
            self.process.join(timeout)
            if self.process.is_alive():
                self.process.terminate()
                self.process.join(timeout)
        self.tasks.close()
        self.events.close()


class StepWorkers:
    """The run's workers: started when a step needs one, at most one per running step."""

    def __init__(self):
        self._idle: list[StepWorker] = []
        self._all: list[StepWorker] = []
        self._busy: list[StepWorker] = []  # running a step, oldest first

    def acquire(self, ctx) -> StepWorker:
        while self._idle:
            worker = self._idle.pop()
            if worker.process.is_alive():
                return worker
            self._retire(worker)
        worker = StepWorker(ctx)
        self._all.append(worker)
        return worker

    def release(self, worker: StepWorker, reusable: bool) -> None:
        if reusable and worker.process.is_alive() and _resident_gb(worker.process.pid) <= RECYCLE_RSS_GB:
            self._idle.append(worker)
        else:
            self._retire(worker)

    def _retire(self, worker: StepWorker) -> None:
        worker.close()
        if worker in self._all:
            self._all.remove(worker)

    def _wait(self, worker: StepWorker) -> None:
        """Once per round of the executor's loop (by the oldest running step, whose turn comes
        once a round): wait until any busy worker sends an event or exits, at most
        ``WAIT_SECONDS``. Dagster's own loop waits up to its tick on each step's queue in turn and
        asks each process whether it is alive (a selector built per call): ~2 CPU-s of the run
        process in a bench-scale day (py-spy), and an event waited behind its neighbours' ticks."""
        if not self._busy or self._busy[0] is not worker:
            return
        sentinels = {w.process.sentinel: w for w in self._busy}
        ready = multiprocessing.connection.wait([w.events for w in self._busy] + list(sentinels), WAIT_SECONDS)
        for handle in ready:
            if handle in sentinels:
                sentinels[handle].exited = True

    def close(self) -> None:
        for worker in list(self._all):
            self._retire(worker)
        self._idle.clear()

    def execute(self, ctx, command) -> Iterator:
        """What Dagster's execute_child_process_command yields, from a worker instead of a new process."""
        run_stop = command.term_event  # the executor's per-step event; it cannot travel in a queue
        command.term_event = None
        # Pickled now, in the executor's thread, as Dagster pickles a step process's command when it
        # starts the process. A queue pickles what it is given later, in a thread of its own, and
        # the command refers to the executor's live state (the set of outputs ready so far, which
        # other steps' events change meanwhile): a "set changed size during iteration" there was
        # printed and the step dropped, and the run waited for it forever (seen once, in one of
        # make bench's per-date backfill runs). An error here fails the step instead.
        payload = bytes(ForkingPickler.dumps(command))
        worker = self.acquire(ctx)
        done = False
        self._busy.append(worker)
        try:
            worker.tasks.put(payload)
            yield worker.process
            while not done:
                if run_stop.is_set() and not worker.stop.is_set():
                    worker.stop.set()
                event = worker.receive()
                if event is None:
                    self._wait(worker)
                    event = worker.receive()
                if event == _child.PROCESS_DEAD_AND_QUEUE_EMPTY:
                    break
                yield event  # None: nothing yet, the executor's loop goes on to its other steps
                done = isinstance(event, (_child.ChildProcessDoneEvent, _child.ChildProcessSystemErrorEvent))
            if not done:
                worker.process.join(PARENT_CHECK_SECONDS)  # its exit code, for the crash explanation
                raise _child.ChildProcessCrashException(pid=worker.process.pid, exit_code=worker.process.exitcode)
        finally:
            self._busy.remove(worker)
            self.release(worker, reusable=done and not worker.stop.is_set())


def _execute_child_process_command(multiprocessing_ctx, command):
    if _active_pool is None:
        return _dagster_execute_child_process_command(multiprocessing_ctx, command)
    return _active_pool.execute(multiprocessing_ctx, command)


_multiprocess.execute_child_process_command = _execute_child_process_command


@contextlib.contextmanager
def step_workers() -> Iterator[StepWorkers]:
    global _active_pool
    pool, previous = StepWorkers(), _active_pool
    _active_pool = pool
    try:
        yield pool
    finally:
        _active_pool = previous
        pool.close()
