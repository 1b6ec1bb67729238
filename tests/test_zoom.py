"""Zoom: the transform on recorded Dashboard payloads, and the whole path through the real CLI
against the Zoom simulator over loopback (Server-to-Server tokens, double-encoded UUIDs, page
tokens that expire, 429 with a date, guests with blank ids)."""

import hashlib
import hmac
import json
import re
import signal
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from conftest import SMALL_ORG, free_port, wait_for
from meetq.clock import normalise_iso
from meetq.packing import unpack_rows
from meetq.providers.zoom.client import meeting_path
from meetq.providers.zoom.transform import (
    figure,
    meeting_row,
    prepare_page,
    private_body,
    session_keys,
    split_meeting_row,
)
from meetq.providers.zoom.webhooks import sign
from meetq.rows import SESSION_WRITE_COLUMNS, STREAM_COLUMNS, SUMMARY_COLUMNS
from meetq.simulator import SimConfig
from meetq.simulator.server import Fault
from meetq.simulator.zoom import ZoomSimulator

DATA = Path(__file__).parent / "data"
ZOOM_ONLY = {"MEETQ_WEBEX_CLIENT_ID": "", "MEETQ_WEBEX_CLIENT_SECRET": ""}  # no Webex account configured
FETCHED = "2026-12-04T00:00:00.000Z"


def recorded_participant() -> dict:
    return json.loads((DATA / "zoom_participant_qos_zoomnet.json").read_text())


def test_figures_arrive_as_text_with_units_and_empty_means_no_data():
    readings = {
        ("23 kbps", "bitrate"): 23000,
        ("27.15kbps", "bitrate"): 27150,  # exact: decimal, not 27150.000000000004
        ("1000", "bitrate"): 1_000_000,  # bare: kbps, as the reference describes bitrate
        ("126 ms", "latency"): 126,
        ("0ms", "jitter"): 0,
        ("0.3%", "avg_loss"): 0.3,
        ("12 fps", "frame_rate"): 12,
        ("1280*720", "resolution"): 720,
        ("0*0", "resolution"): None,  # no video
        ("", "avg_loss"): None,  # no data, never zero
        ("N/A", "latency"): None,
        ("12 parsecs", "latency"): None,
    }
    assert {key: figure(*key) for key in readings} == readings


def test_a_recorded_participant_becomes_a_session_with_a_stream_per_block():
    (session,) = prepare_page([recorded_participant()], "gm8s9L+PTEC+FG3sFbd1Cw==", FETCHED)
    row = dict(zip(SESSION_WRITE_COLUMNS, session.session))
    assert session.id == 902759930123672163  # pinned: a change that re-keys stored sessions fails here
    assert {k: row[k] for k in ("participant_id", "participant_session_id", "user_name", "user_email")} == {
        "participant_id": "_f08HhPJS82MIVLuuFaJPg",
        "participant_session_id": "20161536",
        "user_name": "jchill",
        "user_email": "jchill@example.com",
    }
    assert (row["join_time"], row["client_type"], row["client_version"], row["os_type"], row["hardware_type"]) == (
        "2022-03-01T10:15:14.000Z",
        "Web Meeting SDK 2.18",
        "5.9.1.2581",
        "iOS",
        "iPhone 7 Global",
    )
    assert (row["network_type"], row["server_region"], row["local_ip"], row["public_ip"], row["location"]) == (
        "ethernet",  # Zoom's "Wired", in the shared vocabulary (its own word is in zoom_sessions)
        "United States (SC Top)",
        "192.0.2.1",
        "192.0.2.1",
        "United States",
    )
    streams = {(s[2], s[3]): dict(zip(STREAM_COLUMNS, s)) for s in session.streams}
    assert set(streams) == {(k, d) for k in ("audio", "video", "share") for d in ("in", "out")}
    assert streams[("video", "out")]["start_time"] == "2022-03-01T10:16:00.000Z"
    assert (
        streams[("video", "out")]["sampling_interval"] == 60.0 and streams[("audio", "in")]["transport_type"] == "UDP"
    )
    samples = {s[0]: unpack_rows(s[4]) for s in session.series}
    # loss %, latency ms, jitter ms, bit/s, height, fps: the recorded text converted, nothing else
    assert samples[streams[("video", "in")]["id"]] == [[0.03, 126, 0, 27150, 720, 12]]
    assert samples[streams[("audio", "out")]["id"]] == [[0.03, 126, 0, 27150]]
    # CPU: Zoom's own average and maximum, no system average, the system maximum
    assert unpack_rows(session.cpu_series[0][4]) == [[[0, 2, None, 11]]]
    assert session.vendor[2] == (session.id, "D444CD06-2ABB-2FCC-019B-39E41D8DADF7", "20161536", "Phone", "wired",
                                 "United States (SC Top)", "Warning")  # fmt: skip
    # The shared rules: 12 fps received is fair (below 15), the rest good; no CPU verdict without
    # a system average.
    summaries = {(s["kind"], s["direction"]): s for s in (dict(zip(SUMMARY_COLUMNS, s)) for s in session.summaries)}
    assert {k: s["verdict"] for k, s in summaries.items()} == {
        **{k: "good" for k in streams},
        ("video", "in"): "fair",
    }
    assert (row["verdict"], row["verdict_reason"], row["verdict_metric"]) == (
        "fair",
        "video in: frame rate fell to 12 fps (fair below 15 fps)",
        "frame_rate",
    )
    assert row["avg_system_cpu"] is None and row["max_system_cpu"] is None


