"""The one module that talks HTTP to Webex.

One requests.Session, a timeout on every call, retries with capped exponential backoff and
jitter for 5xx/timeouts/resets, Retry-After honoured on 429, a refresh-and-retry-once on 401,
and one Link-header paginator. Failures raise the named exceptions of `errors`, each
carrying the tracking id Webex support asks for.
"""

from __future__ import annotations

import email.utils
import json
import random
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterator, Protocol
from urllib.parse import parse_qs, quote, urlencode, urlsplit, urlunsplit

import requests

from . import logs
from .clock import iso, utcnow
from .errors import (AccessDenied, MalformedResponse, NotFound, RateLimited, TransientError,
                     Unauthorised, WebexError)

log = logs.get_logger("meetq.client")
USER_AGENT = "meetq/0.1 (+https://github.com/meetq)"
MAX_PAGES = 10_000  # a loop guard: the API caps listings at 10,000 items


class Credentials(Protocol):
    def access_token(self) -> str: ...
    def refresh_after_unauthorised(self) -> bool: ...


@dataclass
class Page:
    """One answered request: what the pipeline stores as a raw response."""
    url: str
    status: int
    body: str
    content_type: str
    tracking_id: str | None
    fetched_at: str
    items: list
    next_url: str | None
    error: str | None = None   # why a 2xx body could not be used


def tracking_id_of(response: requests.Response) -> str | None:
    tracking = response.headers.get("Trackingid")
    if tracking:
        return tracking
    try:
        return response.json().get("trackingId")
    except (ValueError, AttributeError):
        return None


def error_message_of(response: requests.Response) -> str:
    """The API's own words, from either error shape (Webex `message` or RFC 6749 `error`)."""
    try:
        body = response.json()
    except ValueError:
        return (response.text or "").strip()[:200] or response.reason or "no body"
    if not isinstance(body, dict):
        return str(body)[:200]
    return str(body.get("message") or body.get("error_description") or body.get("error") or body)[:200]


def retry_after_seconds(response: requests.Response, default: float, now: Callable[[], datetime] = utcnow) -> float:
    """Retry-After as seconds (integer seconds or an HTTP date); `default` when absent or junk."""
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
        return default
    return max(0.0, (when - now()).total_seconds())


def with_params(url: str, params: dict) -> str:
    """Add each of `params` the URL lacks (Webex next links have dropped filters before)."""
    parts = urlsplit(url)
    query = parse_qs(parts.query, keep_blank_values=True)
    for key, value in params.items():
        if key not in query or query[key] in ([""], ["null"]):
            query[key] = [str(value)]
    return urlunsplit(parts._replace(query=urlencode(query, doseq=True)))


def parse_items(response: requests.Response, key: str = "items") -> list:
    """The `items` list (or another `key`'s) of a 2xx answer. An empty body (e.g. 204) is an
    empty result."""
    if response.status_code == 204 or not response.content:
        return []
    try:
        body = response.json()
    except ValueError as error:
        raise MalformedResponse(f"response is not JSON ({error})", status=response.status_code,
                                tracking_id=response.headers.get("Trackingid"), url=response.url) from None
    if not isinstance(body, dict) or not isinstance(body.get(key, []), list):
        raise MalformedResponse(f"response JSON has no `{key}` list", status=response.status_code,
                                tracking_id=response.headers.get("Trackingid"), url=response.url)
    return [item for item in body.get(key, []) if isinstance(item, dict)]


