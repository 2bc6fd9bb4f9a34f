"""Judging service levels per business date (not per asset as Dagster's freshness daemon does):
a late close for today is late even if an old partition was just backfilled.

Plain functions over times; the sensor supplies when each partition was materialized (or each
export landed).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from platform_assets.alerting.service_levels import Deadline

WATCH_DAYS = 4  # deadlines older than this are no longer watched (the SLA report covers history)


@dataclass(frozen=True)
class Due:
    deadline: Deadline
    business_date: dt.date
    due_at: dt.datetime
    done_at: dt.datetime | None
    state: str  # pending | warn | fail | on_time | late

    @property
    def minutes_late(self) -> float:
        end = self.done_at or dt.datetime.now(dt.timezone.utc)
        return max((end - self.due_at).total_seconds() / 60, 0.0)


def judge(deadline: Deadline, business_date: dt.date, tz: str, done_at: dt.datetime | None,
          now: dt.datetime) -> Due:
    due_at = deadline.deadline(business_date, tz)
    if done_at is not None:
        state = "on_time" if done_at <= due_at else "late"
    elif now >= due_at:
        state = "fail"
    elif now >= due_at - deadline.warn_before:
        state = "warn"
    else:
        state = "pending"
    return Due(deadline, business_date, due_at, done_at, state)


def dates_to_watch(deadline: Deadline, tz: str, now: dt.datetime, since: dt.datetime | None = None) -> list[dt.date]:
    """Business dates whose deadline falls in [max(now - WATCH_DAYS, since), now + warn_before]:
    a deadline that passed before monitoring began is not judged."""
    local = now.astimezone(ZoneInfo(tz)).date()
    earliest = max(now - dt.timedelta(days=WATCH_DAYS), since or now - dt.timedelta(days=WATCH_DAYS))
    out = []
    for back in range(WATCH_DAYS + 7, -1, -1):
        business_date = local - dt.timedelta(days=back)
        due_at = deadline.deadline(business_date, tz)
        if earliest <= due_at <= now + deadline.warn_before:
            out.append(business_date)
    return out
