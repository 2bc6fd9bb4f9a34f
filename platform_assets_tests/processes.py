"""Start the real Dagster processes (daemon, dev server) for tests, with their own environment
and log file, and stop them (the whole process group) afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def instance_home(path: Path, extra_yaml: str = "") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text() + "\n" + extra_yaml)
    return path


class Process:
    def __init__(self, args: list[str], env: dict[str, str], log: Path):
        self.log = log
        self._fh = log.open("wb")
        full_env = {"PATH": f"{BIN}:{os.environ.get('PATH', '')}", "HOME": os.environ.get("HOME", "/root"),
                    "PYTHONUNBUFFERED": "1", **env}
        self.proc = subprocess.Popen(args, cwd=ROOT, env=full_env, stdout=self._fh, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 20) -> None:
        if self.alive():
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=timeout)
        self._fh.close()

    def tail(self, lines: int = 60) -> str:
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])


def daemon(env: dict[str, str], log: Path) -> Process:
    return Process([str(BIN / "dagster-daemon"), "run", "-w", str(ROOT / "workspace.yaml")], env, log)


def wait_until(predicate, timeout: float, poll: float = 1.0, what: str = "condition", process: Process | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if process is not None and not process.alive():
            raise AssertionError(f"{what}: the process died\n{process.tail()}")
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}"
                         + (f"\n--- log tail ---\n{process.tail()}" if process else ""))
