"""The transform on recorded payloads: exact rows, legacy names, ragged and missing data."""

import json
from pathlib import Path

from meetq.packing import unpack_rows
from meetq.providers.webex.transform import meeting_row, session_rows, split_meeting_row
from meetq.rows import SUMMARY_COLUMNS, stable_id

DATA = Path(__file__).parent / "data"


def load(name):
    return json.loads((DATA / name).read_text())


def named(summary: tuple) -> dict:
    return dict(zip(SUMMARY_COLUMNS, summary))


def test_spec_example_session_row_is_exact():
    item = load("qualities_spec_example.json")["items"][0]
    rows = session_rows(item)
    session = dict(rows.session)
    assert len(session.pop("content_sha256")) == 64
    meeting_id = "e5dba9613a9d455aa49f6ffdafb6e7db_I_191395283063545470"
    assert session == {
        "id": stable_id(
            meeting_id,
            "8635cbf0ca1a4573b27348e560679b25_I_158174534545967299_57",
            "3324C9D0-9EA7-45A2-B249-5B62A384AFEF",
            "2020-04-10T17:00:00.000Z",
            None,
        ),
        "meeting_id": meeting_id,
        "participant_id": "8635cbf0ca1a4573b27348e560679b25_I_158174534545967299_57",
        "participant_session_id": "3324C9D0-9EA7-45A2-B249-5B62A384AFEF",
        "user_name": "John Andersen",
        "user_email": "john.andersen@example.com",
        "join_time": "2020-04-10T17:00:00.000Z",
        "leave_time": "2020-04-10T17:02:00.000Z",
        "join_meeting_seconds": 5.793,
        "client_type": "Teams_Mobile_Client (iOS)",
        "client_version": "40.5.0.210",
        "os_type": "mac",
        "os_version": "Version 10.14.6 (Build 18G3020)",
        "hardware_type": "mac book",
        "network_type": "wifi",
        "server_region": "San Jose, USA",
        "speaker": "MacBook Pro Speakers",
        "microphone": "External Microphone",
        "camera": "FaceTime HD Camera",
        "local_ip": "10.24.72.54",
        "public_ip": "10.24.72.54",
        "masked_local_ip": "10.24.72.54",
        "masked_public_ip": "10.24.72.54",
        "video_mesh_cluster": "Mesh Cluster One",
        "video_mesh_server": "server.example.com",
        "legacy_fields": None,
        "location": None,
    }


def test_spec_example_streams_and_ragged_samples():
    rows = session_rows(load("qualities_spec_example.json")["items"][0])
    kinds = [(s["kind"], s["direction"], s["codec"], s["sample_count"]) for s in rows.streams]
    assert kinds == [
        ("audio", "in", "Opus", 1),
        ("audio", "out", "Opus", 1),
        ("video", "in", "H.264 BP", 1),
        ("video", "out", "H.264 BP", 1),
        ("share", "in", "H.264 BP", 1),
        ("share", "out", "H.264 BP", 1),
    ]
    video_in = next(s for s in rows.streams if (s["kind"], s["direction"]) == ("video", "in"))
    # videoIn has frameRate [25.940001] and jitter [170]: one interval, everything else absent.
    assert [s for s in rows.samples if s[0] == video_in["id"]] == [
        (video_in["id"], 0, None, None, 170.0, None, None, 25.940001)
    ]
    assert rows.cpu == []  # the example's resources arrays are all empty


def test_two_sessions_exact_samples_and_cpu():
    first, second = (session_rows(i) for i in load("qualities_two_sessions.json")["items"])
    audio_in = next(s for s in first.streams if (s["kind"], s["direction"]) == ("audio", "in"))
    assert [s for s in first.samples if s[0] == audio_in["id"]] == [
        (audio_in["id"], 0, 0.0, 38.0, 2.0, 41200.0, None, None),
        (audio_in["id"], 1, 1.3, 120.0, 31.0, 39800.0, None, None),
        (audio_in["id"], 2, 0.4, 41.0, 6.0, 40100.0, None, None),
    ]
    # As stored: the stream's clock as integers, its rows packed exactly as sent (without the
    # trailing nulls: an audio stream has no resolution or frame rate).
    series = next(s for s in first.series if s[0] == audio_in["id"])
    start_ms = 1775840404000  # 2026-04-10T17:00:04.000Z
    assert series[1:4] == (start_ms, 60_000, 3)
    assert unpack_rows(series[4]) == [
        [0.0, 38.0, 2.0, 41200.0],
        [1.3, 120.0, 31.0, 39800.0],
        [0.4, 41.0, 6.0, 40100.0],
    ]
    # CPU has no clock of its own: it is aligned on the session's earliest stream.
    assert [row[:4] for row in first.cpu_series] == [(first.session["id"], start_ms, 60_000, 3)]
    assert unpack_rows(first.cpu_series[0][4]) == [
        [[6.0, 14.0, 19.0, 27.0], [8.0, 15.0, 21.0, 36.0], [6.0, 14.0, 18.0, 30.0]]
    ]
    assert first.cpu == [
        (first.session["id"], 0, 0, 6.0, 14.0, 19.0, 27.0),
        (first.session["id"], 0, 1, 8.0, 15.0, 21.0, 36.0),
        (first.session["id"], 0, 2, 6.0, 14.0, 18.0, 30.0),
    ]
    # The second item omits optional fields: they become NULL, nothing fails.
    assert second.session["speaker"] is None and second.session["local_ip"] is None
    assert second.session["network_type"] == "cellular"
    assert {(s["kind"], s["direction"], s["transport_type"]) for s in second.streams} == {
        ("audio", "in", "TCP"),
        ("audio", "out", "TCP"),
    }
    assert len(second.samples) == 4 and second.cpu == []


