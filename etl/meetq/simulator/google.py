"""A Google Meet simulator in the Webex one's style: the service-account token endpoint (it
checks the signed JWT's claims) and the Admin SDK Reports API's `call_ended` activities, with
paging, reporting lag, and the Webex simulator's faults, chaos and stats.

Routes:  POST /token   GET /admin/reports/v1/activity/users/all/applications/meet
         GET /v2/conferenceRecords (only the caller's own), …/participants, …/participantSessions,
         GET /v2/spaces/{space}
         POST /_sim/activities  serve these activities as given, beside the generated ones
The organisation is the Webex simulator's generator with another seed; every Webex-style
participant session becomes one activity whose parameters summarise its intervals, as Meet does
(means and maxima, ints as strings, absent when not applicable).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs

from ..clock import UTC, parse_iso
from .server import Grant, SimConfig, Simulator, _Handler

REPORTS_PATH = "/admin/reports/v1/activity/users/all/applications/meet"
REPORTS_SCOPE = "https://www.googleapis.com/auth/admin.reports.audit.readonly"
MEET_SCOPE = "https://www.googleapis.com/auth/meetings.space.readonly"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"  # what Google checks, wherever the key file posts


class GoogleSimulator(Simulator):
    def __init__(
        self,
        config: SimConfig | None = None,
        admin_email: str = "admin@example.com",
        lag_seconds: float = 0.0,
        now: datetime | None = None,
    ):
        super().__init__(config or SimConfig(seed=11), now=now)
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        self.public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.client_email = "meetq-collector@sim-project.iam.gserviceaccount.com"
        self.admin_email, self.lag_seconds = admin_email, lag_seconds
        self.assertions: list[dict] = []  # the verified claims of every token request
        self.recorded: list[dict] = []  # activities given as they are (POST /_sim/activities): real payloads

    @property
    def reports_base(self) -> str:
        return f"{self.url}/admin/reports/v1"

    @property
    def meet_base(self) -> str:
        return f"{self.url}/v2"

    def write_key_file(self, path: Path) -> Path:
        """A service account key as Google's console gives one, pointing at this simulator."""
        path.write_text(
            json.dumps(
                {
                    "type": "service_account",
                    "project_id": "sim-project",
                    "private_key_id": secrets.token_hex(20),
                    "private_key": self.private_pem,
                    "client_email": self.client_email,
                    "client_id": "1234567890",
                    "token_uri": f"{self.url}/token",
                }
            )
        )
        path.chmod(0o600)
        return path

    def activities(self) -> list[dict]:
        """Every reported `call_ended` activity, newest first (Google's order)."""
        cutoff = self.now() - self.lag_seconds
        found = []
        for meeting in self.org.meetings.values():
            if meeting.end.timestamp() > cutoff:
                continue
            found.extend(
                a
                for a in _meeting_activities(self.org, meeting, self.config.google_qualifiers)
                if _epoch(a["id"]["time"]) <= cutoff
            )
        found.extend(a for a in self.recorded if _epoch(a["id"]["time"]) <= cutoff)
        return sorted(found, key=lambda a: a["id"]["time"], reverse=True)


