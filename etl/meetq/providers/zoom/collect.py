"""Zoom's cycle: list the past meetings since the watermark, then read every due meeting's
participants QoS, every page, once its minutes are all in.

Each page is stored in its own transaction with where the read resumes (its page token). Zoom's
page tokens die after 15 minutes: a read cut short longer ago, or one whose token Zoom refuses,
starts again at the first page (sessions are keyed on Zoom's ids, so nothing is stored twice).
QoS calls are paced across the queue's threads (`zoom.qos_calls_per_second`): Zoom's limits are
the customer's, shared with all their other apps. A 429 defers the meeting by its Retry-After.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta

from ... import logs, store
from ...clock import iso, parse_iso
from ...cycle import Cycle, complete_pass, drain_queue
from ...errors import BadRequest, MalformedResponse, NotFound, RateLimited, TransientError
from ...http import Pacer, record_of_error
from ...models import database
from . import client as zoom
from .schema import MEETING_TABLE, VENDOR
from .transform import addresses_of, meeting_row, prepare_page, private_body, private_participant, split_meeting_row

log = logs.get_logger("meetq.zoom")
LISTING_DAYS = 30  # the listing's from/to span at most a month
PAGE_TOKEN_SECONDS = 14 * 60  # Zoom's page tokens last 15 minutes: one older is not tried


def collect(cycle: Cycle) -> None:
    client = cycle.client(tracking_header=zoom.TRACKING_HEADER)
    if cycle.listing:
        list_meetings(client, cycle)
    pacer = Pacer(cycle.settings.zoom.qos_calls_per_second)
    # No per-meeting limit (Webex's five minutes): the pacer and a 429's Retry-After set the pace.
    drain_queue(cycle, lambda cycle, meeting: fetch_meeting_qos(client, cycle, meeting, pacer), min_interval=0)


# -- meetings ---------------------------------------------------------------------------------


def listing_windows(now: datetime, listed_until: datetime | None, settings) -> list[tuple[date, date]]:
    """[from, to] date ranges (both days included, at most LISTING_DAYS) from the watermark less
    the lookback, or the backfill horizon on a first run, to today."""
    horizon = now - timedelta(days=settings.backfill_days)
    start = horizon if listed_until is None else max(horizon, listed_until - timedelta(hours=settings.lookback_hours))
    first, today, windows = start.date(), now.date(), []
    while first <= today:
        last = min(first + timedelta(days=LISTING_DAYS - 1), today)
        windows.append((first, last))
        first = last + timedelta(days=1)
    return windows


def list_meetings(client, cycle: Cycle) -> None:
    settings, report = cycle.settings, cycle.report
    for start, end in listing_windows(cycle.clock(), parse_iso(cycle.state("meetings.listed_until")), settings):
        try:
            for page in zoom.fetch_past_meetings(client, settings, start, end):
                cycle.check_stop()
                with database.atomic():
                    store.save_raw(
                        replace(page.raw, body=private_body(page.raw.body, settings.ip_addresses)),
                        "meetings",
                        account=cycle.account,
                    )
                    new = save_listed_meetings(page.items, cycle.clock(), cycle.account, settings)
                report.meetings_listed += len(page.items)
                report.meetings_new += len(new)
        except (TransientError, RateLimited, MalformedResponse, BadRequest) as error:
            report.problem(f"listing Zoom meetings {start}..{end} failed, retried next cycle: {error}")
            return
    cycle.set_state(**{"meetings.listed_until": iso(cycle.clock())})


def save_listed_meetings(items: list[dict], now: datetime, account: str, settings) -> list[str]:
    """Past meetings into `meetings` and `zoom_meetings`; a new one is due once its minutes are in
    (`ready_after_minutes` after its end). Returns the ids that were new."""
    rows = [split_meeting_row(row) for row in map(meeting_row, items) if row]
    retention = timedelta(days=settings.zoom.retention_days)
    new = store.save_meetings([core for core, _ in rows], now, account, VENDOR, retention)
    store.upsert_rows(MEETING_TABLE, "meeting_id", [own for _, own in rows])
    ready = timedelta(minutes=settings.zoom.ready_after_minutes)
    for core, _ in rows:
        end = parse_iso(core["end"])
        if core["id"] in new and end and end + ready > now:
            store.update_meeting(core["id"], quality_due_at=iso(end + ready))
    return new


# -- QoS --------------------------------------------------------------------------------------


def fetch_meeting_qos(client, cycle: Cycle, meeting, pacer: Pacer) -> None:
    """Every page of one meeting's participants still missing, each stored as it arrives."""
    settings, report = cycle.settings, cycle.report
    page_token, page_number, seen = resume_at(meeting.quality_cursor, cycle.clock())
    restarted = False
    while True:
        now = cycle.calling(meeting.id)
        try:
            page, following = zoom.fetch_qos_page(client, settings, meeting.id, page_token, pacer)
        except RateLimited as error:
            cycle.defer(meeting.id, now, error, f"page {page_number}")
            return
        except (NotFound, BadRequest) as error:
            if page_token and not restarted:
                # Zoom refused the page token (it lasts 15 minutes): the whole meeting again.
                log.info("qos_page_token_refused", meeting_id=meeting.id, page=page_number, error=str(error))
                page_token, page_number, seen, restarted = None, 0, {}, True
                continue
            if page_token:  # refused again, at once: a later cycle reads the meeting from its start
                _failed(meeting, cycle, error, page_number, now)
                return
            complete_pass(meeting, settings, report, now, note=str(error), recheck=False)
            return
        except (TransientError, MalformedResponse) as error:
            _failed(meeting, cycle, error, page_number, now)
            return
        report.quality_pages += 1
        _store_page(cycle, meeting.id, page, page_number, seen)
        if not following:
            complete_pass(meeting, settings, report, now, recheck=False)
            return
        page_token, page_number = following, page_number + 1
        with database.atomic():
            store.update_meeting(
                meeting.id,
                quality_state="partial",
                quality_error=None,
                quality_cursor=cursor_of(page_token, page_number, seen, now),
            )
        cycle.check_stop()


