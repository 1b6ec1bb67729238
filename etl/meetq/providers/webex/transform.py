"""Pure functions from Webex payloads to meetq's rows. No I/O, no clock, no database.

Lenient by design: current and legacy field names, metric arrays of unequal length,
missing arrays and fields, unknown enum values and numbers sent as strings are all
accepted. Whatever is not mapped to a column stays in the raw body that is stored beside.
Each sample is a sampling interval (usually a minute), so the verdict judges what the worst
tenth of the intervals reach, not the mean.
"""

from __future__ import annotations

import json
import math
import re

from ...clock import iso, normalise_iso, parse_iso
from ...minutes import SessionRows, prepared
from ...packing import rows_of
from ...privacy import mask_addresses, mask_ip
from ...rows import (
    PreparedSession,
    content_fingerprint,
    content_hash,
    number,
    series_clock,
    series_row,
    stable_id,
    text,
)
from .schema import MEETING_COLUMNS, SESSION_COLUMNS, SESSION_TABLE

# Array key -> (media kind, direction). "in" is what the participant received.
MEDIA_ARRAYS = {
    "audioIn": ("audio", "in"),
    "audioOut": ("audio", "out"),
    "videoIn": ("video", "in"),
    "videoOut": ("video", "out"),
    "shareIn": ("share", "in"),
    "shareOut": ("share", "out"),
}
# Current name -> legacy name seen in older payloads.
LEGACY_NAMES = {
    "meetingInstanceId": "meetingId",
    "webexUserName": "displayName",
    "webexUserEmail": "email",
    "joinTime": "joined",
    "clientType": "client",
    "publicIP": "remoteIP",
}
# Never stored, not even in raw copies: they let someone join or take over a meeting.
MEETING_SECRET_KEYS = frozenset(
    {"password", "phoneAndVideoSystemPassword", "panelistPassword", "phoneAndVideoSystemPanelistPassword", "hostKey"}
)
SAMPLE_METRICS = ("packetLoss", "latency", "jitter", "mediaBitRate", "resolutionHeight", "frameRate")
NUMBER_TYPES = frozenset({float, int})  # not bool: True is no measurement
INT64 = 2**63
CPU_METRICS = ("processAverageCPU", "processMaxCPU", "systemAverageCPU", "systemMaxCPU")


def field_of(item: dict, name: str, used_legacy: list[str] | None = None):
    """`item[name]`, falling back to the legacy name; records which legacy names were used."""
    if item.get(name) not in (None, ""):
        return item[name]
    legacy = LEGACY_NAMES.get(name)
    if legacy and item.get(legacy) not in (None, ""):
        if used_legacy is not None:
            used_legacy.append(legacy)
        return item[legacy]
    return None


def without_meeting_secrets(item: dict) -> dict:
    return {k: v for k, v in item.items() if k not in MEETING_SECRET_KEYS}


def meeting_row(item: dict) -> dict | None:
    """A `meetings` row from one List Meetings item; None when it has no id."""
    meeting_id = text(item.get("id"))
    if not meeting_id:
        return None
    return {
        "id": meeting_id,
        "series_id": text(item.get("meetingSeriesId")),
        "scheduled_meeting_id": text(item.get("scheduledMeetingId")),
        "title": text(item.get("title")),
        "meeting_type": text(item.get("meetingType")),
        "scheduled_type": text(item.get("scheduledType")),
        "state": text(item.get("state")),
        "timezone": text(item.get("timezone")),
        "start": normalise_iso(item.get("start")),
        "end": normalise_iso(item.get("end")),
        "host_user_id": text(item.get("hostUserId")),
        "host_display_name": text(item.get("hostDisplayName")),
        "host_email": text(item.get("hostEmail")),
        "join_code": _digits(item.get("meetingNumber")),
        "site_url": text(item.get("siteUrl")),
        "raw": json.dumps(without_meeting_secrets(item), sort_keys=True),
        "quality_state": "pending" if is_ended_instance(item) else "not_applicable",
    }


def _digits(value) -> str | None:
    """A meeting number as people type it, spaces and dashes left out."""
    found = text(value)
    return found.replace(" ", "").replace("-", "") if found else None


