"""A Microsoft Graph simulator for Teams call records, in the Webex one's style, producing what real
records hold (docs/teams.md, tests/data/teams_*.json):

- mostly-null streams (most of Graph's figures are null on most streams), a `data` media whose
  streams are all null, `"NaN"` where a double was not computed, `linkSpeed` 4294967295;
- a callee with no identity (the conference service, `productFamily` "unknown"), organisers who
  are phone numbers, `type` "unknown" beside groupCall and peerToPeer (a call of two people);
- timestamps with 7-digit fractions and whole seconds; jitter and round trips as ISO durations;
- records published `publish_after_seconds` after the call and revised later (`revise(id)` bumps
  `version` and `lastModifiedDateTime` and changes figures; every fourth record revises itself
  `revise_after_seconds` after it was first served);
- sessions `sessions_page_size` to a page (Graph's 60) through `sessions@odata.nextLink`, the
  listing 60 to a page through `@odata.nextLink`;
- 429 with Retry-After past `record_limit` calls about one record or `tenant_limit` calls over
  the tenant in `limit_window` seconds (Graph's: 40 and 1,500 in 20 s);
- subscriptions that validate their notification URL (a `validationToken` that must come back
  as plain text within 10 s) on creation and renewal, expire after at most 4,230 minutes, and
  can be removed (`remove_subscription`); `notify(id)` and `lifecycle(event)` deliver as Graph does.

Routes: POST /{tenant}/oauth2/v2.0/token   GET /v1.0/communications/callRecords[/{id}[/sessions]]
        POST|GET /v1.0/subscriptions   PATCH|DELETE /v1.0/subscriptions/{id}
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import uuid
from datetime import datetime, timedelta
from urllib.parse import parse_qs, quote, unquote

import requests

from ..clock import UTC, iso, parse_iso
from .server import Grant, SimConfig, Simulator, _Handler

GRAPH = "/v1.0"
RECORDS = f"{GRAPH}/communications/callRecords"
SUBSCRIPTIONS = f"{GRAPH}/subscriptions"
ROLES = ["CallRecords.Read.All"]
MAX_SUBSCRIPTION = timedelta(minutes=4230)
PLATFORMS = {"windows": "windows", "mac": "macOS", "ios": "iOS", "android": "android"}
CONNECTIONS = {"ethernet": "wired", "wifi": "wifi", "cellular": "mobile"}
MICROPHONES = (  # what Teams names capture devices: a person keeps theirs from call to call
    "Headset Microphone (Jabra Evolve2 65)",
    "Microphone Array (Realtek(R) Audio)",
    "Echo Cancelling Speakerphone (Poly Sync 20)",
    "MacBook Pro Microphone",
)
CONFERENCE_SERVICE = {  # a meeting's callee, as Graph records it: no identity, nothing known
    "userAgent": {"headerValue": None, "applicationVersion": None, "platform": "unknown", "productFamily": "unknown"}
}


class TeamsSimulator(Simulator):
    def __init__(
        self, config: SimConfig | None = None, tenant_id: str = "sim-tenant-0001", now: datetime | None = None
    ):
        super().__init__(
            config or SimConfig(seed=31, client_id="sim-teams-app", client_secret="sim-teams-secret"), now=now
        )
        self.tenant_id = tenant_id
        self.records = {_record_id(m.id): m for m in self.org.meetings.values()}
        self.versions: dict[str, int] = {}  # record id -> its version (1 until revised)
        self.modified: dict[str, float] = {}
        self.served: dict[str, int] = {}  # record id -> times its first page was served
        self.revise_at: dict[str, float] = {}
        self.publish_after_seconds = 0.0  # Graph's: 15 to 60 minutes
        self.revise_after_seconds = 60.0
        self.sessions_page_size = 60
        self.record_limit, self.tenant_limit, self.limit_window = 40, 1500, 20.0
        self.calls: dict[str, list[float]] = {}  # record id or "" (the tenant) -> call times
        self.subscriptions: dict[str, dict] = {}
        self.removed: dict[str, dict] = {}  # what Graph removed, for the lifecycle notification it sends
        self.validations = 0
        self.deliveries: list[tuple[int, dict]] = []  # (status, body) of every delivery sent

    @property
    def graph_base(self) -> str:
        return f"{self.url}{GRAPH}"

    @property
    def login_base(self) -> str:
        return self.url

    def published(self) -> list[tuple[str, object]]:
        """(record id, meeting) of every call whose record Graph publishes by now, in start order."""
        now = self.now()
        return sorted(
            ((i, m) for i, m in self.records.items() if m.end.timestamp() + self.publish_after_seconds <= now),
            key=lambda pair: pair[1].start,
        )

    def version(self, record_id: str) -> int:
        due = self.revise_at.get(record_id)
        if due is not None and due <= self.now():
            del self.revise_at[record_id]
            self.revise(record_id)
        return self.versions.get(record_id, 1)

    def revise(self, record_id: str) -> int:
        """Graph's next version of a record: its figures change, and a figure that was null fills in."""
        with self.lock:
            self.versions[record_id] = self.versions.get(record_id, 1) + 1
            self.modified[record_id] = self.now()
            return self.versions[record_id]

    def record(self, record_id: str) -> dict:
        """The record as listed (no sessions)."""
        meeting = self.records[record_id]
        version = self.version(record_id)
        n = int(hashlib.sha256(record_id.encode()).hexdigest()[:6], 16)
        people = len(meeting.participants)
        kind = "peerToPeer" if people == 2 else ("unknown" if n % 9 == 0 else "groupCall")
        phone = n % 8 == 0
        host = meeting.host
        organizer = (
            {
                "id": f"+4420794{n % 100000:05d}",
                "identity": {"user": None, "phone": {"id": f"+4420794{n % 100000:05d}"}},
            }
            if phone
            else {
                "id": _guid(host.email),
                "identity": {
                    "user": {"id": _guid(host.email), "displayName": host.name, "tenantId": self.tenant_id},
                    "phone": None,
                    "guest": None,
                },
            }
        )
        modified = self.modified.get(record_id, meeting.end.timestamp() + 900)
        return {
            "id": record_id,
            "version": version,
            "type": kind,
            "modalities": ["audio", "video", "screenSharing"],
            "lastModifiedDateTime": _stamp(datetime.fromtimestamp(modified, UTC), n),
            "startDateTime": _stamp(meeting.start, n),
            "endDateTime": _stamp(meeting.end, n + 1),
            "joinWebUrl": f"https://teams.microsoft.com/l/meetup-join/19%3ameeting_{record_id[:12]}%40thread.v2/0"
            if kind != "peerToPeer"
            else None,
            "organizer_v2": organizer,
        }

    def sessions(self, record_id: str) -> list[dict]:
        meeting = self.records[record_id]
        version = self.version(record_id)
        items = sorted(self.org.quality_items(meeting), key=lambda item: item["joinTime"])
        if len(meeting.participants) == 2:  # peer to peer: one session between the two people
            return [_session(record_id, items[0], 0, version, self.tenant_id, callee=items[-1])]
        return [_session(record_id, item, n, version, self.tenant_id) for n, item in enumerate(items)]

    # -- change notifications ----------------------------------------------------------------

    def validate(self, url: str) -> bool:
        """Graph's proof of an address: a validationToken that must come back as it was, as text."""
        token = secrets.token_urlsafe(24) + "+/=" + secrets.token_hex(4)
        with self.lock:
            self.validations += 1
        try:
            answer = requests.post(
                f"{url}{'&' if '?' in url else '?'}validationToken={quote(token, safe='')}",
                data=b"",
                headers={"Content-Type": "text/plain"},
                timeout=10,
            )
        except requests.RequestException:
            return False
        return (
            answer.status_code == 200
            and answer.text == token
            and answer.headers.get("Content-Type", "").startswith("text/plain")
        )

    def notify(self, record_id: str, change: str = "created", client_state: str | None = None) -> list[int]:
        """A change notification for one record to every subscription; the statuses answered."""
        return [
            self._deliver(
                s["notificationUrl"],
                {
                    "subscriptionId": s["id"],
                    "subscriptionExpirationDateTime": s["expirationDateTime"],
                    "clientState": s["clientState"] if client_state is None else client_state,
                    "changeType": change,
                    "resource": f"communications/callRecords/{record_id}",
                    "tenantId": self.tenant_id,
                    "resourceData": {
                        "@odata.type": "#microsoft.graph.callrecord",
                        "@odata.id": f"communications/callRecords/{record_id}",
                        "id": record_id,
                    },
                },
            )
            for s in list(self.subscriptions.values())
        ]

    def lifecycle(self, event: str, subscription_id: str | None = None) -> list[int]:
        chosen = [s for s in self.subscriptions.values() if subscription_id in (None, s["id"])]
        removed = self.removed if subscription_id in self.removed else None
        return [
            self._deliver(
                s.get("lifecycleNotificationUrl") or s["notificationUrl"],
                {
                    "subscriptionId": s["id"],
                    "subscriptionExpirationDateTime": s["expirationDateTime"],
                    "clientState": s["clientState"],
                    "lifecycleEvent": event,
                    "resource": s["resource"],
                    "tenantId": self.tenant_id,
                },
            )
            for s in (chosen or ([removed[subscription_id]] if removed else []))
        ]

    def remove_subscription(self, subscription_id: str) -> None:
        """Graph removing a subscription (as it may), then saying so in a lifecycle notification."""
        with self.lock:
            gone = self.subscriptions.pop(subscription_id)
            self.removed = {**self.removed, subscription_id: gone}
        self.lifecycle("subscriptionRemoved", subscription_id)

    def _deliver(self, url: str, notification: dict) -> int:
        body = {"value": [notification]}
        try:
            status = requests.post(url, json=body, timeout=3).status_code  # Graph waits 3 seconds
        except requests.RequestException:
            status = 0
        with self.lock:
            self.deliveries.append((status, body))
        return status