def test_a_recorded_listing_becomes_a_meeting_keyed_on_its_uuid():
    (item,) = json.loads((DATA / "zoom_past_meetings_zoomnet.json").read_text())["meetings"]
    core, own = split_meeting_row(meeting_row(item))
    assert {k: core[k] for k in ("id", "join_code", "title", "host_email", "start", "end", "state")} == {
        "id": "gm8s9L+PTEC+FG3sFbd1Cw==",
        "join_code": "93201235621",  # sent as a number
        "title": "Share Now",
        "host_email": "jchill@example.com",
        "start": "2022-01-04T08:04:27.000Z",
        "end": "2022-01-04T07:50:47.000Z",
        "state": "ended",
    }
    assert (own["meeting_number"], own["duration"], own["participants"], own["audio_quality"]) == (
        "93201235621",
        "00:56",  # as Zoom prints it: kept as text, not guessed at
        2,
        "good",
    )


def test_a_minute_split_over_two_entries_is_one_sample():
    """Zoom staff on the developer forum (thread 44764) show one minute of as_output as two records:
    the network figures in one, frame rate and resolution in the other."""
    participant = {
        "id": "p1",
        "user_name": "Kishan",
        "join_time": "2021-02-25T20:58:00Z",
        "user_qos": [
            {"date_time": "2021-02-25T20:59:00Z", "as_output": {"avg_loss": "0.0%", "bitrate": "49 kbps",
             "frame_rate": "", "jitter": "14 ms", "latency": "91 ms", "max_loss": "0.0%", "resolution": ""}},
            {"date_time": "2021-02-25T20:59:00Z", "as_output": {"avg_loss": "", "bitrate": "", "frame_rate": "24 fps",
             "jitter": "", "latency": "", "max_loss": "", "resolution": "1920*1040"}},
        ],
    }  # fmt: skip
    (session,) = prepare_page([participant], "m", FETCHED)
    (series,) = session.series
    assert unpack_rows(series[4]) == [[0.0, 91, 14, 49000, 1040, 24]] and series[3] == 1


