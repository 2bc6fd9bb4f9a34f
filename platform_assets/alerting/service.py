"""The alerting service the sensors and the watchdog command share: open, escalate and resolve
incidents, compose the message for the right people, and deliver it."""

from __future__ import annotations

import datetime as dt
import logging
from functools import cached_property

import dagster as dg

from platform_assets import settings_files
from platform_assets.alerting.incidents import Incidents
from platform_assets.alerting.messages import Composer
from platform_assets.alerting.notifiers import Notifier
from platform_assets.alerting.oncall import Rotation
from platform_assets.alerting.service_levels import ServiceLevels
from platform_assets.ingestion.ledger import Ledger
from platform_assets.settings import Settings
from platform_assets.team import Team, load_team

log = logging.getLogger(__name__)
RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}


class AlertService:
    def __init__(self, ledger: Ledger, team: Team | None = None, levels: ServiceLevels | None = None,
                 rotation: Rotation | None = None, graph: dg.AssetGraph | None = None):
        self.team = team or load_team(Settings.from_env().config_dir)
        self.levels = levels or ServiceLevels.from_config(settings_files.service_levels())
        self.rotation = rotation or Rotation.from_config(settings_files.load("oncall.yaml"), self.levels.timezone,
                                                         set(self.team.people))
        self.incidents = Incidents(ledger)
        self.composer = Composer(self.team, self.levels, self.rotation)
        self.notifier = Notifier(self.rotation.channel)
        self._graph = graph
        self.sent: list = []  # alerts delivered by this service instance (for logs and tests)

    @cached_property
    def graph(self) -> dg.AssetGraph:
        if self._graph is None:
            from platform_assets.definitions import build_definitions

            self._graph = build_definitions().resolve_asset_graph()
        return self._graph

    def impact_severity(self, key: dg.AssetKey, default: str = "medium") -> str:
        """The most severe service level among the reports this asset feeds (itself included)."""
        names = {k.to_user_string() for k in dg.AssetSelection.assets(key).downstream().resolve(self.graph)}
        names.add(key.to_user_string())
        found = [self.levels.reports[n].severity for n in names if n in self.levels.reports]
        found += [self.levels.upstream[n].severity for n in names if n in self.levels.upstream]
        return max(found, key=RANK.get) if found else default

    def worst_impact(self, asset_names: list[str], default: str = "medium") -> str:
        """The most severe impact among these assets (unknown names ignored): how a run is routed."""
        known = self.graph.get_all_asset_keys()
        keys = [dg.AssetKey(a) for a in asset_names if dg.AssetKey(a) in known]
        return max((self.impact_severity(k) for k in keys), key=RANK.get, default=default)

    def reports_fed_by(self, key: dg.AssetKey) -> list[str]:
        names = {k.to_user_string() for k in dg.AssetSelection.assets(key).downstream().resolve(self.graph)}
        return sorted(n for n in names if n in self.levels.reports)

    def raise_(self, key: str, *, kind: str, subject: str, partition: str | None, severity: str, state: str,
               details: dict, now: dt.datetime | None = None) -> bool:
        """Record the problem; alert if this state was not alerted yet. True if an alert went out."""
        incident, news = self.incidents.observe(key, kind=kind, subject=subject, partition=partition,
                                                severity=severity, state=state, details=details)
        if not news:
            return False
        alert = self.composer.compose(incident, incident.state, now=now)
        if self.notifier.send(alert):
            self.incidents.mark_notified(key, incident.state, alert.route)
            self.sent.append(alert)
            log.info("alert sent (%s, %s): %s", alert.route, incident.state, alert.title)
            return True
        return False

    def resolve(self, key: str, details: dict | None = None, now: dt.datetime | None = None) -> bool:
        incident = self.incidents.resolve(key, details)
        if incident is None:
            return False
        return self._send_resolution(incident, now)

    def _send_resolution(self, incident, now=None) -> bool:
        alert = self.composer.compose(incident, "resolved", now=now)
        if self.notifier.send(alert):
            self.incidents.mark_resolution_sent(incident.key)
            self.sent.append(alert)
            log.info("resolution sent (%s): %s", alert.route, alert.title)
            return True
        return False

    def retry_pending(self, now: dt.datetime | None = None) -> None:
        """Deliver alerts and resolutions that failed to go out earlier."""
        for incident in self.incidents.pending_resolutions():
            self._send_resolution(incident, now)
        for incident in self.incidents.open_incidents():
            if not incident.notified_state(incident.state):
                self.raise_(incident.key, kind=incident.kind, subject=incident.subject, partition=incident.partition,
                            severity=incident.severity, state=incident.state, details=incident.details, now=now)
