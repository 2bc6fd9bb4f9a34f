"""Deliver alerts over HTTP: a Slack-compatible incoming webhook (the team channel) and the
PagerDuty Events API v2 (pages: trigger, and resolve with the same dedup key).

Endpoints and the routing key come from the environment when sending (never stored, never
logged): PLATFORM_SLACK_WEBHOOK_URL, PLATFORM_PAGERDUTY_EVENTS_URL (default PagerDuty's),
PLATFORM_PAGERDUTY_ROUTING_KEY. A page with no PagerDuty configured goes to the channel, marked
as an unanswered page, rather than nowhere.
"""

from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from platform_assets.alerting.messages import Alert

log = logging.getLogger(__name__)
PAGERDUTY_DEFAULT = "https://events.pagerduty.com/v2/enqueue"
PD_SEVERITY = {"critical": "critical", "high": "error", "medium": "warning", "low": "info"}
ATTEMPTS = 3


def _where(url: str) -> str:
    """A URL safe to log: scheme and host only (webhook paths are secrets)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{':' + str(parts.port) if parts.port else ''}"


def post_json(url: str, body: dict, *, timeout: float = 5.0) -> bool:
    data = json.dumps(body).encode()
    for attempt in range(1, ATTEMPTS + 1):
        request = urllib.request.Request(url, data=data, method="POST",
                                         headers={"Content-Type": "application/json", "User-Agent": "platform_assets"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                if 200 <= response.status < 300:
                    return True
                log.warning("alert delivery to %s answered HTTP %s (attempt %d)", _where(url), response.status, attempt)
        except urllib.error.HTTPError as exc:
            log.warning("alert delivery to %s answered HTTP %s (attempt %d)", _where(url), exc.code, attempt)
            if 400 <= exc.code < 500 and exc.code != 429:
                return False  # our request is wrong: retrying will not help
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            log.warning("alert delivery to %s failed: %s (attempt %d)", _where(url), type(exc).__name__, attempt)
        time.sleep(0.5 * attempt)
    return False


def slack_payload(alert: Alert, channel: str = "") -> dict:
    emoji = ":white_check_mark:" if alert.resolved else (":rotating_light:" if alert.route == "page" else ":warning:")
    text = f"{emoji} {alert.text()}"
    if alert.route == "page" and not alert.resolved:
        text += f"\n<!here> paging {alert.on_call.mention()}"
    body = {"text": text, "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{emoji} *{alert.title}*\n{alert.what}"}},
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": f"*Partition*\n{alert.incident.partition or '-'}"},
            {"type": "mrkdwn", "text": f"*Severity*\n{alert.severity.name} ({alert.severity.targets()})"},
            {"type": "mrkdwn", "text": f"*Owners*\n{', '.join(p.mention() for p in alert.owners)}"},
            {"type": "mrkdwn", "text": f"*On call*\n{alert.on_call.mention()}"},
        ]},
        {"type": "section", "text": {"type": "mrkdwn", "text":
                                     f"*Run book*: {alert.runbook}\n*Re-run*: `{alert.rerun}`\n*UI*: {alert.rerun_ui}"}},
    ]}
    if channel:
        body["channel"] = channel
    return body


def pagerduty_payload(alert: Alert, routing_key: str) -> dict:
    if alert.resolved:
        return {"routing_key": routing_key, "event_action": "resolve", "dedup_key": alert.incident.dedup_key}
    links = [{"href": alert.runbook, "text": "Run book"}] + [{"href": v, "text": k} for k, v in alert.links.items()]
    return {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": alert.incident.dedup_key,
        "payload": {
            "summary": f"[{alert.severity.name.upper()}] {alert.title}"[:1024],
            "source": "platform_assets",
            "severity": PD_SEVERITY[alert.severity.name],
            "component": alert.incident.subject,
            "group": alert.pipeline,
            "class": alert.incident.kind,
            "custom_details": alert.custom_details(),
        },
        "links": links,
    }


class Notifier:
    def __init__(self, channel: str = ""):
        self.channel = channel

    def send(self, alert: Alert) -> bool:
        """True once delivered (or when nothing is configured to deliver to, after logging it)."""
        slack = os.environ.get("PLATFORM_SLACK_WEBHOOK_URL", "")
        routing_key = os.environ.get("PLATFORM_PAGERDUTY_ROUTING_KEY", "")
        pagerduty = os.environ.get("PLATFORM_PAGERDUTY_EVENTS_URL", PAGERDUTY_DEFAULT)
        if alert.route == "page" and routing_key:
            return post_json(pagerduty, pagerduty_payload(alert, routing_key))
        if alert.route == "page":
            alert.title = f"PAGE NOT SENT (PagerDuty not configured): {alert.title}"
        if slack:
            return post_json(slack, slack_payload(alert, self.channel))
        log.error("no alert destination configured (set PLATFORM_SLACK_WEBHOOK_URL / PLATFORM_PAGERDUTY_ROUTING_KEY): %s",
                  alert.text().splitlines()[0])
        return True
