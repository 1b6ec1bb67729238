"""save_* functions: rows into SQLite, upserts keyed on the API's ids, plus the queue and run log.

Each function writes; none decides. Decisions (what is due, when to retry) are the
pipeline's. Callers wrap related writes in one `database.atomic()`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from peewee import chunked

from .clock import iso, parse_iso
from .models import DEFAULT_ACCOUNT, DEFAULT_PROVIDER, CollectorRun, CollectorState, MeetAttendance, Meeting, database
from .transform import (CPU_COLUMNS, SAMPLE_COLUMNS, SESSION_WRITE_COLUMNS, STREAM_COLUMNS, SUMMARY_COLUMNS,
                        PreparedSession, meeting_row, prepare_session, without_meeting_secrets)

RETENTION = timedelta(days=7)   # Webex keeps meeting quality 7 days after the start
OPEN_STATES = ("pending", "partial", "recheck")
# Descriptive columns a later listing may update; the queue columns are never overwritten.
MEETING_LISTED_COLUMNS = ["series_id", "scheduled_meeting_id", "title", "meeting_type", "scheduled_type",
                          "state", "timezone", "start", "end", "host_user_id", "host_display_name",
                          "host_email", "site_url", "raw", "last_listed_at"]
BATCH = 500


def _insert(table: str, columns: tuple, suffix: str = "") -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}){suffix}"


UPSERT_SESSION = _insert("media_sessions", SESSION_WRITE_COLUMNS + ("account", "provider"),
                         " ON CONFLICT (id) DO UPDATE SET " + ", ".join(
                             f"{c} = excluded.{c}" for c in SESSION_WRITE_COLUMNS if c != "id"))
INSERT_STREAM = _insert("media_streams", STREAM_COLUMNS)
INSERT_SUMMARY = _insert("media_summaries", SUMMARY_COLUMNS)
INSERT_SAMPLE = _insert("media_samples", SAMPLE_COLUMNS)
INSERT_CPU = _insert("cpu_samples", CPU_COLUMNS)
# Once per page or meeting, but on the same hot path: plain SQL, not a query built per call.
INSERT_RAW = _insert("raw_responses", ("endpoint", "meeting_id", "\"offset\"", "url", "status", "tracking_id",
                                       "content_type", "fetched_at", "body", "body_sha256", "error", "account"),
                     " ON CONFLICT DO NOTHING")
INSERT_MEETING_STUB = ("INSERT INTO meetings (id, account, provider, quality_state, quality_offset, quality_passes, "
                       "quality_failures) VALUES (?, ?, ?, 'done', 0, 0, 0) ON CONFLICT DO NOTHING")


def _columns(model, names):
    return [model._meta.columns[name] for name in names]


# -- meetings -------------------------------------------------------------------------------

def save_meetings(items: list[dict], now, account: str = DEFAULT_ACCOUNT) -> list[str]:
    """Upsert listed meetings; returns the ids that were new. New meetings join the queue,
    due at once, expiring 7 days after their start."""
    rows = [row for row in map(meeting_row, items) if row]
    if not rows:
        return []
    ids = [row["id"] for row in rows]
    known = {m.id for m in Meeting.select(Meeting.id).where(Meeting.id.in_(ids))}
    stamp = iso(now)
    for row in rows:
        start = parse_iso(row["start"])
        row.update(first_listed_at=stamp, last_listed_at=stamp, quality_due_at=stamp, account=account,
                   expires_at=iso(start + RETENTION) if start else None,
                   quality_state="pending" if is_ended_instance(row) else "not_applicable")
    for batch in chunked(rows, BATCH):
        (Meeting.insert_many(batch)
         .on_conflict(conflict_target=[Meeting.id], preserve=_columns(Meeting, MEETING_LISTED_COLUMNS))
         .execute())
    return [i for i in dict.fromkeys(ids) if i not in known]


def enqueue_meeting(meeting_id: str, account: str, due, start=None, end=None, title: str | None = None) -> bool:
    """A meeting known before any listing shows it (a webhook said it ended): queued, due at
    `due`. A meeting already known is left as it is. Returns whether it was new."""
    expires = (start or due) + RETENTION
    return database.execute_sql(
        "INSERT INTO meetings (id, account, title, meeting_type, state, start, \"end\", quality_state, quality_due_at, "
        "quality_offset, quality_passes, quality_failures, expires_at) "
        "VALUES (?, ?, ?, 'meeting', 'ended', ?, ?, 'pending', ?, 0, 0, 0, ?) ON CONFLICT DO NOTHING",
        (meeting_id, account, title, iso(start) if start else None, iso(end) if end else None, iso(due),
         iso(expires))).rowcount > 0


def save_meet_conferences(rows: list[dict], account: str) -> None:
    """Google Meet: one meetings row per conference, widened as its endpoint sessions arrive
    (the first to join sets the start, the last to leave the end). Never queued: the
    Reports API has no per-meeting fetch."""
    for row in rows:
        database.execute_sql(
            "INSERT INTO meetings (id, account, provider, title, meeting_type, state, start, \"end\", host_email, "
            "quality_state, quality_offset, quality_passes, quality_failures, quality_fetched_at) "
            "VALUES (?, ?, 'google', ?, 'meeting', 'ended', ?, ?, ?, 'done', 0, 1, 0, ?) ON CONFLICT (id) DO UPDATE SET "
            "start = min(coalesce(start, excluded.start), coalesce(excluded.start, start)), "
            "\"end\" = max(coalesce(\"end\", excluded.\"end\"), coalesce(excluded.\"end\", \"end\")), "
            "host_email = coalesce(excluded.host_email, host_email), provider = 'google', "
            "quality_fetched_at = excluded.quality_fetched_at",
            (row["id"], account, row["title"], row["start"], row["end"], row["host_email"], row["fetched_at"]))


def save_attendance(rows: list[dict]) -> int:
    """Meet REST participant sessions, upserted on their resource name (a session still
    running when first read gets its end later). Returns the rows written."""
    if not rows:
        return 0
    for batch in chunked(rows, BATCH):
        (MeetAttendance.insert_many(batch)
         .on_conflict(conflict_target=[MeetAttendance.id],
                      preserve=[MeetAttendance.end_time, MeetAttendance.display_name, MeetAttendance.fetched_at])
         .execute())
    return len(rows)


def is_ended_instance(row: dict) -> bool:
    """Only ended meeting instances have quality data; a listing may still carry series or
    scheduled meetings if a filter was dropped, and those are kept but never queued."""
    return row["meeting_type"] in (None, "meeting") and row["state"] in (None, "ended")


def ensure_meeting(meeting_id: str, account: str = DEFAULT_ACCOUNT, provider: str = DEFAULT_PROVIDER) -> None:
    """A stub row, for qualities of a meeting that was never listed (e.g. `meetq load`)."""
    database.execute_sql(INSERT_MEETING_STUB, (meeting_id, account, provider))


# -- raw responses --------------------------------------------------------------------------

def save_raw(page, endpoint: str, meeting_id: str | None = None, offset: int | None = None,
             error: str | None = None, body_sha256: str | None = None, account: str = DEFAULT_ACCOUNT) -> bool:
    """`body_sha256`, when given, is `body_digest(page.body)` computed elsewhere (a load worker).
    Returns False when the very same response was already stored."""
    body = page.body
    if endpoint == "meetings" and page.status < 300:
        body, body_sha256 = _meetings_body_without_secrets(body), None
    return database.execute_sql(INSERT_RAW, (
        endpoint, meeting_id, offset, page.url, page.status, page.tracking_id, page.content_type, page.fetched_at,
        body, body_sha256 or body_digest(body), error, account)).rowcount > 0


def body_digest(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()


def _meetings_body_without_secrets(body: str) -> str:
    """Meeting listings carry passwords and host keys; those never enter the database."""
    try:
        document = json.loads(body)
        document["items"] = [without_meeting_secrets(i) if isinstance(i, dict) else i for i in document["items"]]
    except (ValueError, TypeError, KeyError):
        return body
    return json.dumps(document)


# -- qualities ------------------------------------------------------------------------------

def save_quality_items(meeting_id: str, items: list[dict], fetched_at: str, thresholds: dict | None = None,
                       account: str = DEFAULT_ACCOUNT) -> tuple[int, int]:
    """Normalise one page of Meeting Qualities items with their summaries and verdicts.
    Returns (sessions written, samples written)."""
    return write_sessions(meeting_id, [prepare_session(item, meeting_id, fetched_at, thresholds) for item in items],
                          account)


def write_sessions(meeting_id: str, prepared: list[PreparedSession | None], account: str = DEFAULT_ACCOUNT,
                   provider: str = DEFAULT_PROVIDER) -> tuple[int, int]:
    """Write prepared sessions. One whose content is unchanged is left alone; a changed one is
    replaced whole. Returns (sessions written, samples written)."""
    ensure_meeting(meeting_id, account, provider)
    sessions = samples = 0
    cursor = database.cursor()
    for session in filter(None, prepared):
        found = cursor.execute("SELECT content_sha256 FROM media_sessions WHERE id = ?", (session.id,)).fetchone()
        if found and found[0] == session.fingerprint:
            continue
        if session.meeting_id != meeting_id:
            ensure_meeting(session.meeting_id, account, provider)
        if found:  # a changed session: its children are replaced whole
            for child in ("media_streams", "cpu_samples", "media_summaries"):
                cursor.execute(f"DELETE FROM {child} WHERE session_id = ?", (session.id,))
        # The hot path: prepared tuples through executemany, no generated SQL per row.
        cursor.execute(UPSERT_SESSION, (*session.session, account, provider))
        cursor.executemany(INSERT_SUMMARY, session.summaries)
        cursor.executemany(INSERT_STREAM, session.streams)
        cursor.executemany(INSERT_SAMPLE, session.samples)
        cursor.executemany(INSERT_CPU, session.cpu)
        sessions += 1
        samples += session.sample_count
    return sessions, samples


# -- the qualities queue --------------------------------------------------------------------

def due_meetings(now, min_interval: float, limit: int = 1000, account: str = DEFAULT_ACCOUNT) -> list[Meeting]:
    """Open meetings whose turn has come, nearest expiry first. A meeting called less than
    `min_interval` seconds ago is never due, whatever else says so."""
    stamp = iso(now)
    called_before = iso(now - timedelta(seconds=min_interval))
    return list(Meeting.select()
                .where(Meeting.account == account, Meeting.quality_state.in_(OPEN_STATES),
                       (Meeting.quality_due_at.is_null()) | (Meeting.quality_due_at <= stamp),
                       (Meeting.quality_called_at.is_null()) | (Meeting.quality_called_at <= called_before),
                       (Meeting.expires_at.is_null()) | (Meeting.expires_at > stamp))
                .order_by(Meeting.expires_at.asc(nulls="LAST"), Meeting.id)
                .limit(limit))


def expire_overdue(now) -> int:
    """Close open meetings the API no longer serves. Those fetched at least once are done;
    the rest are `expired`, which the viewer reports as lost."""
    stamp = iso(now)
    overdue = (Meeting.quality_state.in_(OPEN_STATES)) & (Meeting.expires_at <= stamp)
    with database.atomic():
        (Meeting.update(quality_state="done")
         .where(overdue & (Meeting.quality_passes > 0)).execute())
        return (Meeting.update(quality_state="expired",
                               quality_error="not fetched before Webex's 7-day limit")
                .where(overdue & (Meeting.quality_passes == 0)).execute())


def update_meeting(meeting_id: str, **changes) -> None:
    Meeting.update(**changes).where(Meeting.id == meeting_id).execute()


# -- run log and state -----------------------------------------------------------------------

def close_abandoned_runs(now) -> int:
    """Runs still marked `running` belong to a collector that died (callers hold the lock)."""
    return (CollectorRun.update(outcome="crashed", finished_at=iso(now),
                                message="the collector stopped without finishing this run")
            .where(CollectorRun.outcome == "running").execute())


def start_run(now, trigger: str, account: str = DEFAULT_ACCOUNT) -> int:
    return CollectorRun.insert(started_at=iso(now), trigger=trigger, account=account).execute()


def finish_run(run_id: int, **fields) -> None:
    CollectorRun.update(**fields).where(CollectorRun.id == run_id).execute()


def get_state(key: str, default: str | None = None, account: str = DEFAULT_ACCOUNT) -> str | None:
    key = account_key(account, key)
    value = CollectorState.select(CollectorState.value).where(CollectorState.key == key).scalar()
    return default if value is None else value


def set_state(now, account: str = DEFAULT_ACCOUNT, **values) -> None:
    rows = [{"key": account_key(account, k), "value": None if v is None else str(v), "updated_at": iso(now)}
            for k, v in values.items()]
    (CollectorState.insert_many(rows)
     .on_conflict(conflict_target=[CollectorState.key],
                  preserve=[CollectorState.value, CollectorState.updated_at])
     .execute())


def account_key(account: str, key: str) -> str:
    """State of one account; the first account keeps the bare names older databases used."""
    return key if account == DEFAULT_ACCOUNT else f"{account}/{key}"
