"""Sessions measured minute by minute, judged: a session's summaries and verdict from its
streams' sample columns, whichever vendor sent them (sampling intervals of any length).

A provider's transform builds SessionRows (a column per metric, in rows.SAMPLE_METRICS and
rows.CPU_METRICS order); `summarise_session` judges them with the shared thresholds, and
`rejudge_session` does the same from stored rows (`meetq rejudge`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain

from .clock import parse_iso
from .rows import CPU_METRICS, SAMPLE_METRICS, SESSION_WRITE_COLUMNS, STREAM_COLUMNS, PreparedSession, summary_row
from .verdicts import judge, judge_cpu, mean, media_checks, session_verdict, stream_verdict, with_defaults


@dataclass
class SessionRows:
    """One session's rows. Samples are kept as the vendor sends them, a column per metric (judging
    sorts columns; a tuple per sample would be built only to be taken apart again)."""

    session: dict
    streams: list[dict] = field(default_factory=list)
    columns: dict = field(default_factory=dict)  # stream id -> SAMPLE_METRICS columns (rows.py), of equal length
    cpu_columns: list = field(default_factory=list)  # a resource's CPU_METRICS columns, of equal length
    series: list[tuple] = field(default_factory=list)  # SERIES_COLUMNS order, as stored
    cpu_series: list[tuple] = field(default_factory=list)

    @property
    def samples(self) -> list[tuple]:
        """SAMPLE_COLUMNS tuples: the rows the `media_samples` view shows, less their time."""
        return [
            (stream_id, idx, *values)
            for stream_id, columns in self.columns.items()
            for idx, values in enumerate(zip(*columns))
        ]

    @property
    def cpu(self) -> list[tuple]:
        """CPU_COLUMNS tuples: the rows the `cpu_samples` view shows, less their time."""
        return [
            (self.session["id"], seq, idx, *values)
            for seq, columns in enumerate(self.cpu_columns)
            for idx, values in enumerate(zip(*columns))
        ]

    @classmethod
    def from_stored(cls, session: dict, streams: list[dict], samples: list[tuple], cpu: list[tuple]) -> "SessionRows":
        """From stored rows (SAMPLE_COLUMNS and CPU_COLUMNS tuples, in index order)."""
        return cls(
            session,
            streams,
            _transposed(samples, key=0, values_from=2),
            list(_transposed(cpu, key=1, values_from=3).values()),
        )


# A "peak" is what the worst tenth of the intervals reach (see _peak): one bad minute in an
# hour does not condemn a call, six do.
CHECKS = media_checks(
    "p90",
    {
        "loss": "packet loss peaked at",
        "latency": "latency peaked at",
        "jitter": "jitter peaked at",
        "frame_rate": "frame rate fell to",
    },
)
HEIGHT_AT, FPS_AT = SAMPLE_METRICS.index("resolution_height"), SAMPLE_METRICS.index("frame_rate")
SYSTEM_AVG_CPU = CPU_METRICS.index("system_avg_cpu")


def summarise_session(rows: SessionRows, thresholds: dict | None = None) -> tuple[list[tuple], dict]:
    """Per kind and direction: averages and extremes, and a verdict with its reasons in words.
    Returns the `media_summaries` tuples and the session's own verdict columns."""
    thresholds = with_defaults(thresholds)
    grouped: dict[tuple, list[tuple]] = {}  # (kind, direction) -> [(a stream's columns, its interval)]
    for stream in rows.streams:
        columns = rows.columns.get(stream["id"])
        if columns and columns[0]:
            grouped.setdefault((stream["kind"], stream["direction"]), []).append(
                (columns, stream["sampling_interval"] or 60.0)
            )
    session_seconds = _session_seconds(rows.session, grouped)
    summaries, verdicts = [], []
    for (kind, direction), streams in sorted(grouped.items(), key=lambda group: group[0]):
        figures = _figures([list(chain.from_iterable(c[i] for c, _ in streams)) for i in range(len(SAMPLE_METRICS))])
        figures["judged_frame_rate"] = _judged_frame_rate(streams, session_seconds, thresholds)
        seconds = _seconds(streams)
        found = judge(f"{kind} {direction}", kind, direction, figures, thresholds, CHECKS, seconds)
        verdicts += found
        summaries.append(
            summary_row(
                rows.session["id"],
                kind,
                direction,
                sum(len(c[0]) for c, _ in streams),
                figures,
                stream_verdict(found),
                seconds,
            )
        )
    system_cpu = sorted(v for columns in rows.cpu_columns for v in columns[SYSTEM_AVG_CPU] if v is not None)
    cpu = {"avg_system_cpu": mean(system_cpu), "max_system_cpu": _last(system_cpu)}
    verdicts += judge_cpu(_peak(system_cpu), thresholds)
    return summaries, {**cpu, **session_verdict(verdicts, "no media samples", causes_measured=bool(system_cpu))}


