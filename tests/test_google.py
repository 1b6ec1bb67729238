"""Google Meet: the transform on a recorded activity, and the whole path through the real CLI
against the Google simulator over loopback (service-account JWT, paging, lag and overlap,
missing parameters, 429 and 503)."""

import json
import threading
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import SMALL_ORG, sim_post, sim_stats
from meetq import models, providers, store
from meetq.clock import iso, parse_iso
from meetq.config import load_settings
from meetq.models import database
from meetq.providers import open_database
from meetq.providers.google.transform import meeting_code, parameters, prepare_activity
from meetq.rows import FIGURE_COLUMNS, SESSION_WRITE_COLUMNS, SUMMARY_COLUMNS, stable_id
from meetq.runs import run_cycle
from meetq.simulator import SimConfig
from meetq.simulator.google import GoogleSimulator

DATA = Path(__file__).parent / "data"
GOOGLE_ONLY = {"MEETQ_WEBEX_CLIENT_ID": "", "MEETQ_WEBEX_CLIENT_SECRET": ""}  # no Webex account configured


def recorded():
    return json.loads((DATA / "google_call_ended.json").read_text())["items"]


def test_a_call_ended_activity_becomes_one_session_with_summaries_and_a_verdict():
    full, phone, empty = recorded()
    params = parameters(full)
    assert params["duration_seconds"] == 1800.0 and params["is_external"] is False  # intValue arrives as text
    meeting, session = prepare_activity(full, "2024-03-03T07:00:00.000Z")
    assert meeting == {
        "id": "meet:sS2tOoK7x6hJ2lRLDaQ8DxIWOAQMCEMKCGIQ",
        "join_code": "wktimxivuk",
        "title": "Meet wktimxivuk",
        "host_email": "lee@example.com",
        "start": "2024-03-03T05:50:41.830Z",
        "end": "2024-03-03T06:20:41.830Z",
    }
    row = dict(zip(SESSION_WRITE_COLUMNS, session.session))
    assert (row["user_email"], row["user_name"], row["client_type"], row["location"], row["public_ip"]) == (
        "dana@example.com",
        "Dana Park",
        "android",
        "Berlin, DE",
        "198.51.100.23",
    )
    assert row["verdict"] == "poor" and row["verdict_reason"] == (
        "audio in: round-trip time averaged 420 ms (poor above 400 ms); audio in: packet loss averaged 2 % "
        "(fair above 1 %); video in: frame rate averaged 8 fps (fair below 15 fps)"
    )
    assert row["verdict_metric"] == "latency"
    by_stream = {(s["kind"], s["direction"]): s for s in (dict(zip(SUMMARY_COLUMNS, s)) for s in session.summaries)}
    assert set(by_stream) == {("audio", "in"), ("audio", "out"), ("video", "in")}  # nothing sent: no video out
    audio_in = by_stream[("audio", "in")]
    assert {k: audio_in[k] for k in FIGURE_COLUMNS[:10]} == {
        "avg_packet_loss": 2.0,
        "p90_packet_loss": None,
        "max_packet_loss": 14.0,
        "avg_latency": 420.0,
        "p90_latency": None,
        "max_latency": None,
        "avg_jitter": 12.0,
        "p90_jitter": None,
        "max_jitter": 61.0,
        "avg_bit_rate": None,
    }
    video_in = by_stream[("video", "in")]
    assert (video_in["avg_frame_rate"], video_in["verdict"], video_in["reason"], video_in["verdict_metric"]) == (
        8.0,
        "fair",
        "video in: frame rate averaged 8 fps (fair below 15 fps)",
        "frame_rate",
    )
    assert by_stream[("audio", "out")]["avg_bit_rate"] == 32000.0  # kbit/s to bit/s, as Webex reports it

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
    lines = [
        "[[accounts]]",
        'name = "gmeet"',
        'provider = "google"',
        f'key_file = "{key}"',
        'admin_email = "admin@example.com"',
        f'reports_base = "{google.reports_base}"',
        f'meet_base = "{google.meet_base}"',
    ]
    lines += [f'{k} = "{v}"' for k, v in extra.items()]
    with open(meetq.workdir / "meetq.toml", "a") as config:
        config.write("\n" + "\n".join(lines) + "\n")
    return key


