"""Pure functions: Google Meet `call_ended` activities (Admin SDK Reports API) into meetq's rows.

One activity is one endpoint session: a person (or room, or phone) in a call, from joining to
leaving, with mean and max figures but no per-interval samples. It becomes one media_sessions
row and one media_summaries row per kind and direction, judged with the same thresholds as
Webex. Meet gives means, not the worst tenth, so the verdict reads the means (and says so).
Parameters are parsed defensively: `intValue` is a string, absent ones are simply absent.
What is confirmed of the API, with sources: docs/google-meet.md.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from ...clock import UTC, iso, parse_iso
from ...privacy import mask_ip
from ...rows import (
    FIGURE_COLUMNS,
    SESSION_WRITE_COLUMNS,
    PreparedSession,
    content_fingerprint,
    number,
    stable_id,
    summary_row,
    text,
)
from ...verdicts import judge, media_checks, session_verdict, stream_verdict, with_defaults

PROVIDER = "google"
# (kind, direction) -> the parameter prefix and the figures it carries. "in" is what was received.
STREAMS = {
    ("audio", "in"): "audio_recv",
    ("audio", "out"): "audio_send",
    ("video", "in"): "video_recv",
    ("video", "out"): "video_send",
    ("share", "in"): "screencast_recv",
    ("share", "out"): "screencast_send",
}
JITTER = {"in": "network_recv_jitter_msec", "out": "network_send_jitter_msec"}
# The shared rules, applied to the means Meet reports (it gives no intervals).
MEAN_CHECKS = media_checks(
    "avg",
    {
        "loss": "packet loss averaged",
        "latency": "round-trip time averaged",
        "jitter": "jitter averaged",
        "frame_rate": "frame rate averaged",
    },
)


def parameters(activity: dict) -> dict:
    """The first `call_ended` event's parameters as {name: value}: ints and bools from their
    typed fields (ints arrive as strings), anything unknown kept as given."""
    events = activity.get("events") if isinstance(activity.get("events"), list) else []
    event = next((e for e in events if isinstance(e, dict) and e.get("name") == "call_ended"), None)
    found = {}
    for parameter in (event or {}).get("parameters") or []:
        if not isinstance(parameter, dict) or not isinstance(parameter.get("name"), str):
            continue
        for key in ("intValue", "boolValue", "value", "multiValue", "multiIntValue", "messageValue"):
            if key in parameter:
                value = parameter[key]
                found[parameter["name"]] = number(value) if key == "intValue" else value
                break
    return found


def meeting_code(value) -> str | None:
    """`abc-hexp-tqy`, `ABCHEXPTQY` and `abc hexp tqy` are one code: letters only, lower case."""
    letters = re.sub(r"[^a-z]", "", str(value or "").lower())
    return letters or None


def meeting_id(params: dict, activity: dict) -> str | None:
    """One meetings row per conference: Google's conference id, else the code and the day."""
    conference = text(params.get("conference_id"))
    if conference:
        return f"meet:{conference}"
    code = meeting_code(params.get("meeting_code"))
    day = (text((activity.get("id") or {}).get("time")) or "")[:10]
    return f"meet:{code}:{day}" if code else None