def test_legacy_names_unknown_enums_and_junk_values():
    item = {
        "meetingId": "m_I_1",
        "displayName": "Old Client",
        "email": "OLD@Example.com",
        "joined": "2026-01-01T10:00:00Z",
        "client": "Webex Meetings (Win)",
        "remoteIP": "198.51.100.7",
        "networkType": "satellite",
        "participantId": "p1",
        "futureField": {"x": 1},
        "audioIn": [
            {
                "samplingInterval": "60",
                "startTime": "2026-01-01T10:00:00Z",
                "packetLoss": ["1.5", None, "NaN", "x"],
                "latency": [10],
                "transportType": "quic",
            }
        ],
        "videoIn": "not a list",
        "resources": [{"systemMaxCPU": [99]}],
    }
    rows = session_rows(item)
    assert rows.session["meeting_id"] == "m_I_1"
    assert rows.session["user_name"] == "Old Client" and rows.session["user_email"] == "old@example.com"
    assert rows.session["join_time"] == "2026-01-01T10:00:00.000Z"
    assert rows.session["client_type"] == "Webex Meetings (Win)" and rows.session["public_ip"] == "198.51.100.7"
    assert rows.session["legacy_fields"] == "client,displayName,email,joined,meetingId,remoteIP"
    assert rows.session["network_type"] == "satellite"
    stream_id = rows.streams[0]["id"]
    assert rows.streams[0]["transport_type"] == "QUIC"
    assert rows.samples == [
        (stream_id, 0, 1.5, 10.0, None, None, None, None),
        (stream_id, 1, None, None, None, None, None, None),
        (stream_id, 2, None, None, None, None, None, None),
        (stream_id, 3, None, None, None, None, None, None),
    ]
    assert rows.cpu == [(rows.session["id"], 0, 0, None, None, None, 99.0)]


def test_numbers_that_are_no_measurement_become_null_whatever_else_the_array_holds():
    """Whole arrays of numbers are converted in one step; any value that is not a finite number
    (a boolean, NaN or Infinity as Python's json reads them, an int past a double) still reads as
    NULL alone, and its neighbours keep their values."""
    arrays = {
        "[1, 2.5, true]": [1.0, 2.5, None],
        "[NaN, 1]": [None, 1.0],
        "[Infinity, -1e308]": [None, -1e308],
        "[1e308, 1e308]": [1e308, 1e308],
        f"[{10**400}, 3]": [None, 3.0],
        f"[{10**400}, -{10**400}]": [None, None],
        f"[{2**64}, 1]": [float(2**64), 1.0],
        "[25.940001, 0]": [25.940001, 0.0],
    }
    for text, expected in arrays.items():
        rows = session_rows(
            {
                "meetingInstanceId": "m",
                "participantId": "p",
                "audioIn": [{"samplingInterval": 60, "packetLoss": json.loads(text)}],
            }
        )
        assert [sample[2] for sample in rows.samples] == expected, text


def test_item_without_any_meeting_id_is_skipped_unless_the_caller_knows_it():
    assert session_rows({"webexUserName": "x"}) is None
    assert session_rows({"webexUserName": "x"}, fallback_meeting_id="m").session["meeting_id"] == "m"


def test_same_payload_same_ids():
    item = load("qualities_two_sessions.json")["items"][0]
    assert session_rows(item).session["id"] == session_rows(json.loads(json.dumps(item))).session["id"]


