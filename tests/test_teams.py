"""Teams: the transform and CQD's classifier on recorded Graph payloads, and the whole path through
the real CLI against the Graph simulator over loopback (client-credentials tokens, paged sessions,
revised records, 429, the subscription's validation handshake, renewal, removal, a forged
clientState)."""

import json
import signal
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests
from conftest import SMALL_ORG, free_port, wait_for
from meetq.http import same_origin
from meetq.providers.teams.classify import cqd_class, stream_verdicts
from meetq.providers.teams.transform import (
    counter,
    double,
    duration_ms,
    percent,
    prepare_record,
    private_body,
    private_session,
    record_row,
)
from meetq.rows import SESSION_WRITE_COLUMNS, STREAM_COLUMNS, SUMMARY_COLUMNS
from meetq.simulator import SimConfig
from meetq.simulator.server import Fault
from meetq.simulator.teams import TeamsSimulator
from meetq.verdicts import DEFAULT_THRESHOLDS

DATA = Path(__file__).parent / "data"
TEAMS_ONLY = {"MEETQ_WEBEX_CLIENT_ID": "", "MEETQ_WEBEX_CLIENT_SECRET": ""}  # no Webex account configured
FETCHED = "2026-12-04T00:00:00.000Z"


def recorded(name: str) -> dict:
    return json.loads((DATA / name).read_text())


def sessions_of(record: dict, mode: str = "full") -> list[dict]:
    prepared = prepare_record(record, record.get("sessions") or [], FETCHED, None, 500)
    return [
        {
            "session": dict(zip(SESSION_WRITE_COLUMNS, p.session)),
            "summaries": [dict(zip(SUMMARY_COLUMNS, s)) for s in p.summaries],
            "streams": [dict(zip(STREAM_COLUMNS, s)) for s in p.streams],
            "teams": dict(zip(p.vendor[1], p.vendor[2])),
            "teams_streams": [dict(zip(columns, values)) for _, columns, values in p.vendor_rows],
        }
        for p in prepared
    ]


# -- values -------------------------------------------------------------------------------------


def test_graph_values_become_the_shared_units_and_sentinels_no_value():
    assert {v: duration_ms(v) for v in ("PT0.016S", "PT1S", "PT1M2.5S", "PT0.0005S", "P0D", "NaN", "-PT1S", None)} == {
        "PT0.016S": 16,  # exactly, not 16.000000000000004
        "PT1S": 1000,
        "PT1M2.5S": 62500,
        "PT0.0005S": 0.5,
        "P0D": 0,
        "NaN": None,
        "-PT1S": None,
        None: None,
    }
    assert [double(v) for v in ("NaN", "INF", "-INF", float("nan"), True, 0.25, 3)] == [None] * 5 + [0.25, 3]
    assert [counter(v) for v in (4294967295, 18446744073709551615, -1, 54000000, "NaN")] == [
        None,
        None,
        None,
        54000000,
        None,
    ]
    assert [percent(v) for v in (0.1, 0.008604, 0, "NaN", None)] == [10, 0.8604, 0, None, None]


# -- recorded records ---------------------------------------------------------------------------


def test_a_recorded_group_call_is_one_session_from_the_callers_side():
    """CLI for Microsoft 365's recorded record: the callee is the conference service (no
    identity), `data` media carries nothing, the caller sent 529 packets and received none."""
    record = recorded("teams_callrecord_pnp_cli.json")
    row = record_row(record)
    assert (row["title"], row["start"], row["end"], row["host_email"]) == (
        "Teams meeting organised by John Doe",
        "2025-08-15T12:23:32.922Z",
        "2025-08-15T12:28:26.090Z",
        "john.doe@contoso.com",
    )
    assert row["teams"]["version"] == 1 and row["teams"]["call_type"] == "groupCall"
    (only,) = sessions_of(record)
    s = only["session"]
    assert (s["user_name"], s["user_email"], s["client_type"], s["os_type"], s["network_type"]) == (
        "John Doe",
        "john.doe@contoso.com",
        "teams",
        "windows",
        "wifi",
    )
    assert (s["local_ip"], s["public_ip"], s["microphone"], s["speaker"]) == (
        "192.168.0.243",
        None,  # reflexiveIPAddress "" is no address
        "Realtek(R) Audio",
        "Realtek(R) Audio",
    )
    # One stream per direction of main-audio; `data` has none meetq reads.
    assert sorted((t["kind"], t["direction"], t["codec"], t["transport_type"]) for t in only["streams"]) == [
        ("audio", "in", None, "UDP"),
        ("audio", "out", "satin", "UDP"),
    ]
    sent = next(t for t in only["teams_streams"] if t["direction"] == "out")
    assert (sent["packets"], sent["avg_latency"], sent["max_latency"], sent["avg_jitter"], sent["max_jitter"]) == (
        529,
        47,
        49,
        2,
        10,
    )
    assert (sent["avg_network_jitter"], sent["avg_concealed_ratio"], sent["bandwidth_estimate_bps"]) == (
        8,
        0.008604,
        2477474,
    )
    assert (sent["avg_packet_loss"], sent["cqd_class"]) == (0, "good")
    received = next(t for t in only["teams_streams"] if t["direction"] == "in")
    assert (received["packets"], received["cqd_class"]) == (0, "unclassified")
    assert {(m["kind"], m["direction"]): m["verdict"] for m in only["summaries"]} == {
        ("audio", "out"): "good",
        ("audio", "in"): "unrated",
    }
    assert s["verdict"] == "good"
    t = only["teams"]
    assert (t["side"], t["product_family"], t["subnet"], t["connection_type"], t["wifi_band"], t["wifi_signal"]) == (
        "caller",
        "teams",
        "192.168.0.0",
        "wifi",
        "frequency50GHz",
        94,
    )
    assert (t["link_speed_bps"], t["cpu_cores"], t["cpu_insufficient_ratio"], t["identity_kind"], t["other_end"]) == (
        526500000,
        14,
        0,
        "user",
        None,  # the conference service: nobody
    )