def prepare_activity(
    activity: dict,
    fetched_at: str,
    thresholds: dict | None = None,
) -> tuple[dict, PreparedSession] | None:
    """(meeting row, prepared session) for one activity; None without an id to file it under."""
    if not isinstance(activity, dict):
        return None
    identity = activity.get("id") if isinstance(activity.get("id"), dict) else {}
    unique = text(identity.get("uniqueQualifier"))
    params = parameters(activity)
    meeting = meeting_id(params, activity)
    if not unique or not meeting:
        return None
    left = parse_iso(text(identity.get("time")))
    joined = _joined(params, left)
    thresholds = with_defaults(thresholds)
    session_id = session_id_of(iso(left), unique, text(params.get("endpoint_id")), meeting)
    summaries, verdicts = [], []
    session_seconds = (left - joined).total_seconds() if left and joined else None
    for (kind, direction), prefix in STREAMS.items():
        figures = _figures(params, kind, direction, prefix)
        if figures is None:
            continue
        seconds = params.get(f"{prefix}_seconds")
        found = judge_stream(kind, direction, figures, seconds, session_seconds, thresholds)
        verdicts += found
        summaries.append(summary_row(session_id, kind, direction, 1, figures, stream_verdict(found), seconds))
    email = text(params.get("identifier")) if params.get("identifier_type") == "email_address" else None
    session = {
        "id": session_id,
        "meeting_id": meeting,
        "participant_id": text(params.get("endpoint_id")),
        "participant_session_id": unique,
        "user_name": text(params.get("display_name")),
        "user_email": email.lower() if email else None,
        "join_time": iso(joined),
        "leave_time": iso(left),
        "join_meeting_seconds": None,
        "client_type": text(params.get("device_type")),
        "client_version": None,
        "os_type": None,
        "os_version": None,
        "hardware_type": None,
        "network_type": None,
        "server_region": None,
        "speaker": None,
        "microphone": None,
        "camera": None,
        "location": _location(params),
        "local_ip": None,
        "public_ip": text(params.get("ip_address")),
        "masked_local_ip": None,
        "masked_public_ip": None,
        "content_sha256": content_fingerprint(activity),
        "avg_system_cpu": None,
        "max_system_cpu": None,
        **session_verdict(verdicts, "no media figures"),
        "fetched_at": fetched_at,
    }
    prepared = PreparedSession(
        id=session_id,
        meeting_id=meeting,
        fingerprint=session["content_sha256"],
        session=tuple(session[c] for c in SESSION_WRITE_COLUMNS),
        summaries=summaries,
        streams=[],
        series=[],
        cpu_series=[],
    )
    code = meeting_code(params.get("meeting_code"))
    meeting_row = {
        "id": meeting,
        "join_code": code,
        "title": f"Meet {code}" if code else "Google Meet call",
        "host_email": text(params.get("organizer_email")),
        "start": iso(joined),
        "end": iso(left),
    }
    return meeting_row, prepared


def judge_stream(
    kind: str, direction: str, figures: dict, seconds: float | None, session_seconds: float | None, thresholds: dict
) -> list:
    """One stream's verdicts from its summary figures (so stored summaries can be judged again).
    Its mean frame rate counts only when it was shown at a real size (the short side's median)
    for a real share of the call: Meet reports a 136-px thumbnail's 7 fps like a speaker's."""
    real_size = (figures.get("min_resolution_height") or 0) >= thresholds["video_min_height_px"]
    long_enough = seconds is not None and seconds >= (session_seconds or 0) * thresholds["video_min_share_pct"] / 100
    judged = {**figures, "judged_frame_rate": figures.get("avg_frame_rate") if real_size and long_enough else None}
    return judge(f"{kind} {direction}", kind, direction, judged, thresholds, MEAN_CHECKS, seconds)


def rejudge_session(stored, thresholds: dict) -> tuple[list[tuple], dict]:
    """Judge a stored session again (a rejudge.StoredSession) from its per-call figures."""
    joined, left = parse_iso(stored.join_time), parse_iso(stored.leave_time)
    session_seconds = (left - joined).total_seconds() if joined and left else None
    summaries, verdicts = [], []
    for summary in stored.summaries:
        figures = {c: summary[c] for c in FIGURE_COLUMNS}
        found = judge_stream(
            summary["kind"],
            summary["direction"],
            figures,
            summary["seconds"],
            session_seconds,
            with_defaults(thresholds),
        )
        verdicts += found
        summaries.append(
            summary_row(
                stored.id,
                summary["kind"],
                summary["direction"],
                summary["samples"],
                figures,
                stream_verdict(found),
                summary["seconds"],
            )
        )
    return summaries, session_verdict(verdicts, "no media figures")


def session_id_of(time: str | None, unique: str, endpoint: str | None, meeting: str) -> int:
    """An activity's identity is its time with its qualifier: Google documents `uniqueQualifier` as
    unique only among events of the same time, and different calls do share one. The endpoint and
    the conference are added so that nothing two sessions share can merge them."""
    return stable_id(PROVIDER, time, unique, endpoint, meeting)


def _location(params: dict) -> str | None:
    parts = [text(params.get("location_region")), text(params.get("location_country"))]
    return ", ".join(p for p in parts if p) or None