def test_meeting_row_drops_passwords_and_normalises_times():
    items = load("meetings_spec_example.json")["items"]
    row = meeting_row(items[1])
    assert row["id"] == "870f51ff287b41be84648412901e0402_I_167427437874906709"
    assert row["state"] == "ended" and row["meeting_type"] == "meeting"
    assert row["start"].endswith("Z") and len(row["start"]) == 24
    raw = json.loads(row["raw"])
    assert "password" not in raw and "hostKey" not in raw and "phoneAndVideoSystemPassword" not in raw
    assert raw["title"] == items[1]["title"]
    assert meeting_row({"title": "no id"}) is None
    core, own = split_meeting_row(meeting_row(items[0]))
    assert core["join_code"] == "123456789" and "site_url" not in core and "scheduled_meeting_id" not in core
    assert own == {
        "meeting_id": items[0]["id"],
        "site_url": "site4-example.webex.com",
        "scheduled_meeting_id": None,  # a series item: it is the scheduled meeting
    }
    assert split_meeting_row(row)[1]["scheduled_meeting_id"] == "870f51ff287b41be84648412901e0402_20191101T120000Z"


def test_verdicts_name_the_metric_that_decided_in_words():
    from meetq.minutes import summarise_session

    first, second = (session_rows(i) for i in load("qualities_two_sessions.json")["items"])
    summaries, verdict = summarise_session(second)
    # Every metric that tripped, worst first: both jitters are poor (CQD: above 30 ms), then the rest.
    audio_in = (
        "audio in: jitter peaked at 80 ms (poor above 30 ms); audio in: packet loss peaked at 7.9 % "
        "(fair above 1 %); audio in: latency peaked at 240 ms (fair above 150 ms)"
    )
    audio_out = (
        "audio out: jitter peaked at 55 ms (poor above 30 ms); audio out: packet loss peaked at 3.5 % "
        "(fair above 1 %); audio out: latency peaked at 210 ms (fair above 150 ms)"
    )
    assert verdict == {
        "avg_system_cpu": None,
        "max_system_cpu": None,
        "verdict": "poor",
        "verdict_reason": "audio in: jitter peaked at 80 ms (poor above 30 ms); "
        "audio out: jitter peaked at 55 ms (poor above 30 ms); "
        "audio in: packet loss peaked at 7.9 % (fair above 1 %); "
        "audio out: packet loss peaked at 3.5 % (fair above 1 %); "
        "audio in: latency peaked at 240 ms (fair above 150 ms); "
        "audio out: latency peaked at 210 ms (fair above 150 ms)",
        "verdict_metric": "jitter",
    }
    assert summaries == [
        # avg, peak, max of loss, latency, jitter; avg bit rate; peak and min frame rate; min height; avg fps;
        # verdict, reasons, metric, seconds
        (
            second.session["id"],
            "audio",
            "in",
            2,
            6.05,
            7.9,
            7.9,
            210.0,
            240.0,
            240.0,
            62.5,
            80.0,
            80.0,
            21000.0,
            None,
            None,
            None,
            None,
            "poor",
            audio_in,
            "jitter",
            120.0,
        ),
        (
            second.session["id"],
            "audio",
            "out",
            2,
            2.75,
            3.5,
            3.5,
            190.0,
            210.0,
            210.0,
            42.5,
            55.0,
            55.0,
            22000.0,
            None,
            None,
            None,
            None,
            "poor",
            audio_out,
            "jitter",
            120.0,
        ),
    ]
    summaries, verdict = summarise_session(first)
    assert verdict["verdict"] == "poor" and verdict["max_system_cpu"] == 21.0
    assert verdict["verdict_reason"] == (
        "audio in: jitter peaked at 31 ms (poor above 30 ms); audio in: packet loss peaked at 1.3 % (fair above 1 %)"
    )
    video_in = next(named(s) for s in summaries if named(s)["kind"] == "video" and named(s)["direction"] == "in")
    assert (
        video_in["p10_frame_rate"],
        video_in["min_frame_rate"],
        video_in["min_resolution_height"],
        video_in["avg_frame_rate"],
    ) == (18.84, 18.84, 360.0, 21.94)


def test_one_bad_minute_in_an_hour_does_not_condemn_a_call():
    from meetq.minutes import summarise_session

    def hour(loss):
        return session_rows(
            {
                "meetingInstanceId": "m",
                "participantId": "p",
                "audioIn": [{"samplingInterval": 60, "startTime": "2026-01-01T10:00:00Z", "packetLoss": loss}],
            }
        )

    blip = [0.1] * 59 + [19.0]
    summaries, verdict = summarise_session(hour(blip))
    audio_in = named(summaries[0])
    assert verdict["verdict"] == "good" and (audio_in["p90_packet_loss"], audio_in["max_packet_loss"]) == (0.1, 19.0)
    sustained = [0.1] * 54 + [12.0] * 6  # six minutes of 12 % loss
    _, verdict = summarise_session(hour(sustained))
    assert verdict["verdict_reason"] == "audio in: packet loss peaked at 12 % (poor above 10 %)"