def stored_activity_ids(meetq):
    return sorted(
        r[0] for r in meetq.sql("select participant_session_id from media_sessions where provider = 'google'")
    )


def test_google_meet_lands_beside_webex_without_duplicates(meetq, sim, google):
    with open(meetq.workdir / "meetq.toml", "a") as config:
        config.write("\n[google]\nreports_page_size = 7\n")
    key = add_google_account(meetq, google)
    meetq.login()

    first = json.loads(meetq("collect").stdout)
    assert first["outcome"] == "ok" and first["accounts"]["gmeet"]["outcome"] == "ok"
    expected = sorted(a["id"]["uniqueQualifier"] for a in google.activities())
    assert stored_activity_ids(meetq) == expected and len(expected) > 7 * 3  # several pages
    assert sim_stats(google)["calls"]["/admin/reports/v1/activity/users/all/applications/meet"] == -(
        -len(expected) // 7
    )
    (claims,) = google.assertions  # one token for the whole cycle, with the claims Google checks
    assert claims["iss"] == google.client_email and claims["sub"] == "admin@example.com"
    assert claims["aud"] == "https://oauth2.googleapis.com/token"
    assert claims["scope"] == "https://www.googleapis.com/auth/admin.reports.audit.readonly"

    # Both vendors in the same tables, told apart by provider and account.
    assert dict(meetq.sql("select provider, count(*) from meetings group by 1")).keys() == {"webex", "google"}
    assert meetq.scalar("select count(*) from media_sessions where provider = 'google' and account != 'gmeet'") == 0
    assert (
        meetq.scalar(
            "select count(*) from media_summaries x join media_sessions s on s.id = x.session_id "
            "where s.provider = 'google'"
        )
        > 0
    )
    # The overlap re-reads the last hours: nothing doubles, nothing changes.
    again = json.loads(meetq("collect").stdout)["accounts"]["gmeet"]
    assert again["outcome"] == "ok" and again["meetings_listed"] > 0 and again["sessions_written"] == 0
    assert stored_activity_ids(meetq) == expected
    # Masked by default, raw bodies included; the key never reaches the database.
    assert (
        meetq.scalar("select count(*) from media_sessions where provider = 'google' and public_ip not like '%*'") == 0
    )
    raw = "".join(r[0] for r in meetq.sql("select body from raw_bodies where endpoint = 'meet_activities'"))
    assert "203.0.113." in raw and '"203.0.113.1' not in raw
    private_key_line = json.loads(key.read_text())["private_key"].splitlines()[1]
    assert private_key_line.encode() not in meetq.everything_stored()
    assert private_key_line not in "".join(meetq.logs)


def test_late_activities_are_found_by_the_overlap_and_backoff_survives_429_and_503(meetq, google):
    add_google_account(meetq, google)
    meetq.env.update(GOOGLE_ONLY)
    google.lag_seconds = 3 * 3600  # Google has not reported the last three hours yet
    first = json.loads(meetq("collect").stdout)
    assert first["outcome"] == "ok"
    early = stored_activity_ids(meetq)
    google.lag_seconds = 0
    sim_post(
        google,
        "/_sim/faults",
        [
            {"path": "applications/meet", "status": 503, "times": 2},
            {"path": "applications/meet", "status": 429, "times": 1, "retry_after": "0"},
        ],
    )
    second = json.loads(meetq("collect").stdout)
    assert second["outcome"] == "ok" and sim_stats(google)["faults_served"] == 3
    late = stored_activity_ids(meetq)
    assert set(early) < set(late) and late == sorted(a["id"]["uniqueQualifier"] for a in google.activities())
    # A Google account has no token file: health and status speak of its service account.
    assert meetq("health", check=False).returncode == 0
    status = meetq("auth", "status", "--account", "gmeet", check=False)
    assert status.returncode == 0 and "admin@example.com" in status.stdout
    assert json.loads(meetq("status", "--json").stdout)["authorisation"]["mode"] == "google service account"


