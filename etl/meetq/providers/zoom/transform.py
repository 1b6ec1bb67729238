"""Zoom's Dashboard payloads as meetq's rows: pure functions.

A past meeting (GET /metrics/meetings) becomes a `meetings` row keyed on its UUID and a
`zoom_meetings` row; a participant of GET …/participants/qos becomes a session whose `user_qos`
minutes are the samples of a stream per block. Every figure arrives as text with its unit
("23 kbps", "27.15kbps", "126 ms", "0ms", "0.3%", "12 fps", "1280*720"); "" is no data, never
zero. Values are converted to the shared tables' units exactly (decimal arithmetic: "27.15 kbps"
is 27150 bit/s, not 27150.000000000004). What is confirmed of the shapes: docs/zoom.md.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from ...clock import iso, normalise_iso, parse_iso
from ...minutes import SessionRows, prepared
from ...packing import rows_of
from ...privacy import mask_addresses, mask_ip
from ...rows import (
    SAMPLE_METRICS,
    PreparedSession,
    content_fingerprint,
    series_clock,
    series_row,
    stable_id,
    text,
)
from .schema import MEETING_COLUMNS, SESSION_COLUMNS, SESSION_TABLE

MINUTE = 60.0  # Zoom's past-meeting QoS comes a minute at a time
# Block -> (kind, direction). "input" is what reaches Zoom from the participant (what they sent),
# "output" what Zoom sent them; meetq's "in" is what the participant received.
BLOCKS = {
    "audio_input": ("audio", "out"),
    "audio_output": ("audio", "in"),
    "video_input": ("video", "out"),
    "video_output": ("video", "in"),
    "as_input": ("share", "out"),
    "as_output": ("share", "in"),
}
# Each sample column (rows.SAMPLE_METRICS order) from a block's field, in the shared unit.
BLOCK_FIELDS = ("avg_loss", "latency", "jitter", "bitrate", "resolution", "frame_rate")
# CPU columns (rows.CPU_METRICS order): Zoom reports the client's own average and maximum and the
# system's maximum, no system average (so no CPU verdict: the rule judges the system average).
CPU_FIELDS = ("zoom_avg_cpu_usage", "zoom_max_cpu_usage", None, "system_max_cpu_usage")
TRANSPORT_OF = {"audio": "connection_type", "video": "video_connection_type", "share": "as_connection_type"}
# Zoom's words for a network, in the shared vocabulary (its own word stays in zoom_sessions).
NETWORKS = {"wired": "ethernet", "ethernet": "ethernet", "wifi": "wifi", "wi-fi": "wifi", "cellular": "cellular"}
UNITS = {"%": 1, "ms": 1, "fps": 1, "bps": 1, "kbps": 1_000, "mbps": 1_000_000}
_FIGURE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*([a-z%]*)\s*$", re.I)
_RESOLUTION = re.compile(r"^\s*(\d+)\s*[*x×]\s*(\d+)\s*$", re.I)


def figure(value, field: str | None = None) -> int | float | None:
    """A Zoom figure in the shared unit: percent, ms, fps, bit/s (from kbps), or a resolution's
    height ("1280*720" -> 720). None for "", for "0*0" (no video) and for anything unreadable."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return value if value == value and abs(value) != float("inf") else None
    found = str(value)
    if field == "resolution":
        size = _RESOLUTION.match(found)
        return int(size.group(2)) or None if size else None
    match = _FIGURE.match(found)
    if not match or match.group(2).lower() not in UNITS | {"": 1}:
        return None
    unit = match.group(2).lower() or ("kbps" if field == "bitrate" else "")  # a bare bitrate is kbps
    try:
        number = Decimal(match.group(1)) * UNITS.get(unit, 1)
    except InvalidOperation:
        return None
    return int(number) if number == number.to_integral_value() else float(number)


# -- meetings ---------------------------------------------------------------------------------


