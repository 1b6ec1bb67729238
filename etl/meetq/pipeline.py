"""One collection cycle: tokens, then new meetings, then due qualities, then the run log.

Every page is stored in its own transaction together with the queue state it implies,
so a crash at any moment loses at most the page in flight, which is fetched again later.
A meeting's qualities call is recorded *before* it is made: after a crash the collector
still knows it called, and never calls the same meeting twice within the API's 5 minutes.
"""

from __future__ import annotations

import hashlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from . import google, logs, store
from .auth import credentials_for
from .client import Page, WebexClient
from .clock import iso, parse_iso, utcnow
from .errors import (MalformedResponse, MeetqError, NotFound, RateLimited, ReauthRequired, TransientError,
                     WebexError)
from .models import database
from .transform import private_body, private_item

log = logs.get_logger("meetq.pipeline")


@dataclass
class RunReport:
    run_id: int | None = None
    outcome: str = "ok"
    meetings_listed: int = 0
    meetings_new: int = 0
    quality_calls: int = 0
    quality_pages: int = 0
    sessions_written: int = 0
    samples_written: int = 0
    meetings_completed: int = 0
    meetings_expired: int = 0
    rate_limited: int = 0
    errors: int = 0
    messages: list[str] = field(default_factory=list)

    def problem(self, message: str) -> None:
        self.errors += 1
        self.messages.append(message)

    def merge(self, other: "RunReport") -> None:
        for name, value in other.counts().items():
            setattr(self, name, getattr(self, name) + value)
        self.messages += other.messages

    def counts(self) -> dict:
        return {k: v for k, v in asdict(self).items() if isinstance(v, int) and k != "run_id"}


class Stopped(Exception):
    """The daemon asked the cycle to stop between two transactions."""


def run_cycle(settings, credentials=None, *, trigger: str = "collect", stop: threading.Event | None = None,
              clock=utcnow, listing: bool = True) -> RunReport:
    """Run one cycle and record it in collector_runs. Never raises for API trouble: the
    outcome and the reason are in the report and the run log. `listing=False` only works the
    queue (a webhook made a meeting due)."""
    stop = stop or threading.Event()
    began, timer = clock(), time.monotonic()
    report = RunReport()
    with database.connection_context():
        with database.atomic():
            store.close_abandoned_runs(began)
            report.run_id = store.start_run(began, trigger, settings.account)
        try:
            credentials = credentials or credentials_for(settings)
            report.messages += credentials.ensure_fresh()
            _record_token_facts(credentials, settings.account, clock())
            client = WebexClient(settings, credentials,
                                 on_error=lambda page: _store_error_page(private_page(page, settings.ip_addresses),
                                                                         settings.account))
            PROVIDERS[settings.provider](client, settings, report, stop, clock, listing=listing)
            report.outcome = "partial" if report.errors else "ok"
        except Stopped:
            report.outcome = "interrupted"
            report.messages.append("stopped by signal between two transactions")
        except ReauthRequired as error:
            report.outcome = "reauth_required"
            report.problem(str(error))
            _record_token_facts(credentials, settings.account, clock())
        except (MeetqError, WebexError) as error:
            report.outcome = "error"
            report.problem(f"{type(error).__name__}: {error}")
        except Exception as error:  # a bug, or the machine (disk full): recorded, never silent
            report.outcome = "error"
            report.problem(f"unexpected {type(error).__name__}: {error}")
            log.exception("cycle_failed")
        finally:
            duration_ms = int((time.monotonic() - timer) * 1000)
            store.finish_run(report.run_id, finished_at=iso(clock()), outcome=report.outcome,
                             duration_ms=duration_ms, message=logs.redact_text("\n".join(report.messages)) or None,
                             **report.counts())
    level = log.info if report.outcome in ("ok", "interrupted") else log.error
    level("cycle_finished", run_id=report.run_id, outcome=report.outcome, duration_ms=duration_ms,
          **report.counts(), messages=report.messages or None)
    return report


def run_accounts(settings, *, trigger: str = "collect", stop: threading.Event | None = None,
                 clock=utcnow) -> dict[str, RunReport]:
    """One cycle for every account in turn. Each has its own tokens, watermark and queue, and
    one account's failure (a revoked token) is its own: the others still collect."""
    return {account.account: run_cycle(account, trigger=trigger, stop=stop, clock=clock)
            for account in settings.accounts() if not (stop and stop.is_set())}


