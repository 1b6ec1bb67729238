"""Unit tests of the HTTP client's decisions, through the Webex endpoints, with `responses` standing in
for Webex."""

from datetime import datetime, timezone

import pytest
import requests
import responses
from freezegun import freeze_time
from meetq.config import load_settings
from meetq.errors import AccessDenied, RateLimited, TransientError, Unauthorised
from meetq.http import ApiClient, retry_after_seconds, with_params
from meetq.providers.webex import client as webex

API = "https://webexapis.com/v1"
QUALITIES = "https://analytics.webexapis.com/v1/meeting/qualities"


class FakeCredentials:
    def __init__(self):
        self.token, self.refreshes = "T1", 0

    def access_token(self):
        return self.token

    def refresh_after_unauthorised(self):
        self.refreshes += 1
        self.token = f"T{self.refreshes + 1}"
        return True


@pytest.fixture
def client():
    settings = load_settings({"backoff_seconds": 0.0, "max_retries": 3, "max_retry_after_seconds": 5}, environ={})
    slept = []
    c = webex.api_client(settings, FakeCredentials(), sleep=slept.append)  # Webex's: it reads Trackingid
    c.slept = slept
    return c


def response_with(headers):
    r = requests.Response()
    r.headers.update(headers)
    return r


def test_retry_after_in_seconds_date_or_absent():
    assert retry_after_seconds(response_with({"Retry-After": "17"}), 3) == 17
    assert retry_after_seconds(response_with({}), 3) == 3
    assert retry_after_seconds(response_with({"Retry-After": "soon"}), 3) == 3
    with freeze_time("2026-11-23 10:00:00"):
        date = response_with({"Retry-After": "Mon, 23 Nov 2026 10:00:42 GMT"})
        assert retry_after_seconds(date, 3, now=lambda: datetime.now(timezone.utc)) == 42
        iso_date = response_with({"Retry-After": "2026-11-23T10:05:00Z"})  # a daily limit's answer
        assert retry_after_seconds(iso_date, 3, now=lambda: datetime.now(timezone.utc)) == 300


def test_with_params_readds_dropped_filters_and_replaces_null():
    url = with_params("https://x/v1/meetings?cursor=abc&max=null", {"meetingType": "meeting", "max": 100})
    assert url == "https://x/v1/meetings?cursor=abc&max=100&meetingType=meeting"


@responses.activate
def test_5xx_is_retried_with_backoff_then_succeeds(client):
    responses.get(QUALITIES, status=503)
    responses.get(QUALITIES, status=502)
    responses.get(QUALITIES, json={"items": [{"meetingInstanceId": "m"}]})
    page = webex.fetch_quality_page(client, client.settings, "m", 0, None)
    assert page.items == [{"meetingInstanceId": "m"}] and len(client.slept) == 2


@responses.activate
def test_timeouts_are_retried_then_reported_as_transient(client):
    for _ in range(4):
        responses.get(QUALITIES, body=requests.exceptions.ReadTimeout())
    with pytest.raises(TransientError, match="timeout after 4 attempts"):
        webex.fetch_quality_page(client, client.settings, "m", 0, None)


@responses.activate
def test_401_refreshes_once_and_retries_once(client):
    responses.get(f"{API}/people/me", status=401, json={"message": "expired", "trackingId": "TRK1"})
    responses.get(f"{API}/people/me", json={"id": "p", "emails": ["a@b"], "displayName": "A", "orgId": "o"})
    assert webex.people_me(client, client.settings)["emails"] == ["a@b"]
    assert client.credentials.refreshes == 1
    assert responses.calls[1].request.headers["Authorization"] == "Bearer T2"


@responses.activate
def test_a_second_401_is_not_refreshed_again(client):
    responses.get(f"{API}/people/me", status=401, json={"message": "no"})
    responses.get(f"{API}/people/me", status=401, json={"message": "still no", "trackingId": "TRK2"})
    with pytest.raises(Unauthorised) as error:
        webex.people_me(client, client.settings)
    assert error.value.tracking_id == "TRK2" and client.credentials.refreshes == 1


@responses.activate
def test_qualities_429_is_not_slept_through(client):
    responses.get(QUALITIES, status=429, headers={"Retry-After": "300"})
    with pytest.raises(RateLimited) as error:
        webex.fetch_quality_page(client, client.settings, "m", 0, None)
    assert error.value.retry_after == 300 and client.slept == []


@responses.activate
def test_short_429_on_listing_is_waited_out(client):
    responses.get(f"{API}/meetings", status=429, headers={"Retry-After": "2"})
    responses.get(f"{API}/meetings", json={"items": []})
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    assert [p.items for p in webex.fetch_meetings(client, client.settings, start, start)] == [[]]
    assert client.slept == [2.0]


@responses.activate
def test_403_is_access_denied_with_tracking_id(client):
    responses.get(
        QUALITIES, status=403, json={"message": "missing analytics:read_all"}, headers={"Trackingid": "ROUTER_1"}
    )
    with pytest.raises(AccessDenied, match="missing analytics:read_all") as error:
        webex.fetch_quality_page(client, client.settings, "m", 0, None)
    assert error.value.tracking_id == "ROUTER_1"


@responses.activate
def test_link_pages_follows_links_and_stops_on_a_loop(client):
    first = f"{API}/meetings"
    responses.get(first, json={"items": [{"id": 1}]}, headers={"Link": f'<{API}/meetings?cursor=2>; rel="next"'})
    responses.get(
        f"{API}/meetings", json={"items": [{"id": 2}]}, headers={"Link": f'<{API}/meetings?cursor=2>; rel="next"'}
    )
    pages = list(client.link_pages(first, {"max": 100}))
    assert [p.items for p in pages] == [[{"id": 1}], [{"id": 2}]]
    assert "max=100" in responses.calls[1].request.url


@responses.activate
def test_a_5xx_with_a_long_retry_after_is_left_to_a_later_cycle(client):
    responses.get(QUALITIES, status=503, headers={"Retry-After": "3600"})
    with pytest.raises(TransientError, match="HTTP 503"):
        webex.fetch_quality_page(client, client.settings, "m", 0, None)
    assert client.slept == [] and len(responses.calls) == 1


@responses.activate
def test_a_400_is_a_bad_request_and_the_tracking_id_comes_from_the_vendors_header(client):
    """400 is the API refusing the request as asked, not "no such thing" (404); the id support
    asks for is read from the header the vendor names, and from no other vendor's."""
    from meetq.errors import BadRequest, NotFound

    responses.get(f"{API}/wide", status=400, json={"message": "window too wide"}, headers={"Trackingid": "W1"})
    responses.get(f"{API}/gone", status=404, json={"message": "no such meeting"}, headers={"X-Request-Id": "Z1"})
    plain = ApiClient(client.settings, FakeCredentials())
    with pytest.raises(BadRequest) as refused:
        plain.request("GET", f"{API}/wide")
    assert not isinstance(refused.value, NotFound) and refused.value.tracking_id is None  # no header named
    with pytest.raises(BadRequest) as refused:
        client.request("GET", f"{API}/wide")
    assert refused.value.tracking_id == "W1" and "window too wide" in str(refused.value)
    other = ApiClient(client.settings, FakeCredentials(), tracking_header="X-Request-Id")
    with pytest.raises(NotFound) as missing:
        other.request("GET", f"{API}/gone")
    assert missing.value.tracking_id == "Z1"