def meeting_row(item: dict) -> dict | None:
    """A `meetings` row (and, under "zoom", its `zoom_meetings` row) from one past meeting of the
    listing; None without a UUID."""
    uuid = text(item.get("uuid"))
    if not uuid:
        return None
    start, end = normalise_iso(text(item.get("start_time"))), normalise_iso(text(item.get("end_time")))
    number = text(item.get("id"))
    return {
        "id": uuid,
        "series_id": number,
        "join_code": number.replace(" ", "") if number else None,
        "title": text(item.get("topic")),
        "meeting_type": "meeting",
        "scheduled_type": None,
        "state": "ended",
        "timezone": None,
        "start": start,
        "end": end,
        "host_user_id": None,
        "host_display_name": text(item.get("host")),
        "host_email": (text(item.get("email")) or "").lower() or None,
        "raw": json.dumps(item, sort_keys=True),
        "quality_state": "pending",
        "zoom": {
            "meeting_id": uuid,
            "meeting_number": number,
            "duration": text(item.get("duration")),
            "participants": _count(item.get("participants")),
            "audio_quality": text(item.get("audio_quality")),
            "video_quality": text(item.get("video_quality")),
            "screen_share_quality": text(item.get("screen_share_quality")),
            "user_type": text(item.get("user_type")),
            "dept": text(item.get("dept")),
        },
    }


def split_meeting_row(row: dict) -> tuple[dict, dict]:
    """A meeting_row as the core's `meetings` row and Zoom's own `zoom_meetings` row."""
    return {k: v for k, v in row.items() if k != "zoom"}, {c: row["zoom"][c] for c in MEETING_COLUMNS}


