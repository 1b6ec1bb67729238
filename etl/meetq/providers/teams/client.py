"""The Microsoft Graph endpoints meetq calls, on the core ApiClient: call records (listed, then
each one with its sessions and segments, page by page) and change-notification subscriptions."""

from __future__ import annotations

from datetime import datetime
from typing import Iterator
from urllib.parse import quote

from ...clock import iso
from ...errors import MalformedResponse
from ...http import ApiClient, Pacer, Page, json_object, next_page_token, record_of, same_origin

TRACKING_HEADER = "request-id"  # what Microsoft's support asks for (with client-request-id)
NEXT_LINK = "@odata.nextLink"
SESSIONS_NEXT_LINK = "sessions@odata.nextLink"
EXPAND = "sessions($expand=segments)"


def base(settings) -> str:
    return settings.teams.graph_base.rstrip("/")


def fetch_call_records(client: ApiClient, settings, since: datetime, pacer: Pacer) -> Iterator[Page]:
    """Call records that started at or after `since` (the list has no sessions), page by page."""
    params = {"$filter": f"startDateTime ge {iso(since).replace('.000Z', 'Z')}"}
    pacer.wait()
    for page in client.body_link_pages(f"{base(settings)}/communications/callRecords", params, "value", NEXT_LINK):
        yield page
        pacer.wait()


def record_url(settings, record_id: str) -> str:
    return f"{base(settings)}/communications/callRecords/{quote(record_id, safe='')}"


def fetch_record(client: ApiClient, settings, record_id: str, pacers: tuple[Pacer, Pacer]) -> tuple[dict, list[Page]]:
    """One call record (its own fields, read once) and every page of its sessions and segments:
    the first page is the record (its `sessions` the first of them), the others are `value`
    collections, each following the previous page's next link. `pacers`: the tenant's and this
    record's. A 429 is not slept through (max_retry_after=0): the caller defers the record."""
    url = record_url(settings, record_id)
    record, pages, following, link_field, seen = None, [], None, SESSIONS_NEXT_LINK, set()
    while True:
        for pacer in pacers:
            pacer.wait()
        response = client.request(
            "GET", following or url, params=None if following else {"$expand": EXPAND}, max_retry_after=0
        )
        body = json_object(response, client.tracking_header)
        record = body if record is None else record
        items = body.get("sessions" if not following else "value")
        if items is None and not following:
            items = []  # a record without sessions (a call nobody's media reached)
        if not isinstance(items, list):
            raise MalformedResponse(
                f"call record {record_id}: sessions are not a list", status=response.status_code, url=url
            )
        pages.append(Page(record_of(response, tracking_header=client.tracking_header), items))
        following = same_origin(next_page_token(response.text, link_field), url)
        link_field = NEXT_LINK
        if not following or following in seen:
            return record, pages
        seen.add(following)


# -- change notifications ---------------------------------------------------------------------


def create_subscription(client: ApiClient, settings, document: dict) -> dict:
    response = client.request("POST", f"{base(settings)}/subscriptions", json_body=document)
    return json_object(response, client.tracking_header)


def renew_subscription(client: ApiClient, settings, subscription_id: str, expires: datetime) -> dict:
    response = client.request(
        "PATCH",
        f"{base(settings)}/subscriptions/{quote(subscription_id, safe='')}",
        json_body={"expirationDateTime": iso(expires)},
    )
    return json_object(response, client.tracking_header)


def delete_subscription(client: ApiClient, settings, subscription_id: str) -> None:
    client.request("DELETE", f"{base(settings)}/subscriptions/{quote(subscription_id, safe='')}")


def list_subscriptions(client: ApiClient, settings) -> list[dict]:
    pages = client.body_link_pages(f"{base(settings)}/subscriptions", {}, "value", NEXT_LINK)
    return [item for page in pages for item in page.items if isinstance(item, dict)]