def test_a_readable_key_or_a_refused_delegation_is_a_clear_error(meetq, google):
    key = add_google_account(meetq, google)
    meetq.env.update(GOOGLE_ONLY)
    key.chmod(0o644)
    refused = meetq("collect", check=False)
    assert refused.returncode == 1 and "can be read by other users" in refused.stdout + refused.stderr
    key.chmod(0o600)
    google.admin_email = "someone-else@example.com"  # delegation does not cover our admin
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

    organised = [
        m for m in google.org.meetings.values() if m.host.email == organizer and m.end.timestamp() <= google.now()
    ]
    expected = sum(len(google.org.quality_items(m)) for m in organised)
    assert meetq.scalar("select count(*) from meet_attendance") == expected > 0
    assert meetq.scalar("select count(distinct meeting_id) from meet_attendance") == len(organised)
    assert meetq.scalar("select count(*) from meet_attendance where organizer_email != ?", organizer) == 0
    # Filed where the Reports API files the same conference, so attendance meets quality.
    assert (
        meetq.scalar(
            "select count(*) from meet_attendance a left join meetings m on m.id = a.meeting_id where m.id is null"
        )
        == 0
    )
    joined = meetq.scalar("select count(*) from meet_attendance_quality where verdict is not null")
    assert joined == expected
    codes = {r[0] for r in meetq.sql("select meeting_code from meet_attendance")}
    assert all(c and c.isalpha() and c.islower() for c in codes)
    # Again: upserts, no duplicates.
    meetq("collect", check=False)
    assert meetq.scalar("select count(*) from meet_attendance") == expected


# -- identity: Google's qualifier is unique only among events of the same time -------------------

SHARED = "meet:M72LdSgb9FV57mAVzdLaDxIWOAkIAjIAGAgIigIgBAg"


def shared_qualifier_activities(ended=None):
    """Fourteen endpoints of one recorded call, all with one uniqueQualifier (tests/data/SOURCES.md);
    moved to end at `ended` when given, the milliseconds between them kept."""
    items = json.loads((DATA / "google_shared_qualifier.json").read_text())["items"]
    if ended:
        first = parse_iso(items[0]["id"]["time"])
        for item in items:
            item["id"]["time"] = iso(ended - (first - parse_iso(item["id"]["time"])))
    return items


def test_fourteen_endpoints_sharing_one_qualifier_are_fourteen_sessions():
    prepared = [prepare_activity(a, "t") for a in shared_qualifier_activities()]
    assert len({a["id"]["uniqueQualifier"] for a in shared_qualifier_activities()}) == 1
    assert len({session.id for _, session in prepared}) == 14
    assert {meeting["id"] for meeting, _ in prepared} == {SHARED}


def test_shared_qualifiers_over_loopback_store_every_session_once(meetq, google):
    add_google_account(meetq, google)
    meetq.env.update(GOOGLE_ONLY)
    sim_post(google, "/_sim/activities", shared_qualifier_activities(datetime.now(timezone.utc) - timedelta(hours=1)))
    first = json.loads(meetq("collect").stdout)
    assert first["outcome"] == "ok"
    assert meetq.scalar("select count(*) from media_sessions where meeting_id = ?", SHARED) == 14
    assert meetq.scalar("select count(distinct participant_id) from media_sessions where meeting_id = ?", SHARED) == 14
    assert meetq.scalar("select count(*) from media_sessions where provider = 'google'") == len(google.activities())
    # The next cycle re-reads the same hours: nothing new, nothing doubled.
    second = json.loads(meetq("collect").stdout)
    assert second["outcome"] == "ok" and second["meetings_listed"] > 0 and second["sessions_written"] == 0
    assert meetq.scalar("select count(*) from media_sessions where provider = 'google'") == len(google.activities())