def _count(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# -- participants -----------------------------------------------------------------------------


def session_keys(participants: list[dict], seen: dict | None = None) -> list[tuple]:
    """What tells each participant of one meeting apart, stable across re-reads: Zoom's ids when
    it gives them; a guest's are blank (since 2023), so their name, join time and device, and
    for two guests alike in all of those, which of them came first in Zoom's order (`seen`
    carries the count from one page of a meeting to the next)."""
    keys, seen = [], {} if seen is None else seen
    for participant in participants:
        base = (
            text(participant.get("id")),
            text(participant.get("user_id")),
            text(participant.get("participant_uuid")),
            text(participant.get("user_name")),
            normalise_iso(text(participant.get("join_time"))),
            text(participant.get("device")),
        )
        seen[base] = seen.get(base, -1) + 1
        keys.append(base + ((seen[base],) if seen[base] else ()))
    return keys


def session_rows(participant: dict, meeting_id: str, key: tuple) -> SessionRows:
    """Rows for one participant (one join: a rejoin is another participant entry)."""
    session_id = stable_id(meeting_id, "zoom", *key)
    local, public = addresses_of(participant)
    network = (text(participant.get("network_type")) or "").lower() or None
    session = {
        "id": session_id,
        "meeting_id": meeting_id,
        "participant_id": text(participant.get("id")) or text(participant.get("participant_uuid")),
        "participant_session_id": text(participant.get("user_id")),
        "user_name": text(participant.get("user_name")),
        "user_email": (text(participant.get("email")) or "").lower() or None,
        "join_time": normalise_iso(text(participant.get("join_time"))),
        "leave_time": normalise_iso(text(participant.get("leave_time"))),
        "join_meeting_seconds": None,
        "client_type": text(participant.get("client")),
        "client_version": text(participant.get("version")),
        "os_type": text(participant.get("os")) or text(participant.get("device")),
        "os_version": text(participant.get("os_version")),
        "hardware_type": text(participant.get("device_name")),
        "network_type": NETWORKS.get(network, network),
        "server_region": text(participant.get("data_center")),
        "speaker": text(participant.get("speaker")),
        "microphone": text(participant.get("microphone")),
        "camera": text(participant.get("camera")),
        "local_ip": local,
        "public_ip": public,
        "masked_local_ip": None,
        "masked_public_ip": None,
        "location": text(participant.get("location")),
        "content_sha256": content_fingerprint(participant),
        "zoom": (
            session_id,
            text(participant.get("participant_uuid")),
            text(participant.get("user_id")),
            text(participant.get("device")),
            network,
            text(participant.get("data_center")),
            text(participant.get("health")),
        ),
    }
    rows = SessionRows(session)
    minutes = _minutes(participant.get("user_qos"))
    for block, (kind, direction) in BLOCKS.items():
        found = _block(minutes, block, BLOCK_FIELDS)
        if found is None:
            continue  # the participant never sent or received this
        start, columns = found
        stream_id = stable_id(session_id, kind, direction, 0)
        rows.streams.append(
            {
                "id": stream_id,
                "session_id": session_id,
                "kind": kind,
                "direction": direction,
                "seq": 0,
                "start_time": iso(start),
                "end_time": iso(start + timedelta(seconds=MINUTE * len(columns[0]))),
                "sampling_interval": MINUTE,
                "codec": None,
                "transport_type": (text(participant.get(TRANSPORT_OF[kind])) or "").upper() or None,
                "sample_count": len(columns[0]),
            }
        )
        rows.columns[stream_id] = columns
        rows.series.append(series_row(stream_id, series_clock(start, MINUTE), rows_of(columns), trimmed=True))
    cpu = _block(minutes, "cpu_usage", CPU_FIELDS)
    if cpu:
        start, columns = cpu
        rows.cpu_columns = [columns]
        rows.cpu_series = [
            series_row(session_id, series_clock(start, MINUTE), [rows_of(columns)], len(columns[0]), trimmed=True)
        ]
    return rows


def prepare_participant(
    participant: dict, meeting_id: str, key: tuple, fetched_at: str, thresholds: dict | None = None
) -> PreparedSession:
    """Everything one participant becomes: rows, summaries and verdict, by the shared rules."""
    rows = session_rows(participant, meeting_id, key)
    return prepared(rows, fetched_at, thresholds, (SESSION_TABLE, SESSION_COLUMNS, rows.session["zoom"]))


def prepare_page(
    participants: list[dict], meeting_id: str, fetched_at: str, thresholds: dict | None = None, seen=None
) -> list[PreparedSession]:
    """One page of a meeting's participants (`seen`: as session_keys takes it)."""
    keys = session_keys(participants, seen)
    return [prepare_participant(p, meeting_id, k, fetched_at, thresholds) for p, k in zip(participants, keys)]


def addresses_of(participant: dict) -> tuple[str | None, str | None]:
    """(local, public) address of a participant as Zoom sent it."""
    local = participant.get("internal_ip_addresses")
    first = next((a for a in local if isinstance(a, str) and a), None) if isinstance(local, list) else None
    return first, text(participant.get("ip_address"))


def _minutes(user_qos) -> list[tuple[datetime, dict]]:
    """The participant's minutes in time order, each {block: {field: value}}. Zoom may give one
    minute in several entries of the same date_time (loss and bit rate in one, frame rate and
    resolution in another): they are one minute, the first non-empty value of each field kept."""
    merged: dict[datetime, dict] = {}
    for entry in user_qos if isinstance(user_qos, list) else []:
        when = parse_iso(text(entry.get("date_time"))) if isinstance(entry, dict) else None
        if when is None:
            continue
        minute = merged.setdefault(when, {})
        for block, values in entry.items():
            if isinstance(values, dict):
                into = minute.setdefault(block, {})
                for name, value in values.items():
                    if into.get(name) in (None, ""):
                        into[name] = value
    return sorted(merged.items(), key=lambda pair: pair[0])


def _block(minutes: list[tuple[datetime, dict]], block: str, fields: tuple) -> tuple[datetime, list[list]] | None:
    """A block's first minute with a figure and a column per field from there to its last (a
    minute Zoom skipped in between is a gap of nulls, so every sample keeps its own time); None
    when the block has no figure at all."""
    measured = [
        (when, [figure(values.get(name), name) if name else None for name in fields])
        for when, blocks in minutes
        for values in [blocks.get(block) or {}]
    ]
    measured = [(when, row) for when, row in measured if any(v is not None for v in row)]
    if not measured:
        return None
    start = measured[0][0]
    columns = [[None] * (1 + round((measured[-1][0] - start).total_seconds() / MINUTE)) for _ in fields]
    for when, row in measured:
        at = round((when - start).total_seconds() / MINUTE)
        for column, value in zip(columns, row):
            column[at] = value
    return start, columns


# -- privacy -----------------------------------------------------------------------------------


def private_participant(participant: dict, mode: str) -> dict:
    """A participant as the privacy setting allows it kept: its addresses full, masked or dropped."""
    if mode == "full" or not isinstance(participant, dict):
        return participant
    kept = dict(participant)
    if "ip_address" in kept:
        kept["ip_address"] = mask_ip(kept["ip_address"], mode)
    if isinstance(kept.get("internal_ip_addresses"), list):
        kept["internal_ip_addresses"] = [mask_ip(a, mode) for a in kept["internal_ip_addresses"]]
    return kept


def private_body(body: str, mode: str) -> str:
    """A raw body with every address in it as privacy allows; every other byte as received."""
    return mask_addresses(body, mode)


assert len(BLOCK_FIELDS) == len(SAMPLE_METRICS)
