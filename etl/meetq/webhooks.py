"""Webex webhooks as a fast path: register `meetings`/`ended`, verify each delivery, enqueue.

Webex signs a delivery with the registration's secret: `X-Spark-Signature` carries the hex
HMAC-SHA1 of the raw request body (what we confirmed, with sources: docs/webex-webhooks.md).
Polling stays the safety net: a webhook only makes a meeting due sooner, so one that never
arrives loses nothing, and one that arrives twice changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

from . import store
from .auth import credentials_for
from .client import Page, WebexClient
from .clock import iso, parse_iso, utcnow
from .errors import ConfigError, MeetqError, NotAuthorised
from .logs import get_logger, register_secret
from .models import database
from .tokens import write_private_json

log = get_logger("meetq.webhooks")

SIGNATURE_HEADER = "X-Spark-Signature"
WEBHOOK_NAME = "meetq: meeting ended"
RESOURCE, EVENT = "meetings", "ended"


def sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def signature_matches(secret: str, body: bytes, signature: str | None) -> bool:
    return bool(signature) and hmac.compare_digest(sign(secret, body), signature.strip().lower())


# -- the registration, kept beside the account's tokens ------------------------------------------

@dataclass
class Registration:
    id: str
    secret: str
    target_url: str

    def __repr__(self) -> str:  # the secret never reaches a log through repr()
        return f"Registration(id={self.id!r}, target_url={self.target_url!r})"


def registration_path(settings) -> Path:
    """data/secrets.json -> data/secrets.webhook.json (mode 0600, like the tokens)."""
    return settings.secrets.with_name(f"{settings.secrets.stem}.webhook{settings.secrets.suffix}")


def load_registration(settings) -> Registration | None:
    try:
        document = json.loads(registration_path(settings).read_text())
        registration = Registration(document["id"], document["secret"], document["target_url"])
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        raise NotAuthorised(f"{registration_path(settings)} is unreadable: run `meetq webhook register` again") \
            from None
    register_secret(registration.secret)
    return registration


def register(settings, target_url: str, client: WebexClient | None = None) -> Registration:
    """Create the organisation-level webhook, or bring ours up to date: the same name, URL and
    secret whenever it is run again. A new secret is made only for a new registration."""
    if not target_url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise ConfigError(f"the webhook URL must be https:// (Webex delivers only there), got {target_url!r}")
    client = client or _client(settings)
    known = load_registration(settings)
    ours = [w for w in client.list_webhooks() if _is_ours(w, known)]
    secret = known.secret if known else secrets.token_hex(32)
    register_secret(secret)
    body = {"name": WEBHOOK_NAME, "targetUrl": target_url, "secret": secret}
    if ours:
        answer = client.update_webhook(ours[0]["id"], {**body, "status": "active"})
    else:
        answer = client.create_webhook({**body, "resource": RESOURCE, "event": EVENT, "ownedBy": "org"})
    registration = Registration(answer["id"], secret, target_url)
    write_private_json(registration_path(settings), {"id": registration.id, "secret": secret,
                                                     "target_url": target_url})
    return registration


def list_registered(settings, client: WebexClient | None = None) -> list[dict]:
    """The account's webhooks as Webex lists them, without their secrets."""
    known = load_registration(settings)
    return [{**{k: v for k, v in w.items() if k != "secret"}, "ours": _is_ours(w, known)}
            for w in (client or _client(settings)).list_webhooks()]


def delete(settings, webhook_id: str | None = None, client: WebexClient | None = None) -> str:
    known = load_registration(settings)
    webhook_id = webhook_id or (known.id if known else None)
    if not webhook_id:
        raise MeetqError("no webhook registered by meetq for this account: pass --id to delete another")
    (client or _client(settings)).delete_webhook(webhook_id)
    if known and known.id == webhook_id:
        registration_path(settings).unlink()
    return webhook_id


def _is_ours(webhook: dict, known: Registration | None) -> bool:
    if known and webhook.get("id") == known.id:
        return True
    return (webhook.get("name") == WEBHOOK_NAME and webhook.get("resource") == RESOURCE
            and webhook.get("event") == EVENT)


def _client(settings) -> WebexClient:
    return WebexClient(settings, credentials_for(settings))


# -- receiving ---------------------------------------------------------------------------------

def accept_delivery(body: bytes, signature: str | None, secrets_by_account: dict[str, str], settings,
                    clock=utcnow) -> tuple[int, str, str | None]:
    """Verify and store one delivery. Returns (HTTP status, what happened, the account whose
    meeting is newly due or None). Nothing is written unless the signature is good."""
    account = next((name for name, secret in secrets_by_account.items()
                    if signature_matches(secret, body, signature)), None)
    if account is None:
        return 401, "missing signature" if not signature else "bad signature", None
    try:
        event = json.loads(body)
        data = event["data"] if isinstance(event.get("data"), dict) else {}
    except (ValueError, AttributeError, KeyError):
        return 400, "signed, but not a webhook envelope", None
    if (event.get("resource"), event.get("event")) != (RESOURCE, EVENT):
        return 200, f"ignored {event.get('resource')}/{event.get('event')}", None
    meeting_id = data.get("id") if isinstance(data.get("id"), str) else None
    if not meeting_id or data.get("meetingType") not in (None, "meeting"):
        return 200, "ignored: not an ended meeting instance (the listing will find it)", None
    now = clock()
    page = Page(url="webhook", status=200, body=body.decode("utf-8", "replace"), content_type="application/json",
                tracking_id=event.get("id"), fetched_at=iso(now), items=[], next_url=None)
    with database.connection_context(), database.atomic():
        if not store.save_raw(page, "webhook", meeting_id, 0, account=account):  # offset 0: NULLs never clash
            return 200, "replay: already received", None
        due = now + timedelta(seconds=settings.fetch_delay_seconds)
        queued = store.enqueue_meeting(meeting_id, account, due, start=parse_iso(data.get("start")),
                                       end=parse_iso(data.get("end")), title=data.get("title"))
    return 200, "queued" if queued else "already known", account if queued else None


class WebhookReceiver:
    """The daemon's HTTP endpoint for deliveries: verify, store, answer 200 at once, and tell
    the daemon which account has a meeting due (`on_due`)."""

    def __init__(self, settings, on_due: Callable[[str], None]):
        self.settings, self.on_due = settings, on_due
        host, _, port = (settings.listen or "").rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"webhook.listen must be host:port, got {settings.listen!r}")
        self.address = (host.strip("[]"), int(port))
        self.server: ThreadingHTTPServer | None = None

    def secrets_by_account(self) -> dict[str, str]:
        found = {}
        for account in self.settings.accounts():
            registration = load_registration(account)
            if registration:
                found[account.account] = registration.secret
        return found

    def start(self) -> "WebhookReceiver":
        receiver = self
        secrets_now = self.secrets_by_account()
        if not secrets_now:
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
                    status, what, due = accept_delivery(body, self.headers.get(SIGNATURE_HEADER),
                                                        receiver.secrets_by_account(), receiver.settings)
                except Exception as error:  # the database, say: Webex will deliver again
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
                 accounts=sorted(secrets_now))
        return self

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()
