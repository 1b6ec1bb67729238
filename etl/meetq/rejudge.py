"""Judge stored sessions again when the verdict rules or thresholds change; nothing is fetched.

Each provider judges its own sessions from what is stored (from their samples where the vendor
sends intervals, from their per-call figures where it sends only those); the shared causes of
every meeting are found again after. The rules' fingerprint (their version and every threshold)
is kept in collector_state, so `meetq run` and `meetq collect` notice a change and re-judge once,
before collecting.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from . import logs, shared_cause, store
from .clock import utcnow
from .models import database
from .rows import CPU_COLUMNS, SAMPLE_COLUMNS, STREAM_COLUMNS, SUMMARY_COLUMNS
from .verdicts import with_defaults

RULES_VERSION = 2  # bump when the engine's rules change, not only their thresholds
STATE_KEY = "verdicts.rules"
BATCH = 500  # sessions per transaction: the collector never waits long

log = logs.get_logger("meetq.rejudge")


@dataclass
class StoredSession:
    """What is stored of one session, for its provider to judge again."""

    id: int
    join_time: str | None
    leave_time: str | None
    streams: list[dict]  # STREAM_COLUMNS
    samples: list[tuple]  # SAMPLE_COLUMNS order
    cpu: list[tuple]  # CPU_COLUMNS order
    summaries: list[dict]  # SUMMARY_COLUMNS


def stored_session(session_id: int) -> StoredSession:
    read = database.execute_sql
    joined, left = read("SELECT join_time, leave_time FROM media_sessions WHERE id = ?", (session_id,)).fetchone()
    streams = [
        dict(zip(STREAM_COLUMNS, row))
        for row in read(f"SELECT {', '.join(STREAM_COLUMNS)} FROM media_streams WHERE session_id = ?", (session_id,))
    ]
    samples = list(
        read(
            f"SELECT {', '.join('x.' + c for c in SAMPLE_COLUMNS)} FROM media_samples x "
            "JOIN media_streams t ON t.id = x.stream_id WHERE t.session_id = ? ORDER BY x.stream_id, x.idx",
            (session_id,),
        )
    )
    cpu = list(
        read(f"SELECT {', '.join(CPU_COLUMNS)} FROM cpu_samples WHERE session_id = ? ORDER BY seq, idx", (session_id,))
    )
    summaries = [
        dict(zip(SUMMARY_COLUMNS, row))
        for row in read(f"SELECT {', '.join(SUMMARY_COLUMNS)} FROM media_summaries WHERE session_id = ?", (session_id,))
    ]
    return StoredSession(session_id, joined, left, streams, samples, cpu, summaries)


def rules_fingerprint(thresholds: dict) -> str:
    text = json.dumps({"version": RULES_VERSION, **with_defaults(thresholds)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def rejudge(settings, progress=lambda done, total: None) -> dict:
    """Every stored session judged by today's rules and thresholds. Returns the counts."""
    thresholds = with_defaults(settings.thresholds())
    counts = {"sessions": 0, "meetings": 0}
    with database.connection_context():
        for provider in settings.vendors.values():
            if provider.rejudge_session is None:
                continue
            ids = [
                row[0]
                for row in database.execute_sql("SELECT id FROM media_sessions WHERE provider = ?", (provider.name,))
            ]
            for start in range(0, len(ids), BATCH):
                with database.atomic():
                    for session_id in ids[start : start + BATCH]:
                        judged = provider.rejudge_session(stored_session(session_id), thresholds)
                        store.replace_verdicts(session_id, *judged)
                counts["sessions"] += len(ids[start : start + BATCH])
                progress(counts["sessions"], len(ids))
        meetings = [row[0] for row in database.execute_sql("SELECT DISTINCT meeting_id FROM media_sessions")]
        for start in range(0, len(meetings), BATCH):
            with database.atomic():
                for meeting_id in meetings[start : start + BATCH]:
                    shared_cause.analyse_meeting(meeting_id, thresholds)
        counts["meetings"] = len(meetings)
        with database.atomic():
            store.set_state(utcnow(), **{STATE_KEY: rules_fingerprint(thresholds)})
    return counts


def rejudge_if_rules_changed(settings) -> dict | None:
    """Re-judge once when the rules or thresholds differ from those the stored verdicts used."""
    fingerprint = rules_fingerprint(settings.thresholds())
    with database.connection_context():
        if store.get_state(STATE_KEY) == fingerprint:
            return None
    log.info("rejudging", reason="the verdict rules or thresholds changed")
    counts = rejudge(settings)
    log.info("rejudged", **counts)
    return counts
