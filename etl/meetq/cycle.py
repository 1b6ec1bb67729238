"""What a provider's `collect` receives: one cycle's settings, counts, stop flag and clock, and
the helpers every provider needs (an HTTP client whose refused answers are kept, state, stopping).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Callable
from urllib.parse import parse_qs, urlsplit

from . import logs, shared_cause, store
from .clock import iso, parse_iso
from .http import ApiClient
from .models import Meeting, database
from .responses import RawRecord
from .verdicts import with_defaults

log = logs.get_logger("meetq.cycle")


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


@dataclass
class Cycle:
    settings: object  # one account's settings
    credentials: object
    report: RunReport
    stop: threading.Event
    clock: Callable[[], datetime]
    listing: bool = True  # False: only work the queue (a webhook made a meeting due)
    private_body: Callable[[str], str] = str  # a body as the privacy setting allows it kept
    _locator: object = None

    def locator(self):
        """The active building file's ranges, read once a cycle (locations.Locator)."""
        if self._locator is None:
            from .locations import active_locator

            self._locator = active_locator()
        return self._locator

    def save_places(self, sessions: list, addresses: list | None = None) -> None:
        """Where these just-written sessions were, from the full addresses when given."""
        from .locations import places_of

        locator = self.locator()
        store.save_places(places_of(locator, sessions, addresses, self.settings.ip_addresses), locator.file_id)

    @property
    def account(self) -> str:
        return self.settings.account

    def client(
        self, credentials=None, tracking_header: str | None = None, meeting_param: str | None = None
    ) -> ApiClient:
        """An HTTP client whose refused and unusable answers go to raw_responses. The vendor names
        the header its answers carry a tracking id in, and the query parameter that names the
        meeting a request is about (its refusal is filed under that meeting)."""
        return ApiClient(
            self.settings,
            credentials or self.credentials,
            on_error=lambda record: self.keep_refused(record, meeting_param),
            tracking_header=tracking_header,
        )

    def keep_refused(self, record: RawRecord, meeting_param: str | None = None) -> None:
        """Every refused request's body, and every unusable one, in its own small transaction."""
        keep_refused(replace(record, body=self.private_body(record.body)), self.account, meeting_param)

    def calling(self, meeting_id: str) -> datetime:
        """A quality call about to be made, recorded first (after a crash meetq still knows it
        called) and counted; returns when."""
        now = self.clock()
        with database.atomic():
            store.update_meeting(meeting_id, quality_called_at=iso(now))
        self.report.quality_calls += 1
        return now

    def defer(self, meeting_id: str, now: datetime, error, where: str, **changes) -> None:
        """A meeting the vendor rate-limited: due again after its Retry-After (what is stored stays
        stored; the next read resumes `where` it stopped)."""
        self.report.rate_limited += 1
        with database.atomic():
            store.update_meeting(
                meeting_id,
                quality_due_at=iso(now + timedelta(seconds=error.retry_after)),
                quality_error=f"rate limited at {where}, retry after {error.retry_after:.0f} s",
                **changes,
            )
        log.info("quality_deferred", meeting_id=meeting_id, at=where, retry_after=error.retry_after)

    def check_stop(self) -> None:
        if self.stop.is_set():
            raise Stopped()

    def state(self, key: str) -> str | None:
        return store.get_state(key, account=self.account)

    def set_state(self, **values) -> None:
        with database.atomic():
            store.set_state(self.clock(), self.account, **values)


def keep_refused(record: RawRecord, account: str, meeting_param: str | None = None) -> None:
    """Filed under the URL's last path segment, with the meeting (its query's `meeting_param`) and
    the offset its query names."""
    parts = urlsplit(record.url)
    query = parse_qs(parts.query)
    endpoint = parts.path.rstrip("/").rsplit("/", 1)[-1] or "unknown"
    offset = query.get("offset", [None])[0]
    with database.atomic():
        store.save_raw(
            record,
            endpoint,
            query.get(meeting_param, [None])[0] if meeting_param else None,
            int(offset) if offset and offset.isdigit() else None,
            account=account,
        )


# -- the quality queue, as every vendor that fetches per meeting works it ------------------------


def drain_queue(
    cycle: Cycle, fetch_meeting: Callable[[Cycle, Meeting], None], min_interval: float | None = None
) -> None:
    """Work the account's due meetings, nearest expiry first, `concurrency` meetings at a time
    (the drain is bound by waiting on the vendor), each through `fetch_meeting(cycle, meeting)`
    in a pool thread with its own connection and counts, until none is due or the cycle's budget
    is spent. `min_interval`: the vendor's least time between two reads of one meeting
    (`quality_min_interval_seconds` unless it says otherwise)."""
    settings, report = cycle.settings, cycle.report
    min_interval = settings.quality_min_interval_seconds if min_interval is None else min_interval
    deadline = time.monotonic() + settings.cycle_budget
    attempted: set[str] = set()
    with ThreadPoolExecutor(settings.concurrency, thread_name_prefix="quality") as pool:
        while True:
            # Again every round: in a long drain, the oldest meetings pass the vendor's retention meanwhile.
            report.meetings_expired += store.expire_overdue(cycle.clock())
            due = [
                m
                for m in store.due_meetings(cycle.clock(), min_interval, account=cycle.account)
                if m.id not in attempted
            ]
            if not due:
                return
            attempted.update(m.id for m in due)
            futures = [pool.submit(_fetch_in_worker, fetch_meeting, cycle, meeting, deadline) for meeting in due]
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


def _fetch_in_worker(fetch_meeting, cycle: Cycle, meeting, deadline) -> RunReport:
    """One meeting in a pool thread, with its own connection and its own counts."""
    report = RunReport()
    if time.monotonic() > deadline:
        return report
    cycle.check_stop()
    with database.connection_context():
        fetch_meeting(replace(cycle, report=report), meeting)
    return report


def complete_pass(
    meeting,
    settings,
    report: RunReport,
    now: datetime,
    note: str | None = None,
    recheck: bool = True,
    again_at: datetime | None = None,
) -> None:
    """One full read of a meeting is stored. The first read of a recent meeting is followed by
    one more after `recheck_after_minutes`, to catch sessions reported late (unless the vendor
    is read only once its data is whole: `recheck=False`); then done. A vendor that revises what
    it served says itself when to read again (`again_at`)."""
    passes = meeting.quality_passes + 1
    ended = parse_iso(meeting.end) or now
    recheck_at = ended + timedelta(minutes=settings.recheck_after_minutes)
    if again_at is None and recheck and passes == 1 and now < recheck_at:
        again_at = recheck_at
    state = "recheck" if again_at else "done"
    with database.atomic():
        store.update_meeting(
            meeting.id,
            quality_state=state,
            quality_passes=passes,
            quality_cursor=None,
            quality_fetched_at=iso(now),
            quality_error=note,
            quality_due_at=iso(again_at) if again_at else None,
        )
        shared_cause.analyse_meeting(meeting.id, with_defaults(settings.thresholds()))
    if state == "done":
        report.meetings_completed += 1
