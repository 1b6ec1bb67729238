"""The daemon's HTTP endpoint for webhook deliveries, whatever vendor signs them.

Each provider with webhooks says which account's secret signed a delivery (`signed_by`) and what
the delivery means (`accept_delivery`). Nothing is written for a delivery no account signed.
The receiver answers at once and tells the daemon which account has a meeting due (`on_due`).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from .errors import ConfigError
from .logs import get_logger
from .providers import PROVIDERS

log = get_logger("meetq.receiver")


def secrets_by_provider(settings) -> dict[str, dict[str, str]]:
    """{provider: {account: the secret its deliveries are signed with}} for every registered account."""
    found: dict[str, dict[str, str]] = {}
    for account in settings.accounts():
        hooks = PROVIDERS[account.provider].webhooks
        secret = hooks.receiver_secret(account) if hooks else None
        if secret:
            found.setdefault(account.provider, {})[account.account] = secret
    return found


def accept(body: bytes, headers, settings) -> tuple[int, str, str | None]:
    """(HTTP status, what happened, the account with a meeting newly due or None)."""
    for provider, secrets in secrets_by_provider(settings).items():
        hooks = PROVIDERS[provider].webhooks
        account = hooks.signed_by(body, headers, secrets)
        if account:
            return hooks.accept_delivery(body, account, settings.account_named(account))
    return 401, "no registered account's secret signed it", None


class WebhookReceiver:
    def __init__(self, settings, on_due: Callable[[str], None]):
        self.settings, self.on_due = settings, on_due
        host, _, port = (settings.listen or "").rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"webhook.listen must be host:port, got {settings.listen!r}")
        self.address = (host.strip("[]"), int(port))
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> "WebhookReceiver":
        receiver = self
        registered = sorted(a for accounts in secrets_by_provider(self.settings).values() for a in accounts)
        if not registered:
            log.warning("webhook_receiver_without_registrations",
                        hint="run `meetq webhook register --url …`; until then every delivery is refused")

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                if length > receiver.settings.max_body_bytes:
                    log.warning("webhook_rejected", reason="too large", bytes=length, client=self.client_address[0])
                    return self._answer(413, "too large")
                body = self.rfile.read(length)
                try:
                    status, what, due = accept(body, self.headers, receiver.settings)
                except Exception as error:  # the database, say: the vendor will deliver again
                    log.exception("webhook_failed", error=type(error).__name__)
                    return self._answer(503, "try again")
                if status >= 400:
                    log.warning("webhook_rejected", reason=what, status=status, client=self.client_address[0])
                else:
                    log.info("webhook_received", outcome=what, account=due)
                self._answer(status, what)
                if due:
                    receiver.on_due(due)

            def _answer(self, status: int, text: str):
                payload = json.dumps({"status": text}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):  # structured logs above instead
                pass

        self.server = ThreadingHTTPServer(self.address, Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True, name="webhook-receiver").start()
        log.info("webhook_receiver_listening", address=f"{self.address[0]}:{self.server.server_address[1]}",
                 accounts=registered)
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
