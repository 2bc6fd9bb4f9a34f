"""Incidents: one per thing that broke (an SLA miss for a partition, a failed run lineage, a
failed check on a partition, a stalled sensor), so an incident alerts once per state until it is
resolved, then sends exactly one resolution.

Stored in the ledger database (SQLite embedded, PostgreSQL in production) so every process
(daemon sensors, the CLI watchdog) shares them. A notification is marked sent only once it was
delivered, so a failed delivery is retried on the next tick instead of being lost.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from platform_assets.ingestion.ledger import Ledger, create_tables, metadata, utcnow

alert_incidents = sa.Table(
    "alert_incidents",
    metadata,
    sa.Column("incident_key", sa.String(300), primary_key=True),
    sa.Column("kind", sa.String(40), nullable=False),       # sla | upstream | run_failure | check | watchdog
    sa.Column("subject", sa.String(200), nullable=False),   # asset, source, sensor or daemon
    sa.Column("partition", sa.String(20)),
    sa.Column("severity", sa.String(20), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),      # e.g. warn, fail, failed
    sa.Column("status", sa.String(20), nullable=False),     # open | resolved
    sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("resolved_at", sa.DateTime(timezone=True)),
    sa.Column("notified", sa.Text, nullable=False, default="[]"),  # JSON [{state, route, at}]
    sa.Column("resolution_sent", sa.Boolean, nullable=False, default=False),
    sa.Column("details", sa.Text),
    sa.Index("ix_alert_incidents_status", "status", "kind"),
)

alert_state = sa.Table(
    "alert_state",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

# States in order of escalation: a later state is news, an earlier or equal one is not.
ESCALATION = {"warn": 0, "fail": 1, "failed": 1, "late": 1, "stalled": 1}


@dataclass
class Incident:
    key: str
    kind: str
    subject: str
    partition: str | None
    severity: str
    state: str
    status: str
    opened_at: dt.datetime
    notified: list[dict] = field(default_factory=list)
    resolution_sent: bool = False
    details: dict = field(default_factory=dict)

    @property
    def dedup_key(self) -> str:
        """What PagerDuty deduplicates on: stable for the incident, short, no secrets."""
        return "platform_assets-" + hashlib.sha256(self.key.encode()).hexdigest()[:32]

    def notified_state(self, state: str) -> bool:
        return any(n["state"] == state for n in self.notified)

    def routes(self) -> list[str]:
        return list(dict.fromkeys(n["route"] for n in self.notified))

    @classmethod
    def from_row(cls, row: Any) -> Incident:
        m = row._mapping
        opened = m["opened_at"] if m["opened_at"].tzinfo else m["opened_at"].replace(tzinfo=dt.timezone.utc)
        return cls(m["incident_key"], m["kind"], m["subject"], m["partition"], m["severity"], m["state"],
                   m["status"], opened, json.loads(m["notified"] or "[]"), bool(m["resolution_sent"]),
                   json.loads(m["details"] or "{}"))


class Incidents:
    def __init__(self, ledger: Ledger):
        self.engine = ledger.engine
        create_tables(self.engine, [alert_incidents, alert_state])

    def monitoring_since(self, now: dt.datetime) -> dt.datetime:
        """When deadline monitoring began (recorded on first use): a deadline that passed before
        the platform was watching is not judged, so going live does not page for old days."""
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(alert_state.c.value).where(alert_state.c.name == "monitoring_since")).first()
            if row is None:
                conn.execute(alert_state.insert().values(name="monitoring_since", value=now.isoformat()))
                return now
        return dt.datetime.fromisoformat(row[0])

    def get(self, key: str) -> Incident | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(alert_incidents).where(alert_incidents.c.incident_key == key)).first()
        return Incident.from_row(row) if row else None

    def open_incidents(self, kind: str | None = None) -> list[Incident]:
        query = sa.select(alert_incidents).where(alert_incidents.c.status == "open")
        if kind:
            query = query.where(alert_incidents.c.kind == kind)
        with self.engine.connect() as conn:
            return [Incident.from_row(r) for r in conn.execute(query)]

    def all(self) -> list[Incident]:
        with self.engine.connect() as conn:
            return [Incident.from_row(r) for r in conn.execute(sa.select(alert_incidents))]

    def observe(self, key: str, *, kind: str, subject: str, partition: str | None, severity: str, state: str,
                details: dict) -> tuple[Incident, bool]:
        """Record that the thing is broken (in ``state``); returns the incident and whether this
        state is news (not yet notified). A resolved incident that breaks again reopens."""
        now = utcnow()
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(alert_incidents).where(alert_incidents.c.incident_key == key)).first()
            if row is None or row._mapping["status"] == "resolved":
                values = dict(kind=kind, subject=subject, partition=partition, severity=severity, state=state,
                              status="open", opened_at=now, updated_at=now, resolved_at=None, notified="[]",
                              resolution_sent=False, details=json.dumps(details, default=str))
                if row is None:
                    conn.execute(alert_incidents.insert().values(incident_key=key, **values))
                else:
                    conn.execute(alert_incidents.update().where(alert_incidents.c.incident_key == key).values(**values))
            else:
                current = row._mapping["state"]
                keep = current if ESCALATION.get(current, 0) > ESCALATION.get(state, 0) else state
                conn.execute(alert_incidents.update().where(alert_incidents.c.incident_key == key).values(
                    state=keep, severity=severity, updated_at=now, details=json.dumps(details, default=str)))
            incident = Incident.from_row(conn.execute(
                sa.select(alert_incidents).where(alert_incidents.c.incident_key == key)).first())
        return incident, not incident.notified_state(incident.state)

    def mark_notified(self, key: str, state: str, route: str) -> None:
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(alert_incidents.c.notified).where(alert_incidents.c.incident_key == key)).first()
            notified = json.loads(row[0] or "[]")
            notified.append({"state": state, "route": route, "at": utcnow().isoformat()})
            conn.execute(alert_incidents.update().where(alert_incidents.c.incident_key == key).values(
                notified=json.dumps(notified)))

    def resolve(self, key: str, details: dict | None = None) -> Incident | None:
        """Close an open incident; returns it if a resolution should be sent (it alerted before)."""
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(alert_incidents).where(
                (alert_incidents.c.incident_key == key) & (alert_incidents.c.status == "open"))).first()
            if row is None:
                return None
            incident = Incident.from_row(row)
            merged = {**incident.details, **(details or {})}
            conn.execute(alert_incidents.update().where(alert_incidents.c.incident_key == key).values(
                status="resolved", resolved_at=utcnow(), updated_at=utcnow(), details=json.dumps(merged, default=str)))
        incident.details = merged
        incident.status = "resolved"
        return incident if incident.notified and not incident.resolution_sent else None

    def mark_resolution_sent(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(alert_incidents.update().where(alert_incidents.c.incident_key == key).values(
                resolution_sent=True))

    def pending_resolutions(self) -> list[Incident]:
        """Resolved incidents whose resolution could not be delivered yet."""
        query = sa.select(alert_incidents).where((alert_incidents.c.status == "resolved")
                                                 & (alert_incidents.c.resolution_sent == sa.false())
                                                 & (alert_incidents.c.notified != "[]"))
        with self.engine.connect() as conn:
            return [Incident.from_row(r) for r in conn.execute(query)]
