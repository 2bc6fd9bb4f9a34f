"""Run-time configuration from environment variables.

Nothing in the package reads the environment at import time: code that needs settings calls
``Settings.from_env()`` when it runs (a resource's setup, a CLI command), so tests and the
Dagster daemon can point the same code at different places.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_HOME = ".platform"

# Every variable the platform reads, with what it means; a test checks the README documents each.
ENVIRONMENT_VARIABLES: dict[str, str] = {
    "PLATFORM_LANDING_DIR": "Landing zone: <dir>/<source>/<YYYY-MM-DD>/ with _manifest.json "
    "(default .platform/landing)",
    "PLATFORM_DATA_DIR": "Embedded storage: Parquet warehouse and SQLite import ledger "
    "(default .platform/data)",
    "PLATFORM_DATABASE_URL": "When set (postgresql://...), PostgreSQL holds the warehouse and the "
    "ledger instead of the embedded default",
    "PLATFORM_CONFIG_DIR": "Directory with the team's ownership, service-level and on-call YAML "
    "(default: the files shipped in platform_assets/config)",
    "PLATFORM_SENSOR_INTERVAL_SECONDS": "How often the landing-zone and alert sensors run (default 15 and 30; "
    "read when definitions load)",
    "PLATFORM_MAX_CONCURRENT_STEPS": "Steps a run executes at once (default: cores, capped by memory / 3 GB; read "
    "when definitions load)",
    "PLATFORM_STEP_WORKERS": "1 (default): a run's steps run in worker processes it reuses step after step; 0: a "
    "new process per step, as Dagster's multiprocess executor does (read when a run starts)",
    "PLATFORM_SLACK_WEBHOOK_URL": "Slack-compatible incoming webhook for the team channel (medium/low alerts)",
    "PLATFORM_PAGERDUTY_ROUTING_KEY": "PagerDuty Events API v2 routing key (critical/high alerts page on-call)",
    "PLATFORM_PAGERDUTY_EVENTS_URL": "PagerDuty Events API endpoint (default https://events.pagerduty.com/v2/enqueue)",
    "PLATFORM_RUNBOOK_BASE_URL": "Prefix turning docs/runbooks/*.md into links in alerts and the UI (e.g. the repo's URL)",
    "PLATFORM_DAGSTER_URL": "The Dagster UI's address, for links in alerts (default http://127.0.0.1:3000)",
    "DAGSTER_HOME": "The Dagster instance (dagster.yaml, run history); the Makefile uses "
    ".platform/dagster_home",
}


@dataclass(frozen=True)
class Settings:
    landing_dir: Path
    data_dir: Path
    database_url: str | None = None
    config_dir: Path | None = None
    sensor_interval_seconds: int | None = None
    max_concurrent_steps: str | None = None
    step_workers: bool = True

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("PLATFORM_DATA_DIR") or Path(DEFAULT_HOME) / "data")
        landing_dir = Path(env.get("PLATFORM_LANDING_DIR") or Path(DEFAULT_HOME) / "landing")
        config_dir = env.get("PLATFORM_CONFIG_DIR") or None
        return cls(
            landing_dir=landing_dir.absolute(),
            data_dir=data_dir.absolute(),
            database_url=env.get("PLATFORM_DATABASE_URL") or None,
            config_dir=Path(config_dir).absolute() if config_dir else None,
            sensor_interval_seconds=int(env["PLATFORM_SENSOR_INTERVAL_SECONDS"])
            if env.get("PLATFORM_SENSOR_INTERVAL_SECONDS") else None,
            max_concurrent_steps=env.get("PLATFORM_MAX_CONCURRENT_STEPS") or None,
            step_workers=_flag(env.get("PLATFORM_STEP_WORKERS"), default=True, name="PLATFORM_STEP_WORKERS"),
        )

    @property
    def backend(self) -> str:
        return "postgres" if self.database_url else "embedded"

    @property
    def ledger_url(self) -> str:
        if self.database_url:
            return _sqlalchemy_url(self.database_url)
        return f"sqlite:///{self.data_dir / 'ledger.sqlite'}"


def _flag(value: str | None, default: bool, name: str) -> bool:
    if value is None or value.strip() == "":
        return default
    if value.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if value.strip().lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name}={value!r}: expected 1 or 0")


def _sqlalchemy_url(url: str) -> str:
    """Accept the libpq form users paste (postgresql://) and select the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
