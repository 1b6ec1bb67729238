"""Webex's cycle: list the meetings that ended since the watermark, then work the qualities queue.

Every page is stored in its own transaction together with the queue state it implies, so a
crash at any moment loses at most the page in flight, which is fetched again later. A meeting's
qualities call is recorded *before* it is made: after a crash the collector still knows it
called, and never calls the same meeting twice within the API's 5 minutes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import datetime, timedelta

from ... import logs, store
from ...clock import iso, parse_iso
from ...cycle import Cycle, complete_pass, drain_queue
from ...errors import BadRequest, MalformedResponse, NotFound, RateLimited, TransientError
from ...http import Page, record_of_error
from ...models import DEFAULT_ACCOUNT, database
from . import client as webex
from .schema import MEETING_TABLE, VENDOR
from .transform import (
    meeting_row,
    meetings_body_without_secrets,
    prepare_session,
    private_body,
    private_item,
    split_meeting_row,
)

log = logs.get_logger("meetq.webex")

RETENTION = timedelta(days=7)  # Webex keeps meeting quality 7 days after the start


def collect(cycle: Cycle) -> None:
    """List what ended since the watermark (unless a webhook only made the queue due), then
    fetch the due qualities within the API's per-meeting limit."""
    client = cycle.client(tracking_header=webex.TRACKING_HEADER, meeting_param="meetingId")
    if cycle.listing:
        list_meetings(client, cycle)
    drain_queue(cycle, lambda cycle, meeting: fetch_meeting_quality(client, cycle, meeting))


# -- meetings ---------------------------------------------------------------------------------


def listing_windows(now: datetime, listed_until: datetime | None, settings) -> list[tuple[datetime, datetime]]:
    """The [from, to) windows to list this cycle: from the watermark less the lookback (or the
    backfill horizon on a first run) up to now, in slices of at most `window_hours`."""
    horizon = now - timedelta(days=settings.backfill_days)
    start = horizon if listed_until is None else max(horizon, listed_until - timedelta(hours=settings.lookback_hours))
    step = timedelta(hours=settings.window_hours)
    windows = []
    while start < now:
        windows.append((start, min(start + step, now)))
        start += step
    return windows


def list_meetings(client, cycle: Cycle) -> None:
    settings, report = cycle.settings, cycle.report
    windows = listing_windows(cycle.clock(), parse_iso(cycle.state("meetings.listed_until")), settings)
    while windows:
        start, end = windows.pop(0)
        try:
            for page in webex.fetch_meetings(client, settings, start, end):
                cycle.check_stop()
                with database.atomic():
                    listing = private_body(meetings_body_without_secrets(page.raw.body), settings.ip_addresses)
                    store.save_raw(replace(page.raw, body=listing), "meetings", account=cycle.account)
                    new = save_listed_meetings(page.items, cycle.clock(), cycle.account)
                report.meetings_listed += len(page.items)
                report.meetings_new += len(new)
        except BadRequest as error:
            if end - start > timedelta(minutes=30):
                middle = start + (end - start) / 2  # the window may be too wide for the API: halve it
                windows[:0] = [(start, middle), (middle, end)]
                log.warning("meetings_window_halved", start=iso(start), end=iso(end), tracking_id=error.tracking_id)
                continue
            raise
        except (TransientError, RateLimited, MalformedResponse) as error:
            report.problem(f"listing meetings {iso(start)}..{iso(end)} failed, retried next cycle: {error}")
            return
        cycle.set_state(**{"meetings.listed_until": iso(end)})


def save_listed_meetings(items: list[dict], now, account: str = DEFAULT_ACCOUNT) -> list[str]:
    """List Meetings items into `meetings` and `webex_meetings`; returns the ids that were new."""
    rows = [split_meeting_row(row) for row in map(meeting_row, items) if row]
    new = store.save_meetings([core for core, _ in rows], now, account, VENDOR, RETENTION)
    store.upsert_rows(MEETING_TABLE, "meeting_id", [own for _, own in rows])
    return new


# -- qualities --------------------------------------------------------------------------------