def split_meeting_row(row: dict) -> tuple[dict, dict]:
    """A meeting_row as the core's `meetings` row and Webex's own `webex_meetings` row."""
    own = {"meeting_id": row["id"], **{c: row[c] for c in MEETING_COLUMNS[1:]}}
    return {k: v for k, v in row.items() if k not in MEETING_COLUMNS}, own


def is_ended_instance(item: dict) -> bool:
    """Only ended meeting instances have quality data; a listing may still carry series or
    scheduled meetings if a filter was dropped, and those are kept but never queued."""
    return text(item.get("meetingType")) in (None, "meeting") and text(item.get("state")) in (None, "ended")


def session_rows(item: dict, fallback_meeting_id: str | None = None) -> SessionRows | None:
    """Rows for one Meeting Qualities item (one media session). None without a meeting id."""
    legacy: list[str] = []
    meeting_id = text(field_of(item, "meetingInstanceId", legacy)) or fallback_meeting_id
    if not meeting_id:
        return None
    participant_id = text(item.get("participantId"))
    participant_session_id = text(item.get("participantSessionId"))
    join_time = normalise_iso(text(field_of(item, "joinTime", legacy)))
    session_id = stable_id(
        meeting_id,
        participant_id,
        participant_session_id,
        join_time,
        None if (participant_id or participant_session_id or join_time) else content_hash(item),
    )
    session = {
        "id": session_id,
        "meeting_id": meeting_id,
        "participant_id": participant_id,
        "participant_session_id": participant_session_id,
        "user_name": text(field_of(item, "webexUserName", legacy)),
        "user_email": _lower(text(field_of(item, "webexUserEmail", legacy))),
        "join_time": join_time,
        "leave_time": normalise_iso(text(item.get("leaveTime"))),
        "join_meeting_seconds": number(item.get("joinMeetingTime")),
        "client_type": text(field_of(item, "clientType", legacy)),
        "client_version": text(item.get("clientVersion")),
        "os_type": text(item.get("osType")),
        "os_version": text(item.get("osVersion")),
        "hardware_type": text(item.get("hardwareType")),
        "network_type": _lower(text(item.get("networkType"))),
        "server_region": text(item.get("serverRegion")),
        "speaker": text(item.get("speakerName")),
        "microphone": text(item.get("microphone")),
        "camera": text(item.get("camera")),
        "local_ip": text(item.get("localIP")),
        "public_ip": text(field_of(item, "publicIP", legacy)),
        "masked_local_ip": text(item.get("maskedLocalIP")),
        "masked_public_ip": text(item.get("maskedPublicIP")),
        "video_mesh_cluster": text(item.get("videoMeshCluster")),
        "video_mesh_server": text(item.get("videoMeshServer")),
        "legacy_fields": ",".join(sorted(set(legacy))) or None,
        "location": None,  # Webex reports no participant location; Google Meet does
        "content_sha256": content_fingerprint(item),
    }
    rows = SessionRows(session)
    for key, (kind, direction) in MEDIA_ARRAYS.items():
        for seq, interval in enumerate(_objects(item.get(key))):
            stream, columns, series = stream_rows(session_id, kind, direction, seq, interval)
            rows.streams.append(stream)
            rows.columns[stream["id"]] = columns
            rows.series.append(series)
    rows.cpu_columns, rows.cpu_series = cpu_rows(session_id, _objects(item.get("resources")), _cpu_clock(rows.series))
    return rows


def prepare_session(
    item: dict, meeting_id: str, fetched_at: str, thresholds: dict | None = None
) -> PreparedSession | None:
    """Everything one Meeting Qualities item becomes: its rows, summaries and verdict."""
    rows = session_rows(item, fallback_meeting_id=meeting_id)
    if rows is None:
        return None
    own = (rows.session["id"], *(rows.session[c] for c in SESSION_COLUMNS[1:]))
    return prepared(rows, fetched_at, thresholds, (SESSION_TABLE, SESSION_COLUMNS, own))


