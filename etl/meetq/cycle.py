"""What a provider's `collect` receives: one cycle's settings, counts, stop flag and clock, and
the helpers every provider needs (an HTTP client whose refused answers are kept, state, stopping).
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Callable
from urllib.parse import parse_qs, urlsplit

from . import store
from .http import ApiClient
from .models import database
from .responses import RawRecord


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
