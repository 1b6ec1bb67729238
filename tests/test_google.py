"""Google Meet: the transform on a recorded activity, and the whole path through the real CLI
against the Google simulator over loopback (service-account JWT, paging, lag and overlap,
missing parameters, 429 and 503)."""

import json
from pathlib import Path

import pytest

from conftest import SMALL_ORG, sim_post, sim_stats
from meetq.providers.google.transform import meeting_code, parameters, prepare_activity
from meetq.simulator import SimConfig
from meetq.simulator.google import GoogleSimulator
from meetq.rows import SESSION_WRITE_COLUMNS

DATA = Path(__file__).parent / "data"
GOOGLE_ONLY = {"MEETQ_WEBEX_CLIENT_ID": "", "MEETQ_WEBEX_CLIENT_SECRET": ""}  # no Webex account configured


def recorded():
    return json.loads((DATA / "google_call_ended.json").read_text())["items"]


def test_a_call_ended_activity_becomes_one_session_with_summaries_and_a_verdict():
    full, phone, empty = recorded()
    params = parameters(full)
    assert params["duration_seconds"] == 1800.0 and params["is_external"] is False  # intValue arrives as text
    meeting, session = prepare_activity(full, "2024-03-03T07:00:00.000Z")
    assert meeting == {"id": "meet:sS2tOoK7x6hJ2lRLDaQ8DxIWOAQMCEMKCGIQ", "title": "Meet wktimxivuk",
                       "host_email": "lee@example.com", "start": "2024-03-03T05:50:41.830Z",
                       "end": "2024-03-03T06:20:41.830Z"}
    row = dict(zip(SESSION_WRITE_COLUMNS, session.session))
    assert (row["user_email"], row["user_name"], row["client_type"], row["location"], row["public_ip"]) == \
        ("dana@example.com", "Dana Park", "android", "Berlin, DE", "198.51.100.23")
    assert row["verdict"] == "poor" and row["verdict_reason"] == \
        "audio in: round-trip time averaged 420 ms (poor above 400 ms)"
    by_stream = {(s[1], s[2]): s for s in session.summaries}
    assert set(by_stream) == {("audio", "in"), ("audio", "out"), ("video", "in")}  # nothing sent: no video out
    audio_in = by_stream[("audio", "in")]
    assert audio_in[4:14] == (2.0, None, 14.0, 420.0, None, None, 12.0, None, 61.0, None)
    assert by_stream[("video", "in")][-3:] == (8.0, "poor", "video in: frame rate averaged 8 fps (poor below 10 fps)")
    assert by_stream[("audio", "out")][13] == 32000.0  # kbit/s to bit/s, as Webex reports it

    # Few parameters (a phone) still make a session; nothing to file it under makes none.
    phone_meeting, phone_session = prepare_activity(phone, "t")
    assert phone_meeting["id"] == "meet:wktimxivuk:2024-03-03" and phone_session.summaries == []
    phone_row = dict(zip(SESSION_WRITE_COLUMNS, phone_session.session))
    assert phone_row["user_email"] is None and phone_row["join_time"] is None and phone_row["client_type"] == "pstn_in"
    assert prepare_activity(empty, "t") is None
    assert meeting_code("WKTIMXIVUK") == meeting_code("wkt-imxi-vuk") == meeting_code("wkt imxi vuk") == "wktimxivuk"


@pytest.fixture
def google():
    simulator = GoogleSimulator(SimConfig(**{**SMALL_ORG, "seed": 11})).start()
    yield simulator
    simulator.stop()


def add_google_account(meetq, google, **extra):
    key = google.write_key_file(meetq.workdir / "google-key.json")
    lines = ["[[accounts]]", 'name = "gmeet"', 'provider = "google"', f'key_file = "{key}"',
             'admin_email = "admin@example.com"', f'reports_base = "{google.reports_base}"',
             f'meet_base = "{google.meet_base}"']
    lines += [f'{k} = "{v}"' for k, v in extra.items()]
    with open(meetq.workdir / "meetq.toml", "a") as config:
        config.write("\n" + "\n".join(lines) + "\n")
    return key


def stored_activity_ids(meetq):
    return sorted(r[0] for r in meetq.sql("select participant_session_id from media_sessions where provider = 'google'"))