def test_thresholds_come_from_the_caller_and_frame_rate_judges_video_only():
    from meetq.minutes import summarise_session

    first = session_rows(load("qualities_two_sessions.json")["items"][0])
    calm = {"loss_fair_pct": 50, "loss_poor_pct": 60, "jitter_fair_ms": 100, "jitter_poor_ms": 120}
    _, verdict = summarise_session(first, {**calm, "frame_rate_fair_fps": 20})
    assert verdict["verdict"] == "fair"
    assert verdict["verdict_reason"] == "video in: frame rate fell to 18.8 fps (fair below 20 fps)"
    _, verdict = summarise_session(first, calm)
    assert verdict["verdict"] == "good"


def test_ip_privacy_on_items_and_on_raw_text():
    from meetq.providers.webex.transform import private_body, private_item

    item = {
        "localIP": "10.24.72.54",
        "publicIP": "2001:db8:85a3:8d3:1319:8a2e:370:7348",
        "remoteIP": "",
        "maskedLocalIP": "10.24.72.*",
        "webexUserName": "x",
    }
    assert private_item(item, "full") == item
    assert private_item(item, "masked") == {**item, "localIP": "10.24.72.*", "publicIP": "2001:db8:85a3:*"}
    assert private_item(item, "none") == {
        **item,
        "localIP": None,
        "publicIP": None,
        "remoteIP": "",
        "maskedLocalIP": None,
    }
    body = '{"items":[{"localIP" : "10.1.2.3","publicIP":"203.0.113.9","packetLoss":[1.50, 1e5]}]}'
    assert (
        private_body(body, "masked")
        == '{"items":[{"localIP" : "10.1.2.*","publicIP":"203.0.113.*","packetLoss":[1.50, 1e5]}]}'
    )
    assert private_body(body, "none") == '{"items":[{"localIP" : null,"publicIP":null,"packetLoss":[1.50, 1e5]}]}'


def test_content_fingerprint_ignores_key_order_and_sees_every_change():
    from meetq.rows import content_fingerprint

    item = {"participantId": "p1", "audioIn": [{"packetLoss": [0.1, 2, None], "codec": "opus"}], "n": 1}
    same = {"n": 1, "audioIn": [{"codec": "opus", "packetLoss": [0.1, 2, None]}], "participantId": "p1"}
    assert content_fingerprint(item) == content_fingerprint(same)
    changes = [
        {**item, "n": "1"},
        {**item, "n": None},
        {**item, "extra": 1},
        {**item, "audioIn": [{"packetLoss": [0.1, 2, 0.0], "codec": "opus"}]},
        {**item, "audioIn": [{"packetLoss": [0.1, 2], "codec": "opus"}]},
        {**item, "audioIn": [{"packetLoss": [0.1, 2, None], "codec": "opus "}]},
        {**item, "audioIn": [{"packetLoss": [10**400], "codec": "opus"}]},
    ]
    prints = {content_fingerprint(c) for c in changes}
    assert len(prints) == len(changes) and content_fingerprint(item) not in prints


def test_ids_are_pinned_so_a_change_that_rekeys_stored_rows_fails():
    """Ids are derived from the API's own identifiers and stored: a change to how they are derived
    would file every re-read session beside its stored self. These are the literal ids of the
    recorded payloads (and of a Google activity), not recomputed with stable_id."""
    from meetq.providers.google.transform import session_id_of

    rows = session_rows(load("qualities_spec_example.json")["items"][0])
    assert rows.session["id"] == 569014462131737801
    assert [(s["kind"], s["direction"], s["id"]) for s in rows.streams[:2]] == [
        ("audio", "in", 923741985083488300),
        ("audio", "out", 105636840065267762),
    ]
    assert session_id_of("2026-11-20T10:00:00.000Z", "-1234", "endpoint-1", "meet:abc") == 120884132456047265
    assert stable_id("meet:abc") == 827348070220355202


def test_rows_from_columns_are_stored_as_the_row_by_row_trim_stores_them():
    """The transform trims whole null columns at once; what it stores is byte for byte what
    trimming every row would store: a gap in the last column kept, trailing nulls dropped."""
    from meetq.packing import pack_rows, pack_trimmed, rows_of

    cases = [
        [[1, 2], [0.5, None], [None, None], [None, None]],  # an audio stream: no resolution, no fps
        [[1, None], [2, 3]],  # a gap in the last column: that row keeps its length
        [[None, None], [None, None]],  # nothing measured: empty rows
        [[38, 40.25], [720, 1080]],  # nothing to trim
        [[], []],
    ]
    expected = ["[[1,0.5],[2]]", "[[1,2],[null,3]]", "[[],[]]", "[[38,720],[40.25,1080]]", "[]"]
    for columns, stored in zip(cases, expected):
        assert pack_trimmed(rows_of(columns)) == pack_rows(list(zip(*columns))) == stored, columns
