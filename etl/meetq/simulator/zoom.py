"""A Zoom simulator in the Webex one's style: the Server-to-Server OAuth token endpoint and the
Dashboard's past meetings and participants QoS, with every reading Zoom's documentation allows
and real payloads show (docs/zoom.md):

- figures as text with units, with and without a space ("23 kbps", "27.15kbps", "0ms"), "" for
  no data, "0*0" for no video; one minute sometimes split over two entries of the same date_time;
- meeting ids as numbers and as strings, `duration` as "00:56", UUIDs that start with "/" or hold
  "//" (refused unless encoded twice in the path), guests with blank ids, participants who rejoin;
- page tokens that die after `zoom_page_token_seconds`, and an empty `next_page_token` on the
  last page; `page_size` 1 unless asked (at most 10);
- 429 past `zoom_qos_per_second` QoS calls a second (Retry-After in seconds) or past
  `zoom_daily_limit` calls (Retry-After as an ISO date: the next midnight, UTC).

Routes:  POST /oauth/token   GET /v2/metrics/meetings   GET /v2/metrics/meetings/{uuid}/participants/qos
The organisation is the Webex simulator's generator with another seed; each Webex-style session
becomes a Zoom participant whose minutes are its intervals' samples, sent and received swapped
into Zoom's input (what reached Zoom from the participant) and output (what Zoom sent them).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import datetime, timedelta
from urllib.parse import unquote

from ..clock import UTC, iso, parse_iso
from .org import meeting_number
from .server import Grant, SimConfig, Simulator, _Handler

QOS_PATH = "/participants/qos"
SCOPES = "dashboard_meetings:read:admin dashboard:read:list_meetings:admin"
# Webex-style media array -> Zoom's block: Zoom's input is what the participant sent.
BLOCKS = {
    "audioOut": "audio_input",
    "audioIn": "audio_output",
    "videoOut": "video_input",
    "videoIn": "video_output",
    "shareOut": "as_input",
    "shareIn": "as_output",
}
NETWORKS = {"ethernet": "Wired", "wifi": "Wifi", "cellular": "Cellular"}
# A participant's media region (the generator's, by country) as the Zoom data centre that served it.
DATA_CENTRES = {
    "UK": "Europe (LON)",
    "Germany": "Germany (FRA)",
    "USA": "United States (SJC)",
    "Netherlands": "Europe (AMS)",
}


class ZoomSimulator(Simulator):
    def __init__(
        self, config: SimConfig | None = None, account_id: str = "sim-zoom-account", now: datetime | None = None
    ):
        super().__init__(
            config or SimConfig(seed=23, client_id="sim-zoom-client", client_secret="sim-zoom-secret"), now=now
        )
        self.account_id = account_id
        self.page_tokens: dict[str, tuple] = {}  # token -> (what it pages, offset, issued at)
        self.qos_reads: dict[tuple[str, int], int] = {}  # (uuid, offset) -> how often served
        self.qos_times: list[float] = []
        self.daily_calls = 0
        self.page_token_seconds = 900.0  # Zoom's: 15 minutes
        self.qos_per_second = 20.0
        self.daily_limit = 0  # 0: none
        self.expire_page_tokens = 0  # refuse this many page tokens as expired, however young
        self.uuids = {_uuid(m.id, n): m for n, m in enumerate(sorted(self.org.meetings.values(), key=lambda m: m.id))}

    @property
    def api_base(self) -> str:
        return f"{self.url}/v2"

    @property
    def oauth_url(self) -> str:
        return f"{self.url}/oauth/token"

    def past(self) -> list[tuple[str, object]]:
        """(uuid, meeting) of every meeting that has ended, in start order."""
        now = self.now()
        return sorted(
            ((u, m) for u, m in self.uuids.items() if m.end.timestamp() <= now), key=lambda pair: pair[1].start
        )

    def participants(self, uuid: str) -> list[dict]:
        meeting = self.uuids[uuid]
        items = sorted(self.org.quality_items(meeting), key=lambda item: item["joinTime"])
        return [_participant(meeting, item, n) for n, item in enumerate(items)]


class ZoomHandler(_Handler):
    sim: ZoomSimulator

    def routes(self, path: str) -> dict:
        routes = {
            ("POST", "/oauth/token"): self.token,
            ("GET", "/v2/metrics/meetings"): self.meetings,
            **self.sim_routes(),
        }
        if path.startswith("/v2/metrics/meetings/") and path.endswith(QOS_PATH):
            routes[("GET", path)] = self.qos
        return routes

    def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
        super()._send(status, body, content_type, {"x-zm-trackingid": self.tracking, **(headers or {})})

    def token(self):
        c = self.sim.config
        expected = "Basic " + base64.b64encode(f"{c.client_id}:{c.client_secret}".encode()).decode()
        q = self.query
        if q.get("grant_type") != "account_credentials":
            return self._json(400, {"reason": "Unsupported grant type", "error": "unsupported_grant_type"})
        if self.headers.get("Authorization") != expected or self.sim.revoked:
            return self._json(400, {"reason": "Invalid client_id or client_secret", "error": "invalid_client"})
        if q.get("account_id") != self.sim.account_id:
            return self._json(400, {"reason": "Invalid account_id", "error": "invalid_request"})
        lifetime = min(3599.0, c.access_lifetime)
        with self.sim.lock:
            token = "SIMZT-" + secrets.token_urlsafe(24)
            self.sim.access[token] = Grant(c.client_id, self.sim.now() + lifetime, "admin", SCOPES)
            grants = self.sim.stats.token_grants
            grants["account_credentials"] = grants.get("account_credentials", 0) + 1
        self._json(
            200,
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": int(lifetime),
                "scope": SCOPES,
                "api_url": self.sim.url,
            },
        )

    def _zoom_grant(self) -> bool:
        header = self.headers.get("Authorization", "")
        grant = self.sim.access.get(header[7:] if header.startswith("Bearer ") else "")
        if grant is None or grant.expires <= self.sim.now():
            self._json(401, {"code": 124, "message": "Invalid access token."})
            return False
        return True

    def meetings(self):
        if not self._zoom_grant():
            return
        q = self.query
        if q.get("type") != "past":  # Zoom's default is live: nothing past comes back
            return self._json(200, _page("meetings", [], q, None) | {"from": q.get("from"), "to": q.get("to")})
        first, last = parse_iso(q.get("from")), parse_iso(q.get("to"))
        if first is None or last is None or last < first or (last - first).days > 31:
            return self._json(400, {"code": 300, "message": "The date range must be at most one month."})
        chosen = [
            _listed(uuid, m)
            for uuid, m in self.sim.past()
            if first.date() <= m.start.astimezone(UTC).date() <= last.date()
        ]
        self._paged("meetings", chosen, "meetings", 30, 300, {"from": q.get("from"), "to": q.get("to")})

    def qos(self):
        if not self._zoom_grant():
            return
        segment = self.path.split("?")[0][len("/v2/metrics/meetings/") : -len(QOS_PATH)]
        uuid = _decoded(segment, self.sim.uuids)
        if uuid is None:
            return self._json(404, {"code": 3001, "message": "Meeting does not exist."})
        limited = self._limited()
        if limited:
            return self._json(
                429, {"code": 429, "message": "You have reached the maximum per-second rate limit."}, limited
            )
        if self.query.get("type") != "past":
            return self._json(200, _page("participants", [], self.query, None))
        self._paged("qos:" + uuid, self.sim.participants(uuid), "participants", 1, 10, reads=uuid)

    def _limited(self) -> dict | None:
        """Retry-After headers when this call is over a limit, else None."""
        now = self.sim.now()
        with self.sim.lock:
            self.sim.qos_times = [t for t in self.sim.qos_times if t > now - 1] + [now]
            self.sim.daily_calls += 1
            if self.sim.daily_limit and self.sim.daily_calls > self.sim.daily_limit:
                midnight = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0) + timedelta(days=1)
                self.sim.stats.served_429 += 1
                return {"Retry-After": iso(midnight)}
            if len(self.sim.qos_times) > self.sim.qos_per_second:
                self.sim.stats.served_429 += 1
                return {"Retry-After": "1"}
        return None

    def _paged(self, what: str, items: list, key: str, default: int, most: int, extra=None, reads=None):
        q = self.query
        token = q.get("next_page_token") or ""
        offset = 0
        if token:
            found = self.sim.page_tokens.get(token)
            with self.sim.lock:
                expire = self.sim.expire_page_tokens > 0
                self.sim.expire_page_tokens -= expire
            if expire or not found or found[0] != what or self.sim.now() - found[2] > self.sim.page_token_seconds:
                return self._json(400, {"code": 300, "message": "The next page token is invalid or expired."})
            offset = found[1]
        size = max(1, min(int(q.get("page_size") or default), most))
        following = None
        if offset + size < len(items):
            following = secrets.token_urlsafe(24)
            with self.sim.lock:
                self.sim.page_tokens[following] = (what, offset + size, self.sim.now())
        if reads:
            with self.sim.lock:
                self.sim.qos_reads[(reads, offset)] = self.sim.qos_reads.get((reads, offset), 0) + 1
        body = _page(key, items[offset : offset + size], q, following) | {"total_records": len(items)}
        self._json(200, body | (extra or {}))


ZoomSimulator.handler_class = ZoomHandler


def _page(key: str, items: list, query: dict, following: str | None) -> dict:
    # The last page still says next_page_token, as an empty string.
    return {"page_count": 1, "page_size": len(items), "next_page_token": following or "", key: items}


def _uuid(meeting_id: str, n: int) -> str:
    """A meeting UUID as Zoom's look (base64 of 16 bytes); one in ten starts with "/" and one in
    ten holds "//", the ones Zoom wants encoded twice in a path."""
    text = base64.b64encode(hashlib.sha256(meeting_id.encode()).digest()[:16]).decode()
    if n % 10 == 3:
        return "/" + text[1:]
    if n % 10 == 7:
        return text[:6] + "//" + text[8:]
    return text


def _decoded(segment: str, known: dict) -> str | None:
    """The UUID a path segment names, as Zoom reads it: decoded once, or twice when it was
    encoded twice; a UUID that needs two encodings and got one is not found."""
    once = unquote(segment)
    if once in known and not (once.startswith("/") or "//" in once):
        return once
    twice = unquote(once)
    return twice if "%" in once and twice in known else None


def _listed(uuid: str, meeting) -> dict:
    number = int("9" + meeting_number(meeting.series_id))
    minutes = int((meeting.end - meeting.start).total_seconds() // 60)
    return {
        "uuid": uuid,
        "id": number if len(uuid) % 2 else str(number),  # a number, or (as some answers have it) text
        "topic": meeting.title,
        "host": meeting.host.name,
        "email": meeting.host.email,
        "user_type": "Licensed",
        "start_time": iso(meeting.start).replace(".000Z", "Z"),
        "end_time": iso(meeting.end).replace(".000Z", "Z"),
        "duration": f"{minutes // 60:02d}:{minutes % 60:02d}",
        "participants": len(meeting.participants),
        "has_pstn": False,
        "has_voip": True,
        "has_video": True,
        "has_screen_share": True,
        "audio_quality": "good",
        "video_quality": "good",
        "screen_share_quality": "good",
    }


def _participant(meeting, item: dict, n: int) -> dict:
    """One Webex-style session as the Zoom participant it would be (n: its place in Zoom's order)."""
    seed = int(hashlib.sha256(f"{meeting.id}:{n}".encode()).hexdigest()[:8], 16)
    guest = seed % 7 == 0  # since 2023 a guest's ids are blank, and so are their email and address
    person = item["webexUserEmail"]
    style = seed % 3  # how this participant's client prints its figures
    entries = _minutes(item, style, split=seed % 5 == 0)
    return {
        "id": "" if guest else base64.urlsafe_b64encode(hashlib.sha256(person.encode()).digest()[:12]).decode(),
        "user_id": "" if guest else str(16778240 + n),
        "participant_uuid": "" if guest else hashlib.md5(f"{meeting.id}{n}".encode()).hexdigest().upper(),
        "user_name": item["webexUserName"],
        "email": "" if guest else person,
        "device": {"windows": "Windows", "mac": "Mac", "ios": "iOS"}.get(item["osType"], item["osType"]),
        "client": "Zoom Workplace",
        "version": "6.2.5.43796",
        "os": {"windows": "Windows 11", "mac": "macOS", "ios": "iOS"}.get(item["osType"], ""),
        "os_version": item["osVersion"],
        "ip_address": "" if guest else item["publicIP"],
        "internal_ip_addresses": [item["localIP"]],
        "location": "" if guest else item["serverRegion"].split(" ")[0],
        "network_type": NETWORKS.get(item["networkType"], "Others"),
        "data_center": DATA_CENTRES.get(item["serverRegion"].split(",")[-1].strip(), "United States (SC Top)"),
        "device_name": "" if guest else item["hardwareType"],
        "connection_type": "UDP",
        "video_connection_type": "UDP",
        "as_connection_type": "UDP",
        "microphone": item["microphone"],
        "speaker": item["speakerName"],
        "camera": item["camera"],
        "pc_name": "" if guest else f"PC-{n:04d}",
        "mac_addr": "",
        "harddisk_id": "",
        "domain": "",
        "join_time": item["joinTime"].replace(".000Z", "Z"),
        "leave_time": item["leaveTime"].replace(".000Z", "Z"),
        "user_qos": entries,
    }


def _minutes(item: dict, style: int, split: bool) -> list[dict]:
    """The session's samples, a minute at a time, in Zoom's text with units."""
    minutes: dict[datetime, dict] = {}
    for array, block in BLOCKS.items():
        for interval in item.get(array) or []:
            start = parse_iso(interval["startTime"]).replace(second=0, microsecond=0)
            for i, loss in enumerate(interval["packetLoss"]):
                values = {
                    "avg_loss": _text(loss, "%", style),
                    "max_loss": _text(None if loss is None else round(loss * 1.5, 2), "%", style),
                    "latency": _text(interval["latency"][i], "ms", style),
                    "jitter": _text(interval["jitter"][i], "ms", style),
                    "bitrate": _text(round(interval["mediaBitRate"][i] / 1000, 2), "kbps", style),
                }
                if block.startswith(("video", "as")):
                    heights, rates = interval["resolutionHeight"], interval["frameRate"]
                    height = int(heights[i]) if i < len(heights) and heights[i] else 0
                    values["resolution"] = f"{height * 16 // 9}*{height}"
                    values["frame_rate"] = _text(rates[i] if i < len(rates) else None, "fps", style)
                minutes.setdefault(start + timedelta(minutes=i), {})[block] = values
    for resource in item.get("resources") or []:
        start = parse_iso(item["audioIn"][0]["startTime"]).replace(second=0, microsecond=0)
        for i in range(len(resource["systemAverageCPU"])):
            minutes.setdefault(start + timedelta(minutes=i), {})["cpu_usage"] = {
                "system_max_cpu_usage": f"{round(resource['systemMaxCPU'][i])}%",
                "zoom_avg_cpu_usage": f"{round(resource['processAverageCPU'][i])}%",
                "zoom_max_cpu_usage": f"{round(resource['processMaxCPU'][i])}%",
                "zoom_min_cpu_usage": f"{round(resource['processAverageCPU'][i] * 0.5)}%",
            }
    entries = []
    for when in sorted(minutes):
        blocks, stamp = minutes[when], when.strftime("%Y-%m-%dT%H:%M:%SZ")
        if split and any(b.startswith("video") for b in blocks):
            # The same minute in two entries: the network figures, then the picture's.
            picture = {b: {k: v.pop(k) for k in ("resolution", "frame_rate") if k in v} for b, v in blocks.items()}
            entries += [{"date_time": stamp, **blocks}, {"date_time": stamp, **{b: v for b, v in picture.items() if v}}]
        else:
            entries.append({"date_time": stamp, **blocks})
    return entries


def _text(value, unit: str, style: int) -> str:
    """A figure as Zoom prints it: "0.3%" always; "23 kbps" or "23kbps", "126 ms" or "0ms"."""
    if value is None:
        return ""
    number = f"{value:g}" if isinstance(value, float) else str(value)
    spaced = unit != "%" and (style == 0 or (style == 2 and unit != "ms"))
    return f"{number} {unit}" if spaced else f"{number}{unit}"
