"""The Zoom endpoints meetq calls, on the core ApiClient."""

from __future__ import annotations

from datetime import date
from typing import Iterator
from urllib.parse import quote

from ...http import ApiClient, Pacer, Page, next_page_token, parse_items, record_of

TRACKING_HEADER = "x-zm-trackingid"  # where Zoom's answers carry the id its support asks for


def base(settings) -> str:
    return settings.zoom.api_base.rstrip("/")


def meeting_path(uuid: str) -> str:
    """A meeting UUID in a path: once encoded, or twice when it starts with "/" or holds "//"
    (Zoom decodes such paths twice)."""
    once = quote(uuid, safe="")
    return quote(once, safe="") if uuid.startswith("/") or "//" in uuid else once


def fetch_past_meetings(client: ApiClient, settings, start: date, end: date) -> Iterator[Page]:
    """Past meetings of the account that ran between two dates (at most a month apart)."""
    params = {
        "type": "past",
        "from": start.isoformat(),
        "to": end.isoformat(),
        "page_size": settings.zoom.meetings_page_size,
    }
    yield from client.token_pages(
        f"{base(settings)}/metrics/meetings",
        params,
        items_key="meetings",
        token_param="next_page_token",
        token_field="next_page_token",
    )


def fetch_qos_page(
    client: ApiClient, settings, uuid: str, page_token: str | None, pacer: Pacer
) -> tuple[Page, str | None]:
    """One page of a past meeting's participants with their minutes, and the token of the next
    (None on the last: Zoom sends an empty string there). A 429 is not slept through: the caller
    defers the meeting."""
    params = {"type": "past", "page_size": settings.zoom.qos_page_size}
    if page_token:
        params["next_page_token"] = page_token
    pacer.wait()
    response = client.request(
        "GET",
        f"{base(settings)}/metrics/meetings/{meeting_path(uuid)}/participants/qos",
        params=params,
        max_retry_after=0,
    )
    items = parse_items(response, "participants", client.tracking_header)
    following = next_page_token(response.text, "next_page_token")
    return Page(record_of(response, tracking_header=client.tracking_header), items), following
