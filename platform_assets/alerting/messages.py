"""What every alert says: what broke, which partition, who owns it, who is on call, the response
target, the run book, and the exact command (or UI action) that re-runs it."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from typing import Any

from platform_assets.alerting.incidents import Incident
from platform_assets.alerting.oncall import Rotation
from platform_assets.alerting.service_levels import ServiceLevels, Severity
from platform_assets.team import Team

CLI = "platform-assets"


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    slack: str

    def mention(self) -> str:
        return f"{self.name} ({self.slack or self.email})"


@dataclass
class Alert:
    incident: Incident
    state: str                 # warn | fail | failed | late | stalled | resolved
    route: str                 # page | channel
    title: str
    what: str
    severity: Severity
    pipeline: str
    owners: list[Person]
    on_call: Person
    runbook: str
    rerun: str
    rerun_ui: str
    details: dict[str, Any] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)

    @property
    def resolved(self) -> bool:
        return self.state == "resolved"

    def text(self) -> str:
        """The whole message as plain text (Slack's fallback text, logs, tests)."""
        head = "RESOLVED" if self.resolved else self.severity.name.upper()
        lines = [f"[{head}] {self.title}", self.what]
        if self.incident.partition:
            lines.append(f"Partition: {self.incident.partition}")
        lines += [
            f"Owners: {', '.join(p.mention() for p in self.owners)} (pipeline {self.pipeline})",
            f"On call: {self.on_call.mention()}",
            f"Response target ({self.severity.name}): {self.severity.targets()}",
            f"Run book: {self.runbook}",
            f"Re-run: {self.rerun}",
            f"In the UI: {self.rerun_ui}",
        ]
        lines += [f"{k}: {v}" for k, v in self.details.items() if v not in (None, "", [], {})]
        return "\n".join(lines)

    def custom_details(self) -> dict[str, Any]:
        return {
            "what": self.what, "partition": self.incident.partition, "state": self.state,
            "severity": self.severity.name, "pipeline": self.pipeline,
            "owners": [p.__dict__ for p in self.owners], "on_call": self.on_call.__dict__,
            "response_target": self.severity.targets(), "runbook": self.runbook,
            "rerun_command": self.rerun, "rerun_ui": self.rerun_ui, **self.details,
        }


def dagster_url() -> str:
    return os.environ.get("PLATFORM_DAGSTER_URL", "http://127.0.0.1:3000").rstrip("/")


def runbook_link(path: str) -> str:
    base = os.environ.get("PLATFORM_RUNBOOK_BASE_URL", "").rstrip("/")
    return f"{base}/{path}" if base else path


def person(team: Team, ref: str) -> Person:
    if ref.startswith("team:"):
        t = team.teams[ref[5:]]
        return Person(t.get("name", ref), t.get("email", ""), t.get("slack", ""))
    p = team.people[ref]
    return Person(p.name, p.email, p.slack)


class Composer:
    """Turns an incident into an Alert using the team's configuration."""

    def __init__(self, team: Team, levels: ServiceLevels, rotation: Rotation):
        self.team, self.levels, self.rotation = team, levels, rotation

    def compose(self, incident: Incident, state: str, *, now: dt.datetime | None = None) -> Alert:
        now = now or dt.datetime.now(dt.timezone.utc)
        pipeline = self.team.pipeline_for(incident.details.get("owner_asset") or incident.subject)
        severity = self.levels.severities[incident.severity]
        route = "channel" if state == "warn" else severity.route
        if state == "resolved":
            routes = incident.routes()
            route = "page" if "page" in routes else "channel"
        d = incident.details
        return Alert(
            incident=incident, state=state, route=route,
            title=d.get("title_resolved" if state == "resolved" else "title", incident.subject),
            what=d.get("what_resolved" if state == "resolved" else "what", ""),
            severity=severity, pipeline=pipeline.name,
            owners=[person(self.team, pipeline.primary), person(self.team, pipeline.secondary)],
            on_call=person(self.team, self.rotation.on_call(now)),
            runbook=runbook_link(self.team.runbook(pipeline.name)),
            rerun=d.get("rerun", ""), rerun_ui=d.get("rerun_ui", ""),
            details={k: v for k, v in d.get("extra", {}).items()},
            links={"dagster": d.get("link", dagster_url())},
        )


def report_rerun(asset: str, partition: str) -> tuple[str, str]:
    return (f"{CLI} materialize --start {partition} --end {partition} --select {asset}",
            f"Dagster UI > Assets > {asset} > Materialize > partition {partition}")


def import_rerun(source: str, partition: str) -> tuple[str, str]:
    return (f"{CLI} reprocess --source {source} --date {partition} --downstream",
            f"Dagster UI > Assets > raw_{source} > Materialize > partition {partition} (then its downstream)")
