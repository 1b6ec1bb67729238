"""save_* functions: rows into SQLite, upserts keyed on the API's ids, plus the queue and run log.

Each function writes; none decides. Decisions (what is due, when to retry) are the
collection runs' and the providers'. Callers wrap related writes in one `database.atomic()`.
Nothing here knows a vendor: rows arrive already transformed.
"""

from __future__ import annotations

from datetime import timedelta

from .clock import iso, parse_iso
from .logs import get_logger
from .models import DEFAULT_ACCOUNT, CollectorRun, CollectorState, Meeting, database
from .packing import MAX_TEXT_BYTES, pack_text, unpacked_size
from .responses import RawRecord, body_digest
from .rows import (
    CPU_SERIES_COLUMNS,
    SERIES_COLUMNS,
    SESSION_WRITE_COLUMNS,
    STREAM_COLUMNS,
    SUMMARY_COLUMNS,
    PreparedSession,
)

log = get_logger("meetq.store")
OPEN_STATES = ("pending", "partial", "recheck")
# Descriptive columns a later listing may update; the queue columns are never overwritten.
MEETING_LISTED_COLUMNS = [
    "series_id",
    "join_code",
    "title",
    "meeting_type",
    "scheduled_type",
    "state",
    "timezone",
    "start",
    "end",
    "host_user_id",
    "host_display_name",
    "host_email",
    "raw",
    "last_listed_at",
]
# Queue columns without an SQL default (Peewee fills them only for its own inserts).
QUEUE_DEFAULTS = {"quality_state": "pending", "quality_passes": 0, "quality_failures": 0}


def _insert(table: str, columns: tuple, suffix: str = "") -> str:
    quoted = ", ".join(f'"{c}"' for c in columns)
    return f"INSERT INTO {table} ({quoted}) VALUES ({', '.join('?' * len(columns))}){suffix}"


UPSERT_SESSION = _insert(
    "media_sessions",
    SESSION_WRITE_COLUMNS + ("account", "provider"),
    " ON CONFLICT (id) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in SESSION_WRITE_COLUMNS if c != "id"),
)
INSERT_STREAM = _insert("media_streams", STREAM_COLUMNS)
INSERT_SUMMARY = _insert("media_summaries", SUMMARY_COLUMNS)
INSERT_SERIES = _insert("stream_series", SERIES_COLUMNS)
INSERT_CPU_SERIES = _insert("cpu_series", CPU_SERIES_COLUMNS)
PLACE_COLUMNS = (
    "session_id",
    "file_id",
    "status",
    "address_from",
    "subnet",
    "building",
    "network_name",
    "city",
    "country",
    "region",
    "inside_corp",
    "vpn",
)
UPSERT_PLACE = _insert("session_locations", PLACE_COLUMNS).replace("INSERT", "INSERT OR REPLACE", 1)
# Once per page or meeting, but on the same hot path: plain SQL, not a query built per call.
INSERT_RAW = _insert(
    "raw_responses",
    (
        "endpoint",
        "meeting_id",
        "offset",
        "url",
        "status",
        "tracking_id",
        "content_type",
        "fetched_at",
        "body",
        "body_sha256",
        "error",
        "account",
    ),
    " ON CONFLICT DO NOTHING",
)

# How a meetings row meets one already stored: the four ways meetq learns of a meeting.
KEEP_STORED = "DO NOTHING"  # a stub, or a webhook's early word: whatever is known wins
LISTED_AGAIN = "DO UPDATE SET " + ", ".join(f'"{c}" = excluded."{c}"' for c in MEETING_LISTED_COLUMNS)
WIDENED = (
    "DO UPDATE SET start = min(coalesce(start, excluded.start), coalesce(excluded.start, start)), "
    '"end" = max(coalesce("end", excluded."end"), coalesce(excluded."end", "end")), '
    "host_email = coalesce(excluded.host_email, host_email), join_code = coalesce(excluded.join_code, join_code), "
    "provider = excluded.provider, "
    "quality_fetched_at = excluded.quality_fetched_at"
)


def write_meetings(rows: list[dict], on_conflict: str) -> int:
    """Insert meetings rows (all with the same keys); `on_conflict` says what an existing row
    keeps. Returns how many rows were inserted or changed."""
    if not rows:
        return 0
    rows = [{**QUEUE_DEFAULTS, **row} for row in rows]
    columns = tuple(rows[0])
    sql = _insert("meetings", columns, f" ON CONFLICT (id) {on_conflict}")
    cursor = database.cursor()
    changed = 0
    for row in rows:
        changed += cursor.execute(sql, tuple(row[c] for c in columns)).rowcount
    return changed


