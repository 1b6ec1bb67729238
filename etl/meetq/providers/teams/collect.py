"""Teams' cycle: list the call records that started since the watermark (less the lookback), then
read every due record with its sessions and segments, page by page, and store it whole.

Graph publishes a record 15 to 60 minutes after the call and revises it later (`version` goes up,
figures fill in). A record is read as soon as it is listed, again every `teams.reread_minutes`
for `teams.revision_hours` after the call, and at once whenever a listing or a change
notification shows a version newer than the one read. Sessions are keyed on Graph's ids, so a
revision replaces a session's rows (and its verdict) and never adds a second one. Records older
than `teams.retention_days` (Graph's 30) are gone: not read by then, they are expired.

Calls are paced under Graph's limits: `teams.requests_per_second` over the tenant and
`teams.record_requests_per_second` about one record; a 429 defers the record by its Retry-After.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from ... import logs, store
from ...clock import iso, parse_iso
from ...cycle import Cycle, complete_pass, drain_queue
from ...errors import BadRequest, MalformedResponse, NotFound, RateLimited, TransientError
from ...http import Pacer, record_of_error
from ...models import database
from . import client as graph
from .schema import RECORD_TABLE, VENDOR
from .transform import addresses_of_record, prepare_record, private_body, private_session, record_row, split_record_row

log = logs.get_logger("meetq.teams")
WATERMARK = "records.listed_until"


def collect(cycle: Cycle) -> None:
    client = cycle.client(tracking_header=graph.TRACKING_HEADER)
    tenant = Pacer(cycle.settings.teams.requests_per_second)  # shared by the queue's threads
    if cycle.listing:
        list_records(client, cycle, tenant)
    drain_queue(cycle, lambda cycle, meeting: fetch_record(client, cycle, meeting, tenant), min_interval=0)


# -- the listing ------------------------------------------------------------------------------


def listing_start(now: datetime, listed_until: datetime | None, settings) -> datetime:
    """Where a listing starts: the watermark less the lookback (at least the revision window, so
    that a listing shows every revision), or the backfill horizon on a first run, never before
    what Graph still keeps."""
    kept = now - timedelta(days=settings.teams.retention_days)
    if listed_until is None:
        return max(kept, now - timedelta(days=settings.backfill_days))
    behind = max(settings.lookback_hours, settings.teams.revision_hours)
    return max(kept, listed_until - timedelta(hours=behind))


def list_records(client, cycle: Cycle, tenant: Pacer) -> None:
    settings, report, now = cycle.settings, cycle.report, cycle.clock()
    since = listing_start(now, parse_iso(cycle.state(WATERMARK)), settings)
    try:
        for page in graph.fetch_call_records(client, settings, since, tenant):
            cycle.check_stop()
            with database.atomic():
                store.save_raw(
                    replace(page.raw, body=private_body(page.raw.body, settings.ip_addresses)),
                    "callRecords",
                    account=cycle.account,
                )
                new, revised = save_listed_records(page.items, cycle.clock(), cycle.account, settings)
            report.meetings_listed += len(page.items)
            report.meetings_new += len(new)
            if revised:
                log.info("records_revised", records=len(revised))
    except (TransientError, RateLimited, MalformedResponse, BadRequest) as error:
        report.problem(f"listing Teams call records since {iso(since)} failed, retried next cycle: {error}")
        return
    cycle.set_state(**{WATERMARK: iso(now)})


def save_listed_records(items: list, now: datetime, account: str, settings) -> tuple[list[str], list[str]]:
    """Listed records into `meetings` and `teams_records`: a new one is due at once; one read
    before whose listed version is newer than the version read is due again at once. Returns
    (new ids, revised ids)."""
    rows = [split_record_row(row) for row in map(record_row, items) if row]
    if not rows:
        return [], []
    retention = timedelta(days=settings.teams.retention_days)
    new = store.save_meetings([core for core, _ in rows], now, account, VENDOR, retention)
    store.upsert_rows(RECORD_TABLE, "meeting_id", [own for _, own in rows])
    revised = newer_than_read([own["meeting_id"] for _, own in rows if own["meeting_id"] not in new])
    for record_id in revised:
        store.update_meeting(record_id, quality_state="recheck", quality_due_at=iso(now))
    return new, revised


def newer_than_read(record_ids: list[str]) -> list[str]:
    """The records among these whose version (as last listed or announced) is past the one read."""
    if not record_ids:
        return []
    marks = ",".join("?" * len(record_ids))
    cursor = database.execute_sql(
        f"SELECT meeting_id FROM {RECORD_TABLE} WHERE meeting_id IN ({marks}) "
        "AND read_version IS NOT NULL AND version > read_version",
        record_ids,
    )
    return [row[0] for row in cursor.fetchall()]


# -- one record -------------------------------------------------------------------------------


def fetch_record(client, cycle: Cycle, meeting, tenant: Pacer) -> None:
    """A record and every page of its sessions, stored in one transaction."""
    settings = cycle.settings
    now = cycle.calling(meeting.id)
    pacers = (tenant, Pacer(settings.teams.record_requests_per_second))
    try:
        record, pages = graph.fetch_record(client, settings, meeting.id, pacers)
    except RateLimited as error:
        cycle.defer(meeting.id, now, error, "the record")
        return
    except NotFound as error:
        _not_found(meeting, cycle, error, now)
        return
    except (TransientError, MalformedResponse, BadRequest) as error:
        _failed(meeting, cycle, error, now)
        return
    cycle.report.quality_pages += len(pages)
    sessions = [s for page in pages for s in page.items if isinstance(s, dict)]
    _store_record(cycle, meeting.id, record, pages, sessions)
    ended = parse_iso(meeting.end) or now
    revising = now < ended + timedelta(hours=settings.teams.revision_hours)
    again = now + timedelta(minutes=settings.teams.reread_minutes) if revising else None
    complete_pass(meeting, settings, cycle.report, now, recheck=False, again_at=again)


def _store_record(cycle: Cycle, record_id: str, record: dict, pages: list, sessions: list[dict]) -> None:
    settings, report = cycle.settings, cycle.report
    mode = settings.ip_addresses
    kept = [private_session(s, mode) for s in sessions]
    row = record_row({**record, "id": record_id})
    prepared = prepare_record(
        {"id": record_id}, kept, pages[0].raw.fetched_at, settings.thresholds(), settings.teams.min_audio_packets
    )
    with database.atomic():
        for number, page in enumerate(pages):
            store.save_raw(
                replace(page.raw, body=private_body(page.raw.body, mode)),
                "callRecord",
                record_id,
                number,
                account=cycle.account,
            )
        core, own = split_record_row(row)
        facts = ("title", "meeting_type", "start", "end", "host_user_id", "host_display_name", "host_email")
        store.update_meeting(record_id, **{k: core[k] for k in facts if core[k] is not None})
        store.upsert_rows(
            RECORD_TABLE, "meeting_id", [{**own, "read_version": own["version"], "read_modified": own["last_modified"]}]
        )
        written, _ = store.write_sessions(record_id, prepared, cycle.account, VENDOR)
        cycle.save_places(prepared, addresses_of_record(sessions))
    report.sessions_written += written


def _not_found(meeting, cycle: Cycle, error, now: datetime) -> None:
    """Graph answers 404 for a record past its 30 days, and (briefly) for one a notification
    announced before it is served: the first is expired, the second tried again."""
    started = parse_iso(meeting.start)
    if started and now - started > timedelta(days=cycle.settings.teams.retention_days):
        with database.atomic():
            store.update_meeting(meeting.id, quality_state="expired", quality_error="Graph no longer keeps it")
        cycle.report.meetings_expired += 1
        return
    _failed(meeting, cycle, error, now)


def _failed(meeting, cycle: Cycle, error, now: datetime) -> None:
    with database.atomic():
        if isinstance(error, MalformedResponse):
            record = record_of_error(error, iso(now))
            body = private_body(record.body, cycle.settings.ip_addresses)
            store.save_raw(replace(record, body=body), "callRecord", meeting.id, 0, account=cycle.account)
        store.update_meeting(meeting.id, quality_failures=meeting.quality_failures + 1, quality_error=str(error)[:500])
    cycle.report.problem(f"Teams call record {meeting.id}: {error}")
