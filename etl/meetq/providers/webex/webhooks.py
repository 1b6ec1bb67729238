"""Webex webhooks as a fast path: register `meetings`/`ended`, verify each delivery, enqueue.

Webex signs a delivery with the registration's secret: `X-Spark-Signature` carries the hex
HMAC-SHA1 of the raw request body (what we confirmed, with sources: docs/webex-webhooks.md).
Polling stays the safety net: a webhook only makes a meeting due sooner, so one that never
arrives loses nothing, and one that arrives twice changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from ... import store
from ...clock import iso, parse_iso, utcnow
from ...delivery import Answer, delivery_event, text_of
from ...errors import ConfigError, MeetqError
from ...http import ApiClient
from ...logs import get_logger, register_secret
from ...models import database
from ...private_files import beside, read_registration, write_private_json
from ...responses import RawRecord
from . import client as webex
from .auth import credentials_for
from .collect import RETENTION, VENDOR
from .transform import private_body

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
    return beside(settings.secrets, "webhook")


def load_registration(settings) -> Registration | None:
    document = read_registration(registration_path(settings), "meetq webhook register --url …", ("id", "target_url"))
    if document is None:
        return None
    return Registration(document["id"], document["secret"], document["target_url"])


def register(settings, target_url: str, client: ApiClient | None = None) -> Registration:
    """Create the organisation-level webhook, or bring ours up to date: the same name, URL and
    secret whenever it is run again. A new secret is made only for a new registration."""
    if not target_url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise ConfigError(f"the webhook URL must be https:// (Webex delivers only there), got {target_url!r}")
    client = client or _client(settings)
    known = load_registration(settings)
    ours = [w for w in webex.list_webhooks(client, settings) if _is_ours(w, known)]
    secret = known.secret if known else secrets.token_hex(32)
    register_secret(secret)
    body = {"name": WEBHOOK_NAME, "targetUrl": target_url, "secret": secret}
    if ours:
        answer = webex.update_webhook(client, settings, ours[0]["id"], {**body, "status": "active"})
    else:
        answer = webex.create_webhook(
            client, settings, {**body, "resource": RESOURCE, "event": EVENT, "ownedBy": "org"}
        )
    registration = Registration(answer["id"], secret, target_url)
    write_private_json(registration_path(settings), {"id": registration.id, "secret": secret, "target_url": target_url})
    return registration


def list_registered(settings, client: ApiClient | None = None) -> list[dict]:
    """The account's webhooks as Webex lists them, without their secrets."""
    known = load_registration(settings)
    return [
        {**{k: v for k, v in w.items() if k != "secret"}, "ours": _is_ours(w, known)}
        for w in webex.list_webhooks(client or _client(settings), settings)
    ]


def delete(settings, webhook_id: str | None = None, client: ApiClient | None = None) -> str:
    known = load_registration(settings)
    webhook_id = webhook_id or (known.id if known else None)
    if not webhook_id:
        raise MeetqError("no webhook registered by meetq for this account: pass --id to delete another")
    webex.delete_webhook(client or _client(settings), settings, webhook_id)
    if known and known.id == webhook_id:
        registration_path(settings).unlink()
    return webhook_id


def _is_ours(webhook: dict, known: Registration | None) -> bool:
    if known and webhook.get("id") == known.id:
        return True
    return webhook.get("name") == WEBHOOK_NAME and webhook.get("resource") == RESOURCE and webhook.get("event") == EVENT


def _client(settings) -> ApiClient:
    return webex.api_client(settings, credentials_for(settings))


# -- receiving ---------------------------------------------------------------------------------


def receiver_secret(settings) -> str | None:
    """The secret deliveries to this account are signed with, once `meetq webhook register` ran."""
    registration = load_registration(settings)
    return registration.secret if registration else None


def signed_by(body: bytes, headers, secrets_by_account: dict[str, str]) -> str | None:
    """The account whose secret signed this delivery, or None."""
    signature = headers.get(SIGNATURE_HEADER)
    return next(
        (name for name, secret in secrets_by_account.items() if signature_matches(secret, body, signature)), None
    )


def accept_delivery(body: bytes, account: str, settings, clock=utcnow) -> Answer:
    """Store one delivery already verified as `account`'s; the Answer names the account when a
    meeting is newly due. A signed body meetq cannot use gets a 400,
    which Webex does not deliver again; fields of the wrong type count as absent."""
    event = delivery_event(body)
    if event is None:
        return Answer(400, "signed, but not a webhook envelope")
    data = event["data"] if isinstance(event.get("data"), dict) else {}
    if (event.get("resource"), event.get("event")) != (RESOURCE, EVENT):
        return Answer(200, f"ignored {str(event.get('resource'))[:40]}/{str(event.get('event'))[:40]}")
    meeting_id = text_of(data.get("id"))
    if not meeting_id or data.get("meetingType") not in (None, "meeting"):
        return Answer(200, "ignored: not an ended meeting instance (the listing will find it)")
    now = clock()
    record = RawRecord(
        url="webhook",
        body=private_body(body.decode("utf-8", "replace"), settings.ip_addresses),
        fetched_at=iso(now),
        tracking_id=text_of(event.get("id")),
    )
    with database.connection_context(), database.atomic():
        if not store.save_raw(record, "webhook", meeting_id, 0, account=account):  # offset 0: NULLs never clash
            return Answer(200, "replay: already received")
        due = now + timedelta(seconds=settings.fetch_delay_seconds)
        queued = store.enqueue_meeting(
            meeting_id,
            account,
            VENDOR,
            due,
            RETENTION,
            start=parse_iso(text_of(data.get("start"))),
            end=parse_iso(text_of(data.get("end"))),
            title=text_of(data.get("title")),
        )
    return Answer(200, "queued" if queued else "already known", account if queued else None)
