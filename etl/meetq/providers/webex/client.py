"""The Webex endpoints meetq calls, on the core ApiClient."""

from __future__ import annotations

from datetime import datetime
from typing import Iterator
from urllib.parse import quote

from ...clock import iso
from ...http import ApiClient, Page, parse_items, record_of, with_params

TRACKING_HEADER = "Trackingid"  # where Webex's answers carry the id its support asks for


def api_client(settings, credentials, **options) -> ApiClient:
    """The core's client, reading Webex's tracking ids."""
    return ApiClient(settings, credentials, tracking_header=TRACKING_HEADER, **options)


def base(url: str) -> str:
    return url.rstrip("/")


def fetch_meetings(client: ApiClient, settings, start: datetime, end: datetime) -> Iterator[Page]:
    """Ended meeting instances whose listing window [start, end) covers them."""
    params = {
        "meetingType": "meeting",
        "state": "ended",
        "from": iso(start),
        "to": iso(end),
        "max": settings.meetings_page_size,
    }
    if settings.webex.site_url:
        params["siteUrl"] = settings.webex.site_url
    yield from client.link_pages(f"{base(settings.webex.api_base)}/meetings", params)


def fetch_quality_page(client: ApiClient, settings, meeting_id: str, offset: int, next_url: str | None) -> Page:
    """One page of Meeting Qualities. A 429 is not slept through: the caller defers the meeting."""
    params = {"meetingId": meeting_id, "max": settings.quality_page_size}
    if next_url:
        response = client.request("GET", with_params(next_url, params), max_retry_after=0)
    else:
        response = client.request(
            "GET",
            f"{base(settings.webex.analytics_base)}/meeting/qualities",
            params={**params, "offset": offset},
            max_retry_after=0,
        )
    items = parse_items(response, tracking_header=client.tracking_header)
    link = response.links.get("next", {}).get("url")
    return Page(
        record_of(response, tracking_header=client.tracking_header), items, with_params(link, params) if link else None
    )


def people_me(client: ApiClient, settings, report: bool = True) -> dict:
    """Who the token belongs to. report=False: a refusal is the caller's one line to say, not
    also a logged failed request."""
    body = client.get_json(f"{base(settings.webex.api_base)}/people/me", report=report)
    return {
        "id": body.get("id"),
        "emails": body.get("emails") or [],
        "display_name": body.get("displayName"),
        "org_id": body.get("orgId"),
    }


# Webhook registrations carry their secret, in both directions: never logged, never stored.
def list_webhooks(client: ApiClient, settings) -> list[dict]:
    return parse_items(
        client.request("GET", f"{base(settings.webex.api_base)}/webhooks", params={"max": 100}, report=False),
        tracking_header=client.tracking_header,
    )


def create_webhook(client: ApiClient, settings, body: dict) -> dict:
    return client.request("POST", f"{base(settings.webex.api_base)}/webhooks", json_body=body, report=False).json()


def update_webhook(client: ApiClient, settings, webhook_id: str, body: dict) -> dict:
    return client.request("PUT", _webhook_url(settings, webhook_id), json_body=body, report=False).json()


def delete_webhook(client: ApiClient, settings, webhook_id: str) -> None:
    client.request("DELETE", _webhook_url(settings, webhook_id), report=False)


def _webhook_url(settings, webhook_id: str) -> str:
    return f"{base(settings.webex.api_base)}/webhooks/{quote(webhook_id, safe='')}"


def post_token(client: ApiClient, settings, form: dict):
    """POST a grant to the token endpoint; transient failures are retried, refusals raised.
    The form holds secrets: it is never logged and its answer never stored."""
    return client.request("POST", token_url(settings), data=form, authenticated=False, report=False)


def authorize_url(settings) -> str:
    return f"{base(settings.webex.api_base)}/authorize"


def token_url(settings) -> str:
    return f"{base(settings.webex.api_base)}/access_token"
