"""Service levels from config/service_levels.yaml, and when each business date is due.

A report's partition for business date D is due at ``due`` on the first day after D that is one
of its ``days`` (``daily``, or ``business_days`` Mon-Fri): the close of a Friday, Saturday or
Sunday is due Monday 07:00. The upstream POS export for D must have landed by ``landed_by`` the
next morning. Times may carry seconds (HH:MM[:SS]) so tests and replays can compress a morning.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import dagster as dg


@dataclass(frozen=True)
class Severity:
    name: str
    respond_minutes: int
    resolve_minutes: int
    route: str  # page | channel

    def targets(self) -> str:
        return f"respond within {_minutes(self.respond_minutes)}, resolve within {_minutes(self.resolve_minutes)}"


def _minutes(n: int) -> str:
    return f"{n // 60} h" if n % 60 == 0 and n >= 60 else f"{n} min"


@dataclass(frozen=True)
class Deadline:
    """A report's (``kind`` report) or an upstream export's (``kind`` upstream) service level."""

    name: str           # asset or source
    kind: str
    time: dt.time
    days: str           # daily | business_days
    severity: str
    audience: str
    warn_before: dt.timedelta

    def due_on(self, day: dt.date) -> bool:
        return self.days == "daily" or day.weekday() < 5

    def deadline(self, business_date: dt.date, tz: str) -> dt.datetime:
        day = business_date + dt.timedelta(days=1)
        while not self.due_on(day):
            day += dt.timedelta(days=1)
        return dt.datetime.combine(day, self.time, tzinfo=ZoneInfo(tz))

    def cron(self) -> str:
        """The deadline as a cron expression (minute precision) for Dagster's FreshnessPolicy."""
        return f"{self.time.minute} {self.time.hour} * * {'*' if self.days == 'daily' else '1-5'}"


@dataclass(frozen=True)
class ServiceLevels:
    timezone: str
    severities: dict[str, Severity]
    reports: dict[str, Deadline]
    upstream: dict[str, Deadline]
    reference: dict[str, dict]
    # How long a run may take before it is flagged (the "batch exceeds its time window" run book
    # entry): a day's runs, and a backfill's runs (which cover up to a range of dates each).
    run_window: dt.timedelta = dt.timedelta(minutes=45)
    backfill_run_window: dt.timedelta = dt.timedelta(minutes=180)

    @classmethod
    def from_config(cls, cfg: dict) -> ServiceLevels:
        severities = {k: Severity(k, int(v["respond_minutes"]), int(v["resolve_minutes"]), v["route"])
                      for k, v in cfg["severities"].items()}
        warn = dt.timedelta(minutes=float(cfg.get("warn_before_minutes", 30)))

        def deadline(name, kind, spec, field):
            if spec["severity"] not in severities:
                raise ValueError(f"service_levels.yaml: {name}: unknown severity {spec['severity']!r}")
            if spec.get("days", "daily") not in ("daily", "business_days"):
                raise ValueError(f"service_levels.yaml: {name}: days must be daily or business_days")
            return Deadline(name, kind, _time(spec[field]), spec.get("days", "daily"), spec["severity"],
                            spec.get("audience", ""), dt.timedelta(minutes=float(spec.get("warn_before_minutes",
                                                                                          warn.total_seconds() / 60))))

        return cls(
            timezone=cfg.get("timezone", "America/New_York"),
            severities=severities,
            reports={k: deadline(k, "report", v, "due") for k, v in (cfg.get("reports") or {}).items()},
            upstream={k: deadline(k, "upstream", v, "landed_by") for k, v in (cfg.get("upstream") or {}).items()},
            reference=cfg.get("reference_data") or {},
            run_window=dt.timedelta(minutes=float((cfg.get("run_time_windows") or {}).get("run_minutes", 45))),
            backfill_run_window=dt.timedelta(minutes=float((cfg.get("run_time_windows") or {}).get(
                "backfill_run_minutes", 180))),
        )

    def run_window_for(self, tags: dict[str, str]) -> dt.timedelta:
        return self.backfill_run_window if "dagster/backfill" in tags else self.run_window

    def freshness_policy(self, name: str) -> dg.FreshnessPolicy | None:
        """Dagster's cron freshness policy for a report or upstream export (shown in the UI; the
        alerts judge the business-date partition that is due, see sla.py)."""
        d = self.reports.get(name) or self.upstream.get(name)
        if d is None:
            return None
        since_midnight = dt.timedelta(hours=d.time.hour, minutes=d.time.minute) or dt.timedelta(hours=24)
        return dg.FreshnessPolicy.cron(deadline_cron=d.cron(), lower_bound_delta=since_midnight, timezone=self.timezone)


def _time(value) -> dt.time:
    parts = [int(p) for p in str(value).split(":")]
    return dt.time(*parts)


def load() -> ServiceLevels:
    from platform_assets import settings_files

    return ServiceLevels.from_config(settings_files.service_levels())
