"""Who is on call at a given time: a weekly rotation with holiday hand-over (config/oncall.yaml)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Holiday:
    person: str
    start: dt.date
    end: dt.date  # inclusive
    note: str = ""

    def overlaps(self, start: dt.date, end: dt.date) -> bool:
        return self.start <= end and start <= self.end


@dataclass(frozen=True)
class Rotation:
    engineers: tuple[str, ...]
    first_week_starts: dt.date
    handover_weekday: int
    handover_time: dt.time
    timezone: str
    holidays: tuple[Holiday, ...] = ()
    overrides: tuple[tuple[dt.date, str], ...] = ()
    channel: str = ""

    @classmethod
    def from_config(cls, cfg: dict, timezone: str, known_people: set[str]) -> Rotation:
        rot = cfg["rotation"]
        engineers = tuple(rot["engineers"])
        unknown = [p for p in engineers if p not in known_people]
        if unknown:
            raise ValueError(f"oncall.yaml: unknown engineer(s) {unknown}; known: {sorted(known_people)}")
        hh, mm = (int(x) for x in str(rot.get("handover", {}).get("time", "09:00")).split(":")[:2])
        weekday = WEEKDAYS.index(str(rot.get("handover", {}).get("weekday", "monday")).lower())
        holidays = tuple(Holiday(h["person"], _date(h["from"]), _date(h["to"]), h.get("note", ""))
                         for h in cfg.get("holidays") or [])
        overrides = tuple((_date(o["week"]), o["person"]) for o in cfg.get("overrides") or [])
        return cls(engineers, _date(rot["first_week_starts"]), weekday, dt.time(hh, mm), timezone, holidays,
                   overrides, cfg.get("channel", ""))

    def week_of(self, when: dt.datetime) -> tuple[int, dt.date]:
        """(week index since the first week, the date the on-call week started)."""
        local = when.astimezone(ZoneInfo(self.timezone))
        first = dt.datetime.combine(self.first_week_starts, self.handover_time, tzinfo=ZoneInfo(self.timezone))
        first += dt.timedelta(days=(self.handover_weekday - self.first_week_starts.weekday()) % 7)
        index = (local - first) // dt.timedelta(weeks=1)
        return index, (first + dt.timedelta(weeks=index)).date()

    def away(self, person: str, start: dt.date, end: dt.date) -> bool:
        return any(h.person == person and h.overlaps(start, end) for h in self.holidays)

    def on_call(self, when: dt.datetime) -> str:
        """The engineer on call at ``when``: the rotation's, or an override's, or, if they are on
        holiday that week, the next engineer in the rotation who is not."""
        index, week_start = self.week_of(when)
        week_end = week_start + dt.timedelta(days=6)
        planned = dict(self.overrides).get(week_start, self.engineers[index % len(self.engineers)])
        start = self.engineers.index(planned) if planned in self.engineers else index % len(self.engineers)
        for step in range(len(self.engineers)):
            candidate = planned if step == 0 else self.engineers[(start + step) % len(self.engineers)]
            if not self.away(candidate, week_start, week_end):
                return candidate
        return planned  # everyone away: the plan stands, the channel will know

    def schedule(self, start: dt.datetime, weeks: int) -> list[tuple[dt.date, str]]:
        return [(self.week_of(start + dt.timedelta(weeks=w))[1], self.on_call(start + dt.timedelta(weeks=w)))
                for w in range(weeks)]


def _date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