def test_guests_with_blank_ids_are_told_apart_and_keep_their_ids_on_a_re_read():
    guest = {"id": "", "user_id": "", "user_name": "iPhone", "join_time": "2026-12-01T10:00:00Z", "device": "iOS"}
    twins = [dict(guest), dict(guest), {**guest, "join_time": "2026-12-01T10:05:00Z"}]
    first = [s.id for s in prepare_page(twins, "m", FETCHED)]
    assert len(set(first)) == 3
    assert [s.id for s in prepare_page([dict(g) for g in twins], "m", FETCHED)] == first
    # a meeting's pages share the count: the twin on the next page is not the first one again
    seen: dict = {}
    assert [s.id for s in prepare_page(twins[:1], "m", FETCHED, seen=seen)] + [
        s.id for s in prepare_page(twins[1:], "m", FETCHED, seen=seen)
    ] == first
    assert session_keys([]) == []


def test_uuids_with_a_leading_or_double_slash_are_encoded_twice():
    assert meeting_path("gm8s9L+PTEC+FG3sFbd1Cw==") == "gm8s9L%2BPTEC%2BFG3sFbd1Cw%3D%3D"
    assert meeting_path("ab/cd==") == "ab%2Fcd%3D%3D"
    assert meeting_path("/ajXp112QmuoKj4854875==") == "%252FajXp112QmuoKj4854875%253D%253D"
    assert meeting_path("Fv0a3j//O/B5+5orVch8uw==") == "Fv0a3j%252F%252FO%252FB5%252B5orVch8uw%253D%253D"


def test_addresses_are_masked_in_rows_and_in_the_raw_body():
    participant = recorded_participant()
    body = json.dumps({"participants": [participant]})
    kept = private_body(body, "masked")
    assert "192.0.2.1" not in kept and "192.0.2.*" in kept and '"version": "5.9.1.2581"' in kept


# -- over loopback --------------------------------------------------------------------------


@pytest.fixture
def zoom():
    # Up to twelve people a meeting (and their rejoins): some meetings take two pages of ten.
    org = {**SMALL_ORG, "seed": 23, "max_participants": 12, "client_id": "zc", "client_secret": "zs"}
    simulator = ZoomSimulator(SimConfig(**org))
    simulator.qos_per_second = 8  # meetq's default pace is 4 a second: it must never provoke a 429
    yield simulator.start()
    simulator.stop()


def add_zoom_account(meetq, zoom, **extra):
    lines = [
        "[zoom]",
        "qos_calls_per_second = 4.0",
        "ready_after_minutes = 0.0",
        "[[accounts]]",
        'name = "zoomorg"',
        'provider = "zoom"',
        f'account_id = "{zoom.account_id}"',
        'client_id = "zc"',
        'client_secret = "zs"',
        f'api_base = "{zoom.api_base}"',
        f'oauth_url = "{zoom.oauth_url}"',
    ] + [f"{k} = {json.dumps(v)}" for k, v in extra.items()]
    meetq.add_settings("\n".join(lines))


def collect(meetq) -> dict:
    result = json.loads(meetq("collect", env=ZOOM_ONLY).stdout)
    return result["accounts"]["zoomorg"] if "accounts" in result else result


def expected_participants(zoom) -> dict[str, int]:
    return {uuid: len(zoom.participants(uuid)) for uuid, _ in zoom.past()}


def as_number(text: str, field: str):
    """The test's own reading of a Zoom figure (not the transform's)."""
    if field == "resolution":
        height = int(text.split("*")[1]) if text else 0
        return height or None
    value = re.sub(r"[^0-9.]", "", text)  # kbps to bit/s in decimal: "32.24" is 32240, exactly
    return None if not value else float(Decimal(value) * (1000 if field == "bitrate" else 1))