def stream_rows(session_id: int, kind: str, direction: str, seq: int, interval: dict) -> tuple[dict, list, tuple]:
    """A `media_streams` row, its samples as judged (SAMPLE_METRICS columns) and as stored (a
    packed series). Sample i covers [startTime + i*samplingInterval, +samplingInterval); arrays
    may differ in length (the shorter ones end in NULLs)."""
    stream_id = stable_id(session_id, kind, direction, seq)
    start = parse_iso(text(interval.get("startTime")))
    step = number(interval.get("samplingInterval"))
    columns = _padded([_numbers(interval.get(metric)) for metric in SAMPLE_METRICS])
    stream = {
        "id": stream_id,
        "session_id": session_id,
        "kind": kind,
        "direction": direction,
        "seq": seq,
        "start_time": iso(start),
        "end_time": normalise_iso(text(interval.get("endTime"))),
        "sampling_interval": step,
        "codec": text(interval.get("codec")),
        "transport_type": _upper(text(interval.get("transportType"))),
        "sample_count": len(columns[0]),
    }
    return stream, columns, series_row(stream_id, series_clock(start, step), rows_of(columns), trimmed=True)


def cpu_rows(session_id: int, resources: list[dict], clock: tuple | None) -> tuple[list, list]:
    """CPU samples as judged (each resource's CPU_METRICS columns) and as stored (none or one
    packed series). Resources carry no times of their own; their clock is the session's earliest
    media stream's (start, sampling interval), and there is none without one."""
    per_resource = [_padded([_numbers(resource.get(metric)) for metric in CPU_METRICS]) for resource in resources]
    rows = [rows_of(columns) for columns in per_resource]
    samples = sum(map(len, rows))
    return per_resource, [series_row(session_id, clock, rows, samples, trimmed=True)] if samples else []


def _cpu_clock(streams: list[tuple]) -> tuple | None:
    """The earliest clock among a session's streams (series rows: id, start_ms, step_ms, ...)."""
    timed = [(start_ms, step_ms) for _, start_ms, step_ms, *_ in streams if start_ms is not None]
    return min(timed) if timed else None


def _objects(value) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _padded(columns: list[list]) -> list[list]:
    """Columns of equal length: the shorter ones end in None."""
    longest = max(map(len, columns))
    return columns if all(len(c) == longest for c in columns) else [c + [None] * (longest - len(c)) for c in columns]


def _numbers(value) -> list[float | int | None]:
    if not isinstance(value, list):
        return []
    # Nearly every array is finite numbers only: checked in C rather than value by value (NaN or
    # an infinity makes the sum so; an int past 64 bits, which JSON cannot store as it came, fails
    # the bounds). Kept as sent: an integer stays one (`38`, not `38.0`: a quarter of a sample's
    # stored JSON).
    if value and set(map(type, value)) <= NUMBER_TYPES:
        try:
            finite = math.isfinite(sum(value)) and -INT64 <= min(value) and max(value) < INT64
        except OverflowError:
            finite = False
        if finite:
            return list(value)
    return [number(v) for v in value]


def _lower(value: str | None) -> str | None:
    return value.lower() if value else value


def _upper(value: str | None) -> str | None:
    return value.upper() if value else value


# -- privacy -----------------------------------------------------------------------------------

IP_FIELDS = ("localIP", "publicIP", "remoteIP", "maskedLocalIP", "maskedPublicIP")
_IP_IN_TEXT = re.compile(r'("(?:localIP|publicIP|remoteIP|maskedLocalIP|maskedPublicIP)"\s*:\s*)"([^"\\]*)"')


def private_item(item: dict, mode: str) -> dict:
    if mode == "full":
        return item
    return {k: (mask_ip(v, mode) if k in IP_FIELDS else v) for k, v in item.items()}


def private_body(body: str, mode: str) -> str:
    """The same privacy on a raw body, as text, so every other byte stays as received: the
    address fields as in the rows (`none` makes them null), then any other address in it."""
    if mode == "full":
        return body

    def replace(match):
        masked = mask_ip(match.group(2), mode)
        return match.group(1) + ("null" if masked is None else json.dumps(masked))

    return mask_addresses(_IP_IN_TEXT.sub(replace, body), mode)


def meetings_body_without_secrets(body: str) -> str:
    """Meeting listings carry passwords and host keys; those never enter the database."""
    try:
        document = json.loads(body)
        document["items"] = [without_meeting_secrets(i) if isinstance(i, dict) else i for i in document["items"]]
    except (ValueError, TypeError, KeyError):
        return body
    return json.dumps(document)