def collect_webex(client: WebexClient, settings, report: RunReport, stop, clock, listing: bool = True) -> None:
    """Webex: list the meetings that ended since the watermark, then work the qualities queue
    within the API's per-meeting limit."""
    if listing:
        list_meetings(client, settings, report, stop, clock)
    fetch_due_qualities(client, settings, report, stop, clock)


# What a provider does in a cycle: list what is new since its watermark, fetch the details
# within its limits, and map them to the shared tables.
PROVIDERS = {"webex": collect_webex, "google": google.collect}


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


def list_meetings(client: WebexClient, settings, report: RunReport, stop, clock) -> None:
    account = settings.account
    windows = listing_windows(clock(), parse_iso(store.get_state("meetings.listed_until", account=account)), settings)
    while windows:
        start, end = windows.pop(0)
        try:
            for page in client.fetch_meetings(start, end):
                _check(stop)
                with database.atomic():
                    store.save_raw(page, "meetings", account=account)
                    new = store.save_meetings(page.items, clock(), account)
                report.meetings_listed += len(page.items)
                report.meetings_new += len(new)
        except NotFound as error:
            if error.status == 400 and end - start > timedelta(minutes=30):
                middle = start + (end - start) / 2   # the window may be too wide for the API: halve it
                windows[:0] = [(start, middle), (middle, end)]
                log.warning("meetings_window_halved", start=iso(start), end=iso(end), tracking_id=error.tracking_id)
                continue
            raise
        except (TransientError, RateLimited, MalformedResponse) as error:
            report.problem(f"listing meetings {iso(start)}..{iso(end)} failed, retried next cycle: {error}")
            return
        with database.atomic():
            store.set_state(clock(), account, **{"meetings.listed_until": iso(end)})


# -- qualities --------------------------------------------------------------------------------

def fetch_due_qualities(client: WebexClient, settings, report: RunReport, stop, clock) -> None:
    """Work the due meetings, nearest expiry first, `concurrency` meetings at a time: the drain is
    bound by waiting on Webex, and different meetings do not share a rate limit."""
    deadline = time.monotonic() + settings.cycle_budget
    attempted: set[str] = set()
    with ThreadPoolExecutor(settings.concurrency, thread_name_prefix="qualities") as pool:
        while True:
            # Again every round: in a long drain, the oldest meetings pass Webex's 7 days meanwhile.
            report.meetings_expired += store.expire_overdue(clock())
            due = [m for m in store.due_meetings(clock(), settings.quality_min_interval_seconds,
                                                   account=settings.account)
                   if m.id not in attempted]
            if not due:
                return
            attempted.update(m.id for m in due)
            futures = [pool.submit(_fetch_in_worker, client, settings, meeting, stop, clock, deadline)
                       for meeting in due]
            try:
                for future in futures:
                    report.merge(future.result())
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
            if time.monotonic() > deadline:
                log.info("cycle_budget_spent")
                return


def _fetch_in_worker(client, settings, meeting, stop, clock, deadline) -> "RunReport":
    """One meeting in a pool thread, with its own connection and its own counts."""
    report = RunReport()
    if time.monotonic() > deadline:
        return report
    _check(stop)
    with database.connection_context():
        fetch_meeting_quality(client, settings, meeting, report, stop, clock)
    return report