class WebexClient:
    def __init__(self, settings, credentials: Credentials | None, *, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep, on_error: Callable[[Page], None] | None = None):
        self.settings = settings
        self.credentials = credentials
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.sleep = sleep
        self.on_error = on_error

    # -- the one request loop --------------------------------------------------------------

    def request(self, method: str, url: str, *, params: dict | None = None, data: dict | None = None,
                json_body: dict | None = None, authenticated: bool = True, max_retry_after: float | None = None,
                report: bool = True) -> requests.Response:
        """One logical request. `report=False` keeps the answer out of the raw-response log
        (the token endpoint's). Raises the named errors of `errors`."""
        settings = self.settings
        max_wait = settings.max_retry_after_seconds if max_retry_after is None else max_retry_after
        refreshed = False
        attempt = 0
        while True:
            headers = {"Accept": "application/json"}
            if authenticated:
                headers["Authorization"] = f"Bearer {self.credentials.access_token()}"
            try:
                response = self.session.request(method, url, params=params, data=data, json=json_body,
                                                headers=headers, timeout=settings.request_timeout_seconds)
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
            tracking = tracking_id_of(response)
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
                raise RateLimited(f"429 rate limited: {message}", retry_after=wait, status=status,
                                  tracking_id=tracking, url=url, body=response.text)
            if status >= 500 or status in (408, 423):
                # A long Retry-After on a 5xx is left to a later cycle, like a long 429.
                wait = retry_after_seconds(response, 0.0)
                if attempt < settings.max_retries and wait <= settings.max_retry_after_seconds:
                    attempt += 1
                    self._backoff(attempt, reason=f"HTTP {status}", url=url, tracking_id=tracking, retry_after=wait)
                    continue
                raise TransientError(f"HTTP {status} after {attempt + 1} attempts: {message}", status=status,
                                     tracking_id=tracking, url=url, body=response.text)
            error_class = {401: Unauthorised, 403: AccessDenied, 404: NotFound, 400: NotFound}.get(status, WebexError)
            raise error_class(f"HTTP {status}: {message}", status=status, tracking_id=tracking, url=url,
                              body=response.text)

    def _backoff(self, attempt: int, *, reason: str, url: str, tracking_id: str | None = None,
                 retry_after: float = 0.0) -> None:
        base = min(self.settings.backoff_max_seconds, self.settings.backoff_seconds * 2 ** (attempt - 1))
        delay = max(retry_after, base * random.uniform(0.5, 1.0))
        log.warning("request_retry", reason=reason, attempt=attempt, delay=round(delay, 2),
                    url=_loggable(url), tracking_id=tracking_id)
        self.sleep(delay)

    def _report(self, response: requests.Response) -> None:
        log.warning("request_failed", status=response.status_code, url=_loggable(response.url),
                    tracking_id=tracking_id_of(response))
        if self.on_error:
            self.on_error(page_of(response, items=[], next_url=None))

    # -- endpoints ------------------------------------------------------------------------

    def paginate(self, url: str, params: dict) -> Iterator[Page]:
        """Webex's paging: follow `Link: rel="next"` to the end, re-adding any filter a next URL dropped."""
        yield from _follow(self._get_page(url, params), lambda page: page.next_url,
                           lambda next_url: self._get_page(next_url, params, params_in_url=True))

    def token_pages(self, url: str, params: dict, items_key: str = "items") -> Iterator[Page]:
        """Google's paging: `pageToken` out, `nextPageToken` back, until there is none."""
        yield from _follow(self._get_page(url, params, items_key=items_key), lambda page: next_page_token(page.body),
                           lambda token: self._get_page(url, {**params, "pageToken": token}, items_key=items_key))

    def _get_page(self, url: str, params: dict, params_in_url: bool = False, items_key: str = "items") -> Page:
        """One listing page. A truncated or garbled body is fetched again like a 5xx: listings
        have no per-call limit, and the next attempt is usually whole."""
        attempt = 0
        while True:
            response = self.request("GET", url, params=None if params_in_url else params)
            try:
                items = parse_items(response, items_key)
            except MalformedResponse as error:
                if self.on_error:
                    self.on_error(page_of(response, items=[], next_url=None, error=str(error)))
                if attempt >= self.settings.max_retries:
                    raise
                attempt += 1
                self._backoff(attempt, reason="malformed body", url=url, tracking_id=error.tracking_id)
                continue
            next_url = response.links.get("next", {}).get("url")
            return page_of(response, items, with_params(next_url, params) if next_url else None)

    def fetch_meetings(self, start: datetime, end: datetime) -> Iterator[Page]:
        """Ended meeting instances whose listing window [start, end) covers them."""
        params = {"meetingType": "meeting", "state": "ended", "from": iso(start), "to": iso(end),
                  "max": self.settings.meetings_page_size}
        if self.settings.site_url:
            params["siteUrl"] = self.settings.site_url
        yield from self.paginate(f"{self.settings.api_base.rstrip('/')}/meetings", params)

    def fetch_quality_page(self, meeting_id: str, offset: int, next_url: str | None) -> Page:
        """One page of Meeting Qualities. A 429 is not slept through: the caller defers the meeting."""
        params = {"meetingId": meeting_id, "max": self.settings.quality_page_size}
        if next_url:
            response = self.request("GET", with_params(next_url, params), max_retry_after=0)
        else:
            response = self.request("GET", f"{self.settings.analytics_base.rstrip('/')}/meeting/qualities",
                                    params={**params, "offset": offset}, max_retry_after=0)
        items = parse_items(response)
        link = response.links.get("next", {}).get("url")
        return page_of(response, items, with_params(link, params) if link else None)

    def people_me(self) -> dict:
        response = self.request("GET", f"{self.settings.api_base.rstrip('/')}/people/me")
        try:
            body = response.json()
        except ValueError:
            raise MalformedResponse("/people/me did not answer JSON", status=response.status_code,
                                    tracking_id=tracking_id_of(response)) from None
        return {"id": body.get("id"), "emails": body.get("emails") or [],
                "display_name": body.get("displayName"), "org_id": body.get("orgId")}

    # Webhook registrations carry their secret, in both directions: never logged, never stored.
    def list_webhooks(self) -> list[dict]:
        url = f"{self.settings.api_base.rstrip('/')}/webhooks"
        return parse_items(self.request("GET", url, params={"max": 100}, report=False))

    def create_webhook(self, body: dict) -> dict:
        url = f"{self.settings.api_base.rstrip('/')}/webhooks"
        return self.request("POST", url, json_body=body, report=False).json()

    def update_webhook(self, webhook_id: str, body: dict) -> dict:
        url = f"{self.settings.api_base.rstrip('/')}/webhooks/{quote(webhook_id, safe='')}"
        return self.request("PUT", url, json_body=body, report=False).json()

    def delete_webhook(self, webhook_id: str) -> None:
        self.request("DELETE", f"{self.settings.api_base.rstrip('/')}/webhooks/{quote(webhook_id, safe='')}",
                     report=False)

    def post_token(self, form: dict) -> requests.Response:
        """POST a grant to the token endpoint; transient failures are retried, refusals raised.
        The form holds secrets: it is never logged and its answer never stored."""
        return self.request("POST", self.settings.token_url, data=form, authenticated=False, report=False)


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


def next_page_token(body: str) -> str | None:
    try:
        token = json.loads(body).get("nextPageToken")
    except (ValueError, AttributeError):
        return None
    return token if isinstance(token, str) and token else None


def page_of(response: requests.Response, items: list, next_url: str | None, error: str | None = None) -> Page:
    return Page(url=_loggable(response.url), status=response.status_code, body=response.text,
                content_type=response.headers.get("Content-Type", ""), tracking_id=tracking_id_of(response),
                fetched_at=iso(utcnow()), items=items, next_url=next_url, error=error)


def _loggable(url: str) -> str:
    return logs.redact_text(url or "")