def _joined(params: dict, left: datetime | None) -> datetime | None:
    started = params.get("start_timestamp_seconds")
    if isinstance(started, float):
        return datetime.fromtimestamp(started, UTC)
    duration = params.get("duration_seconds")
    return left - timedelta(seconds=duration) if left and isinstance(duration, float) else None


def _figures(params: dict, kind: str, direction: str, prefix: str) -> dict | None:
    """The media_summaries figures of one stream, or None when Meet reported none for it."""
    seconds = params.get(f"{prefix}_seconds")
    loss = params.get(f"{prefix}_packet_loss_mean")
    if not seconds and loss is None:
        return None
    jitter_mean = params.get(f"{JITTER[direction]}_mean") if kind == "audio" else None
    bitrate = params.get(f"{prefix}_bitrate_kbps_mean")
    fps = params.get(f"{prefix}_fps_mean")
    return {
        "avg_packet_loss": loss,
        "p90_packet_loss": None,
        "max_packet_loss": params.get(f"{prefix}_packet_loss_max"),
        # One round trip for the whole endpoint: filed once, on the audio it hears.
        "avg_latency": params.get("network_rtt_msec_mean") if (kind, direction) == ("audio", "in") else None,
        "p90_latency": None,
        "max_latency": None,
        "avg_jitter": jitter_mean,
        "p90_jitter": None,
        "max_jitter": params.get(f"{JITTER[direction]}_max") if kind == "audio" and direction == "in" else None,
        "avg_bit_rate": bitrate * 1000 if isinstance(bitrate, float) else None,
        "avg_frame_rate": fps,
        "p10_frame_rate": None,
        "min_frame_rate": None,
        "min_resolution_height": params.get(f"{prefix}_short_side_median_pixels"),
    }


# -- Meet REST API attendance ------------------------------------------------------------------


def attendance_rows(
    record: dict,
    space: dict,
    participants: list[dict],
    sessions: dict[str, list[dict]],
    organizer: str,
    account: str,
    fetched_at: str,
) -> list[dict]:
    """meet_attendance rows for one conference record: a row per participant session. The
    conference is filed as `meet:<record id>`, where the Reports API's conference id files it."""
    record_id = record["name"].rsplit("/", 1)[-1]
    code = meeting_code(space.get("meetingCode"))
    rows = []
    for participant in participants:
        kind, person = next(
            (
                (k, participant[key])
                for key, k in (("signedinUser", "signed_in"), ("anonymousUser", "anonymous"), ("phoneUser", "phone"))
                if isinstance(participant.get(key), dict)
            ),
            ("unknown", {}),
        )
        for session in sessions.get(participant.get("name"), []):
            if not isinstance(session.get("name"), str):
                continue
            rows.append(
                {
                    "id": session["name"],
                    "account": account,
                    "meeting_id": f"meet:{record_id}",
                    "conference_record": record["name"],
                    "meeting_code": code,
                    "organizer_email": organizer,
                    "participant": participant["name"],
                    "user": text(person.get("user")),
                    "display_name": text(person.get("displayName")),
                    "kind": kind,
                    "start_time": iso(parse_iso(text(session.get("startTime")))),
                    "end_time": iso(parse_iso(text(session.get("endTime")))),
                    "fetched_at": fetched_at,
                }
            )
    return rows


# -- privacy -----------------------------------------------------------------------------------


def private_activity(activity: dict, mode: str) -> dict:
    """The participant's external IP (a parameter and the actor's `ipAddress`) as the privacy
    setting says: full, masked or dropped, before anything is stored."""
    copy = dict(activity)
    if "ipAddress" in copy:
        copy["ipAddress"] = mask_ip(copy["ipAddress"], mode)
    events = []
    for event in copy.get("events") or []:
        if isinstance(event, dict) and isinstance(event.get("parameters"), list):
            event = {
                **event,
                "parameters": [
                    {**p, "value": mask_ip(p.get("value"), mode)}
                    if isinstance(p, dict) and p.get("name") == "ip_address"
                    else p
                    for p in event["parameters"]
                ],
            }
        events.append(event)
    if "events" in copy:
        copy["events"] = events
    return copy