class TeamsHandler(_Handler):
    sim: TeamsSimulator

    def routes(self, path: str) -> dict:
        routes = {
            ("POST", f"/{self.sim.tenant_id}/oauth2/v2.0/token"): self.token,
            ("GET", RECORDS): self.list_records,
            ("GET", SUBSCRIPTIONS): self.list_subscriptions,
            ("POST", SUBSCRIPTIONS): self.create_subscription,
            **self.sim_routes(),
        }
        if path.startswith(RECORDS + "/"):
            parts = unquote(path[len(RECORDS) + 1 :]).split("/")
            self.record_id = parts[0]
            routes[("GET", path)] = self.one_record if len(parts) == 1 else self.more_sessions
        if path.startswith(SUBSCRIPTIONS + "/"):
            self.subscription_id = unquote(path[len(SUBSCRIPTIONS) + 1 :])
            routes[("PATCH", path)] = self.renew_subscription
            routes[("DELETE", path)] = self.delete_subscription
        return routes

    def do_PATCH(self):  # noqa: N802
        self._route("PATCH")

    def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
        super()._send(status, body, content_type, {"request-id": self.tracking, **(headers or {})})

    def _error(self, status: int, code: str, message: str, headers: dict | None = None):
        self._json(status, {"error": {"code": code, "message": message}}, headers)

    def token(self):
        c = self.sim.config
        form = {k: v[-1] for k, v in parse_qs(self._body().decode()).items()}
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("scope") != "https://graph.microsoft.com/.default"
        ):
            return self._json(400, {"error": "invalid_request", "error_description": "AADSTS900144: bad grant"})
        if form.get("client_id") != c.client_id or form.get("client_secret") != c.client_secret or self.sim.revoked:
            return self._json(
                401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret"}
            )
        lifetime = min(3599.0, c.access_lifetime)
        claims = {"aud": "https://graph.microsoft.com", "tid": self.sim.tenant_id, "roles": ROLES}
        payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        token = f"eyJ0eXAiOiJKV1QifQ.{payload}.{secrets.token_urlsafe(16)}"
        with self.sim.lock:
            self.sim.access[token] = Grant(c.client_id, self.sim.now() + lifetime, "app", " ".join(ROLES))
            grants = self.sim.stats.token_grants
            grants["client_credentials"] = grants.get("client_credentials", 0) + 1
        self._json(
            200,
            {
                "token_type": "Bearer",
                "expires_in": int(lifetime),
                "ext_expires_in": int(lifetime),
                "access_token": token,
            },
        )

    def _graph_grant(self) -> bool:
        header = self.headers.get("Authorization", "")
        grant = self.sim.access.get(header[7:] if header.startswith("Bearer ") else "")
        if grant is None or grant.expires <= self.sim.now():
            self._error(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
            return False
        return True

    def _limited(self, record_id: str | None) -> bool:
        """Answer 429 when this call passes Graph's limits (per record, per tenant)."""
        now, window = self.sim.now(), self.sim.limit_window
        with self.sim.lock:
            over = None
            for key, limit in (("", self.sim.tenant_limit), (record_id, self.sim.record_limit)):
                if key is None:
                    continue
                times = [t for t in self.sim.calls.get(key, []) if t > now - window] + [now]
                self.sim.calls[key] = times
                if len(times) > limit:
                    over = max(1, int(times[0] + window - now) + 1)
            if over:
                self.sim.stats.served_429 += 1
        if over:
            self._error(429, "TooManyRequests", "Too many requests.", {"Retry-After": str(over)})
        return bool(over)

    def list_records(self):
        if not self._graph_grant() or self._limited(None):
            return
        found = (self.query.get("$filter") or "").removeprefix("startDateTime ge ")
        since = parse_iso(found) if found else None
        if found and since is None:
            return self._error(400, "BadRequest", "Invalid filter clause")
        chosen = [
            self.sim.record(i)
            for i, m in self.sim.published()
            if since is None or m.start.timestamp() >= since.timestamp()
        ]
        skip = int(self.query.get("$skiptoken") or 0)
        body = {
            "@odata.context": f"{self.sim.graph_base}/$metadata#communications/callRecords",
            "value": chosen[skip : skip + 60],
        }
        if skip + 60 < len(chosen):
            body["@odata.nextLink"] = (
                f"{self.sim.url}{RECORDS}?$filter={quote(self.query.get('$filter', ''))}&$skiptoken={skip + 60}"
            )
        self._json(200, body)

    def _known(self) -> bool:
        if self.record_id not in dict(self.sim.published()):
            self._error(404, "NotFound", "Requested resource not found")  # older than 30 days, or not yet
            return False
        return True

    def one_record(self):
        if not self._graph_grant() or self._limited(self.record_id) or not self._known():
            return
        if self.query.get("$expand") != "sessions($expand=segments)":
            return self._json(200, self.sim.record(self.record_id))
        with self.sim.lock:
            first = self.sim.served.get(self.record_id, 0) == 0
            self.sim.served[self.record_id] = self.sim.served.get(self.record_id, 0) + 1
            n = int(hashlib.sha256(self.record_id.encode()).hexdigest()[:6], 16)
            if first and n % 4 == 0:
                self.sim.revise_at[self.record_id] = self.sim.now() + self.sim.revise_after_seconds
        self._sessions_page(self.sim.record(self.record_id), 0, "sessions")

    def more_sessions(self):
        if not self._graph_grant() or self._limited(self.record_id) or not self._known():
            return
        self._sessions_page({}, int(self.query.get("$skiptoken") or 0), "value")

    def _sessions_page(self, body: dict, skip: int, key: str):
        sessions, size = self.sim.sessions(self.record_id), self.sim.sessions_page_size
        body = {**body, key: sessions[skip : skip + size]}
        if skip + size < len(sessions):
            link = f"{self.sim.url}{RECORDS}/{self.record_id}/sessions?$expand=segments&$skiptoken={skip + size}"
            body["sessions@odata.nextLink" if key == "sessions" else "@odata.nextLink"] = link
        self._json(200, body)

    # -- subscriptions ----------------------------------------------------------------------

    def list_subscriptions(self):
        if self._graph_grant():
            hidden = [{k: v for k, v in s.items() if k != "clientState"} for s in self.sim.subscriptions.values()]
            self._json(200, {"value": hidden})

    def create_subscription(self):
        if not self._graph_grant():
            return
        asked = self._json_request()
        if asked is None:
            return
        expires = parse_iso(asked.get("expirationDateTime"))
        if asked.get("resource") != "/communications/callRecords" or not asked.get("notificationUrl"):
            return self._error(400, "InvalidRequest", "resource or notificationUrl")
        if expires is None or expires.timestamp() - self.sim.now() > MAX_SUBSCRIPTION.total_seconds():
            return self._error(400, "InvalidRequest", "Subscription expiration can only be 4230 minutes in the future.")
        urls = {asked["notificationUrl"], asked.get("lifecycleNotificationUrl") or asked["notificationUrl"]}
        if not all(self.sim.validate(url) for url in urls):
            return self._error(400, "ValidationError", "Subscription validation request failed.")
        made = {
            "id": str(uuid.uuid4()),
            "resource": asked["resource"],
            "changeType": asked.get("changeType"),
            "clientState": asked.get("clientState"),
            "notificationUrl": asked["notificationUrl"],
            "lifecycleNotificationUrl": asked.get("lifecycleNotificationUrl"),
            "expirationDateTime": iso(expires),
        }
        with self.sim.lock:
            self.sim.subscriptions[made["id"]] = made
        self._json(201, {k: v for k, v in made.items() if k != "clientState"} | {"clientState": made["clientState"]})

    def renew_subscription(self):
        if not self._graph_grant():
            return
        asked = self._json_request()
        known = self.sim.subscriptions.get(self.subscription_id)
        if asked is None:
            return
        if known is None:
            return self._error(404, "ResourceNotFound", "The object was not found.")
        expires = parse_iso(asked.get("expirationDateTime"))
        if expires is None or expires.timestamp() - self.sim.now() > MAX_SUBSCRIPTION.total_seconds():
            return self._error(400, "InvalidRequest", "Subscription expiration can only be 4230 minutes in the future.")
        if not self.sim.validate(known["notificationUrl"]):
            return self._error(400, "ValidationError", "Subscription validation request failed.")
        with self.sim.lock:
            known["expirationDateTime"] = iso(expires)
        self._json(200, {k: v for k, v in known.items() if k != "clientState"})

    def delete_subscription(self):
        if not self._graph_grant():
            return
        with self.sim.lock:
            gone = self.sim.subscriptions.pop(self.subscription_id, None)
        if gone is None:
            return self._error(404, "ResourceNotFound", "The object was not found.")
        self._send(204, b"", "application/json")


TeamsSimulator.handler_class = TeamsHandler


# -- what a record holds --------------------------------------------------------------------------


def _record_id(meeting_id: str) -> str:
    return str(uuid.UUID(hashlib.sha256(f"teams:{meeting_id}".encode()).hexdigest()[:32]))


def _guid(text: str) -> str:
    return str(uuid.UUID(hashlib.md5(text.encode()).hexdigest()))


def _stamp(when: datetime, n: int) -> str:
    """A time as Graph writes it: seven fractional digits, or (one in three) whole seconds."""
    when = when.astimezone(UTC)
    if n % 3 == 0:
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond:06d}{n % 10}Z"