class GoogleHandler(_Handler):
    sim: GoogleSimulator

    def routes(self, path: str) -> dict:
        routes = {
            ("POST", "/token"): self.token,
            ("GET", REPORTS_PATH): self.reports,
            ("POST", "/_sim/activities"): self.sim_activities,
            **self.sim_routes(),
        }
        if path.startswith("/v2/"):
            routes[("GET", path)] = self.meet_rest
        return routes

    def token(self):
        from google.auth import jwt

        form = {k: v[-1] for k, v in parse_qs(self._body().decode()).items()}
        if form.get("grant_type") != JWT_GRANT:
            return self._json(400, {"error": "unsupported_grant_type"})
        try:
            claims = jwt.decode(form.get("assertion", ""), certs=self.sim.public_pem, audience=TOKEN_AUDIENCE)
        except ValueError as error:
            return self._json(400, {"error": "invalid_grant", "error_description": f"Invalid JWT: {error}"})
        scopes = str(claims.get("scope", "")).split()
        # Delegation as the simulated admin covers Reports; as any user of the org, Meet REST.
        allowed = {REPORTS_SCOPE: {self.sim.admin_email}, MEET_SCOPE: {p.email for p in self.sim.org.people}}
        problem = (
            ("iss", claims.get("iss") != self.sim.client_email),
            ("sub", not scopes or any(claims.get("sub") not in allowed.get(s, ()) for s in scopes)),
            ("scope", not scopes or any(s not in allowed for s in scopes)),
            ("exp", claims.get("exp", 0) - claims.get("iat", 0) > 3600),
        )
        wrong = [name for name, bad in problem if bad]
        if wrong or self.sim.revoked:
            return self._json(
                401 if self.sim.revoked else 400,
                {
                    "error": "unauthorized_client" if wrong else "invalid_grant",
                    "error_description": f"Client is unauthorized to retrieve access tokens ({', '.join(wrong)})",
                },
            )
        with self.sim.lock:
            self.sim.assertions.append(claims)
            self.sim.stats.token_grants[JWT_GRANT] = self.sim.stats.token_grants.get(JWT_GRANT, 0) + 1
            token = "SIMGAT-" + secrets.token_urlsafe(24)
            self.sim.access[token] = Grant(
                self.sim.client_email, self.sim.now() + self.sim.config.access_lifetime, claims["sub"], claims["scope"]
            )
        self._json(
            200,
            {
                "access_token": token,
                "expires_in": int(min(3600, self.sim.config.access_lifetime)),
                "token_type": "Bearer",
            },
        )

    def reports(self):
        if not self._scoped(REPORTS_SCOPE):
            return
        q = self.query
        if q.get("eventName") != "call_ended":
            return self._json(200, {"kind": "admin#reports#activities", "items": []})
        start, end = parse_iso(q.get("startTime")), parse_iso(q.get("endTime")) or datetime.now(UTC)
        if q.get("startTime") and (start is None or start >= end):
            return self._json(400, _google_error(400, "Start time must be before end time", "INVALID_ARGUMENT"))
        size = max(1, min(int(q.get("maxResults") or 1000), 1000))
        offset = int(q.get("pageToken") or 0)
        chosen = [
            a
            for a in self.sim.activities()
            if (start is None or start.timestamp() <= _epoch(a["id"]["time"]))
            and _epoch(a["id"]["time"]) < end.timestamp()
        ]
        page = {"kind": "admin#reports#activities", "etag": '"sim"', "items": chosen[offset : offset + size]}
        if offset + size < len(chosen):
            page["nextPageToken"] = str(offset + size)
        self._json(200, page)

    def sim_activities(self):
        """Serve these activities too, exactly as given (recorded payloads, odd shapes)."""
        given = json.loads(self._body() or b"[]")
        with self.sim.lock:
            self.sim.recorded.extend(given)
        self._json(200, {"activities": len(self.sim.recorded)})

    def _scoped(self, scope: str):
        grant = self._grant()
        if grant and scope not in grant.scopes.split():
            self._json(403, _google_error(403, "Request had insufficient authentication scopes.", "PERMISSION_DENIED"))
            return None
        return grant

    def meet_rest(self):
        """conferenceRecords (the caller's own, ended or not), participants, their sessions, spaces."""
        grant = self._scoped(MEET_SCOPE)
        if not grant:
            return
        parts = self.path.split("?")[0].split("/")[2:]  # after /v2/
        conferences = {
            _conference_id(m): m
            for m in self.sim.org.meetings.values()
            if m.host.email == grant.user and m.start.timestamp() <= self.sim.now()
        }
        if parts[0] == "spaces" and len(parts) == 2:
            meeting = next((m for m in self.sim.org.meetings.values() if _space(m) == parts[1]), None)
            if meeting is None:
                return self._json(404, _google_error(404, "space not found", "NOT_FOUND"))
            return self._json(
                200,
                {
                    "name": f"spaces/{parts[1]}",
                    "meetingCode": _code(meeting),
                    "meetingUri": f"https://meet.google.com/{_code(meeting)}",
                },
            )
        if parts[0] != "conferenceRecords":
            return self._json(404, _google_error(404, "not found", "NOT_FOUND"))
        if len(parts) == 1:
            since = self.query.get("filter", "").partition('start_time>="')[2].rstrip('"')
            chosen = sorted(
                (m for m in conferences.values() if not since or m.start >= parse_iso(since)),
                key=lambda m: m.start,
                reverse=True,
            )
            items = [_record(m, self.sim.now()) for m in chosen]
            return self._paged("conferenceRecords", items, 25, 100)
        meeting = conferences.get(parts[1])
        if meeting is None:
            return self._json(404, _google_error(404, "conference record not found", "NOT_FOUND"))
        people = {f"p{i}": person for i, person in enumerate(meeting.participants)}
        if len(parts) == 3 and parts[2] == "participants":
            items = [
                {
                    "name": f"conferenceRecords/{parts[1]}/participants/{key}",
                    "signedinUser": {"user": f"users/{person.id}", "displayName": person.name},
                }
                for key, person in people.items()
            ]
            return self._paged("participants", items, 100, 250)
        if len(parts) == 5 and parts[4] == "participantSessions" and parts[3] in people:
            person = people[parts[3]]
            items = [
                {
                    "name": f"conferenceRecords/{parts[1]}/participants/{parts[3]}/participantSessions/s{n}",
                    "startTime": item["joinTime"],
                    "endTime": item["leaveTime"],
                }
                for n, item in enumerate(
                    i for i in self.sim.org.quality_items(meeting) if i["webexUserEmail"] == person.email
                )
            ]
            return self._paged("participantSessions", items, 100, 250)
        self._json(404, _google_error(404, "not found", "NOT_FOUND"))

    def _paged(self, key: str, items: list, default: int, most: int):
        size = max(1, min(int(self.query.get("pageSize") or default), most))
        offset = int(self.query.get("pageToken") or 0)
        page = {key: items[offset : offset + size]}
        if offset + size < len(items):
            page["nextPageToken"] = str(offset + size)
        self._json(200, page)


GoogleSimulator.handler_class = GoogleHandler


