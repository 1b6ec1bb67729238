"""Google Meet: quality from the Admin SDK Reports API (`call_ended` activities).

Auth is google-auth's service-account credentials with domain-wide delegation, acting as a
Workspace admin: it signs the JWT and exchanges it at the key file's `token_uri`, which we would
otherwise write ourselves. The key file is a secret like the Webex tokens: 0600 or refused,
never stored in the database, never logged. HTTP goes through meetq's own client (timeouts,
backoff on 429 and 503, named errors). Google reports calls hours late, so every cycle re-reads
`reports_lookback_hours` behind the last one; activities are deduplicated on their unique id.
Facts and open questions: ../shared/research/google-meet-api.md.
"""

from __future__ import annotations

import json
import stat
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from . import store
from .client import Page, WebexClient
from .clock import iso, parse_iso
from .errors import InsecureTokenFile, MeetqError, NotAuthorised, ReauthRequired, TransientError
from .logs import get_logger, register_secret
from .meet_transform import MEET_PROVIDER, attendance_rows, prepare_activity
from .models import database
from .transform import mask_ip

log = get_logger("meetq.google")

REPORTS_SCOPE = "https://www.googleapis.com/auth/admin.reports.audit.readonly"
MEET_SCOPE = "https://www.googleapis.com/auth/meetings.space.readonly"
MAX_REPORTS_DAYS = 180   # the Reports API answers at most the last 180 days


class ServiceAccount:
    """google-auth service-account credentials behind meetq's credentials protocol."""

    def __init__(self, settings, scope: str = REPORTS_SCOPE, subject: str | None = None):
        from google.oauth2 import service_account
        path = Path(settings.key_file)
        if not path.exists():
            raise NotAuthorised(f"no Google service account key at {path}: see README, \"Google Meet\"")
        if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise InsecureTokenFile(f"the Google key file {path} can be read by other users: run `chmod 600 {path}`")
        try:
            info = json.loads(path.read_text())
            register_secret(info.get("private_key_id"), info.get("private_key"))
            self.credentials = service_account.Credentials.from_service_account_info(
                info, scopes=[scope], subject=subject or settings.admin_email)
            self.scope, self.subject = scope, subject or settings.admin_email
        except (ValueError, KeyError, TypeError) as error:
            raise NotAuthorised(f"the Google key file {path} is not a service account key: "
                                f"{type(error).__name__}") from None

    def access_token(self) -> str:
        if not self.credentials.valid:
            self._refresh()
        return self.credentials.token

    def refresh_after_unauthorised(self) -> bool:
        self._refresh()
        return True

    def ensure_fresh(self) -> list[str]:
        self.access_token()
        return []

    def _refresh(self) -> None:
        from google.auth.exceptions import RefreshError, TransportError
        from google.auth.transport.requests import Request
        try:
            self.credentials.refresh(Request())
        except RefreshError as error:
            reason = error.args[0] if error.args else "refused"
            raise ReauthRequired(f"Google refused the service account acting as {self.subject} ({reason}): check "
                                 f"its domain-wide delegation (scope {self.scope}) and that this user exists") from None
        except TransportError as error:
            raise TransientError(f"Google's token endpoint did not answer: {type(error).__name__}") from None
        register_secret(self.credentials.token)


def collect(client, settings, report, stop, clock, listing: bool = True) -> None:
    """Read the `call_ended` activities since the last cycle (less the lookback) and store
    each endpoint session; the watermark moves only when the whole window was read. (There
    is no queue to work alone: `listing` is the Webex webhook path's and changes nothing.)"""
    account, now = settings.account, clock()
    until = parse_iso(store.get_state("google.reports_until", account=account))
    start = until - timedelta(hours=settings.reports_lookback_hours) if until else \
        now - timedelta(days=settings.backfill_days)
    start = max(start, now - timedelta(days=MAX_REPORTS_DAYS))
    params = {"eventName": "call_ended", "startTime": iso(start), "endTime": iso(now),
              "maxResults": min(settings.reports_page_size, 1000)}
    url = f"{settings.reports_base.rstrip('/')}/activity/users/all/applications/meet"
    for page in client.token_pages(url, params):
        if stop.is_set():
            return
        sessions, activities = save_activities(page, settings)
        report.meetings_listed += activities
        report.sessions_written += sessions
        report.quality_pages += 1
    if settings.organizers:
        collect_attendance(settings, start, report, stop)
    with database.atomic():
        store.set_state(clock(), account, **{"google.reports_until": iso(now)})


