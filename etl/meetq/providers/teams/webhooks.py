"""Graph's change notifications as a fast path: a subscription to `/communications/callRecords`
(created and updated) makes a record due soon after Graph publishes or revises it; polling the
listing stays the safety net.

Graph proves the address before it creates or renews a subscription: it POSTs to the
notification URL with a `validationToken` query parameter, which must come back as plain text
within 10 seconds (`challenge`). Deliveries are not signed: each notification carries the
subscription's `clientState`, a secret meetq made and keeps in a file of mode 0600 beside the
account's secrets; a delivery whose every notification does not carry it is refused and stores
nothing. Deliveries are answered at once (Graph wants an answer within 3 seconds), the record
fetched `teams.notification_delay_minutes` later.

A subscription lasts at most 4,230 minutes: the daemon renews it (`renew`) a day before it ends
and makes it again when Graph has removed it. Lifecycle notifications go to the same URL:
`reauthorizationRequired` renews now, `subscriptionRemoved` makes a new one, `missed` lets the
next listing catch up. What is confirmed, with sources: docs/teams.md.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs

from ... import logs, store
from ...clock import iso, parse_iso, utcnow
from ...delivery import Answer, delivery_event, text_of
from ...errors import ApiError, MeetqError, NotFound
from ...http import ApiClient
from ...models import database
from ...private_files import beside, read_registration, write_private_json
from ...responses import RawRecord
from . import client as graph
from .auth import ClientCredentials
from .schema import VENDOR
from .transform import private_body

log = logs.get_logger("meetq.teams")
RESOURCE = "/communications/callRecords"
LIFETIME = timedelta(minutes=4230)  # the longest Graph grants a callRecords subscription
RENEW_BEFORE = timedelta(days=1)  # renewed when less than this is left (the daemon looks every hour)
MAX_TOKEN = 1024  # a validationToken longer than this is not Graph's


@dataclass
class Subscription:
    id: str
    secret: str  # the clientState
    target_url: str
    expires: str | None

    def __repr__(self) -> str:  # the clientState never reaches a log through repr()
        return f"Subscription(id={self.id!r}, target_url={self.target_url!r}, expires={self.expires!r})"


def registration_path(settings) -> Path:
    """data/secrets.teams.json -> data/secrets.teams.subscription.json (mode 0600)."""
    return beside(settings.secrets, "subscription")


def load_subscription(settings) -> Subscription | None:
    document = read_registration(registration_path(settings), "meetq webhook register --url …", ("id", "target_url"))
    if document is None:
        return None
    return Subscription(document["id"], document["secret"], document["target_url"], text_of(document.get("expires")))


def _save(settings, subscription: Subscription) -> Subscription:
    write_private_json(
        registration_path(settings),
        {
            "id": subscription.id,
            "secret": subscription.secret,
            "target_url": subscription.target_url,
            "expires": subscription.expires,
        },
    )
    return subscription


def _client(settings) -> ApiClient:
    return ApiClient(settings, ClientCredentials(settings), tracking_header=graph.TRACKING_HEADER)


# -- the subscription -------------------------------------------------------------------------


def register(settings, target_url: str, client: ApiClient | None = None) -> Subscription:
    """Subscribe to call records at `target_url`, or renew ours there. Graph validates the URL
    while it answers, so `meetq run`'s receiver must be listening at it."""
    client = client or _client(settings)
    known = load_subscription(settings)
    if known and known.target_url == target_url:
        try:
            return _renewed(settings, client, known)
        except NotFound:
            pass  # Graph removed it: a new one below
    return _created(settings, client, target_url)


def _created(settings, client: ApiClient, target_url: str) -> Subscription:
    secret = secrets.token_urlsafe(32)
    logs.register_secret(secret)
    expires = utcnow() + LIFETIME - timedelta(minutes=5)
    answer = graph.create_subscription(
        client,
        settings,
        {
            "changeType": "created,updated",
            "notificationUrl": target_url,
            "lifecycleNotificationUrl": target_url,
            "resource": RESOURCE,
            "expirationDateTime": iso(expires),
            "clientState": secret,
        },
    )
    if not isinstance(answer.get("id"), str):
        raise ApiError("Graph made a subscription without an id")
    log.info("teams_subscription_created", subscription=answer["id"], expires=answer.get("expirationDateTime"))
    return _save(settings, Subscription(answer["id"], secret, target_url, text_of(answer.get("expirationDateTime"))))


def _renewed(settings, client: ApiClient, known: Subscription) -> Subscription:
    expires = utcnow() + LIFETIME - timedelta(minutes=5)
    answer = graph.renew_subscription(client, settings, known.id, expires)
    renewed = Subscription(known.id, known.secret, known.target_url, text_of(answer.get("expirationDateTime")))
    log.info("teams_subscription_renewed", subscription=known.id, expires=renewed.expires)
    return _save(settings, renewed)


def renew(settings, client: ApiClient | None = None, force: bool = False) -> str | None:
    """Renew ours when less than RENEW_BEFORE is left (or `force`), make it again when Graph
    removed it; None when nothing was due or nothing is registered."""
    known = load_subscription(settings)
    if known is None:
        return None
    ends = parse_iso(known.expires)
    if not force and ends and ends - utcnow() > RENEW_BEFORE:
        return None
    client = client or _client(settings)
    try:
        done = _renewed(settings, client, known)
        return f"renewed {done.id} until {done.expires}"
    except NotFound:
        done = _created(settings, client, known.target_url)
        return f"made again as {done.id} (Graph had removed {known.id})"