# -- meetings -------------------------------------------------------------------------------


def save_meetings(rows: list[dict], now, account: str, provider: str, retention: timedelta) -> list[str]:
    """Upsert listed meetings of `provider`; returns the ids that were new. New meetings join the
    queue (unless their row says otherwise), due at once, expiring `retention` after their start."""
    if not rows:
        return []
    ids = [row["id"] for row in rows]
    known = {m.id for m in Meeting.select(Meeting.id).where(Meeting.id.in_(ids))}
    stamp = iso(now)
    for row in rows:
        start = parse_iso(row["start"])
        row.update(
            first_listed_at=stamp,
            last_listed_at=stamp,
            quality_due_at=stamp,
            account=account,
            provider=provider,
            expires_at=iso(start + retention) if start else None,
        )
    write_meetings(rows, LISTED_AGAIN)
    return [i for i in dict.fromkeys(ids) if i not in known]


def enqueue_meeting(
    meeting_id: str,
    account: str,
    provider: str,
    due,
    retention: timedelta,
    start=None,
    end=None,
    title: str | None = None,
) -> bool:
    """A meeting known before any listing shows it (a webhook said it ended): queued, due at
    `due`. A meeting already known is left as it is. Returns whether it was new."""
    return (
        write_meetings(
            [
                {
                    "id": meeting_id,
                    "account": account,
                    "provider": provider,
                    "title": title,
                    "meeting_type": "meeting",
                    "state": "ended",
                    "start": iso(start) if start else None,
                    "end": iso(end) if end else None,
                    "quality_due_at": iso(due),
                    "expires_at": iso((start or due) + retention),
                }
            ],
            KEEP_STORED,
        )
        > 0
    )


def save_conferences(rows: list[dict], account: str, provider: str) -> None:
    """Meetings known only through their participants' sessions (no per-meeting fetch, never
    queued): widened as sessions arrive, the first to join sets the start, the last to leave
    the end."""
    write_meetings(
        [
            {
                "id": row["id"],
                "account": account,
                "provider": provider,
                "title": row["title"],
                "meeting_type": "meeting",
                "state": "ended",
                "start": row["start"],
                "end": row["end"],
                "host_email": row["host_email"],
                "join_code": row.get("join_code"),
                "quality_state": "done",
                "quality_passes": 1,
                "quality_fetched_at": row["fetched_at"],
            }
            for row in rows
        ],
        WIDENED,
    )


def ensure_meeting(meeting_id: str, account: str, provider: str) -> None:
    """A stub row, for sessions of a meeting that was never listed (e.g. `meetq load`)."""
    write_meetings([{"id": meeting_id, "account": account, "provider": provider, "quality_state": "done"}], KEEP_STORED)


def upsert_rows(table: str, key: str, rows: list[dict]) -> int:
    """Rows of a provider's own table (all with the same keys), keyed on `key`: a row already
    stored takes the given columns and keeps the others. Returns the rows written."""
    if not rows:
        return 0
    columns = tuple(rows[0])
    updates = ", ".join(f'"{c}" = excluded."{c}"' for c in columns if c != key)
    conflict = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
    sql = _insert(table, columns, f' ON CONFLICT ("{key}") {conflict}')
    database.cursor().executemany(sql, [tuple(row[c] for c in columns) for row in rows])
    return len(rows)


# -- raw responses --------------------------------------------------------------------------


def save_raw(
    record: RawRecord,
    endpoint: str,
    meeting_id: str | None = None,
    offset: int | None = None,
    account: str = DEFAULT_ACCOUNT,
    body_sha256: str | None = None,
    packed: bytes | None = None,
) -> bool:
    """`body_sha256` and `packed`, when given, are `body_digest(record.body)` and
    `pack_text(record.body)` computed elsewhere (a load worker). Returns False when the very same
    response was already stored. A body larger than anything meetq reads back (MAX_TEXT_BYTES)
    is not kept: its row says how large it was, and the rows made from it are stored as usual."""
    packed = packed or pack_text(record.body)
    error, size = record.error, unpacked_size(packed)
    if size > MAX_TEXT_BYTES:
        error = f"a body of {size:,} bytes, more than the {MAX_TEXT_BYTES:,} meetq keeps"
        log.warning("raw_body_not_kept", endpoint=endpoint, meeting_id=meeting_id, reason=error)
        packed = pack_text("")
    return (
        database.execute_sql(
            INSERT_RAW,
            (
                endpoint,
                meeting_id,
                offset,
                record.url,
                record.status,
                record.tracking_id,
                record.content_type,
                record.fetched_at,
                packed,
                body_sha256 or body_digest(record.body),
                error,
                account,
            ),
        ).rowcount
        > 0
    )


