"""The one HTTP client every provider talks through.

One requests.Session, a timeout on every call, retries with capped exponential backoff and
jitter for 5xx/timeouts/resets, Retry-After honoured on 429, a refresh-and-retry-once on 401,
and one page-following loop for both paging styles vendors use (a `Link: rel="next"` header, a
page token in the body). Failures raise the named exceptions of `errors`, each carrying the
tracking id vendor support asks for. Nothing here knows a vendor.
"""

from __future__ import annotations

import email.utils
import json
import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterator, Protocol
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import requests

from . import logs
from .clock import iso, parse_iso, utcnow
from .errors import (
    AccessDenied,
    ApiError,
    BadRequest,
    MalformedResponse,
    NotFound,
    RateLimited,
    TransientError,
    Unauthorised,
)
from .responses import RawRecord

log = logs.get_logger("meetq.client")
USER_AGENT = "meetq/0.1 (+https://github.com/meetq)"
MAX_PAGES = 10_000  # a loop guard: no listing meetq reads has more pages


class Credentials(Protocol):
    def access_token(self) -> str: ...
    def refresh_after_unauthorised(self) -> bool: ...


@dataclass
class Page:
    """One answered listing request: the raw record to keep, its items and where the next page is."""

    raw: RawRecord
    items: list
    next_url: str | None = None


def tracking_id_of(response: requests.Response, header: str | None = None) -> str | None:
    """The id a vendor's support asks for: the vendor's own header (the provider names it), else
    a JSON body's `trackingId`."""
    tracking = response.headers.get(header) if header else None
    if tracking:
        return tracking
    try:
        return response.json().get("trackingId")
    except (ValueError, AttributeError):
        return None


def error_message_of(response: requests.Response) -> str:
    """The API's own words, from the common error shapes (`message`, RFC 6749 `error`, the
    JSON API style's `error.message`)."""
    try:
        body = response.json()
    except ValueError:
        return (response.text or "").strip()[:200] or response.reason or "no body"
    if not isinstance(body, dict):
        return str(body)[:200]
    if isinstance(body.get("error"), dict):
        body = body["error"]
    return str(body.get("message") or body.get("error_description") or body.get("error") or body)[:200]


def retry_after_seconds(response: requests.Response, default: float, now: Callable[[], datetime] = utcnow) -> float:
    """Retry-After as seconds: integer seconds, an HTTP date, or an ISO-8601 date-time (some
    vendors' daily limits answer with one); `default` when absent or junk."""
    value = (response.headers.get("Retry-After") or "").strip()
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        when = parse_iso(value)
    if when is None:
        return default
    return max(0.0, (when - now()).total_seconds())


def with_params(url: str, params: dict) -> str:
    """Add each of `params` the URL lacks (next links have been known to drop filters)."""
    parts = urlsplit(url)
    query = parse_qs(parts.query, keep_blank_values=True)
    for key, value in params.items():
        if key not in query or query[key] in ([""], ["null"]):
            query[key] = [str(value)]
    return urlunsplit(parts._replace(query=urlencode(query, doseq=True)))


def parse_items(response: requests.Response, key: str = "items", tracking_header: str | None = None) -> list:
    """The `items` list (or another `key`'s) of a 2xx answer. An empty body (e.g. 204) is an
    empty result."""
    if response.status_code == 204 or not response.content:
        return []
    try:
        body = response.json()
    except ValueError as error:
        raise MalformedResponse(
            f"response is not JSON ({error})",
            status=response.status_code,
            tracking_id=tracking_id_of(response, tracking_header),
            url=response.url,
        ) from None
    if not isinstance(body, dict) or not isinstance(body.get(key, []), list):
        raise MalformedResponse(
            f"response JSON has no `{key}` list",
            status=response.status_code,
            tracking_id=tracking_id_of(response, tracking_header),
            url=response.url,
        )
    return [item for item in body.get(key, []) if isinstance(item, dict)]


class Pacer:
    """At most `per_second` calls a second, across threads: each caller waits for its turn. For a
    vendor whose limit is shared with every other app of the customer, meetq stays well under it."""

    def __init__(self, per_second: float, clock: Callable[[], float] = time.monotonic, sleep=time.sleep):
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.clock, self.sleep = clock, sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self.clock()
            turn = max(now, self._next)
            self._next = turn + self.interval
        if turn > now:
            self.sleep(turn - now)


