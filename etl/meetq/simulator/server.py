"""The simulator's HTTP server (stdlib only, so it runs wherever meetq runs).

Webex routes:                          Test and demo routes:
  GET  /v1/authorize                     GET  /_sim/stats      calls, per-meeting qualities calls, grants
  POST /v1/access_token                  POST /_sim/faults     queue faults: [{"path", "status", "times", ...}]
  GET  /v1/people/me                     POST /_sim/revoke     refuse every refresh token from now on
  GET  /v1/meetings                      POST /_sim/config     change SimConfig fields while running
  GET  /analytics/v1/meeting/qualities   POST /_sim/meetings   add meetings that ended just now
  GET, POST /v1/webhooks
  GET, PUT, DELETE /v1/webhooks/{id}
  GET  /v1/rooms, /v1/memberships, POST /v1/messages, GET /v1/messages/{id}   (the bot)

Registered `meetings`/`ended` webhooks get a signed POST (X-Spark-Signature: hex HMAC-SHA1 of
the body with the webhook's secret) whenever a meeting ends while the simulator runs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import math
import random
import secrets
import socket
import struct
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from ..clock import UTC, parse_iso
from .org import Organisation


@dataclass
class SimConfig:
    host: str = "127.0.0.1"
    port: int = 0
    seed: int = 7
    client_id: str = "sim-client-id"
    client_secret: str = "sim-client-secret"
    access_lifetime: float = 1_209_600  # 14 days, as Webex
    refresh_lifetime: float = 7_776_000  # 90 days
    rotate_refresh: bool = True  # a refresh returns a new refresh token, the old one dies
    omit_refresh_in_response: bool = False  # a refresh answer without refresh_token
    grant_error_shape: str = "rfc"  # "rfc" {"error": ...} or "webex" {"message", "errors"}
    authorize_error: str = ""  # e.g. "access_denied": the redirect carries ?error=
    # Who accepts at the authorize page: "" the admin; an email of the organisation's people, that
    # person; any other email, a person of another organisation (viewer sign-in tests).
    consent_as: str = ""
    bot_token: str = "sim-bot-token"  # the bot's token: it is in the "Network team" space only
    visibility_delay: float = 900  # ended meetings are listed 15 minutes after the end
    data_delay: float = 600  # qualities exist 10 minutes after the start ...
    retention_days: float = 7  # ... for 7 days
    rate_limit_seconds: float = 300  # one qualities call per meeting per 5 minutes
    pages_count: bool = False  # whether later pages count against that limit
    drop_params_in_next: bool = False  # next links without the filters (a historic Webex bug)
    legacy_names: bool = False  # qualities in the old field names
    latency: float = 0.0  # seconds every API answer takes (Webex's are 0.1 to 0.5)
    chaos_rate: float = 0.0  # share of API requests answered by one of CHAOS
    chaos_delay: float = 1.0  # seconds a "slow" chaos answer waits (beyond the client's timeout)
    chaos_seed: int = 1
    chaos_huge_bytes: int = 4_000_000  # padding added to a "huge" page
    chaos_retry_after: str = "1"  # Retry-After of a chaotic 429 that has one
    # Google documents `uniqueQualifier` as unique only among events of the same time: "session"
    # gives every activity its own, "meeting" gives all of a call's endpoints one (seen in real data).
    google_qualifiers: str = "session"
    days: float = 7
    meetings_per_day: int = 40
    people: int = 60
    upcoming_hours: float = 4
    max_participants: int = 8
    long_meeting_every: int = 25

    @classmethod
    def known(cls) -> set[str]:
        return {f.name for f in fields(cls)}


@dataclass
class Fault:
    path: str  # substring of the request path
    status: int = 503
    times: int = 1
    body: str | None = None
    retry_after: str | None = None
    delay: float = 0.0  # seconds before answering (a slow answer or a client timeout)
    content_type: str = "application/json"


@dataclass
class Grant:
    client_id: str
    expires: float
    user: str = "admin-person"
    scopes: str = ""


# What chaos mode does to a request instead of (or to) its normal answer.
CHAOS = (
    "429_retry_after",
    "429_bare",
    "500",
    "502",
    "503",
    "504",
    "slow",
    "reset",
    "malformed",
    "truncated",
    "wrong_content_type",
    "huge",
    "legacy_names",
)
CHAOS_PATHS = ("/v1/meetings", "/v1/people/me", "/analytics/v1/meeting/qualities")


@dataclass
class Stats:
    calls: dict = field(default_factory=dict)
    quality_calls: dict = field(default_factory=dict)  # meeting id -> [epoch seconds, ...]
    served_429: int = 0
    token_grants: dict = field(default_factory=dict)
    faults_served: int = 0
    chaos_served: dict = field(default_factory=dict)
    webhook_deliveries: list = field(default_factory=list)  # [meeting id, target URL, HTTP status]


class Simulator:
    handler_class: type = None  # set below, once _Handler exists: a subclass may bring its own

    def __init__(self, config: SimConfig | None = None, now: datetime | None = None):
        self.config = config or SimConfig()
        c = self.config
        self.org = Organisation(
            c.seed,
            now=now or datetime.now(UTC),
            days=c.days,
            meetings_per_day=c.meetings_per_day,
            people=c.people,
            upcoming_hours=c.upcoming_hours,
            max_participants=c.max_participants,
            long_meeting_every=c.long_meeting_every,
        )
        self.lock = threading.RLock()
        self.codes: dict[str, dict] = {}
        self.access: dict[str, Grant] = {}
        self.refresh: dict[str, Grant] = {}
        self.revoked = False
        self.faults: list[Fault] = []
        self.stats = Stats()
        self.last_quality_call: dict[str, float] = {}
        self.chaos_rng = random.Random(self.config.chaos_seed)
        self.server: ThreadingHTTPServer | None = None
        self.webhooks: dict[str, dict] = {}
        # A bot's world: the spaces it is in, and every message posted (by it or, in tests, to it).
        self.rooms = {room["id"]: room for room in ROOMS}
        self.messages: dict[str, dict] = {}
        self.announced: set[str] = set()
        self.started_at = time.time()
        self.stopping = threading.Event()

    # -- life cycle ------------------------------------------------------------------------------

    def start(self) -> "Simulator":
        simulator = self

        class Handler(self.handler_class):
            sim = simulator

        self.server = ThreadingHTTPServer((self.config.host, self.config.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True, name="webex-simulator").start()
        threading.Thread(target=self._announce_ends, daemon=True, name="webex-simulator-webhooks").start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_base(self) -> str:
        return f"{self.url}/v1"

    @property
    def analytics_base(self) -> str:
        return f"{self.url}/analytics/v1"

    # -- state used by the routes ------------------------------------------------------------------

    def now(self) -> float:
        return time.time()

    def issue_tokens(self, client_id: str, user: str, scopes: str) -> dict:
        now = self.now()
        access, refresh = "SIMAT-" + secrets.token_urlsafe(24), "SIMRT-" + secrets.token_urlsafe(24)
        self.access[access] = Grant(client_id, now + self.config.access_lifetime, user, scopes)
        self.refresh[refresh] = Grant(client_id, now + self.config.refresh_lifetime, user, scopes)
        return {
            "access_token": access,
            "expires_in": int(self.config.access_lifetime),
            "refresh_token": refresh,
            "refresh_token_expires_in": int(self.config.refresh_lifetime),
            "token_type": "Bearer",
        }

    def refresh_tokens(self, refresh_token: str) -> dict | None:
        grant = self.refresh.get(refresh_token)
        now = self.now()
        if self.revoked or grant is None or grant.expires <= now:
            return None
        access = "SIMAT-" + secrets.token_urlsafe(24)
        self.access[access] = Grant(grant.client_id, now + self.config.access_lifetime, grant.user, grant.scopes)
        body = {
            "access_token": access,
            "expires_in": int(self.config.access_lifetime),
            "refresh_token_expires_in": int(grant.expires - now),
            "token_type": "Bearer",
        }
        if self.config.rotate_refresh:
            new_refresh = "SIMRT-" + secrets.token_urlsafe(24)
            self.refresh[new_refresh] = Grant(grant.client_id, grant.expires, grant.user, grant.scopes)
            del self.refresh[refresh_token]
            body["refresh_token"] = new_refresh
        else:
            body["refresh_token"] = refresh_token
        if self.config.omit_refresh_in_response:
            body.pop("refresh_token")
        return body

    def visible_meetings(self) -> list:
        cutoff = datetime.fromtimestamp(self.now() - self.config.visibility_delay, UTC)
        return sorted((m for m in self.org.meetings.values() if m.end <= cutoff), key=lambda m: (m.start, m.id))

    def add_ended_meetings(
        self, count: int, minutes: int = 30, participants: int | None = None, ended_ago: float | None = None
    ) -> list[str]:
        """Meetings that ended `ended_ago` seconds ago (default: just visible in listings)."""
        ago = self.config.visibility_delay if ended_ago is None else ended_ago
        end = datetime.fromtimestamp(self.now() - ago, UTC).replace(microsecond=0)
        with self.lock:
            return [
                self.org.add_meeting(end - timedelta(minutes=minutes), timedelta(minutes=minutes), participants).id
                for _ in range(count)
            ]

    # -- webhooks ----------------------------------------------------------------------------------

    def _announce_ends(self) -> None:
        """Every meeting that ends while the simulator runs is announced to matching webhooks."""
        while not self.stopping.wait(0.2):
            now = self.now()
            with self.lock:
                ended = [
                    m
                    for m in self.org.meetings.values()
                    if m.id not in self.announced and self.started_at - 1 <= m.end.timestamp() <= now
                ]
                self.announced.update(m.id for m in ended)
                hooks = [
                    dict(h)
                    for h in self.webhooks.values()
                    if h["resource"] == "meetings" and h["event"] == "ended" and h["status"] == "active"
                ]
            for meeting in ended:
                for hook in hooks:
                    self.deliver(hook, meeting)

    def deliver(self, hook: dict, meeting) -> int:
        status = self.deliver_event(
            hook,
            {
                "id": meeting.id,
                "meetingSeriesId": meeting.id.split("_")[0],
                "meetingType": "meeting",
                "state": "ended",
                "start": meeting.start.isoformat().replace("+00:00", "Z"),
                "end": meeting.end.isoformat().replace("+00:00", "Z"),
                "title": meeting.title,
            },
        )
        with self.lock:
            self.stats.webhook_deliveries.append([meeting.id, hook["targetUrl"], status])
        return status

    def say(self, person_email: str, text: str, room_id: str | None = None, mention: bool = True) -> dict:
        """Someone writes in a space (mentioning the bot), and the bot's messages webhooks hear of it."""
        room_id = room_id or ROOMS[0]["id"]
        person = next((p for p in self.org.people if p.email == person_email), None)
        mention_html = (
            (
                f'<spark-mention data-object-type="person" data-object-id="{BOT["id"]}">'
                f"{BOT['displayName']}</spark-mention> "
            )
            if mention
            else ""
        )
        room = self.rooms[room_id]
        message = {
            "id": "sim-message-" + secrets.token_hex(6),
            "roomId": room_id,
            "roomType": room["type"],
            "text": (BOT["displayName"] + " " if mention else "") + text,
            "html": f"<p>{mention_html}{html.escape(text)}</p>",
            "personId": person.id if person else "outsider-" + person_email,
            "personEmail": person_email,
            "mentionedPeople": [BOT["id"]] if mention else [],
            "created": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
        with self.lock:
            self.messages[message["id"]] = message
            hooks = [h for h in self.webhooks.values() if h["resource"] == "messages" and h["status"] == "active"]
        data = {k: message[k] for k in ("id", "roomId", "roomType", "personId", "personEmail", "created")}
        return {"message": message["id"], "deliveries": [self.deliver_event(h, data) for h in hooks]}

    def deliver_event(self, hook: dict, data: dict) -> int:
        """POST a webhook delivery, signed as Webex signs it; the answer's status (0: none)."""
        import urllib.request

        envelope = {k: v for k, v in hook.items() if k != "secret"}
        envelope.update(actorId=data.get("personId") or self.org.admin.id, data=data)
        body = json.dumps(envelope).encode()
        headers = {"Content-Type": "application/json"}
        if hook.get("secret"):
            headers["X-Spark-Signature"] = hmac.new(hook["secret"].encode(), body, hashlib.sha1).hexdigest()
        request = urllib.request.Request(hook["targetUrl"], data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                status = answer.status
        except urllib.error.HTTPError as error:
            status = error.code
        except OSError:
            status = 0
        return status

    def take_chaos(self, path: str) -> str | None:
        with self.lock:
            if not self.config.chaos_rate or path not in CHAOS_PATHS:
                return None
            if self.chaos_rng.random() >= self.config.chaos_rate:
                return None
            kind = self.chaos_rng.choice(CHAOS)
            self.stats.chaos_served[kind] = self.stats.chaos_served.get(kind, 0) + 1
            return kind

    def take_fault(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.path in path and fault.times > 0:
                    fault.times -= 1
                    self.stats.faults_served += 1
                    return fault
            self.faults = [f for f in self.faults if f.times > 0]
        return None


BOT = {"id": "sim-bot", "emails": ["meetq@webex.bot"], "displayName": "meetq", "type": "bot"}
ROOMS = [
    {"id": "sim-room-network-team", "title": "Network team", "type": "group", "bot_member": True},
    {"id": "sim-room-elsewhere", "title": "A space without the bot", "type": "group", "bot_member": False},
]
MAX_MESSAGE_BYTES = 7439  # Webex's limit on text and markdown


def pkce_matches(code: dict, verifier: str | None) -> bool:
    """RFC 7636: a code asked for with a challenge is only traded with its verifier."""
    if not code.get("challenge"):
        return True
    if not verifier:
        return False
    if code["method"] == "S256":
        verifier = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return hmac.compare_digest(verifier, code["challenge"])


def _webex_error(message: str, tracking: str) -> dict:
    return {"message": message, "errors": [{"description": message}], "trackingId": tracking}


class _Handler(BaseHTTPRequestHandler):
    sim: Simulator
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, each answer waits ~40 ms for an ACK.
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    # -- plumbing --------------------------------------------------------------------------------

    def _route(self, method: str) -> None:
        self.tracking = f"SIM_{secrets.token_hex(8)}"
        self.request_body = self._read_body()
        parts = urlsplit(self.path)
        self.query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        path = parts.path
        with self.sim.lock:
            self.sim.stats.calls[path] = self.sim.stats.calls.get(path, 0) + 1
        fault = None if path.startswith("/_sim") else self.sim.take_fault(path)
        if fault:
            return self._fault(fault)
        if self.sim.config.latency and not path.startswith("/_sim"):
            time.sleep(self.sim.config.latency)
        self.chaos = self.sim.take_chaos(path)
        if self.chaos and self._chaos_instead():
            return
        handler = self.routes(path).get((method, path))
        if handler is None:
            return self._json(404, _webex_error(f"no route {method} {path}", self.tracking))
        handler()

    def routes(self, path: str) -> dict:
        """(method, path) -> handler. Another vendor's simulator overrides this alone."""
        routes = {
            ("GET", "/v1/authorize"): self.authorize,
            ("POST", "/v1/access_token"): self.access_token,
            ("GET", "/v1/people/me"): self.people_me,
            ("GET", "/v1/meetings"): self.meetings,
            ("GET", "/analytics/v1/meeting/qualities"): self.qualities,
            ("GET", "/v1/webhooks"): self.webhooks_list,
            ("POST", "/v1/webhooks"): self.webhooks_create,
            ("GET", "/v1/rooms"): self.rooms_list,
            ("GET", "/v1/memberships"): self.memberships_list,
            ("POST", "/v1/messages"): self.messages_create,
            **self.sim_routes(),
        }
        if path.startswith("/v1/messages/"):
            self.message_id = unquote(path.rsplit("/", 1)[1])
            routes[("GET", path)] = self.messages_one
        if path.startswith("/v1/webhooks/"):
            self.webhook_id = path.rsplit("/", 1)[1]
            routes.update({(m, path): self.webhooks_one for m in ("GET", "PUT", "DELETE")})
        return routes

    def sim_routes(self) -> dict:
        return {
            ("GET", "/_sim/stats"): self.sim_stats,
            ("POST", "/_sim/faults"): self.sim_faults,
            ("POST", "/_sim/revoke"): self.sim_revoke,
            ("POST", "/_sim/config"): self.sim_config,
            ("POST", "/_sim/meetings"): self.sim_meetings,
            ("GET", "/_sim/messages"): self.sim_messages,
            ("POST", "/_sim/say"): self.sim_say,
        }

    def do_GET(self):  # noqa: N802
        self._route("GET")

    def do_POST(self):  # noqa: N802
        self._route("POST")

    def do_PUT(self):  # noqa: N802
        self._route("PUT")

    def do_DELETE(self):  # noqa: N802
        self._route("DELETE")

    def _body(self) -> bytes:
        return self.request_body

    def _json_request(self) -> dict | None:
        """The request's JSON object, or None after answering 400."""
        try:
            body = json.loads(self._body() or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            self._json(400, _webex_error("the body is not a JSON object", self.tracking))
            return None
        return body

    def _read_body(self) -> bytes:
        """Read whatever the request carries before anything answers it: an answer that leaves a
        body unread (a fault, a 401) would have it parsed as the next request on the connection."""
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Trackingid", self.tracking)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, document, headers: dict | None = None, content_type: str = "application/json") -> None:
        body = json.dumps(document).encode()
        chaos = getattr(self, "chaos", None)
        if status == 200 and chaos == "truncated":
            body = body[: max(1, len(body) // 2)]
        elif status == 200 and chaos == "wrong_content_type":
            content_type = "text/html; charset=utf-8"
        elif status == 200 and chaos == "huge" and isinstance(document, dict):
            body = json.dumps({**document, "padding": "x" * self.sim.config.chaos_huge_bytes}).encode()
        self._send(status, body, content_type, headers)

    def _chaos_instead(self) -> bool:
        """Answer with chaos instead of the real answer; False when chaos only alters it."""
        kind = self.chaos
        if kind in ("truncated", "wrong_content_type", "huge", "legacy_names"):
            return False
        if kind == "slow":
            time.sleep(self.sim.config.chaos_delay)
            return False
        if kind == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return True
        if kind == "malformed":
            self._send(200, b'{"items": [{"meetingInstanceId": ', "application/json")
            return True
        status = 429 if kind.startswith("429") else int(kind)
        headers = {"Retry-After": self.sim.config.chaos_retry_after} if kind == "429_retry_after" else {}
        self._json(status, _webex_error(f"chaos {kind}", self.tracking), headers)
        return True

    def _fault(self, fault: Fault) -> None:
        if fault.delay:
            time.sleep(fault.delay)
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        body = (
            fault.body
            if fault.body is not None
            else json.dumps(_webex_error(f"simulated {fault.status}", self.tracking))
        )
        if fault.status == 429:
            with self.sim.lock:
                self.sim.stats.served_429 += 1
        self._send(fault.status, body.encode(), fault.content_type, headers)

    def _grant(self) -> Grant | None:
        """The bearer token's grant, or None after answering 401."""
        header = self.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else ""
        grant = self.sim.access.get(token)
        if token and token == self.sim.config.bot_token:  # a bot's token never expires (until regenerated)
            grant = Grant("bot", float("inf"), BOT["id"], "spark:all")
        if grant is None or grant.expires <= self.sim.now():
            self._json(
                401,
                _webex_error(
                    "The request requires a valid access token set in the Authorization request header.", self.tracking
                ),
            )
            return None
        return grant

    def _base(self) -> str:
        return f"http://{self.headers.get('Host')}"

    # -- Webex routes ----------------------------------------------------------------------------

    def authorize(self):
        q, c = self.query, self.sim.config
        redirect = q.get("redirect_uri", "")
        if q.get("client_id") != c.client_id or q.get("response_type") != "code" or not redirect:
            return self._json(400, _webex_error("invalid client_id, response_type or redirect_uri", self.tracking))
        if urlsplit(redirect).hostname not in ("localhost", "127.0.0.1", "::1"):
            return self._json(400, _webex_error("redirect_uri is not registered", self.tracking))
        if c.authorize_error:
            answer = {"error": c.authorize_error}
        else:
            code = "SIMCODE-" + secrets.token_urlsafe(16)
            with self.sim.lock:
                self.sim.codes[code] = {
                    "redirect_uri": redirect,
                    "scope": q.get("scope", ""),
                    "expires": self.sim.now() + 600,
                    "user": c.consent_as or "admin-person",
                    "challenge": q.get("code_challenge"),
                    "method": q.get("code_challenge_method", "plain"),
                }
            answer = {"code": code}
        if "state" in q:
            answer["state"] = q["state"]
        self._send(302, b"", "text/plain", {"Location": f"{redirect}?{urlencode(answer)}"})

    def access_token(self):
        c, sim = self.sim.config, self.sim
        if not self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            return self._json(400, {"error": "invalid_request", "error_description": "form-encoded body required"})
        form = {k: v[-1] for k, v in parse_qs(self._body().decode()).items()}
        if form.get("client_id") != c.client_id or form.get("client_secret") != c.client_secret:
            return self._json(401, {"error": "invalid_client", "error_description": "client authentication failed"})
        grant_type = form.get("grant_type")
        with sim.lock:
            sim.stats.token_grants[grant_type] = sim.stats.token_grants.get(grant_type, 0) + 1
            if grant_type == "authorization_code":
                code = sim.codes.pop(form.get("code", ""), None)
                if (
                    not code
                    or code["expires"] < sim.now()
                    or code["redirect_uri"] != form.get("redirect_uri")
                    or not pkce_matches(code, form.get("code_verifier"))
                ):
                    return self._grant_error("The authorization code is invalid, used or expired.")
                return self._json(200, sim.issue_tokens(c.client_id, code["user"], code["scope"]))
            if grant_type == "refresh_token":
                body = sim.refresh_tokens(form.get("refresh_token", ""))
                if body is None:
                    return self._grant_error(
                        "The refresh token provided is expired, revoked, malformed, or invalid for other reasons."
                    )
                return self._json(200, body)
        self._json(400, {"error": "unsupported_grant_type"})

    def _grant_error(self, description: str):
        if self.sim.config.grant_error_shape == "webex":
            body = {
                "message": f"invalid_grant: {description}",
                "errors": [{"description": description}],
                "trackingId": self.tracking,
            }
        else:
            body = {"error": "invalid_grant", "error_description": description}
        self._json(400, body)

    def people_me(self):
        grant = self._grant()
        if not grant:
            return
        if grant.user == BOT["id"]:
            return self._json(200, {**BOT, "orgId": self.sim.org.org_id})
        org = self.sim.org
        person = (
            org.admin if grant.user == "admin-person" else next((p for p in org.people if p.email == grant.user), None)
        )
        if person is None:  # someone of another organisation
            return self._json(
                200,
                {
                    "id": "outsider-" + grant.user,
                    "emails": [grant.user],
                    "displayName": grant.user.split("@")[0],
                    "orgId": "org-elsewhere",
                    "type": "person",
                },
            )
        self._json(
            200,
            {
                "id": person.id,
                "emails": [person.email],
                "displayName": person.name,
                "orgId": org.org_id,
                "type": "person",
            },
        )

    def meetings(self):
        if not self._grant():
            return
        q, now = self.query, self.sim.now()
        if q.get("meetingType", "meetingSeries") != "meeting" or q.get("state", "ended") != "ended":
            return self._json(200, {"items": []}, content_type="application/json;charset=UTF-8")
        to = parse_iso(q.get("to")) or (
            parse_iso(q.get("from")) + timedelta(days=7) if q.get("from") else datetime.fromtimestamp(now, UTC)
        )
        start = parse_iso(q.get("from")) or to - timedelta(days=7)
        if (q.get("from") and not parse_iso(q["from"])) or (q.get("to") and not parse_iso(q["to"])) or start > to:
            return self._json(400, _webex_error("from/to must be ISO 8601 with from <= to", self.tracking))
        try:
            limit = min(100, int(q.get("max") or 10))
        except ValueError:
            return self._json(400, _webex_error("max must be a number", self.tracking))
        offset = int(q.get("cursor") or 0)
        with self.sim.lock:
            chosen = [m for m in self.sim.visible_meetings() if start <= m.start < to][:10_000]
            page = [self.sim.org.meeting_json(m) for m in chosen[offset : offset + limit]]
        headers = {}
        if offset + limit < len(chosen):
            kept = {} if self.sim.config.drop_params_in_next else {k: v for k, v in q.items() if k != "cursor"}
            kept["cursor"] = offset + limit
            headers["Link"] = f'<{self._base()}/v1/meetings?{urlencode(kept)}>; rel="next"'
        self._json(200, {"items": page}, headers, content_type="application/json;charset=UTF-8")

    def qualities(self):
        if not self._grant():
            return
        q, sim, c = self.query, self.sim, self.sim.config
        meeting = sim.org.meetings.get(q.get("meetingId", ""))
        if not q.get("meetingId"):
            return self._json(400, _webex_error("meetingId is required", self.tracking))
        if meeting is None:
            return self._json(404, _webex_error("meeting instance not found", self.tracking))
        try:
            limit, offset = int(q.get("max") or 100), int(q.get("offset") or 0)
        except ValueError:
            return self._json(400, _webex_error("max and offset must be numbers", self.tracking))
        now = sim.now()
        counts = c.pages_count or offset == 0
        with sim.lock:
            sim.stats.quality_calls.setdefault(meeting.id, []).append(now)
            last = sim.last_quality_call.get(meeting.id)
            if counts and last is not None and now - last < c.rate_limit_seconds:
                sim.stats.served_429 += 1
                wait = math.ceil(c.rate_limit_seconds - (now - last))
                return self._json(
                    429,
                    _webex_error("Too many requests for this meeting instance.", self.tracking),
                    {"Retry-After": str(wait)},
                )
            if counts:
                sim.last_quality_call[meeting.id] = now
        started = meeting.start.timestamp()
        if now > started + c.retention_days * 86400:
            return self._json(404, _webex_error("meeting quality data is no longer available", self.tracking))
        legacy = c.legacy_names or getattr(self, "chaos", None) == "legacy_names"
        items = [] if now < started + c.data_delay else sim.org.quality_items(meeting, legacy)
        page = items[offset : offset + limit]
        headers = {}
        if offset + limit < len(items):
            headers["Link"] = (
                f"<{self._base()}/analytics/v1/meeting/qualities?"
                f"{urlencode({'meetingId': meeting.id, 'max': limit, 'offset': offset + limit})}>; "
                'rel="next"'
            )
        self._json(200, {"items": page}, headers)

    def webhooks_list(self):
        grant = self._grant()
        if not grant:
            return
        with self.sim.lock:  # each sees the webhooks it made: the admin's integration, or the bot
            items = [
                h for h in self.sim.webhooks.values() if (h["createdBy"] == BOT["id"]) == (grant.user == BOT["id"])
            ]
        self._json(200, {"items": items})

    def webhooks_create(self):
        grant = self._grant()
        body = self._json_request() if grant else None
        if body is None:
            return
        missing = [k for k in ("name", "targetUrl", "resource", "event") if not body.get(k)]
        if missing:
            return self._json(400, _webex_error(f"missing {', '.join(missing)}", self.tracking))
        hook = {
            "id": "SIMWH-" + secrets.token_hex(8),
            "name": body["name"],
            "targetUrl": body["targetUrl"],
            "resource": body["resource"],
            "event": body["event"],
            "filter": body.get("filter"),
            "secret": body.get("secret"),
            "ownedBy": body.get("ownedBy", "creator"),
            "status": "active",
            "orgId": self.sim.org.org_id,
            "createdBy": grant.user,
            "appId": "SIMAPP",
            "created": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }
        with self.sim.lock:
            self.sim.webhooks[hook["id"]] = hook
        self._json(200, hook)

    def webhooks_one(self):
        if not self._grant():
            return
        with self.sim.lock:
            hook = self.sim.webhooks.get(self.webhook_id)
            if hook is None:
                return self._json(404, _webex_error("webhook not found", self.tracking))
            if self.command == "DELETE":
                del self.sim.webhooks[self.webhook_id]
                return self._send(204, b"", "application/json")
            if self.command == "PUT":
                changes = json.loads(self._body() or b"{}")
                hook.update({k: changes[k] for k in ("name", "targetUrl", "secret", "status") if k in changes})
            self._json(200, hook)

    # -- a bot's spaces and messages ----------------------------------------------------------------

    def rooms_list(self):
        grant = self._grant()
        if not grant:
            return
        mine = [
            {k: v for k, v in r.items() if k != "bot_member"}
            for r in self.sim.rooms.values()
            if r["bot_member"] or grant.user != BOT["id"]
        ]
        self._json(200, {"items": mine})

    def memberships_list(self):
        """A space's members, filtered by `personId`: each with the organisation they belong to
        (`personOrgId`; people the simulated organisation does not know belong to another)."""
        if not self._grant():
            return
        person_id, room_id = self.query.get("personId"), self.query.get("roomId")
        if room_id not in self.sim.rooms:
            return self._json(404, _webex_error("Could not find a room with provided ID.", self.tracking))
        known = {p.id: p for p in self.sim.org.people}
        items = (
            []
            if not person_id
            else [
                {
                    "id": f"membership-{person_id}",
                    "roomId": room_id,
                    "personId": person_id,
                    "personEmail": known[person_id].email if person_id in known else "",
                    "personOrgId": self.sim.org.org_id if person_id in known else "org-elsewhere",
                    "isModerator": False,
                }
            ]
        )
        self._json(200, {"items": items})

    def messages_create(self):
        grant = self._grant()
        body = self._json_request() if grant else None
        if body is None:
            return
        text = body.get("markdown") or body.get("text") or ""
        if len(text.encode()) > MAX_MESSAGE_BYTES:
            return self._json(400, _webex_error(f"markdown is longer than {MAX_MESSAGE_BYTES} bytes", self.tracking))
        with self.sim.lock:
            parent = self.sim.messages.get(body.get("parentId") or "")
            room = self.sim.rooms.get(body.get("roomId") or (parent or {}).get("roomId") or "")
            if room is None or (grant.user == BOT["id"] and not room["bot_member"]):
                return self._json(404, _webex_error("Could not find a room with provided ID.", self.tracking))
            message = {
                "id": "sim-message-" + secrets.token_hex(6),
                "roomId": room["id"],
                "roomType": room["type"],
                "text": text,
                "markdown": body.get("markdown"),
                "personId": grant.user,
                "personEmail": BOT["emails"][0] if grant.user == BOT["id"] else grant.user,
                "created": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            }
            if parent:
                message["parentId"] = parent["id"]
            self.sim.messages[message["id"]] = message
        self._json(200, message)

    def messages_one(self):
        if not self._grant():
            return
        with self.sim.lock:
            message = self.sim.messages.get(self.message_id)
        if message is None:
            return self._json(404, _webex_error("message not found", self.tracking))
        self._json(200, message)

    # -- test and demo routes -----------------------------------------------------------------------

    def sim_stats(self):
        with self.sim.lock:
            self._json(200, asdict(self.sim.stats))

    def sim_messages(self):
        """The spaces' messages, newest first: as a page for people (the demo prints its address), or
        JSON with ?format=json."""
        with self.sim.lock:
            messages = sorted(self.sim.messages.values(), key=lambda m: m["created"], reverse=True)
        if self.query.get("format") == "json":
            return self._json(200, {"items": messages})
        rooms = {r["id"]: r["title"] for r in self.sim.rooms.values()}
        rows = "".join(
            f"<article><header>{html.escape(rooms.get(m['roomId'], m['roomId']))} · "
            f"{html.escape(m['personEmail'])} · {html.escape(m['created'])}</header>"
            f"<pre>{html.escape(m['text'])}</pre></article>"
            for m in messages
        )
        page = (
            "<!doctype html><meta charset=utf-8><meta http-equiv=refresh content=10><title>Simulated Webex "
            "spaces</title><style>body{font:15px sans-serif;max-width:60em;margin:2em auto}article{border:1px "
            "solid #ccc;border-radius:6px;margin:1em 0;padding:.5em 1em}header{color:#666;font-size:13px}"
            "pre{white-space:pre-wrap;font:inherit}</style><h1>Simulated Webex spaces</h1>"
            + "<form method=post action=/_sim/say><p>Write to the bot as "
            + f"<input name=personEmail size=32 value='{html.escape(self.sim.org.people[0].email)}'>: "
            + "<input name=text size=30 value=last> <button>Send</button> (try help, last, status, week)</p></form>"
            + (rows or "<p>No messages yet: the collector posts after its first round.</p>")
        )
        self._send(200, page.encode(), "text/html; charset=utf-8")

    def sim_say(self):
        """A person writes to the bot: JSON {"personEmail", "text"}, or the messages page's form."""
        form = self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded")
        if form:
            request = {k: v[-1] for k, v in parse_qs(self._body().decode()).items()}
        else:
            request = json.loads(self._body() or b"{}")
        email = request.get("personEmail") or self.sim.org.people[0].email
        answer = self.sim.say(email, request.get("text", "help"))
        if form:
            return self._send(303, b"", "text/plain", {"Location": "/_sim/messages"})
        self._json(200, answer)

    def sim_faults(self):
        rules = json.loads(self._body() or b"[]")
        with self.sim.lock:
            self.sim.faults.extend(Fault(**rule) for rule in rules)
        self._json(200, {"queued": len(rules)})

    def sim_revoke(self):
        with self.sim.lock:
            self.sim.revoked = True
            self.sim.access.clear()
        self._json(200, {"revoked": True})

    def sim_config(self):
        changes = json.loads(self._body() or b"{}")
        unknown = set(changes) - SimConfig.known()
        if unknown:
            return self._json(400, {"error": f"unknown settings {sorted(unknown)}"})
        with self.sim.lock:
            for key, value in changes.items():
                setattr(self.sim.config, key, value)
        self._json(200, asdict(self.sim.config))

    def sim_meetings(self):
        request = json.loads(self._body() or b"{}")
        ids = self.sim.add_ended_meetings(
            int(request.get("count", 1)),
            int(request.get("minutes", 30)),
            request.get("participants"),
            request.get("ended_ago_seconds"),
        )
        self._json(200, {"ids": ids})


Simulator.handler_class = _Handler