def _seconds(streams: list[tuple]) -> float:
    """How long a group of streams covers: each sample is one sampling interval."""
    return sum(interval * len(columns[0]) for columns, interval in streams)


def _session_seconds(session: dict, grouped: dict) -> float:
    """How long the participant was there: join to leave, else the longest stream group."""
    joined, left = parse_iso(session.get("join_time")), parse_iso(session.get("leave_time"))
    if joined and left and left > joined:
        return (left - joined).total_seconds()
    return max(map(_seconds, grouped.values()), default=0.0)


def _judged_frame_rate(streams: list[tuple], session_seconds: float, thresholds: dict):
    """The low frame rate of the intervals shown at a real resolution, when those cover a real
    share of the session; None otherwise (a thumbnail, a few seconds of someone's camera)."""
    minimum, real, real_seconds = thresholds["video_min_height_px"], [], 0.0
    for columns, interval in streams:
        shown = [
            fps
            for height, fps in zip(columns[HEIGHT_AT], columns[FPS_AT])
            if fps is not None and (height or 0) >= minimum
        ]
        real += shown
        real_seconds += interval * len(shown)
    if not real or real_seconds < session_seconds * thresholds["video_min_share_pct"] / 100:
        return None
    return _peak(sorted(real), low=True)


def _figures(columns: list[list]) -> dict:
    column = {name: sorted([v for v in values if v is not None]) for name, values in zip(SAMPLE_METRICS, columns)}
    loss, latency, jitter, fps = column["packet_loss"], column["latency"], column["jitter"], column["frame_rate"]
    return {
        "avg_packet_loss": mean(loss),
        "p90_packet_loss": _peak(loss),
        "max_packet_loss": _last(loss),
        "avg_latency": mean(latency),
        "p90_latency": _peak(latency),
        "max_latency": _last(latency),
        "avg_jitter": mean(jitter),
        "p90_jitter": _peak(jitter),
        "max_jitter": _last(jitter),
        "avg_bit_rate": mean(column["bit_rate"]),
        "p10_frame_rate": _peak(fps, low=True),
        "min_frame_rate": fps[0] if fps else None,
        "min_resolution_height": column["resolution_height"][0] if column["resolution_height"] else None,
        "avg_frame_rate": mean(fps),
    }


def _peak(ordered: list[float], low: bool = False) -> float | None:
    """What the worst tenth of the intervals reach: the k-th worst value, k = n // 10, at least 1
    (so up to 19 intervals it is the worst one). `low`: worst means lowest (frame rate)."""
    if not ordered:
        return None
    k = max(1, len(ordered) // 10)
    return ordered[k - 1] if low else ordered[-k]


def _last(ordered: list[float]) -> float | None:
    return ordered[-1] if ordered else None


def prepared(rows: SessionRows, fetched_at: str, thresholds: dict | None, vendor: tuple | None) -> PreparedSession:
    """A session's rows judged and ready to write (`vendor`: its row of the provider's own table,
    as PreparedSession.vendor holds it)."""
    summaries, verdict = summarise_session(rows, thresholds)
    session = {**rows.session, **verdict, "fetched_at": fetched_at}
    return PreparedSession(
        id=session["id"],
        meeting_id=session["meeting_id"],
        fingerprint=session["content_sha256"],
        session=tuple(session[c] for c in SESSION_WRITE_COLUMNS),
        summaries=summaries,
        streams=[tuple(s[c] for c in STREAM_COLUMNS) for s in rows.streams],
        series=rows.series,
        cpu_series=rows.cpu_series,
        sample_count=sum(s[3] for s in rows.series),
        vendor=vendor,
    )


def rejudge_session(stored, thresholds: dict) -> tuple[list[tuple], dict]:
    """Judge a stored session again (a rejudge.StoredSession) from its streams, samples and CPU."""
    session = {"id": stored.id, "join_time": stored.join_time, "leave_time": stored.leave_time}
    return summarise_session(SessionRows.from_stored(session, stored.streams, stored.samples, stored.cpu), thresholds)


def _transposed(rows: list[tuple], key: int, values_from: int) -> dict:
    """{row[key]: the columns of row[values_from:]}, for rows in index order."""
    grouped: dict = {}
    for row in rows:
        grouped.setdefault(row[key], []).append(row[values_from:])
    return {k: [list(column) for column in zip(*values)] for k, values in grouped.items()}