# -- qualities ------------------------------------------------------------------------------


def write_sessions(
    meeting_id: str,
    prepared: list[PreparedSession | None],
    account: str,
    provider: str,
) -> tuple[int, int]:
    """Write prepared sessions. One whose content is unchanged is left alone; a changed one is
    replaced whole. Returns (sessions written, samples written)."""
    ensure_meeting(meeting_id, account, provider)
    cursor = database.cursor()
    latest = {s.id: s for s in prepared if s}  # a session sent twice: its last version
    stored = _fingerprints(cursor, list(latest))
    changed = [s for s in latest.values() if stored.get(s.id) != s.fingerprint]
    for other in {s.meeting_id for s in changed} - {meeting_id}:
        ensure_meeting(other, account, provider)
    # A changed session's children are replaced whole (streams take their series with them).
    replaced = [(s.id,) for s in changed if s.id in stored]
    for child in ("media_streams", "cpu_series", "media_summaries") if replaced else ():
        cursor.executemany(f"DELETE FROM {child} WHERE session_id = ?", replaced)
    # The hot path: prepared tuples through executemany, a statement per table and meeting.
    cursor.executemany(UPSERT_SESSION, [(*s.session, account, provider) for s in changed])
    for sql, part in (
        (INSERT_SUMMARY, "summaries"),
        (INSERT_STREAM, "streams"),
        (INSERT_SERIES, "series"),
        (INSERT_CPU_SERIES, "cpu_series"),
    ):
        cursor.executemany(sql, [row for s in changed for row in getattr(s, part)])
    _write_vendor_rows(cursor, [s.vendor for s in changed if s.vendor] + [r for s in changed for r in s.vendor_rows])
    return len(changed), sum(s.sample_count for s in changed)


def _write_vendor_rows(cursor, rows: list[tuple]) -> None:
    """Each session's row in its provider's own table, replaced whole, a statement per table."""
    by_table: dict[tuple, list] = {}
    for table, columns, values in rows:
        by_table.setdefault((table, tuple(columns)), []).append(tuple(values))
    for (table, columns), values in by_table.items():
        cursor.executemany(_insert(table, columns).replace("INSERT", "INSERT OR REPLACE", 1), values)


def _fingerprints(cursor, ids: list[int], chunk: int = 500) -> dict[int, str]:
    """{id: content_sha256} of the sessions already stored among `ids`, a lookup per 500."""
    found = {}
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        found.update(
            cursor.execute(
                f"SELECT id, content_sha256 FROM media_sessions WHERE id IN ({', '.join('?' * len(part))})", part
            ).fetchall()
        )
    return found


def session_count(meeting_id: str) -> int:
    return database.execute_sql("SELECT count(*) FROM media_sessions WHERE meeting_id = ?", (meeting_id,)).fetchone()[0]


VERDICT_COLUMNS = ("verdict", "verdict_reason", "verdict_metric", "avg_system_cpu", "max_system_cpu")


def replace_verdicts(session_id: int, summaries: list[tuple], verdict: dict) -> None:
    """A session judged again: its summaries replaced whole, its verdict columns updated."""
    cursor = database.cursor()
    cursor.execute("DELETE FROM media_summaries WHERE session_id = ?", (session_id,))
    cursor.executemany(INSERT_SUMMARY, summaries)
    changed = [c for c in VERDICT_COLUMNS if c in verdict]
    cursor.execute(
        f"UPDATE media_sessions SET {', '.join(f'{c} = ?' for c in changed)} WHERE id = ?",
        (*(verdict[c] for c in changed), session_id),
    )


# -- the qualities queue --------------------------------------------------------------------


def save_location_file(ranges: list, fields: tuple[str, ...], source: str, sha256: str, now) -> int:
    """A building file becomes the one active mapping; the ones before it are kept, inactive.
    `fields` are the location_ranges columns each range has as an attribute."""
    cursor = database.cursor()
    cursor.execute("UPDATE location_files SET active = 0 WHERE active = 1")
    cursor.execute(
        "INSERT INTO location_files (imported_at, source, sha256, ranges, active) VALUES (?, ?, ?, ?, 1)",
        (iso(now), source, sha256, len(ranges)),
    )
    file_id = cursor.lastrowid
    cursor.executemany(
        _insert("location_ranges", ("file_id",) + fields),
        [(file_id, *(getattr(r, name) for name in fields)) for r in ranges],
    )
    return file_id