def _store_page(cycle: Cycle, meeting_id: str, page, page_number: int, seen: dict) -> None:
    settings, report = cycle.settings, cycle.report
    mode = settings.ip_addresses
    kept = [private_participant(p, mode) for p in page.items]
    with database.atomic():
        store.save_raw(
            replace(page.raw, body=private_body(page.raw.body, mode)),
            "participants_qos",
            meeting_id,
            page_number,
            account=cycle.account,
        )
        prepared = prepare_page(kept, meeting_id, page.raw.fetched_at, settings.thresholds(), seen)
        sessions, samples = store.write_sessions(meeting_id, prepared, cycle.account, VENDOR)
        cycle.save_places(prepared, [addresses_of(p) for p in page.items])
    report.sessions_written += sessions
    report.samples_written += samples


def _failed(meeting, cycle: Cycle, error, page_number: int, now: datetime) -> None:
    with database.atomic():
        if isinstance(error, MalformedResponse):
            record = record_of_error(error, iso(now))
            body = private_body(record.body, cycle.settings.ip_addresses)
            store.save_raw(
                replace(record, body=body), "participants_qos", meeting.id, page_number, account=cycle.account
            )
        store.update_meeting(meeting.id, quality_failures=meeting.quality_failures + 1, quality_error=str(error)[:500])
    cycle.report.problem(f"Zoom QoS of {meeting.id} at page {page_number}: {error}")


def resume_at(cursor: str | None, now: datetime) -> tuple[str | None, int, dict]:
    """(page token, page number, guests counted) a read resumes at: the first page unless a read
    was cut short less than PAGE_TOKEN_SECONDS ago."""
    found = json.loads(cursor) if cursor else {}
    saved = parse_iso(found.get("saved_at"))
    if not found.get("page_token") or not saved or (now - saved).total_seconds() > PAGE_TOKEN_SECONDS:
        return None, 0, {}
    seen = {tuple(key): count for key, count in found.get("seen") or []}
    return found["page_token"], found.get("page") or 0, seen


def cursor_of(page_token: str, page_number: int, seen: dict, now: datetime) -> str:
    return json.dumps(
        {
            "page_token": page_token,
            "page": page_number,
            "seen": [[list(k), v] for k, v in seen.items()],
            "saved_at": iso(now),
        }
    )