def test_a_simulator_whose_calls_share_qualifiers_loses_no_session(meetq):
    shared = GoogleSimulator(SimConfig(**{**SMALL_ORG, "seed": 11, "google_qualifiers": "meeting"})).start()
    try:
        add_google_account(meetq, shared)
        meetq.env.update(GOOGLE_ONLY)
        activities = shared.activities()
        assert len({a["id"]["uniqueQualifier"] for a in activities}) < len(activities) / 2
        assert json.loads(meetq("collect").stdout)["outcome"] == "ok"
        assert meetq.scalar("select count(*) from media_sessions") == len(activities)
    finally:
        shared.stop()


def test_the_migration_rekeys_sessions_stored_under_the_qualifier_alone(tmp_path):
    """A database of the previous release keyed Google sessions on the qualifier alone; after the
    migration the same activity read again finds its row instead of doubling it."""
    db = open_database(tmp_path / "old.db")
    try:
        activity = recorded()[0]
        meeting, session = prepare_activity(activity, "2024-03-03T07:00:00.000Z")
        old_id = stable_id("google", activity["id"]["uniqueQualifier"])
        old = replace(
            session,
            id=old_id,
            session=(old_id, *session.session[1:]),
            summaries=[(old_id, *s[1:]) for s in session.summaries],
        )
        with db.atomic():
            store.write_sessions(meeting["id"], [old], "gmeet", "google")
        db.execute_sql("PRAGMA user_version = 5")  # and Google's own migrations not yet run
        db.execute_sql("DELETE FROM collector_state WHERE key = 'schema.google'")
        models.migrate(db, schemas=providers.SCHEMAS)
        assert [r[0] for r in db.execute_sql("select id from media_sessions")] == [session.id]
        assert (
            db.execute_sql("select count(*) from media_summaries where session_id = ?", (session.id,)).fetchone()[0]
            == len(session.summaries)
            == 3
        )
        with db.atomic():
            assert store.write_sessions(meeting["id"], [session], "gmeet", "google") == (0, 0)
    finally:
        models.close_database()


def test_a_stop_during_attendance_is_interrupted_and_leaves_the_watermark(meetq, google):
    """The daemon's stop flag, raised once the Meet REST API is being read: the cycle says
    `interrupted` and the next one reads the same window again."""
    organizer = sorted({m.host.email for m in google.org.meetings.values()})[0]
    add_google_account(meetq, google, organizers=organizer)
    meetq.env.update(GOOGLE_ONLY)
    settings = load_settings(environ=meetq.env).account_named("gmeet")
    open_database(settings.database)
    try:
        stop = StopWhen(lambda: any(path.startswith("/v2/") for path in google.stats.calls))
        report = run_cycle(settings, stop=stop)
        assert report.outcome == "interrupted" and report.sessions_written > 0
        with database.connection_context():
            assert store.get_state("google.reports_until", account="gmeet") is None
        assert run_cycle(settings).outcome == "ok"
        with database.connection_context():
            assert store.get_state("google.reports_until", account="gmeet") is not None
    finally:
        models.close_database()
    assert meetq.scalar("select outcome from collector_runs order by id") == "interrupted"


def test_a_refused_meet_rest_answer_is_kept_like_any_refusal(meetq, google):
    organizer = sorted({m.host.email for m in google.org.meetings.values()})[0]
    add_google_account(meetq, google, organizers=organizer)
    meetq.env.update(GOOGLE_ONLY)
    sim_post(
        google,
        "/_sim/faults",
        [
            {
                "path": "/v2/conferenceRecords",
                "status": 403,
                "times": 1,
                "body": '{"error": {"code": 403, "message": "The caller does not have permission"}}',
            }
        ],
    )
    report = json.loads(meetq("collect", check=False).stdout)
    assert report["outcome"] == "partial" and "does not have permission" in report["messages"][0]
    kept = meetq.sql("select endpoint, status, body from raw_bodies where status = 403")
    assert kept == [
        ("conferenceRecords", 403, '{"error": {"code": 403, "message": "The caller does not have permission"}}')
    ]


class StopWhen(threading.Event):
    """A stop flag that rises by itself once `condition` holds (the daemon's SIGTERM, on cue)."""

    def __init__(self, condition):
        super().__init__()
        self.condition = condition

    def is_set(self):
        return self.condition()