def _duration(ms) -> str | None:
    return None if ms is None else f"PT{ms / 1000:.3f}S".replace(".000S", "S")


def _mean(values) -> float | None:
    found = [v for v in values if v is not None]
    return sum(found) / len(found) if found else None


def _most(values) -> float | None:
    found = [v for v in values if v is not None]
    return max(found) if found else None


def _stream(direction: str, intervals: list, kind: str, version: int, n: int, seconds: float) -> dict:
    """One Graph stream from the Webex-style intervals of one direction: averages and maxima,
    most other figures null, as real records have them."""
    loss = [v for i in intervals for v in i["packetLoss"]]
    jitter = [v for i in intervals for v in i["jitter"]]
    latency = [v for i in intervals for v in i["latency"]]
    stream = {
        "streamId": str(1000 + n),
        "streamDirection": direction,
        "startDateTime": None,
        "endDateTime": None,
        "averagePacketLossRate": None if _mean(loss) is None else round(_mean(loss) / 100, 6),
        "maxPacketLossRate": None if _most(loss) is None else round(_most(loss) / 100, 6),
        "averageJitter": _duration(round(_mean(jitter))) if jitter else None,
        "maxJitter": _duration(round(_most(jitter))) if jitter else None,
        "averageRoundTripTime": _duration(round(_mean(latency) * 2)) if latency and kind == "audio" else None,
        "maxRoundTripTime": _duration(round(_most(latency) * 2)) if latency and kind == "audio" else None,
        "packetUtilization": int(seconds * (50 if kind == "audio" else 90)),
        "averageBandwidthEstimate": 4294967295 if n % 11 == 0 else 2_400_000,
        "averageAudioDegradation": "NaN" if n % 6 == 0 else None,
        "averageRatioOfConcealedSamples": None,
        "averageVideoFrameRate": None,
        "averageVideoFrameLossPercentage": None,
        "postForwardErrorCorrectionPacketLossRate": None,
        "audioCodec": "satin" if kind == "audio" else "unknown",
        "videoCodec": "unknown" if kind == "audio" else "h264",
        "wasMediaBypassed": None,
    }
    if kind != "audio":
        rates = [v for i in intervals for v in i.get("frameRate") or []]
        stream["averageVideoFrameRate"] = None if _mean(rates) is None else round(_mean(rates), 2)
        stream["postForwardErrorCorrectionPacketLossRate"] = stream["averagePacketLossRate"]
    if version > 1:  # a revision fills a figure in and changes another: each version's loss is a quarter more
        stream["averageRatioOfConcealedSamples"] = 0.01
        if stream["averagePacketLossRate"] is not None:
            stream["averagePacketLossRate"] = round(stream["averagePacketLossRate"] * (1 + (version - 1) / 4), 6)
    return stream


