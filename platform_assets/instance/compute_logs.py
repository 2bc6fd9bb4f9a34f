"""Compute logs of the embedded instance: a step's stdout and stderr go straight to the files the UI
shows, without being mirrored to the run process's console.

Dagster's ``LocalComputeLogManager`` redirects a step's output to its files and, to mirror it on the
console too, starts a ``tail -F`` process per stream plus a Python watcher process per ``tail`` (so
an orphaned ``tail`` dies): four processes, two of them Python interpreters, for every step of every
run (~60 ms of CPU a step here, ~2 s of CPU on a 35-step day that has 2 cores). This manager keeps
the redirection and the files (same paths, same completion marker, same reading, subscriptions and
deletion as its parent: the UI's "stdout/stderr" view is unchanged) and drops the mirror: the run
process's console no longer echoes what steps print; Dagster's structured events are unaffected.

``LocalComputeLogManager`` is public but exported only from ``dagster._core``; so is the
redirection helper it uses. Dagster is pinned (1.13.27).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from dagster._core.execution.compute_logs import redirect_to_file  # no public export (module docstring)
from dagster._core.storage.compute_log_manager import CapturedLogContext, ComputeIOType
from dagster._core.storage.local_compute_log_manager import IO_TYPE_EXTENSION, LocalComputeLogManager
from dagster._utils import ensure_file, touch_file


class FileComputeLogManager(LocalComputeLogManager):
    """``LocalComputeLogManager`` without the console mirror (module docstring)."""

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> FileComputeLogManager:
        return cls(inst_data=inst_data, **config_value)

    @contextmanager
    def capture_logs(self, log_key: Sequence[str]) -> Iterator[CapturedLogContext]:
        outpath = self.get_captured_local_path(log_key, IO_TYPE_EXTENSION[ComputeIOType.STDOUT])
        errpath = self.get_captured_local_path(log_key, IO_TYPE_EXTENSION[ComputeIOType.STDERR])
        ensure_file(outpath)
        ensure_file(errpath)
        with redirect_to_file(sys.stdout, outpath), redirect_to_file(sys.stderr, errpath):
            yield CapturedLogContext(log_key)
        # as the parent: the marker tells readers the capture is complete
        touch_file(self.complete_artifact_path(log_key))
