"""Noticing when the scheduler itself stops: a daemon that no longer heartbeats, a sensor that
stopped ticking or keeps failing.

Run inside the daemon as part of the alert sensor (catches a stuck or failing sensor), and from
outside by ``platform-assets watchdog`` (cron/systemd every minute), which is what notices the
daemon itself being down. Dagster has no public API for heartbeats and ticks; the instance
methods used here (get_daemon_heartbeats, all_instigator_state, get_ticks) are the ones the
Dagster UI's daemon health page relies on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import dagster as dg

# A sensor is stalled when its last tick is older than this many of its intervals (and a minute).
STALL_INTERVALS = 4
DAEMON_HEARTBEAT_TOLERANCE = dt.timedelta(seconds=90)
FAILED_TICKS_IN_A_ROW = 3
WATCHED_DAEMONS = ("SENSOR", "ASSET", "SCHEDULER", "QUEUED_RUN_COORDINATOR")


@dataclass(frozen=True)
class Finding:
    key: str           # watchdog:<kind>:<name>
    subject: str
    healthy: bool
    what: str


def check_daemons(instance: dg.DagsterInstance, now: dt.datetime,
                  tolerance: dt.timedelta = DAEMON_HEARTBEAT_TOLERANCE) -> list[Finding]:
    """One finding for the daemon process: down if any of its loops stopped heartbeating."""
    heartbeats = instance.get_daemon_heartbeats()  # no public API (see module docstring)
    ages = {d: now - dt.datetime.fromtimestamp(heartbeats[d].timestamp, dt.timezone.utc)
            for d in WATCHED_DAEMONS if d in heartbeats}
    if not ages:
        return []  # no daemon has run on this instance yet
    stale = {d: a for d, a in ages.items() if a > tolerance}
    if stale:
        what = ("dagster-daemon is not heartbeating: " + ", ".join(
            f"{d.lower()} last seen {int(a.total_seconds())} s ago" for d, a in stale.items())
            + f" (tolerance {int(tolerance.total_seconds())} s); sensors, schedules and queued runs are not running")
    else:
        what = f"dagster-daemon heartbeating ({', '.join(d.lower() for d in ages)})"
    return [Finding("watchdog:daemon", "dagster-daemon", not stale, what)]


def root_cause(error) -> str:
    """The innermost error of a tick (Dagster wraps the sensor's own exception)."""
    if error is None:
        return "unknown error"
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return " ".join(error.message.split())[:300]


def check_sensors(instance: dg.DagsterInstance, now: dt.datetime, intervals: dict[str, int],
                  exclude: tuple[str, ...] = ()) -> list[Finding]:
    """Every running sensor of this platform (``intervals``: name -> seconds) ticks on time and
    does not keep failing."""
    from dagster._core.scheduler.instigation import InstigatorStatus, InstigatorType  # no public API

    findings = []
    for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
        name = state.instigator_name
        # DECLARED_IN_CODE: running by the code's default status (all of ours); a sensor someone
        # stopped in the UI is STOPPED and not watched.
        if name not in intervals or name in exclude or state.status not in (InstigatorStatus.RUNNING,
                                                                              InstigatorStatus.DECLARED_IN_CODE):
            continue
        ticks = instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=FAILED_TICKS_IN_A_ROW)
        limit = dt.timedelta(seconds=STALL_INTERVALS * intervals[name] + 60)
        if not ticks:
            continue  # not ticked yet since it was started
        last = dt.datetime.fromtimestamp(ticks[0].timestamp, dt.timezone.utc)
        failing = len(ticks) >= FAILED_TICKS_IN_A_ROW and all(t.status.value == "FAILURE" for t in ticks)
        stalled = now - last > limit
        what = (f"sensor {name} has not ticked for {int((now - last).total_seconds())} s (expected every "
                f"{intervals[name]} s)" if stalled else
                f"sensor {name} failed its last {len(ticks)} ticks: {root_cause(ticks[0].error)}"
                if failing else f"sensor {name} ticking")
        findings.append(Finding(f"watchdog:sensor:{name}", f"sensor {name}", not (stalled or failing), what))
    return findings
