"""The rows every provider produces: column orders, the prepared-session record and stable ids.

A provider's transform turns its payloads into PreparedSession records (plain tuples, cheap to
send between processes); `store.write_sessions` writes them whatever vendor they came from.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field

import orjson

from .packing import pack_rows, pack_trimmed

SESSION_COLUMNS = (
    "id",
    "meeting_id",
    "participant_id",
    "participant_session_id",
    "user_name",
    "user_email",
    "join_time",
    "leave_time",
    "join_meeting_seconds",
    "client_type",
    "client_version",
    "os_type",
    "os_version",
    "hardware_type",
    "network_type",
    "server_region",
    "speaker",
    "microphone",
    "camera",
    "local_ip",
    "public_ip",
    "masked_local_ip",
    "masked_public_ip",
    "location",
    "content_sha256",
)
STREAM_COLUMNS = (
    "id",
    "session_id",
    "kind",
    "direction",
    "seq",
    "start_time",
    "end_time",
    "sampling_interval",
    "codec",
    "transport_type",
    "sample_count",
)
# A sample as judged and as the `media_samples` view shows it (the view adds `ts`, the time).
SAMPLE_METRICS = ("packet_loss", "latency", "jitter", "bit_rate", "resolution_height", "frame_rate")
SAMPLE_COLUMNS = ("stream_id", "idx") + SAMPLE_METRICS
CPU_METRICS = ("process_avg_cpu", "process_max_cpu", "system_avg_cpu", "system_max_cpu")
CPU_COLUMNS = ("session_id", "seq", "idx") + CPU_METRICS
# How samples are stored (packing.py): one row per stream, one per session's CPU.
SERIES_COLUMNS = ("stream_id", "start_ms", "step_ms", "samples", "packed")
CPU_SERIES_COLUMNS = ("session_id", "start_ms", "step_ms", "samples", "packed")
# A media_sessions row as written: the item's columns, then its verdict and when it was fetched.
SESSION_WRITE_COLUMNS = SESSION_COLUMNS + (
    "avg_system_cpu",
    "max_system_cpu",
    "verdict",
    "verdict_reason",
    "verdict_metric",
    "fetched_at",
)
# A media_summaries row: which stream group, how many samples, the figures, the verdict.
FIGURE_COLUMNS = (
    "avg_packet_loss",
    "p90_packet_loss",
    "max_packet_loss",
    "avg_latency",
    "p90_latency",
    "max_latency",
    "avg_jitter",
    "p90_jitter",
    "max_jitter",
    "avg_bit_rate",
    "p10_frame_rate",
    "min_frame_rate",
    "min_resolution_height",
    "avg_frame_rate",
)
SUMMARY_COLUMNS = (
    ("session_id", "kind", "direction", "samples") + FIGURE_COLUMNS + ("verdict", "reason", "verdict_metric", "seconds")
)


def summary_row(
    session_id: int, kind: str, direction: str, samples: int, figures: dict, verdict, seconds: float | None
) -> tuple:
    """A media_summaries tuple from named figures (absent ones are NULL), a verdict, and how long
    the stream ran."""
    return (
        session_id,
        kind,
        direction,
        samples,
        *(figures.get(c) for c in FIGURE_COLUMNS),
        verdict.level,
        verdict.reason,
        verdict.metric,
        seconds,
    )


def series_clock(start, step: float | None) -> tuple | None:
    """A stream's clock as stored: (epoch ms of its first sample, ms per sample), from its start
    (a datetime) and sampling interval in seconds; None when either is missing."""
    if start is None or step is None:
        return None
    step_ms = step * 1000
    return round(start.timestamp() * 1000), int(step_ms) if float(step_ms).is_integer() else step_ms


def series_row(
    key: int, clock: tuple | None, rows: list, samples: int | None = None, *, trimmed: bool = False
) -> tuple:
    """A stream's (or a session's CPU) samples as stored: its clock as integers (epoch ms of the
    first sample, ms per sample; NULL when the vendor sent none), how many samples (`rows`, unless
    they are nested), and the rows, packed. `trimmed`: the rows come from `packing.rows_of`."""
    start_ms, step_ms = clock or (None, None)
    packed = pack_trimmed(rows) if trimmed else pack_rows(rows)
    return key, start_ms, step_ms, len(rows) if samples is None else samples, packed


@dataclass
class PreparedSession:
    """One session's rows, ready to write: plain tuples, cheap to send between processes."""

    id: int
    meeting_id: str
    fingerprint: str
    session: tuple  # SESSION_WRITE_COLUMNS order
    summaries: list  # SUMMARY_COLUMNS order
    streams: list  # STREAM_COLUMNS order
    series: list  # SERIES_COLUMNS order: each stream's samples, packed
    cpu_series: list  # CPU_SERIES_COLUMNS order: none or one
    sample_count: int = 0
    # What only its vendor reports: (table, columns, values), a row of the provider's own table
    # keyed by the session's id (first column), written and replaced with the session.
    vendor: tuple | None = None
    # Further rows of the provider's own tables (a stream's, say), (table, columns, values) each,
    # replaced with the session.
    vendor_rows: list = field(default_factory=list)


def stable_id(*parts) -> int:
    """A 60-bit integer id derived from the API's own identifiers: the same payload always
    yields the same ids, so re-ingesting it is a no-op and no lookup is needed."""
    digest = hashlib.sha1("\x1f".join("" if p is None else str(p) for p in parts).encode()).hexdigest()
    return int(digest[:15], 16)


def content_hash(value) -> str:
    """A digest of JSON content that depends on neither key order nor Python's version."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def content_fingerprint(value) -> str:
    """Like `content_hash`, four times as fast: tells whether a session changed since it was
    stored. orjson prints the same sorted-key JSON in C; what it cannot print (an integer beyond
    64 bits, from a hostile payload) takes the standard library's way."""
    try:
        encoded = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return content_hash(value)
    return hashlib.sha256(encoded).hexdigest()


def number(value) -> float | None:
    """A finite float, from a number or numeric text; None for anything else."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        result = float(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int past a double
        return None
    return result if math.isfinite(result) else None


def text(value) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    value = str(value).strip()
    return value or None
