"""A real HTTP server on loopback that receives alerts the way Slack and PagerDuty would."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class AlertSink:
    def __init__(self):
        self.received: list[tuple[str, dict]] = []
        self.fail_next = 0  # answer the next N requests with HTTP 500 (delivery retries)
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if sink.fail_next:
                    sink.fail_next -= 1
                    self.send_response(500)
                    self.end_headers()
                    return
                sink.received.append((self.path, body))
                self.send_response(202 if self.path.startswith("/pagerduty") else 200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"status":"success"}')

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def env(self) -> dict[str, str]:
        return {"PLATFORM_SLACK_WEBHOOK_URL": f"{self.url}/slack/T000/B000/secret",
                "PLATFORM_PAGERDUTY_EVENTS_URL": f"{self.url}/pagerduty/v2/enqueue",
                "PLATFORM_PAGERDUTY_ROUTING_KEY": "test-routing-key"}

    def __enter__(self) -> AlertSink:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()

    def pages(self, action: str | None = None) -> list[dict]:
        return [b for p, b in self.received if p.startswith("/pagerduty") and (action is None or b["event_action"] == action)]

    def channel(self) -> list[dict]:
        return [b for p, b in self.received if p.startswith("/slack")]

    def wait_for(self, predicate, timeout: float, poll: float = 0.5):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = predicate(self)
            if found:
                return found
            time.sleep(poll)
        return predicate(self)