def save_places(places: dict, file_id: int | None) -> int:
    """{session id: locations.Place or None}: where each session was (None: it had no address,
    stored as status no_address)."""
    rows = []
    for session_id, place in places.items():
        if place is None:  # kept too: a session counts as placed, whatever its address was
            rows.append((session_id, file_id, "no_address", "none", "", None, None, None, None, None, 0, 0))
            continue
        found = place.range
        rows.append(
            (
                session_id,
                file_id,
                place.status,
                place.address_from,
                place.subnet,
                *(
                    (
                        found.building,
                        found.network_name,
                        found.city,
                        found.country,
                        found.region,
                        found.inside_corp,
                        found.vpn,
                    )
                    if found
                    else (None, None, None, None, None, 0, 0)
                ),
            )
        )
    database.cursor().executemany(UPSERT_PLACE, rows)
    return len(rows)


def due_meetings(now, min_interval: float, limit: int = 1000, account: str = DEFAULT_ACCOUNT) -> list[Meeting]:
    """Open meetings whose turn has come, nearest expiry first. A meeting called less than
    `min_interval` seconds ago is never due, whatever else says so."""
    stamp = iso(now)
    called_before = iso(now - timedelta(seconds=min_interval))
    return list(
        Meeting.select()
        .where(
            Meeting.account == account,
            Meeting.quality_state.in_(OPEN_STATES),
            (Meeting.quality_due_at.is_null()) | (Meeting.quality_due_at <= stamp),
            (Meeting.quality_called_at.is_null()) | (Meeting.quality_called_at <= called_before),
            (Meeting.expires_at.is_null()) | (Meeting.expires_at > stamp),
        )
        .order_by(Meeting.expires_at.asc(nulls="LAST"), Meeting.id)
        .limit(limit)
    )


def expire_overdue(now) -> int:
    """Close open meetings the API no longer serves (past their `expires_at`). Those fetched at
    least once are done; the rest are `expired`, which the viewer reports as lost."""
    stamp = iso(now)
    overdue = (Meeting.quality_state.in_(OPEN_STATES)) & (Meeting.expires_at <= stamp)
    with database.atomic():
        (Meeting.update(quality_state="done").where(overdue & (Meeting.quality_passes > 0)).execute())
        return (
            Meeting.update(
                quality_state="expired", quality_error="not fetched before the vendor stopped serving its quality"
            )
            .where(overdue & (Meeting.quality_passes == 0))
            .execute()
        )


def update_meeting(meeting_id: str, **changes) -> None:
    Meeting.update(**changes).where(Meeting.id == meeting_id).execute()


# -- run log and state -----------------------------------------------------------------------


def close_abandoned_runs(now) -> int:
    """Runs still marked `running` belong to a collector that died (callers hold the lock)."""
    return (
        CollectorRun.update(
            outcome="crashed", finished_at=iso(now), message="the collector stopped without finishing this run"
        )
        .where(CollectorRun.outcome == "running")
        .execute()
    )


def start_run(now, trigger: str, account: str = DEFAULT_ACCOUNT) -> int:
    return CollectorRun.insert(started_at=iso(now), trigger=trigger, account=account).execute()


def finish_run(run_id: int, **fields) -> None:
    CollectorRun.update(**fields).where(CollectorRun.id == run_id).execute()


def get_state(key: str, default: str | None = None, account: str = DEFAULT_ACCOUNT) -> str | None:
    key = account_key(account, key)
    value = CollectorState.select(CollectorState.value).where(CollectorState.key == key).scalar()
    return default if value is None else value


def set_state(now, account: str = DEFAULT_ACCOUNT, **values) -> None:
    rows = [
        {"key": account_key(account, k), "value": None if v is None else str(v), "updated_at": iso(now)}
        for k, v in values.items()
    ]
    (
        CollectorState.insert_many(rows)
        .on_conflict(conflict_target=[CollectorState.key], preserve=[CollectorState.value, CollectorState.updated_at])
        .execute()
    )


def account_key(account: str, key: str) -> str:
    """State of one account; the first account keeps the bare names older databases used."""
    return key if account == DEFAULT_ACCOUNT else f"{account}/{key}"