def list_registered(settings, client: ApiClient | None = None) -> list[dict]:
    """Graph's subscriptions of this app (never their clientState)."""
    known = load_subscription(settings)
    return [
        {
            "id": s.get("id"),
            "resource": s.get("resource"),
            "changeType": s.get("changeType"),
            "notificationUrl": s.get("notificationUrl"),
            "expirationDateTime": s.get("expirationDateTime"),
            "meetq": bool(known and s.get("id") == known.id),
        }
        for s in graph.list_subscriptions(client or _client(settings), settings)
    ]


def delete(settings, webhook_id: str | None = None, client: ApiClient | None = None) -> str:
    known = load_subscription(settings)
    target = webhook_id or (known.id if known else None)
    if not target:
        raise MeetqError("no Teams subscription is registered: nothing to delete")
    graph.delete_subscription(client or _client(settings), settings, target)
    if known and known.id == target:
        registration_path(settings).unlink()
    return target


# -- deliveries -------------------------------------------------------------------------------


def receiver_secret(settings) -> str | None:
    if settings.provider != VENDOR:
        return None
    known = load_subscription(settings)
    return known.secret if known else None


def challenge(body: bytes, headers, query: str, settings) -> Answer | None:
    """Graph's validation of the address: the `validationToken` back as plain text. Anything
    without one is not a challenge (None)."""
    tokens = parse_qs(query or "").get("validationToken")
    if not tokens:
        return None
    token = tokens[0]
    if not token or len(token) > MAX_TOKEN or not token.isprintable():
        return Answer(400, "a validationToken that is not Graph's")
    return Answer(200, "graph validation answered", body=token.encode(), content_type="text/plain; charset=utf-8")


def notifications_of(body: bytes) -> list[dict] | None:
    event = delivery_event(body)
    found = event.get("value") if event else None
    if not isinstance(found, list) or not found or not all(isinstance(n, dict) for n in found):
        return None
    return found


def signed_by(body: bytes, headers, secrets_by_account: dict[str, str]) -> str | None:
    """The account whose clientState every notification of this delivery carries, or None."""
    notifications = notifications_of(body)
    if not notifications:
        return None
    for account, secret in secrets_by_account.items():
        if all(_same(n.get("clientState"), secret) for n in notifications):
            return account
    return None


def _same(given, secret: str) -> bool:
    return isinstance(given, str) and hmac.compare_digest(given.encode(), secret.encode())


def accept_delivery(body: bytes, account: str, settings, clock=utcnow) -> Answer:
    """Store one verified delivery: each record created or updated is due after
    `notification_delay_minutes`; lifecycle events are acted on. Answered at once."""
    notifications = notifications_of(body) or []
    lifecycle = [n for n in notifications if isinstance(n.get("lifecycleEvent"), str)]
    for event in lifecycle:
        _lifecycle(event["lifecycleEvent"], settings)
    changed = [i for i in (_record_id(n) for n in notifications if n not in lifecycle) if i]
    if not changed:
        said = ", ".join(sorted({str(e["lifecycleEvent"])[:40] for e in lifecycle})) or "nothing meetq reads"
        return Answer(
            202, f"lifecycle: {said}", account if any(e["lifecycleEvent"] == "missed" for e in lifecycle) else None
        )
    now = clock()
    teams = settings.teams
    due = now + timedelta(minutes=teams.notification_delay_minutes)
    record = RawRecord(
        url="webhook", body=private_body(body.decode("utf-8", "replace"), settings.ip_addresses), fetched_at=iso(now)
    )
    with database.connection_context(), database.atomic():
        if not store.save_raw(record, "webhook", changed[0], 0, account=account):
            return Answer(202, "replay: already received")
        queued = 0
        for record_id in dict.fromkeys(changed):
            if store.enqueue_meeting(record_id, account, VENDOR, due, timedelta(days=teams.retention_days)):
                queued += 1
            else:
                _revised(record_id, due)
    return Answer(202, f"{len(set(changed))} records due ({queued} new)", account)


def _record_id(notification: dict) -> str | None:
    data = notification.get("resourceData") if isinstance(notification.get("resourceData"), dict) else {}
    found = text_of(data.get("id"))
    if found:
        return found
    resource = text_of(notification.get("resource")) or ""
    prefix = "communications/callRecords/"
    tail = resource.lstrip("/").removeprefix(prefix) if resource.lstrip("/").startswith(prefix) else ""
    return tail.split("/")[0].strip("'()") or None


def _revised(record_id: str, due) -> None:
    """A record Graph says it changed: read again when due, whatever state it was left in."""
    database.execute_sql(
        "UPDATE meetings SET quality_due_at = ?, quality_state = CASE WHEN quality_state IN "
        "('pending', 'partial', 'recheck') THEN quality_state ELSE 'recheck' END "
        "WHERE id = ? AND quality_state != 'expired'",
        (iso(due), record_id),
    )


def _lifecycle(event: str, settings) -> None:
    """reauthorizationRequired renews, subscriptionRemoved makes a new one: off the answer's
    path (Graph wants it within 3 seconds), on a thread of their own."""
    if event in ("reauthorizationRequired", "subscriptionRemoved"):
        threading.Thread(target=_renew_quietly, args=(settings, event), name="teams-subscription", daemon=True).start()
    elif event == "missed":
        log.warning("teams_notifications_missed", hint="the next listing catches up")


def _renew_quietly(settings, event: str) -> None:
    try:
        log.info("teams_subscription_lifecycle", lifecycle_event=event, result=renew(settings, force=True))
    except MeetqError as error:
        log.warning("teams_subscription_not_renewed", lifecycle_event=event, error=logs.redact_text(str(error)))
