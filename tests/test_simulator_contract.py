"""The simulator answers in the shapes of the official Webex OpenAPI spec: the trimmed copy in
tests/data (its source in tests/data/SOURCES.md), or a whole spec file named by MEETQ_OPENAPI_SPEC."""

import json
import os
from pathlib import Path

import pytest
import requests
from conftest import free_port
from jsonschema import Draft7Validator

ROOT = Path(__file__).resolve().parents[1]
SPEC = Path(os.environ.get("MEETQ_OPENAPI_SPEC") or ROOT / "tests" / "data" / "webex-openapi-trimmed.json")


@pytest.fixture(scope="module")
def spec():
    return json.loads(SPEC.read_text())


def validator(spec, path, content_type):
    schema = spec["paths"][path]["get"]["responses"]["200"]["content"][content_type]["schema"]
    return Draft7Validator({**schema, "components": spec["components"]})


@pytest.fixture
def token(sim):
    """A real access token from the simulator's authorisation-code flow."""
    redirect = f"http://127.0.0.1:{free_port()}/cb"
    consent = requests.get(
        f"{sim.api_base}/authorize",
        params={
            "client_id": sim.config.client_id,
            "response_type": "code",
            "redirect_uri": redirect,
            "scope": "analytics:read_all",
            "state": "s1",
        },
        allow_redirects=False,
        timeout=5,
    )
    assert consent.status_code == 302
    code = consent.headers["Location"].split("code=")[1].split("&")[0]
    answer = requests.post(
        f"{sim.api_base}/access_token",
        data={
            "grant_type": "authorization_code",
            "client_id": sim.config.client_id,
            "client_secret": sim.config.client_secret,
            "code": code,
            "redirect_uri": redirect,
        },
        timeout=5,
    )
    assert set(answer.json()) == {
        "access_token",
        "expires_in",
        "refresh_token",
        "refresh_token_expires_in",
        "token_type",
    }
    return answer.json()["access_token"]


def get(sim, url, token, **params):
    response = requests.get(url, params=params, headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert response.status_code == 200 and response.headers["Trackingid"]
    return response


def test_meetings_match_the_official_schema(sim, spec, token):
    response = get(sim, f"{sim.api_base}/meetings", token, meetingType="meeting", state="ended", max=100)
    body = response.json()
    assert len(body["items"]) > 10
    errors = list(validator(spec, "/meetings", "application/json;charset=UTF-8").iter_errors(body))
    assert errors == []


def test_qualities_match_the_official_schema(sim, spec, token):
    check = validator(spec, "/meeting/qualities", "application/json")
    for meeting in sim.visible_meetings()[:10]:
        sim.last_quality_call.clear()
        body = get(sim, f"{sim.analytics_base}/meeting/qualities", token, meetingId=meeting.id).json()
        assert body["items"], meeting.id
        assert list(check.iter_errors(body)) == []
        properties = spec["components"]["schemas"]["MediaSessionQuality"]["properties"]
        assert set(body["items"][0]) <= set(properties)  # no field the spec does not know


def test_people_me_matches_the_official_schema(sim, spec, token):
    body = get(sim, f"{sim.api_base}/people/me", token).json()
    assert list(validator(spec, "/people/me", "application/json").iter_errors(body)) == []


def test_the_schema_check_can_fail(spec):
    """The validator is not vacuous: a wrong type is caught."""
    check = validator(spec, "/meeting/qualities", "application/json")
    assert list(check.iter_errors({"items": [{"meetingInstanceId": 5, "videoIn": "x"}]}))