class ApiClient:
    """`settings` gives the timeouts and retry policy (the [collector] section); `on_error` receives
    the raw record of every refused or unusable answer, for `raw_responses`."""

    def __init__(
        self,
        settings,
        credentials: Credentials | None,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        on_error: Callable[[RawRecord], None] | None = None,
        tracking_header: str | None = None,
    ):
        self.settings = settings
        self.credentials = credentials
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.sleep = sleep
        self.on_error = on_error
        self.tracking_header = tracking_header  # the vendor's header for the id its support asks for

    # -- the one request loop --------------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        *,
        params: dict | None = None,
        data: dict | None = None,
        json_body: dict | None = None,
        authenticated: bool = True,
        basic_auth: tuple[str, str] | None = None,
        max_retry_after: float | None = None,
        report: bool = True,
    ) -> requests.Response:
        """One logical request. `report=False` keeps the answer out of the raw-response log
        (the token endpoint's); `basic_auth` (id, secret) signs a request that is not
        `authenticated` by a bearer token (a client-credentials grant). Raises the named errors
        of `errors`."""
        settings = self.settings
        max_wait = settings.max_retry_after_seconds if max_retry_after is None else max_retry_after
        refreshed = False
        attempt = 0
        while True:
            headers = {"Accept": "application/json"}
            if authenticated:
                headers["Authorization"] = f"Bearer {self.credentials.access_token()}"
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    data=data,
                    json=json_body,
                    headers=headers,
                    auth=basic_auth,
                    timeout=settings.request_timeout_seconds,
                )
            except (requests.Timeout, requests.ConnectionError) as error:
                kind = "timeout" if isinstance(error, requests.Timeout) else "connection error"
                if attempt < settings.max_retries:
                    attempt += 1
                    self._backoff(attempt, reason=kind, url=url)
                    continue
                raise TransientError(f"{kind} after {attempt + 1} attempts: {type(error).__name__}", url=url) from None

            status = response.status_code
            if status < 400:
                return response
            if report:
                self._report(response)
            tracking = tracking_id_of(response, self.tracking_header)
            message = error_message_of(response)
            if status == 401 and authenticated and not refreshed:
                refreshed = True
                if self.credentials.refresh_after_unauthorised():
                    continue
            if status == 429:
                wait = retry_after_seconds(response, settings.default_retry_after_seconds)
                if wait <= max_wait and attempt < settings.max_retries:
                    attempt += 1
                    log.warning("rate_limited", url=_loggable(url), retry_after=wait, tracking_id=tracking)
                    self.sleep(wait)
                    continue
                raise RateLimited(
                    f"429 rate limited: {message}",
                    retry_after=wait,
                    status=status,
                    tracking_id=tracking,
                    url=url,
                    body=response.text,
                )
            if status >= 500 or status in (408, 423):
                # A long Retry-After on a 5xx is left to a later cycle, like a long 429.
                wait = retry_after_seconds(response, 0.0)
                if attempt < settings.max_retries and wait <= settings.max_retry_after_seconds:
                    attempt += 1
                    self._backoff(attempt, reason=f"HTTP {status}", url=url, tracking_id=tracking, retry_after=wait)
                    continue
                raise TransientError(
                    f"HTTP {status} after {attempt + 1} attempts: {message}",
                    status=status,
                    tracking_id=tracking,
                    url=url,
                    body=response.text,
                )
            error_class = {400: BadRequest, 401: Unauthorised, 403: AccessDenied, 404: NotFound}.get(status, ApiError)
            raise error_class(
                f"HTTP {status}: {message}", status=status, tracking_id=tracking, url=url, body=response.text
            )

    def _backoff(
        self, attempt: int, *, reason: str, url: str, tracking_id: str | None = None, retry_after: float = 0.0
    ) -> None:
        base = min(self.settings.backoff_max_seconds, self.settings.backoff_seconds * 2 ** (attempt - 1))
        delay = max(retry_after, base * random.uniform(0.5, 1.0))
        log.warning(
            "request_retry",
            reason=reason,
            attempt=attempt,
            delay=round(delay, 2),
            url=_loggable(url),
            tracking_id=tracking_id,
        )
        self.sleep(delay)

    def _report(self, response: requests.Response) -> None:
        log.warning(
            "request_failed",
            status=response.status_code,
            url=_loggable(response.url),
            tracking_id=tracking_id_of(response, self.tracking_header),
        )
        if self.on_error:
            self.on_error(record_of(response, tracking_header=self.tracking_header))

    # -- reading -----------------------------------------------------------------------------

    def link_pages(self, url: str, params: dict, items_key: str = "items") -> Iterator[Page]:
        """`Link: rel="next"` paging to the end, re-adding any filter a next URL dropped."""
        yield from _follow(
            self.page(url, params, items_key),
            lambda page: page.next_url,
            lambda next_url: self.page(next_url, params, items_key, params_in_url=True),
        )

    def token_pages(
        self,
        url: str,
        params: dict,
        items_key: str = "items",
        token_param: str = "pageToken",
        token_field: str = "nextPageToken",
    ) -> Iterator[Page]:
        """Page-token paging: the body's `token_field` sent back as `token_param`, until there is
        none (absent, null or an empty string)."""
        yield from _follow(
            self.page(url, params, items_key),
            lambda page: next_page_token(page.raw.body, token_field),
            lambda token: self.page(url, {**params, token_param: token}, items_key),
        )

    def body_link_pages(self, url: str, params: dict, items_key: str, link_field: str) -> Iterator[Page]:
        """Paging by a next URL in the body (OData's `@odata.nextLink`), which carries every
        parameter itself. A next URL on another host is not followed: the bearer token goes
        only where the first request went."""
        yield from _follow(
            self.page(url, params, items_key),
            lambda page: same_origin(next_page_token(page.raw.body, link_field), url),
            lambda next_url: self.page(next_url, params, items_key, params_in_url=True),
        )

    def page(self, url: str, params: dict, items_key: str = "items", params_in_url: bool = False) -> Page:
        """One listing page. A truncated or garbled body is fetched again like a 5xx: listings
        have no per-call limit, and the next attempt is usually whole."""
        attempt = 0
        while True:
            response = self.request("GET", url, params=None if params_in_url else params)
            try:
                items = parse_items(response, items_key, self.tracking_header)
            except MalformedResponse as error:
                if self.on_error:
                    self.on_error(record_of(response, error=str(error), tracking_header=self.tracking_header))
                if attempt >= self.settings.max_retries:
                    raise
                attempt += 1
                self._backoff(attempt, reason="malformed body", url=url, tracking_id=error.tracking_id)
                continue
            next_url = response.links.get("next", {}).get("url")
            return Page(
                record_of(response, tracking_header=self.tracking_header),
                items,
                with_params(next_url, params) if next_url else None,
            )

    def get_json(self, url: str, **request) -> dict:
        """One JSON object, or MalformedResponse."""
        return json_object(self.request("GET", url, **request), self.tracking_header)