def save_quality_items(
    meeting_id: str,
    items: list[dict],
    fetched_at: str,
    thresholds: dict | None = None,
    account: str = DEFAULT_ACCOUNT,
    cycle: Cycle | None = None,
    full_items: list[dict] | None = None,
) -> tuple[int, int]:
    """One page of Meeting Qualities items with their summaries and verdicts, and (with a cycle)
    where each session was, placed by the addresses of `full_items` (the page before masking).
    Returns (sessions written, samples written)."""
    prepared = [prepare_session(item, meeting_id, fetched_at, thresholds) for item in items]
    written = store.write_sessions(meeting_id, prepared, account, VENDOR)
    if cycle:
        cycle.save_places(prepared, [addresses_of(item) for item in full_items or items])
    return written


def addresses_of(item: dict) -> tuple[str | None, str | None]:
    """(local, public) address of a Meeting Qualities item as Webex sent it."""
    return item.get("localIP"), item.get("publicIP")


def fetch_meeting_quality(client, cycle: Cycle, meeting) -> None:
    """Fetch every page still missing for one meeting, storing each as it arrives."""
    settings, report = cycle.settings, cycle.report
    offset, next_url = resume_at(meeting.quality_cursor)
    previous_sha = None
    while True:
        now = cycle.calling(meeting.id)
        try:
            page = webex.fetch_quality_page(client, settings, meeting.id, offset, next_url)
        except RateLimited as error:
            state = "partial" if (offset or next_url) else meeting.quality_state
            cycle.defer(meeting.id, now, error, f"offset {offset}", quality_state=state)
            return
        except (NotFound, BadRequest) as error:
            # 404, or 400 for an id the API will not serve: nothing to fetch. An empty result.
            complete_pass(meeting, settings, report, now, note=str(error))
            return
        except (TransientError, MalformedResponse) as error:
            with database.atomic():
                if isinstance(error, MalformedResponse):
                    record = record_of_error(error, iso(now))
                    store.save_raw(
                        replace(record, body=private_body(record.body, settings.ip_addresses)),
                        "qualities",
                        meeting.id,
                        offset,
                        account=cycle.account,
                    )
                store.update_meeting(
                    meeting.id, quality_failures=meeting.quality_failures + 1, quality_error=str(error)[:500]
                )
            report.problem(f"qualities of {meeting.id} at offset {offset}: {error}")
            return
        report.quality_pages += 1
        more = _has_more(page, settings, previous_sha)
        full_items, page = page.items, private_page(page, settings.ip_addresses)
        with database.atomic():
            store.save_raw(page.raw, "qualities", meeting.id, offset, account=cycle.account)
            sessions, samples = save_quality_items(
                meeting.id, page.items, page.raw.fetched_at, settings.thresholds(), cycle.account, cycle, full_items
            )
            report.sessions_written += sessions
            report.samples_written += samples
            if more:
                offset, next_url = offset + len(page.items), page.next_url
                store.update_meeting(
                    meeting.id, quality_state="partial", quality_cursor=cursor_of(offset, next_url), quality_error=None
                )
            else:
                complete_pass(meeting, settings, report, now)
        if not more:
            return
        previous_sha = _sha(page)
        cycle.check_stop()


def resume_at(cursor: str | None) -> tuple[int, str | None]:
    """(offset, next link) a meeting's next read starts at: 0 and none unless a read was cut short."""
    found = json.loads(cursor) if cursor else {}
    return found.get("offset") or 0, found.get("next_url")


def cursor_of(offset: int, next_url: str | None) -> str:
    return json.dumps({"offset": offset, "next_url": next_url})


def private_page(page: Page, mode: str) -> Page:
    """The page as meetq may keep it: participants' IP addresses full, masked or dropped."""
    return replace(
        page,
        raw=replace(page.raw, body=private_body(page.raw.body, mode)),
        items=[private_item(i, mode) for i in page.items],
    )


def _has_more(page: Page, settings, previous_sha: str | None) -> bool:
    """A next link means more. Without one, a full page may mean more (offset paging), unless
    the API ignored the offset and sent the same page again."""
    if page.next_url:
        return True
    return len(page.items) >= settings.quality_page_size and _sha(page) != previous_sha


def _sha(page: Page) -> str:
    return hashlib.sha256(page.raw.body.encode()).hexdigest()