def test_every_past_meeting_and_participant_is_stored_reading_each_page_once(meetq, zoom):
    add_zoom_account(meetq, zoom)
    first = collect(meetq)
    assert first["outcome"] == "ok", first
    expected = expected_participants(zoom)
    stored = dict(meetq.sql("select meeting_id, count(*) from media_sessions where provider = 'zoom' group by 1"))
    assert stored == {uuid: n for uuid, n in expected.items() if n} and sum(expected.values()) > 20
    assert any(u.startswith("/") or "//" in u for u in stored)  # the ones Zoom wants encoded twice
    assert meetq.scalar("select count(*) from meetings where provider = 'zoom'") == len(expected)
    # Exactly one read of every page (participants ten to a page), no 429 provoked, one token.
    pages = {(u, offset) for u, n in expected.items() for offset in range(0, max(n, 1), 10)}
    assert zoom.qos_reads == {page: 1 for page in pages}
    assert zoom.stats.served_429 == 0 and zoom.stats.token_grants == {"account_credentials": 1}
    # Guests have blank ids: still one session each.
    guests = sum(1 for u in expected for p in zoom.participants(u) if not p["id"])
    assert (
        guests
        and meetq.scalar("select count(*) from media_sessions where provider = 'zoom' and participant_id is null")
        == guests
    )
    # Every sample is the payload's figure in the shared unit.
    uuid = max(expected, key=expected.get)
    for participant in zoom.participants(uuid)[:3]:
        for entry in participant["user_qos"]:
            values = entry.get("audio_input") or {}
            if not values.get("avg_loss"):
                continue
            row = meetq.sql(
                "select x.packet_loss, x.latency, x.jitter, x.bit_rate from media_samples x "
                "join media_streams t on t.id = x.stream_id join media_sessions s on s.id = t.session_id "
                "where s.meeting_id = ? and s.join_time = ? and s.user_name = ? and t.kind = 'audio' "
                "and t.direction = 'out' and x.ts = ?",
                uuid,
                normalise_iso(participant["join_time"]),
                participant["user_name"],
                normalise_iso(entry["date_time"]),
            )
            fields = ("avg_loss", "latency", "jitter", "bitrate")
            assert row == [tuple(as_number(values[f], f) for f in fields)], (participant["user_name"], entry)
    # Finished meetings are never read again; the listing finds nothing new.
    again = collect(meetq)
    assert again["outcome"] == "ok" and again["sessions_written"] == 0 and again["quality_calls"] == 0
    assert zoom.qos_reads == {page: 1 for page in pages}
    assert meetq.scalar("select count(*) from zoom_meetings") == len(expected)
    assert (
        meetq.scalar(
            "select count(*) from media_sessions where provider = 'zoom' "
            "and public_ip like '%.%.%.%' and public_ip not like '%*'"
        )
        == 0
    )


def test_an_expired_token_and_an_expired_page_token_lose_no_participant(meetq, zoom):
    zoom.config.access_lifetime = 1.5  # tokens die while the queue is read (4 QoS calls a second)
    # and Zoom refuses a page token as too old (one: two refusals in a row on one meeting defer it
    # to the next cycle, by design, and which meeting meets them depends on the threads)
    zoom.expire_page_tokens = 1
    # and one token refused before its time (a 401 meetq answers by asking for a new one)
    zoom.faults.append(
        Fault(path="/participants/qos", status=401, times=1, body='{"code": 124, "message": "Invalid access token."}')
    )
    add_zoom_account(meetq, zoom)
    result = collect(meetq)
    assert result["outcome"] == "ok", result
    expected = expected_participants(zoom)
    stored = dict(meetq.sql("select meeting_id, count(*) from media_sessions where provider = 'zoom' group by 1"))
    assert stored == {uuid: n for uuid, n in expected.items() if n}
    assert zoom.stats.token_grants["account_credentials"] > 1 and zoom.expire_page_tokens == 0
    assert zoom.stats.faults_served == 1 and result["errors"] == 0
    assert any("qos_page_token_refused" in line for line in meetq.logs)