def json_object(response: requests.Response, tracking_header: str | None = None) -> dict:
    """The response's body as a JSON object, or MalformedResponse (with the body, for its record)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise MalformedResponse(
            f"{_loggable((response.url or '').split('?')[0])} did not answer a JSON object",
            status=response.status_code,
            tracking_id=tracking_id_of(response, tracking_header),
            url=response.url,
            body=response.text,
        )
    return body


def _follow(page: Page, next_of: Callable[[Page], str | None], fetch: Callable[[str], Page]) -> Iterator[Page]:
    """Pages until there is no next one, or the API sends one already seen (a loop)."""
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        yield page
        following = next_of(page)
        if not following or following in seen:
            return
        seen.add(following)
        page = fetch(following)


def next_page_token(body: str, field: str = "nextPageToken") -> str | None:
    try:
        token = json.loads(body).get(field)
    except (ValueError, AttributeError):
        return None
    return token if isinstance(token, str) and token else None


def same_origin(link: str | None, first: str) -> str | None:
    """`link` when it is on the scheme and host of `first`; None (and a line saying so) otherwise."""
    if not link:
        return None
    there, here = urlsplit(link), urlsplit(first)
    if (there.scheme, there.netloc) == (here.scheme, here.netloc):
        return link
    log.warning("next_link_elsewhere", url=_loggable(first), next_host=there.netloc[:100])
    return None


def record_of(response: requests.Response, error: str | None = None, tracking_header: str | None = None) -> RawRecord:
    return RawRecord(
        url=_loggable(response.url),
        status=response.status_code,
        body=response.text,
        content_type=response.headers.get("Content-Type", ""),
        tracking_id=tracking_id_of(response, tracking_header),
        fetched_at=iso(utcnow()),
        error=error,
    )


def record_of_error(error: ApiError, fetched_at: str) -> RawRecord:
    """The raw record an error carries, for a failure the caller stores itself."""
    return RawRecord(
        url=_loggable(error.url or ""),
        status=error.status or 0,
        body=error.body or "",
        content_type="",
        tracking_id=error.tracking_id,
        fetched_at=fetched_at,
        error=str(error),
    )


def _loggable(url: str) -> str:
    return logs.redact_text(url or "")