def test_a_recorded_peer_to_peer_call_gives_each_person_a_session():
    """Graph's own example: a call between two people is one Graph session; each is a meetq
    session, and what the caller sent is what the callee received."""
    record = recorded("teams_callrecord_graph_docs.json")
    assert record_row(record)["meeting_type"] == "call"
    caller, callee = sessions_of(record)
    assert (caller["session"]["user_name"], callee["session"]["user_name"]) == ("Abbie Wilkins", "Owen Franklin")
    assert (caller["teams"]["side"], callee["teams"]["side"]) == ("caller", "callee")
    assert caller["session"]["id"] != callee["session"]["id"]
    assert [(t["direction"], t["avg_jitter"]) for t in caller["teams_streams"]] == [("out", 16)]
    assert [(t["direction"], t["avg_jitter"]) for t in callee["teams_streams"]] == [("in", 16)]
    # No packet count: CQD leaves the stream unclassified, and so does meetq.
    assert caller["session"]["verdict"] == "unrated" and "no packet count" in caller["session"]["verdict_reason"]
    assert (
        callee["teams"]["feedback_rating"] == "poor"
        and caller["teams"]["other_end"] == "skypeForBusiness Owen Franklin"
    )


def test_a_recorded_listing_with_a_phone_organiser_and_an_unknown_type():
    rows = [record_row(item) for item in recorded("teams_list_graph_docs.json")["value"]]
    assert [(r["teams"]["organizer_kind"], r["teams"]["organizer_id"], r["host_display_name"]) for r in rows] == [
        ("user", "821809f5-0000-0000-0000-3b5136c0e777", "Abbie Wilkins"),
        ("phone", "+5564981205182", None),
    ]
    assert [r["title"] for r in rows] == [
        "Teams call organised by Abbie Wilkins",
        "Teams call organised by +5564981205182",
    ]
    assert [(r["teams"]["call_type"], r["teams"]["version"], r["start"]) for r in rows] == [
        (None, 2, "2023-09-25T09:28:38.000Z"),  # "unknown" is no type
        (None, 2, "2023-09-25T14:03:36.000Z"),
    ]


def test_addresses_are_masked_in_rows_and_in_the_raw_body():
    record = recorded("teams_callrecord_pnp_cli.json")
    masked = {**record, "sessions": [private_session(s, "masked") for s in record["sessions"]]}
    (only,) = sessions_of(masked)
    assert only["session"]["local_ip"] == "192.168.0.*" and only["teams"]["subnet"] == "192.168.0.*"
    body = private_body(json.dumps(record), "none")
    assert "192.168.0.243" not in body and "Intel:23.110.0.5" in body  # a driver version is no address


def test_a_next_link_to_another_host_is_not_followed():
    first = "https://graph.microsoft.com/v1.0/communications/callRecords"
    assert same_origin(first + "?$skiptoken=2", first) == first + "?$skiptoken=2"
    assert same_origin("https://attacker.example/steal?$skiptoken=2", first) is None
    assert same_origin("http://graph.microsoft.com/v1.0/x", first) is None  # not over plain HTTP either


# -- CQD's classifier, a rule at a time ---------------------------------------------------------