def test_google_meet_lands_beside_webex_without_duplicates(meetq, sim, google):
    with open(meetq.workdir / "meetq.toml", "a") as config:
        config.write("\n[google]\nreports_page_size = 7\n")
    key = add_google_account(meetq, google)
    meetq.login()

    first = json.loads(meetq("collect").stdout)
    assert first["outcome"] == "ok" and first["accounts"]["gmeet"]["outcome"] == "ok"
    expected = sorted(a["id"]["uniqueQualifier"] for a in google.activities())
    assert stored_activity_ids(meetq) == expected and len(expected) > 7 * 3   # several pages
    assert sim_stats(google)["calls"]["/admin/reports/v1/activity/users/all/applications/meet"] == -(-len(expected) // 7)
    (claims,) = google.assertions  # one token for the whole cycle, with the claims Google checks
    assert claims["iss"] == google.client_email and claims["sub"] == "admin@example.com"
    assert claims["aud"] == "https://oauth2.googleapis.com/token"
    assert claims["scope"] == "https://www.googleapis.com/auth/admin.reports.audit.readonly"

    # Both vendors in the same tables, told apart by provider and account.
    assert dict(meetq.sql("select provider, count(*) from meetings group by 1")).keys() == {"webex", "google"}
    assert meetq.scalar("select count(*) from media_sessions where provider = 'google' and account != 'gmeet'") == 0
    assert meetq.scalar("select count(*) from media_summaries x join media_sessions s on s.id = x.session_id "
                        "where s.provider = 'google'") > 0
    # The overlap re-reads the last hours: nothing doubles, nothing changes.
    again = json.loads(meetq("collect").stdout)["accounts"]["gmeet"]
    assert again["outcome"] == "ok" and again["meetings_listed"] > 0 and again["sessions_written"] == 0
    assert stored_activity_ids(meetq) == expected
    # Masked by default, raw bodies included; the key never reaches the database.
    assert meetq.scalar("select count(*) from media_sessions where provider = 'google' and public_ip "
                        "not like '%*'") == 0
    raw = "".join(r[0] for r in meetq.sql("select body from raw_responses where endpoint = 'meet_activities'"))
    assert "203.0.113." in raw and '"203.0.113.1' not in raw
    private_key_line = json.loads(key.read_text())["private_key"].splitlines()[1]
    assert private_key_line not in meetq.database.read_bytes().decode("latin-1")
    assert private_key_line not in "".join(meetq.logs)


def test_late_activities_are_found_by_the_overlap_and_backoff_survives_429_and_503(meetq, google):
    add_google_account(meetq, google)
    meetq.env.update(GOOGLE_ONLY)
    google.lag_seconds = 3 * 3600   # Google has not reported the last three hours yet
    first = json.loads(meetq("collect").stdout)
    assert first["outcome"] == "ok"
    early = stored_activity_ids(meetq)
    google.lag_seconds = 0
    sim_post(google, "/_sim/faults", [
        {"path": "applications/meet", "status": 503, "times": 2},
        {"path": "applications/meet", "status": 429, "times": 1, "retry_after": "0"}])
    second = json.loads(meetq("collect").stdout)
    assert second["outcome"] == "ok" and sim_stats(google)["faults_served"] == 3
    late = stored_activity_ids(meetq)
    assert set(early) < set(late) and late == sorted(a["id"]["uniqueQualifier"] for a in google.activities())
    # A Google account has no token file: health and status speak of its service account.
    assert meetq("health", check=False).returncode == 0
    status = meetq("auth", "status", "--account", "gmeet", check=False)
    assert status.returncode == 0 and "admin@example.com" in status.stdout
    assert json.loads(meetq("status").stdout)["authorisation"]["mode"] == "google service account"


def test_a_readable_key_or_a_refused_delegation_is_a_clear_error(meetq, google):
    key = add_google_account(meetq, google)
    meetq.env.update(GOOGLE_ONLY)
    key.chmod(0o644)
    refused = meetq("collect", check=False)
    assert refused.returncode == 1 and "can be read by other users" in refused.stdout + refused.stderr
    key.chmod(0o600)
    google.admin_email = "someone-else@example.com"   # delegation does not cover our admin
    report = json.loads(meetq("collect", check=False).stdout)
    assert report["outcome"] == "reauth_required" and "domain-wide delegation" in report["messages"][0]


def test_attendance_of_configured_organisers_joins_the_quality_rows(meetq, google):
    hosts = sorted({m.host.email for m in google.org.meetings.values() if m.end.timestamp() <= google.now()})
    organizer = hosts[0]
    add_google_account(meetq, google, organizers=f"{organizer}, nobody@elsewhere.example")
    meetq.env.update(GOOGLE_ONLY)
    report = json.loads(meetq("collect", check=False).stdout)
    # The organiser outside the delegation is reported; everything else is stored.
    assert report["outcome"] == "partial" and len(report["messages"]) == 1
    assert "nobody@elsewhere.example" in report["messages"][0] and "delegation" in report["messages"][0]
    assert stored_activity_ids(meetq) == sorted(a["id"]["uniqueQualifier"] for a in google.activities())

    organised = [m for m in google.org.meetings.values() if m.host.email == organizer and m.end.timestamp() <= google.now()]
    expected = sum(len(google.org.quality_items(m)) for m in organised)
    assert meetq.scalar("select count(*) from meet_attendance") == expected > 0
    assert meetq.scalar("select count(distinct meeting_id) from meet_attendance") == len(organised)
    assert meetq.scalar("select count(*) from meet_attendance where organizer_email != ?", organizer) == 0
    # Filed where the Reports API files the same conference, so attendance meets quality.
    assert meetq.scalar("select count(*) from meet_attendance a left join meetings m on m.id = a.meeting_id "
                        "where m.id is null") == 0
    joined = meetq.scalar("select count(*) from meet_attendance_quality where verdict is not null")
    assert joined == expected
    codes = {r[0] for r in meetq.sql("select meeting_code from meet_attendance")}
    assert all(c and c.isalpha() and c.islower() for c in codes)
    # Again: upserts, no duplicates.
    meetq("collect", check=False)
    assert meetq.scalar("select count(*) from meet_attendance") == expected