def _network(item: dict, n: int) -> dict:
    connection = CONNECTIONS.get(item["networkType"], "unknown")
    local = item["localIP"]
    return {
        "ipAddress": local,
        "subnet": ".".join(local.split(".")[:3] + ["0"]) if local.count(".") == 3 else None,
        "linkSpeed": 4294967295 if n % 5 == 0 else 1_000_000_000,
        "connectionType": connection,
        "wifiBand": ("frequency50GHz" if n % 2 else "frequency24GHz") if connection == "wifi" else "unknown",
        "wifiSignalStrength": 60 + n % 35 if connection == "wifi" else None,
        "reflexiveIPAddress": item["publicIP"],
        "relayIPAddress": "52.112.0.5" if n % 4 == 0 else "",
        "networkTransportProtocol": "udp" if n % 9 else "tcp",
        "sentQualityEventRatio": None,
        "receivedQualityEventRatio": 0 if n % 2 else None,
        "delayEventRatio": None,
        "bandwidthLowEventRatio": None,
    }


def _endpoint(item: dict, n: int, tenant_id: str) -> dict:
    platform = PLATFORMS.get(item["osType"], "unknown")
    endpoint = {
        "userAgent": {
            "@odata.type": "#microsoft.graph.callRecords.clientUserAgent",
            "headerValue": f"TeamsClient/24{n % 10}.1 ({platform})",
            "applicationVersion": None if n % 3 else f"24{n % 10}.1.0.{2000 + n}",
            "platform": platform,
            "productFamily": "skypeForBusiness" if n % 13 == 0 else "teams",
        },
        "cpuName": "Intel(R) Core(TM) i7-1185G7",
        "cpuCoresCount": 8,
    }
    email = item["webexUserEmail"]
    if n % 7 == 3:  # a guest: a name, no tenant user
        endpoint["identity"] = {
            "user": None,
            "guest": {"id": _guid("guest" + email), "displayName": item["webexUserName"]},
        }
    else:
        endpoint["associatedIdentity"] = {
            "id": _guid(email),
            "displayName": item["webexUserName"],
            "tenantId": tenant_id,
            "userPrincipalName": email,
        }
    return endpoint