def test_a_daily_limit_answered_with_a_date_defers_the_meeting_until_then(meetq, zoom):
    add_zoom_account(meetq, zoom)
    until = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=3)
    zoom.faults.append(
        Fault(path="/participants/qos", status=429, times=1, retry_after=until.strftime("%Y-%m-%dT%H:%M:%SZ"))
    )
    first = collect(meetq)
    assert first["rate_limited"] == 1
    (deferred,) = meetq.sql(
        "select id, quality_due_at from meetings where provider = 'zoom' and quality_state = 'pending' "
        "and quality_error like 'rate limited%'"
    )
    assert abs((datetime.fromisoformat(deferred[1].replace("Z", "+00:00")) - until).total_seconds()) < 2
    time.sleep(max(0.0, (until - datetime.now(timezone.utc)).total_seconds()))
    collect(meetq)
    expected = expected_participants(zoom)
    assert (
        meetq.scalar("select count(*) from media_sessions where meeting_id = ?", deferred[0]) == expected[deferred[0]]
    )


def test_zoom_notifications_validate_the_url_and_refuse_bad_signatures_and_replays(meetq, zoom):
    port, secret = free_port(), "zoom-webhook-secret-token"
    meetq.write_config(interval_seconds=3600)
    meetq.add_settings(f'[webhook]\nlisten = "127.0.0.1:{port}"')
    add_zoom_account(meetq, zoom, webhook_secret=secret)
    # The subscription is Zoom's Marketplace's to make: the command says what to enter there, in a line.
    told = meetq("webhook", "register", "--url", "https://meetq.example.com/zoom", "--account", "zoomorg", check=False)
    assert told.returncode != 0 and "Traceback" not in told.stderr
    assert "Feature page" in told.stderr and "https://meetq.example.com/zoom" in told.stderr
    daemon = meetq.popen("run", env=ZOOM_ONLY)
    wait_for(lambda: meetq.scalar("select count(*) from collector_runs where outcome = 'ok'") == 1)
    url = f"http://127.0.0.1:{port}/zoom"

    def post(event: dict, key=secret, stamp=None, signature=None):
        body = json.dumps(event).encode()
        stamp = str(int(time.time())) if stamp is None else stamp
        headers = {"x-zm-request-timestamp": stamp, "x-zm-signature": signature or sign(key, stamp, body)}
        return requests.post(url, data=body, headers={**headers, "Content-Type": "application/json"}, timeout=10)

    validation = {"event": "endpoint.url_validation", "payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"}}
    answer = post(validation)
    expected = hmac.new(secret.encode(), b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
    assert answer.status_code == 200 and answer.json() == {
        "plainToken": "qgg8vlvZRS6UYooatFL8Aw",
        "encryptedToken": expected,
    }
    assert post(validation, key="someone-else's-secret").status_code == 401

    ended = {
        "event": "meeting.ended",
        "event_ts": 1733300000000,
        "payload": {"account_id": zoom.account_id, "object": {"uuid": "4444AAAiAAAAAiAiAiiAii==", "id": "93201235621",
                    "topic": "Late call", "start_time": "2026-12-04T09:00:00Z", "end_time": "2026-12-04T09:30:00Z"}},
    }  # fmt: skip
    assert post(ended, signature="v0=" + "0" * 64).status_code == 401  # wrongly signed
    assert post(ended, stamp=str(int(time.time()) - 3600)).status_code == 401  # an hour-old signature: a replay
    assert meetq.scalar("select count(*) from meetings where id = '4444AAAiAAAAAiAiAiiAii=='") == 0
    first = post(ended)
    assert first.status_code == 200 and first.json() == {"status": "queued"}
    assert post(ended).json() == {"status": "replay: already received"}
    (row,) = meetq.sql(
        "select provider, account, title, quality_state from meetings where id = '4444AAAiAAAAAiAiAiiAii=='"
    )
    assert row[:3] == ("zoom", "zoomorg", "Late call")
    daemon.send_signal(signal.SIGTERM)
    out, err = daemon.communicate(timeout=30)
    assert daemon.returncode == 0 and "Traceback" not in out + err and secret not in out + err