def _conference_id(meeting) -> str:
    """The Reports API's conference_id; the simulator files REST conference records under it."""
    return hashlib.sha1(meeting.id.encode()).hexdigest()[:22]


def _space(meeting) -> str:
    return hashlib.sha1(meeting.series_id.encode()).hexdigest()[:12]


def _code(meeting) -> str:
    letters = "".join(chr(97 + int(c, 16) % 26) for c in meeting.series_id[:10])
    return f"{letters[:3]}-{letters[3:7]}-{letters[7:10]}"


def _record(meeting, now: float) -> dict:
    record = {
        "name": f"conferenceRecords/{_conference_id(meeting)}",
        "space": f"spaces/{_space(meeting)}",
        "startTime": meeting.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if meeting.end.timestamp() <= now:
        record["endTime"] = meeting.end.strftime("%Y-%m-%dT%H:%M:%SZ")
    return record


def _google_error(code: int, message: str, status: str) -> dict:
    return {"error": {"code": code, "message": message, "status": status}}


def _epoch(text: str) -> float:
    return parse_iso(text).timestamp()


def _meeting_activities(org, meeting, qualifiers: str = "session") -> list[dict]:
    code = _code(meeting)
    return [_activity(meeting, code, item, org.org_id, qualifiers) for item in org.quality_items(meeting)]


def _activity(meeting, code: str, item: dict, customer: str, qualifiers: str = "session") -> dict:
    join, leave = parse_iso(item["joinTime"]), parse_iso(item["leaveTime"])
    shared_by = meeting.id if qualifiers == "meeting" else item["participantSessionId"]
    unique = str(int(hashlib.sha1(shared_by.encode()).hexdigest()[:15], 16))
    params = [
        ("conference_id", "value", _conference_id(meeting)),
        ("meeting_code", "value", code.upper().replace("-", "") if int(unique) % 3 == 0 else code),
        ("organizer_email", "value", meeting.host.email),
        ("product_type", "value", "meet"),
        ("endpoint_id", "value", f"meet_{item['participantSessionId'][:12].lower()}"),
        ("identifier", "value", item["webexUserEmail"]),
        ("identifier_type", "value", "email_address"),
        ("display_name", "value", item["webexUserName"]),
        ("device_type", "value", _device(item["clientType"], item["osType"])),
        ("ip_address", "value", item["publicIP"]),
        ("is_external", "boolValue", False),
        ("location_country", "value", "NL"),
        ("location_region", "value", "Amsterdam"),
        ("duration_seconds", "intValue", int((leave - join).total_seconds())),
        ("start_timestamp_seconds", "intValue", int(join.timestamp())),
        ("network_transport_protocol", "value", "udp"),
    ]
    audio_in = item["audioIn"][0]
    params += [
        ("network_rtt_msec_mean", "intValue", _mean(audio_in["latency"])),
        ("network_recv_jitter_msec_mean", "intValue", _mean(audio_in["jitter"])),
        ("network_recv_jitter_msec_max", "intValue", max(audio_in["jitter"])),
        ("network_send_jitter_msec_mean", "intValue", _mean(item["audioOut"][0]["jitter"])),
    ]
    for key, prefix in (
        ("audioIn", "audio_recv"),
        ("audioOut", "audio_send"),
        ("videoIn", "video_recv"),
        ("videoOut", "video_send"),
        ("shareIn", "screencast_recv"),
        ("shareOut", "screencast_send"),
    ):
        if not item[key]:
            continue  # Google omits what does not apply
        interval = item[key][0]
        params += [
            (f"{prefix}_seconds", "intValue", 60 * len(interval["packetLoss"])),
            (f"{prefix}_packet_loss_mean", "intValue", _mean(interval["packetLoss"])),
            (f"{prefix}_packet_loss_max", "intValue", max(interval["packetLoss"])),
        ]
        if prefix.endswith("send"):
            params.append((f"{prefix}_bitrate_kbps_mean", "intValue", _mean(interval["mediaBitRate"]) // 1000))
        if not prefix.startswith("audio"):
            params += [
                (f"{prefix}_fps_mean", "intValue", _mean(interval["frameRate"])),
                (f"{prefix}_short_side_median_pixels", "intValue", int(interval["resolutionHeight"][0])),
            ]
    return {
        "kind": "admin#reports#activity",
        "etag": f'"{unique}"',
        "id": {
            "time": leave.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "uniqueQualifier": unique,
            "applicationName": "meet",
            "customerId": customer,
        },
        "actor": {"callerType": "USER", "email": item["webexUserEmail"], "profileId": unique[:12]},
        "ipAddress": item["publicIP"],
        "events": [
            {
                "type": "call",
                "name": "call_ended",
                "parameters": [{"name": n, kind: str(v) if kind == "intValue" else v} for n, kind, v in params],
            }
        ],
    }


def _device(client_type: str, os_type: str) -> str:
    if os_type == "ios":
        return "ios"
    return "chromebox" if "room" in client_type.lower() else "web"


def _mean(values) -> int:
    numbers = [v for v in values if isinstance(v, (int, float))]
    return round(sum(numbers) / len(numbers)) if numbers else 0