def _session(record_id: str, item: dict, n: int, version: int, tenant_id: str, callee: dict | None = None) -> dict:
    """One Webex-style session as the Graph session it would be: the participant calls the
    conference service (or, peer to peer, the other person)."""
    start, end = parse_iso(item["joinTime"]), parse_iso(item["leaveTime"])
    seconds = (end - start).total_seconds()
    caller = _endpoint(item, n, tenant_id)
    other = _endpoint(callee, n + 1, tenant_id) if callee else CONFERENCE_SERVICE
    device = {
        "captureDeviceName": MICROPHONES[int(_guid(item["webexUserEmail"])[:8], 16) % len(MICROPHONES)],
        "renderDeviceName": item["speakerName"],
        "cpuInsufficentEventRatio": 0.2
        if (item.get("resources") or [{}])[0].get("systemAverageCPU", [0])[0] > 90
        else 0,
    }
    media = [
        {
            "label": "data",
            "callerNetwork": _network(item, n),
            "streams": [{"streamId": "1", "streamDirection": "callerToCallee", "packetUtilization": 0}],
        },
        {
            "label": "main-audio",
            "callerNetwork": _network(item, n),
            "calleeNetwork": _network(callee, n + 1) if callee else {"ipAddress": "", "subnet": None, "linkSpeed": 0},
            "callerDevice": device,
            "streams": [
                _stream("callerToCallee", item["audioOut"], "audio", version, n, seconds),
                _stream("calleeToCaller", item["audioIn"], "audio", version, n + 1, seconds),
            ],
        },
    ]
    for label, kind, sent, received in (
        ("main-video", "video", "videoOut", "videoIn"),
        ("applicationsharing-video", "share", "shareOut", "shareIn"),
    ):
        streams = [
            _stream(direction, item[key], kind, version, n + k, seconds)
            for k, (direction, key) in enumerate((("callerToCallee", sent), ("calleeToCaller", received)))
            if item[key]
        ]
        if streams:
            media.append(
                {
                    "label": label,
                    "callerNetwork": _network(item, n),
                    "callerDevice": {"captureDeviceName": item["camera"]},
                    "streams": streams,
                }
            )
    session_id = str(uuid.UUID(hashlib.sha256(f"{record_id}:{n}:{item['joinTime']}".encode()).hexdigest()[:32]))
    return {
        "id": session_id,
        "modalities": ["audio", "video"],
        "startDateTime": _stamp(start, n),
        "endDateTime": _stamp(end, n + 2),
        "isTest": False,
        "failureInfo": None,
        "caller": caller,
        "callee": other,
        "segments": [
            {
                "id": session_id,
                "startDateTime": _stamp(start, n),
                "endDateTime": _stamp(end, n + 2),
                "caller": caller,
                "callee": other,
                "failureInfo": None,
                "media": media,
            }
        ],
    }