AUDIO = {"avg_latency": 100, "avg_packet_loss": 0.5, "avg_jitter": 5}


@pytest.mark.parametrize(
    "figure, inside, past",
    [("avg_latency", 500, 501), ("avg_packet_loss", 10, 10.01), ("avg_jitter", 30, 30.5)],
)
def test_an_audio_stream_is_poor_just_past_each_cqd_line(figure, inside, past):
    assert cqd_class("audio", {**AUDIO, figure: inside}, 501, 500)[0] == "good"
    found, rules = cqd_class("audio", {**AUDIO, figure: past}, 501, 500)
    assert found == "poor" and [r.figure for r in rules] == [figure]
    # meetq's verdict is CQD's: poor exactly when CQD says poor, and why
    _, verdicts = stream_verdicts("audio in", "audio", "in", {**AUDIO, figure: past}, 501, DEFAULT_THRESHOLDS, 500)
    assert [v.level for v in verdicts] == ["poor"] and "(CQD: poor above" in verdicts[0].reason


def test_an_audio_stream_of_500_packets_or_fewer_is_unclassified():
    bad = {"avg_latency": 900, "avg_packet_loss": 40, "avg_jitter": 90}
    assert cqd_class("audio", bad, 500, 500)[0] == "unclassified"
    assert cqd_class("audio", bad, None, 500)[0] == "unclassified"
    assert cqd_class("audio", bad, 501, 500)[0] == "poor"


@pytest.mark.parametrize(
    "kind, figure, inside, past",
    [
        ("video", "frame_loss_pct", 50, 50.1),
        ("video", "avg_frame_rate", 7, 6.99),
        ("video", "post_fec_loss", 15, 15.01),
        ("share", "frame_loss_pct", 50, 50.1),
        ("share", "avg_frame_rate", 2, 1.99),
        ("share", "post_fec_loss", 15, 15.01),
    ],
)
def test_a_video_or_sharing_stream_is_poor_just_past_each_cqd_line(kind, figure, inside, past):
    assert cqd_class(kind, {figure: inside}, 0, 500)[0] == "good"
    assert cqd_class(kind, {figure: past}, 0, 500)[0] == "poor"


def test_the_first_video_figure_reported_decides_as_in_cqd():
    # Frame loss reported and fine: good, whatever the frame rate (CQD stops at step 1).
    assert cqd_class("video", {"frame_loss_pct": 10, "avg_frame_rate": 1, "post_fec_loss": 90}, 0, 500)[0] == "good"
    assert cqd_class("video", {"avg_frame_rate": 30, "post_fec_loss": 90}, 0, 500)[0] == "good"
    assert cqd_class("video", {"post_fec_loss": 90}, 0, 500)[0] == "poor"
    assert cqd_class("video", {}, 0, 500)[0] == "unclassified"


def test_what_cqd_calls_good_is_fair_past_the_shared_fair_lines_and_never_poor():
    # 400 ms round trip: CQD good (not over 500); past meetq's shared fair line (150 ms): fair.
    found, verdicts = stream_verdicts(
        "audio in", "audio", "in", {**AUDIO, "avg_latency": 400}, 600, DEFAULT_THRESHOLDS, 500
    )
    assert found == "good" and [v.level for v in verdicts] == ["fair"]
    # 12 % video loss after FEC is CQD good (not over 15 %); the shared poor line (15 %) is not reached: fair.
    found, verdicts = stream_verdicts(
        "video in", "video", "in", {"post_fec_loss": 12, "avg_packet_loss": 12}, 0, DEFAULT_THRESHOLDS, 500
    )
    assert found == "good" and [v.level for v in verdicts] == ["fair"]


# -- end to end against the simulator -------------------------------------------------------------


@pytest.fixture
def teams():
    org = {**SMALL_ORG, "seed": 31, "max_participants": 6, "client_id": "tc", "client_secret": "ts"}
    simulator = TeamsSimulator(SimConfig(**org))
    simulator.sessions_page_size = 2  # most records take several pages of sessions
    simulator.revise_after_seconds = 3600  # nothing revises itself during a test unless asked
    # Graph's own limits, scaled to a test's seconds: meetq's defaults must never provoke a 429.
    simulator.record_limit, simulator.tenant_limit, simulator.limit_window = 4, 40, 2.0
    yield simulator.start()
    simulator.stop()