def collect_attendance(settings, start, report, stop) -> None:
    """Meet REST API: the ended conferences each organiser organised since `start`, their
    participants and participant sessions. One organiser refused is reported; the others go on."""
    base = settings.meet_base.rstrip("/")
    for organizer in [o.strip() for o in settings.organizers.split(",") if o.strip()]:
        if stop.is_set():
            return
        try:
            client = WebexClient(settings, ServiceAccount(settings, MEET_SCOPE, organizer))
            pages = client.token_pages(f"{base}/conferenceRecords", {"filter": f'start_time>="{iso(start)}"',
                                                                    "pageSize": 100}, "conferenceRecords")
            for page in pages:
                for record in page.items:
                    if record.get("endTime") and isinstance(record.get("name"), str):
                        _save_conference(client, base, record, organizer, settings.account, page.fetched_at)
        except MeetqError as error:
            report.problem(f"Meet attendance of conferences organised by {organizer}: {error}")


def _save_conference(client, base: str, record: dict, organizer: str, account: str, fetched_at: str) -> None:
    space = record.get("space")
    spaces = [client.request("GET", f"{base}/{space}").json()] if isinstance(space, str) else []
    participants = [p for page in client.token_pages(f"{base}/{record['name']}/participants", {"pageSize": 250},
                                                     "participants") for p in page.items]
    sessions = {p["name"]: [s for page in client.token_pages(f"{base}/{p['name']}/participantSessions",
                                                             {"pageSize": 250}, "participantSessions")
                            for s in page.items]
                for p in participants if isinstance(p.get("name"), str)}
    rows = attendance_rows(record, spaces[0] if spaces else {}, participants, sessions, organizer, account, fetched_at)
    raw = json.dumps({"conferenceRecord": record, "space": spaces[0] if spaces else None,
                      "participants": participants, "participantSessions": sessions})
    with database.atomic():
        store.save_raw(Page(url=f"{base}/{record['name']}", status=200, body=raw, content_type="application/json",
                            tracking_id=None, fetched_at=fetched_at, items=[], next_url=None),
                       "meet_conference", record["name"], 0, account=account)
        store.save_attendance(rows)


def save_activities(page, settings) -> tuple[int, int]:
    """One page of activities: the raw page, the conferences and their endpoint sessions."""
    activities = [private_activity(a, settings.ip_addresses) for a in page.items if isinstance(a, dict)]
    body = json.dumps({**_document(page.body), "items": activities}) if page.items else page.body
    prepared = [p for p in (prepare_activity(a, page.fetched_at, settings.thresholds()) for a in activities) if p]
    with database.atomic():
        store.save_raw(replace(page, body=body), "meet_activities", account=settings.account)
        store.save_meet_conferences([{**meeting, "fetched_at": page.fetched_at} for meeting, _ in prepared],
                                    settings.account)
        written = [store.write_sessions(meeting["id"], [session], settings.account, MEET_PROVIDER)
                   for meeting, session in prepared]
    return sum(w[0] for w in written), len(prepared)


def private_activity(activity: dict, mode: str) -> dict:
    """The participant's external IP (a parameter and the actor's `ipAddress`) as the privacy
    setting says: full, masked or dropped, before anything is stored."""
    copy = dict(activity)
    if "ipAddress" in copy:
        copy["ipAddress"] = mask_ip(copy["ipAddress"], mode)
    events = []
    for event in copy.get("events") or []:
        if isinstance(event, dict) and isinstance(event.get("parameters"), list):
            event = {**event, "parameters": [
                {**p, "value": mask_ip(p.get("value"), mode)} if isinstance(p, dict) and p.get("name") == "ip_address"
                else p for p in event["parameters"]]}
        events.append(event)
    if "events" in copy:
        copy["events"] = events
    return copy


def _document(body: str) -> dict:
    try:
        document = json.loads(body)
    except ValueError:
        return {}
    return {k: v for k, v in document.items() if k != "items"} if isinstance(document, dict) else {}