def fetch_meeting_quality(client: WebexClient, settings, meeting, report: RunReport, stop, clock) -> None:
    """Fetch every page still missing for one meeting, storing each as it arrives."""
    offset, next_url, previous_sha = meeting.quality_offset or 0, meeting.quality_next_url, None
    while True:
        now = clock()
        with database.atomic():
            store.update_meeting(meeting.id, quality_called_at=iso(now))
        report.quality_calls += 1
        try:
            page = client.fetch_quality_page(meeting.id, offset, next_url)
        except RateLimited as error:
            # Pages already stored stay stored; the next attempt resumes at this offset.
            report.rate_limited += 1
            with database.atomic():
                store.update_meeting(meeting.id, quality_due_at=iso(now + timedelta(seconds=error.retry_after)),
                                     quality_state="partial" if (offset or next_url) else meeting.quality_state,
                                     quality_error=f"rate limited at offset {offset}, retry after "
                                                   f"{error.retry_after:.0f} s")
            log.info("quality_deferred", meeting_id=meeting.id, offset=offset, retry_after=error.retry_after)
            return
        except NotFound as error:
            # 404, or 400 for an id the API will not serve: nothing to fetch. An empty result.
            _complete_pass(meeting, settings, report, now, note=str(error))
            return
        except (TransientError, MalformedResponse) as error:
            with database.atomic():
                if isinstance(error, MalformedResponse):
                    store.save_raw(private_page(_page_of_error(error, now), settings.ip_addresses), "qualities",
                                   meeting.id, offset, error=str(error), account=settings.account)
                store.update_meeting(meeting.id, quality_failures=meeting.quality_failures + 1,
                                     quality_error=str(error)[:500])
            report.problem(f"qualities of {meeting.id} at offset {offset}: {error}")
            return
        report.quality_pages += 1
        more = _has_more(page, settings, previous_sha)
        page = private_page(page, settings.ip_addresses)
        with database.atomic():
            store.save_raw(page, "qualities", meeting.id, offset, account=settings.account)
            sessions, samples = store.save_quality_items(meeting.id, page.items, page.fetched_at,
                                                         settings.thresholds(), settings.account)
            report.sessions_written += sessions
            report.samples_written += samples
            if more:
                offset, next_url = offset + len(page.items), page.next_url
                store.update_meeting(meeting.id, quality_state="partial", quality_offset=offset,
                                     quality_next_url=next_url, quality_error=None)
            else:
                _complete_pass(meeting, settings, report, now)
        if not more:
            return
        previous_sha = _sha(page)
        _check(stop)


def private_page(page: Page, mode: str) -> Page:
    """The page as meetq may keep it: participants' IP addresses full, masked or dropped."""
    return replace(page, body=private_body(page.body, mode), items=[private_item(i, mode) for i in page.items])


def _has_more(page: Page, settings, previous_sha: str | None) -> bool:
    """A next link means more. Without one, a full page may mean more (offset paging), unless
    the API ignored the offset and sent the same page again."""
    if page.next_url:
        return True
    return len(page.items) >= settings.quality_page_size and _sha(page) != previous_sha


def _complete_pass(meeting, settings, report: RunReport, now: datetime, note: str | None = None) -> None:
    """One full read of a meeting is stored. The first read of a recent meeting is followed by
    one more after `recheck_after_minutes`, to catch sessions reported late; then done."""
    passes = meeting.quality_passes + 1
    ended = parse_iso(meeting.end) or now
    recheck_at = ended + timedelta(minutes=settings.recheck_after_minutes)
    state = "recheck" if passes == 1 and now < recheck_at else "done"
    with database.atomic():
        store.update_meeting(meeting.id, quality_state=state, quality_passes=passes, quality_offset=0,
                             quality_next_url=None, quality_fetched_at=iso(now), quality_error=note,
                             quality_due_at=iso(recheck_at) if state == "recheck" else None)
    if state == "done":
        report.meetings_completed += 1


def _sha(page: Page) -> str:
    return hashlib.sha256(page.body.encode()).hexdigest()


def _page_of_error(error: WebexError, now: datetime) -> Page:
    return Page(url=error.url or "", status=error.status or 0, body=error.body or "", content_type="",
                tracking_id=error.tracking_id, fetched_at=iso(now), items=[], next_url=None)


def _store_error_page(page: Page, account: str) -> None:
    """Every refused request's body, and every unusable one, goes to raw_responses in its own
    small transaction."""
    parts = urlsplit(page.url)
    endpoint = parts.path.rstrip("/").rsplit("/", 1)[-1] or "unknown"
    meeting_id = parse_qs(parts.query).get("meetingId", [None])[0]
    offset = parse_qs(parts.query).get("offset", [None])[0]
    with database.atomic():
        store.save_raw(page, endpoint, meeting_id, int(offset) if offset and offset.isdigit() else None,
                       error=page.error, account=account)


def _record_token_facts(credentials, account: str, now: datetime) -> None:
    """Token expiry and identity for the health views. Never the tokens themselves."""
    tokens = getattr(credentials, "tokens", None)
    if tokens is None:
        return
    public = tokens.public_view()
    with database.atomic():
        store.set_state(now, account, **{
            "auth.identity": ", ".join(public["identity"].get("emails") or []) or None,
            "auth.access_expires_at": public["access_expires_at"],
            "auth.refresh_expires_at": public["refresh_expires_at"],
            "auth.reauth_required": (public["reauth_required"] or {}).get("since"),
        })


def _check(stop: threading.Event) -> None:
    if stop.is_set():
        raise Stopped()
