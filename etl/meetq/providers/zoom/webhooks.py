"""Zoom's event notifications as a fast path: `meeting.ended` makes the meeting due once its
minutes are in; polling the listing stays the safety net.

Zoom signs every request with the app's secret token: `x-zm-signature` is "v0=" and the hex
HMAC-SHA256 of "v0:{x-zm-request-timestamp}:{raw body}". A timestamp more than MAX_AGE_SECONDS
away from now is refused (a replay). Zoom proves the endpoint first with
`endpoint.url_validation`, answered with its `plainToken` and the token's HMAC-SHA256 under the
same secret (and again every 72 hours). The subscription itself is made in the app's page of
Zoom's Marketplace, not through the API: `meetq webhook register` says what to enter there.
What is confirmed, with sources: docs/zoom.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import timedelta

from ... import store
from ...clock import iso, parse_iso, utcnow
from ...delivery import Answer, delivery_event, text_of
from ...errors import MeetqError
from ...models import database
from ...responses import RawRecord
from .schema import VENDOR
from .transform import private_body

SIGNATURE_HEADER, TIMESTAMP_HEADER = "x-zm-signature", "x-zm-request-timestamp"
MAX_AGE_SECONDS = 300
EVENT = "meeting.ended"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    message = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _fresh(timestamp: str | None, now: float) -> bool:
    try:
        return abs(now - float(timestamp)) <= MAX_AGE_SECONDS
    except (TypeError, ValueError):
        return False


def signed_by(body: bytes, headers, secrets_by_account: dict[str, str], now=time.time) -> str | None:
    """The account whose secret signed this request within the last minutes, or None (unsigned,
    wrongly signed, or a replay of an old one)."""
    signature, timestamp = headers.get(SIGNATURE_HEADER), headers.get(TIMESTAMP_HEADER)
    if not signature or not _fresh(timestamp, now()):
        return None
    matches = (name for name, secret in secrets_by_account.items() if _signed(secret, timestamp, body, signature))
    return next(matches, None)


def _signed(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def receiver_secret(settings) -> str | None:
    return settings.zoom.webhook_secret if settings.provider == VENDOR else None


def challenge(body: bytes, headers, query: str, settings) -> Answer | None:
    """Zoom's endpoint.url_validation, signed by one of the Zoom accounts' secrets: answered with
    the plain token and its HMAC under that secret. Anything else: None (not a challenge)."""
    event = delivery_event(body)
    if not event or event.get("event") != "endpoint.url_validation":
        return None
    secrets = {a.account: receiver_secret(a) for a in settings.accounts() if receiver_secret(a)}
    account = signed_by(body, headers, secrets)
    token = (event.get("payload") or {}).get("plainToken") if isinstance(event.get("payload"), dict) else None
    if not account or not isinstance(token, str) or not token:
        return Answer(401, "a URL validation no Zoom account's secret signed")
    encrypted = hmac.new(secrets[account].encode(), token.encode(), hashlib.sha256).hexdigest()
    reply = json.dumps({"plainToken": token, "encryptedToken": encrypted}).encode()
    return Answer(200, f"zoom url validation for {account}", body=reply)


def accept_delivery(body: bytes, account: str, settings, clock=utcnow) -> Answer:
    """Store one verified notification; a meeting.ended makes its meeting due when its minutes
    are in (`zoom.ready_after_minutes` after its end). Other events are acknowledged, unused."""
    event = delivery_event(body)
    if event is None:
        return Answer(400, "signed, but not a notification")
    if event.get("event") != EVENT:
        return Answer(200, f"ignored {str(event.get('event'))[:60]}")
    found = (event.get("payload") or {}).get("object") if isinstance(event.get("payload"), dict) else None
    uuid = found.get("uuid") if isinstance(found, dict) else None
    if not isinstance(uuid, str) or not uuid:
        return Answer(200, "ignored: a meeting.ended without a uuid (the listing will find it)")
    now = clock()
    start, end = parse_iso(text_of(found.get("start_time"))), parse_iso(text_of(found.get("end_time")))
    record = RawRecord(
        url="webhook", body=private_body(body.decode("utf-8", "replace"), settings.ip_addresses), fetched_at=iso(now)
    )
    zoom = settings.zoom
    due = max(now, (end or now) + timedelta(minutes=zoom.ready_after_minutes))
    with database.connection_context(), database.atomic():
        if not store.save_raw(record, "webhook", uuid, 0, account=account):
            return Answer(200, "replay: already received")
        queued = store.enqueue_meeting(
            uuid,
            account,
            VENDOR,
            due,
            timedelta(days=zoom.retention_days),
            start=start,
            end=end,
            title=text_of(found.get("topic")),
        )
    return Answer(200, "queued" if queued else "already known", account if queued else None)


# -- the subscription: made in Zoom's Marketplace, not through the API ----------------------------

WHERE = "Zoom's event subscriptions are made in the app's page of Zoom's Marketplace, not through the API"


def register(settings, target_url: str):
    raise MeetqError(
        f"{WHERE}: on the app's Feature page turn on Event Subscription, add Meeting > End Meeting "
        f"(meeting.ended) with the endpoint URL {target_url}, and put the app's Secret Token in "
        "zoom.webhook_secret (MEETQ_ZOOM_WEBHOOK_SECRET); Zoom then validates the URL against `meetq run`'s receiver"
    )


def list_registered(settings) -> list[dict]:
    raise MeetqError(f"{WHERE}: its Feature page lists them")


def delete(settings, webhook_id: str | None = None) -> str:
    raise MeetqError(f"{WHERE}: remove the subscription on its Feature page")


def registration_path(settings):
    return None  # the secret is a setting (zoom.webhook_secret), not a file meetq writes
