"""Google Meet's cycle: `call_ended` activities from the Admin SDK Reports API, and attendance
from the Meet REST API for the configured organisers.

Google reports calls hours late, so every cycle re-reads `reports_lookback_hours` behind the
last one; a re-read activity has the same session id and content, and writes nothing. The
watermark moves only after a complete read: a stop, or a failure, leaves it where it was.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import timedelta

from ... import shared_cause, store
from ...clock import iso, parse_iso
from ...cycle import Cycle
from ...errors import MeetqError
from ...models import database
from ...privacy import mask_addresses
from ...responses import RawRecord
from ...verdicts import with_defaults
from .auth import MEET_SCOPE, ServiceAccount
from .schema import ATTENDANCE_TABLE
from .transform import PROVIDER, attendance_rows, parameters, prepare_activity, private_activity

MAX_REPORTS_DAYS = 180  # the Reports API answers at most the last 180 days
WATERMARK = "google.reports_until"


def collect(cycle: Cycle) -> None:
    """Read the activities since the last cycle (less the lookback), then the attendance, and
    only then move the watermark. There is no queue: `cycle.listing` changes nothing here."""
    settings, now = cycle.settings, cycle.clock()
    until = parse_iso(cycle.state(WATERMARK))
    start = (
        until - timedelta(hours=settings.google.reports_lookback_hours)
        if until
        else now - timedelta(days=settings.backfill_days)
    )
    start = max(start, now - timedelta(days=MAX_REPORTS_DAYS))
    params = {
        "eventName": "call_ended",
        "startTime": iso(start),
        "endTime": iso(now),
        "maxResults": min(settings.google.reports_page_size, 1000),
    }
    url = f"{settings.google.reports_base.rstrip('/')}/activity/users/all/applications/meet"
    for page in cycle.client().token_pages(url, params):
        cycle.check_stop()
        sessions, activities = save_activities(page, cycle)
        cycle.report.meetings_listed += activities
        cycle.report.sessions_written += sessions
        cycle.report.quality_pages += 1
    if settings.google.organizers:
        collect_attendance(cycle, start)
    cycle.set_state(**{WATERMARK: iso(now)})


def collect_attendance(cycle: Cycle, start) -> None:
    """Meet REST API: the ended conferences each organiser organised since `start`, their
    participants and participant sessions. One organiser refused is reported (and its answer
    kept in raw_responses); the others go on."""
    base = cycle.settings.google.meet_base.rstrip("/")
    for organizer in [o.strip() for o in cycle.settings.google.organizers.split(",") if o.strip()]:
        cycle.check_stop()
        try:
            client = cycle.client(ServiceAccount(cycle.settings, MEET_SCOPE, organizer))
            pages = client.token_pages(
                f"{base}/conferenceRecords",
                {"filter": f'start_time>="{iso(start)}"', "pageSize": 100},
                "conferenceRecords",
            )
            for page in pages:
                for record in page.items:
                    cycle.check_stop()
                    if record.get("endTime") and resource_name(record.get("name")):
                        _save_conference(client, cycle, base, record, organizer, page.raw.fetched_at)
        except MeetqError as error:
            cycle.report.problem(f"Meet attendance of conferences organised by {organizer}: {error}")


# A Meet resource name (`conferenceRecords/abc`, `…/participants/xyz`, `spaces/def`) goes into a URL
# path as it is: only names of that shape, never `../` or a query.
_RESOURCE_NAME = re.compile(r"[a-zA-Z]+/[A-Za-z0-9_-][A-Za-z0-9._~-]*(?:/[a-zA-Z]+/[A-Za-z0-9_-][A-Za-z0-9._~-]*)*")


def resource_name(value) -> str | None:
    return value if isinstance(value, str) and _RESOURCE_NAME.fullmatch(value) else None


def _save_conference(client, cycle: Cycle, base: str, record: dict, organizer: str, fetched_at: str) -> None:
    space = client.get_json(f"{base}/{record['space']}") if resource_name(record.get("space")) else {}
    participants = _all(client, f"{base}/{record['name']}/participants", "participants")
    sessions = {
        p["name"]: _all(client, f"{base}/{p['name']}/participantSessions", "participantSessions")
        for p in participants
        if resource_name(p.get("name"))
    }
    rows = attendance_rows(record, space, participants, sessions, organizer, cycle.account, fetched_at)
    raw = json.dumps(
        {
            "conferenceRecord": record,
            "space": space or None,
            "participants": participants,
            "participantSessions": sessions,
        }
    )
    with database.atomic():
        store.save_raw(
            RawRecord(
                url=f"{base}/{record['name']}",
                body=private_body(raw, cycle.settings.ip_addresses),
                fetched_at=fetched_at,
            ),
            "meet_conference",
            record["name"],
            0,
            account=cycle.account,
        )
        store.upsert_rows(ATTENDANCE_TABLE, "id", rows)


def _all(client, url: str, key: str) -> list[dict]:
    return [item for page in client.token_pages(url, {"pageSize": 250}, key) for item in page.items]


def save_activities(page, cycle: Cycle) -> tuple[int, int]:
    """One page of activities: the raw page, the conferences and their endpoint sessions."""
    settings = cycle.settings
    full = [a for a in page.items if isinstance(a, dict)]
    activities = [private_activity(a, settings.ip_addresses) for a in full]
    body = private_body(page.raw.body, settings.ip_addresses)
    fetched_at = page.raw.fetched_at
    pairs = [
        (prepare_activity(a, fetched_at, settings.thresholds()), address_of(raw)) for a, raw in zip(activities, full)
    ]
    prepared = [p for p, _ in pairs if p]
    addresses = [(None, address) for p, address in pairs if p]
    with database.atomic():
        store.save_raw(replace(page.raw, body=body), "meet_activities", account=cycle.account)
        store.save_conferences(
            [{**meeting, "fetched_at": fetched_at} for meeting, _ in prepared], cycle.account, PROVIDER
        )
        written = [
            store.write_sessions(meeting["id"], [session], cycle.account, PROVIDER) for meeting, session in prepared
        ]
        cycle.save_places([session for _, session in prepared], addresses)
        for meeting_id in {meeting["id"] for meeting, _ in prepared}:
            shared_cause.analyse_meeting(meeting_id, with_defaults(settings.thresholds()))
    return sum(w[0] for w in written), len(prepared)


def address_of(activity: dict) -> str | None:
    """The endpoint's address as Google sent it (Meet reports one, seen from outside)."""
    value = parameters(activity).get("ip_address")
    return value if isinstance(value, str) else None


def private_body(body: str, mode: str) -> str:
    """A body as privacy allows it kept: an activities page's address fields as in the rows,
    then any other address in it (a refusal's text, a field meetq does not know)."""
    return mask_addresses(private_activities(body, mode), mode)


def private_activities(body: str, mode: str) -> str:
    """An activities page with each item's IP addresses dealt with; any other body as it came."""
    if mode == "full":
        return body
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return body
    if not isinstance(document, dict) or not isinstance(document.get("items"), list) or not document["items"]:
        return body
    return json.dumps(
        {**document, "items": [private_activity(a, mode) if isinstance(a, dict) else a for a in document["items"]]}
    )