def add_teams_account(meetq, teams, **teams_settings):
    section = {"revision_hours": 1000.0, **teams_settings}  # every record of the test's week is still revised
    lines = [
        "[teams]",
        *(f"{k} = {json.dumps(v)}" for k, v in section.items()),
        "[[accounts]]",
        'name = "teamsorg"',
        'provider = "teams"',
        f'tenant_id = "{teams.tenant_id}"',
        'client_id = "tc"',
        'client_secret = "ts"',
        f'graph_base = "{teams.graph_base}"',
        f'login_base = "{teams.login_base}"',
    ]
    meetq.add_settings("\n".join(lines))


def collect(meetq) -> dict:
    result = json.loads(meetq("collect", env=TEAMS_ONLY).stdout)
    return result["accounts"]["teamsorg"] if "accounts" in result else result


def expected_sessions(teams) -> dict[str, int]:
    """Sessions each record should give: one per Graph session, two for a call of two people."""
    return {i: (2 if len(m.participants) == 2 else len(teams.sessions(i))) for i, m in teams.published()}


def stored_sessions(meetq) -> dict[str, int]:
    return dict(meetq.sql("select meeting_id, count(*) from media_sessions where provider = 'teams' group by 1"))


def test_every_record_and_session_page_is_stored_within_graphs_limits(meetq, teams):
    add_teams_account(meetq, teams)
    first = collect(meetq)
    assert first["outcome"] == "ok", first
    expected = expected_sessions(teams)
    assert stored_sessions(meetq) == {i: n for i, n in expected.items() if n} and sum(expected.values()) > 20
    assert meetq.scalar("select count(*) from meetings where provider = 'teams'") == len(expected)
    assert teams.stats.served_429 == 0 and teams.stats.token_grants == {"client_credentials": 1}
    pages = sum(-(-len(teams.sessions(i)) // 2) for i in expected)
    assert first["quality_pages"] == pages and pages > len(expected)  # every page of sessions, each once
    # Every stream figure is the payload's, in the shared units.
    record_id = max(expected, key=expected.get)
    session = teams.sessions(record_id)[0]
    audio = next(m for m in session["segments"][0]["media"] if m["label"] == "main-audio")
    sent = next(s for s in audio["streams"] if s["streamDirection"] == "callerToCallee")
    (row,) = meetq.sql(
        "select t.packets, t.avg_packet_loss, t.avg_jitter, t.avg_latency, t.cqd_class from teams_streams t "
        "join teams_sessions s on s.session_id = t.session_id where s.graph_session_id = ? and t.label = 'main-audio' "
        "and t.direction = 'out'",
        session["id"],
    )
    assert row[:4] == (
        sent["packetUtilization"],
        pytest.approx(sent["averagePacketLossRate"] * 100),
        float(sent["averageJitter"][2:-1]) * 1000,
        float(sent["averageRoundTripTime"][2:-1]) * 1000,
    )
    assert row[4] in ("good", "poor")
    # "NaN" and 4294967295 are stored as no value, never as numbers.
    assert meetq.scalar("select count(*) from teams_streams where bandwidth_estimate_bps = 4294967295") == 0
    assert meetq.scalar("select count(*) from teams_sessions where link_speed_bps >= 4294967295") == 0
    assert meetq.scalar("select count(*) from teams_sessions where link_speed_bps is null") > 0
    # Read again within the revision window with nothing revised: nothing written.
    again = collect(meetq)
    assert again["outcome"] == "ok" and again["sessions_written"] == 0


def test_a_record_revised_twice_keeps_one_set_of_sessions_with_the_last_figures(meetq, teams):
    add_teams_account(meetq, teams, reread_minutes=1.0)
    collect(meetq)
    before = stored_sessions(meetq)
    record_id = max(before, key=before.get)
    loss = (
        "select sum(t.avg_packet_loss) from teams_streams t join media_sessions s on s.id = t.session_id "
        "where s.meeting_id = ?"
    )
    first_loss = meetq.scalar(loss, record_id)
    for version in (2, 3):
        assert teams.revise(record_id) == version
        result = collect(meetq)  # the listing shows the newer version: the record is read again at once
        assert result["outcome"] == "ok" and result["sessions_written"] > 0
        assert (
            meetq.scalar("select version, read_version from teams_records where meeting_id = ?", record_id) == version
        )
        assert meetq.sql("select read_version from teams_records where meeting_id = ?", record_id) == [(version,)]
    assert stored_sessions(meetq) == before  # not one session more
    assert meetq.scalar(loss, record_id) == pytest.approx(first_loss * 1.5, rel=1e-3)  # the revision's figures
    filled = meetq.scalar(
        "select count(*) from teams_streams t join media_sessions s on s.id = t.session_id "
        "where s.meeting_id = ? and t.avg_concealed_ratio = 0.01",
        record_id,
    )
    assert filled > 0
    # The verdicts are the last figures' (re-judged, not left from the first read).
    reasons = meetq.sql("select verdict_reason from media_sessions where meeting_id = ?", record_id)
    assert all(r[0] for r in reasons)


def test_a_429_defers_the_record_and_loses_nothing(meetq, teams):
    add_teams_account(meetq, teams)
    teams.faults.append(Fault(path="/v1.0/communications/callRecords/", status=429, times=1, retry_after="1"))
    first = collect(meetq)
    assert first["rate_limited"] == 1
    (deferred,) = meetq.sql("select id from meetings where provider = 'teams' and quality_error like 'rate limited%'")
    time.sleep(1.2)
    collect(meetq)
    expected = expected_sessions(teams)
    assert stored_sessions(meetq) == {i: n for i, n in expected.items() if n}
    assert deferred[0] in stored_sessions(meetq)


def test_the_subscription_validates_renews_is_made_again_and_refuses_a_forged_client_state(meetq, teams):
    port = free_port()
    meetq.write_config(interval_seconds=3600)
    meetq.add_settings(f'[webhook]\nlisten = "127.0.0.1:{port}"')
    add_teams_account(meetq, teams, notification_delay_minutes=0.0)
    daemon = meetq.popen("run", env=TEAMS_ONLY)
    wait_for(lambda: meetq.scalar("select count(*) from collector_runs where outcome = 'ok'") == 1)
    url = f"http://127.0.0.1:{port}/teams"
    # Graph validates the address while it makes the subscription: the receiver echoes the token.
    made = meetq("webhook", "register", "--url", url, "--account", "teamsorg", env=TEAMS_ONLY)
    (subscription,) = teams.subscriptions.values()
    assert subscription["id"] in made.stdout and teams.validations == 1
    registration = meetq.workdir / "secrets.teamsorg.subscription.json"
    assert registration.stat().st_mode & 0o777 == 0o600
    client_state = json.loads(registration.read_text())["secret"]
    assert client_state == subscription["clientState"] and client_state not in made.stdout + made.stderr
    # A validation token comes back as it was, as plain text; one that is not Graph's does not.
    echoed = requests.post(f"{url}?validationToken=Validation%3A+Testing+client+application", timeout=5)
    assert (echoed.status_code, echoed.text) == (200, "Validation: Testing client application")
    assert echoed.headers["content-type"].startswith("text/plain")
    # A forged clientState stores nothing.
    record_id = "0b8f7f2e-0000-4000-8000-00000000beef"
    forged = requests.post(
        url,
        json={"value": [{"clientState": "guess", "resource": f"communications/callRecords/{record_id}"}]},
        timeout=5,
    )
    assert forged.status_code == 401
    assert meetq.scalar("select count(*) from meetings where id = ?", record_id) == 0
    assert teams.notify(record_id, client_state="guess") == [401]
    # A real notification queues its record and is answered within Graph's 3 seconds.
    fresh = teams.published()[-1][0]
    meetq.sql("select 1")  # the database exists
    with_known = meetq.scalar("select count(*) from meetings where id = ?", fresh)
    assert teams.notify(fresh, "updated") == [202]
    wait_for(lambda: meetq.scalar("select quality_passes from meetings where id = ?", fresh) >= 1 + with_known)
    # Graph removes the subscription and says so: meetq makes a new one (validated again).
    teams.remove_subscription(subscription["id"])
    wait_for(lambda: len(teams.subscriptions) == 1 and subscription["id"] not in teams.subscriptions)
    wait_for(lambda: json.loads(registration.read_text())["id"] in teams.subscriptions)
    assert teams.validations == 2
    daemon.send_signal(signal.SIGTERM)
    out, err = daemon.communicate(timeout=30)
    assert daemon.returncode == 0 and "Traceback" not in out + err and client_state not in out + err
    # A subscription about to end is renewed when the daemon starts (and every hour after).
    (current,) = teams.subscriptions.values()
    soon = (datetime.now(timezone.utc) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    registration.write_text(json.dumps({**json.loads(registration.read_text()), "expires": soon}))
    registration.chmod(0o600)
    current["expirationDateTime"] = soon
    daemon = meetq.popen("run", env=TEAMS_ONLY)
    wait_for(lambda: current["expirationDateTime"] != soon)
    renewed = datetime.fromisoformat(current["expirationDateTime"].replace("Z", "+00:00"))
    assert renewed - datetime.now(timezone.utc) > timedelta(days=2)
    daemon.send_signal(signal.SIGTERM)
    out, err = daemon.communicate(timeout=30)
    assert daemon.returncode == 0 and "Traceback" not in out + err
