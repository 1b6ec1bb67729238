"""The schema: Peewee models, pragmas, migrations and the views and indexes on top.

Tables (names fixed, the viewer and outside SQL rely on them); every vendor writes the same ones:
  meetings         one row per ended meeting instance (or conference), plus its place in the queue
  media_sessions   one row per participant's session on one device, with its verdict
  media_streams    one row per media stream of a session (kind, direction), where the vendor
                   reports intervals (each array of intervals the vendor sent)
  stream_series    a stream's sampling intervals, packed in one row (packing.py); the view
                   media_samples shows one row per interval, as people query them
  cpu_series       a session's CPU intervals, packed; the view cpu_samples, one row per interval
  media_summaries  per session, kind and direction: averages, extremes, verdict and reason
  raw_responses    every API body as received (secrets removed, IPs as the privacy setting says),
                   compressed; the view raw_bodies shows them as text
  collector_runs   the collector's own run log
  collector_state  small key/value facts: watermarks, token expiry (never the tokens); read it
                   through the `account_state` view, which splits the account out of the key

A vendor's own fields live in its provider's tables (`<vendor>_meetings`, `<vendor>_sessions`, …),
keyed by the core row they belong to. A provider declares them as a `Schema`: its frozen
migrations and the indexes and views on top. `open_database` runs the core's migrations, then each
schema's in the order given, each step once (its version is kept in collector_state as
`schema.<name>`).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from peewee import (
    SQL,
    AutoField,
    BigIntegerField,
    BlobField,
    CompositeKey,
    FloatField,
    IntegerField,
    Model,
    SqliteDatabase,
    TextField,
)

from . import packing
from .errors import DatabaseMissing, DatabaseUnusable
from .logs import get_logger
from .rows import CPU_METRICS, SAMPLE_METRICS

log = get_logger("meetq.models")


# IMMEDIATE: a write transaction takes the write lock at BEGIN, so it never fails half-way
# on "database is locked" when it upgrades from read to write.
class MeetqDatabase(SqliteDatabase):
    """Every connection reads compressed bodies (meetq_text) and has the TEMP view raw_bodies."""

    def _add_conn_hooks(self, conn):
        super()._add_conn_hooks(conn)
        packing.register(conn)


database = MeetqDatabase(None, lock_type="IMMEDIATE", autoconnect=False)

DEFAULT_ACCOUNT = "default"

PRAGMAS = {
    "auto_vacuum": "incremental",  # set before the first table exists: prune can give space back
    "journal_mode": "wal",  # readers (Datasette) never block the writer, nor it them
    "busy_timeout": 10_000,
    "foreign_keys": 1,
    "synchronous": "normal",  # durable across a process crash in WAL mode
    "wal_autocheckpoint": 10_000,  # checkpoint (and fsync) every 40 MB, not 4 MB: 12 % faster ingest
}


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


def _fk(target: str) -> list:
    return [SQL(f"REFERENCES {target} ON DELETE CASCADE")]


class Meeting(BaseModel):
    id = TextField(primary_key=True)
    series_id = TextField(null=True)
    join_code = TextField(null=True)  # what people type to join it, digits or letters only (None: unknown)
    title = TextField(null=True)
    meeting_type = TextField(null=True)
    scheduled_type = TextField(null=True)
    state = TextField(null=True)
    timezone = TextField(null=True)
    start = TextField(null=True)
    end = TextField(null=True)
    host_user_id = TextField(null=True)
    host_display_name = TextField(null=True)
    host_email = TextField(null=True)
    raw = TextField(null=True)
    first_listed_at = TextField(null=True)
    last_listed_at = TextField(null=True)
    # The qualities queue. States: pending -> (partial) -> recheck -> done; or expired.
    quality_state = TextField(default="pending")
    quality_due_at = TextField(null=True)
    quality_cursor = TextField(null=True)  # where the next read resumes, in the provider's terms (JSON)
    quality_called_at = TextField(null=True)
    quality_passes = IntegerField(default=0)
    quality_failures = IntegerField(default=0)
    quality_error = TextField(null=True)
    quality_fetched_at = TextField(null=True)
    expires_at = TextField(null=True)
    account = TextField(
        default=DEFAULT_ACCOUNT, constraints=[SQL(f"DEFAULT '{DEFAULT_ACCOUNT}'")]
    )  # which organisation
    provider = TextField()  # the vendor it came from: a name in the provider registry

    class Meta:
        table_name = "meetings"


class MediaSession(BaseModel):
    id = BigIntegerField(primary_key=True)
    meeting_id = TextField(constraints=_fk("meetings(id)"))
    participant_id = TextField(null=True)
    participant_session_id = TextField(null=True)
    user_name = TextField(null=True)
    user_email = TextField(null=True)
    join_time = TextField(null=True)
    leave_time = TextField(null=True)
    join_meeting_seconds = FloatField(null=True)
    client_type = TextField(null=True)
    client_version = TextField(null=True)
    os_type = TextField(null=True)
    os_version = TextField(null=True)
    hardware_type = TextField(null=True)
    network_type = TextField(null=True)
    server_region = TextField(null=True)
    speaker = TextField(null=True)
    microphone = TextField(null=True)
    camera = TextField(null=True)
    local_ip = TextField(null=True)
    public_ip = TextField(null=True)
    masked_local_ip = TextField(null=True)
    masked_public_ip = TextField(null=True)
    avg_system_cpu = FloatField(null=True)
    max_system_cpu = FloatField(null=True)
    verdict = TextField(null=True)  # good | fair | poor | unrated (too little data to judge)
    verdict_reason = TextField(null=True)  # every metric that tripped, in words, the root cause first
    content_sha256 = TextField()
    fetched_at = TextField(null=True)
    account = TextField(
        default=DEFAULT_ACCOUNT, constraints=[SQL(f"DEFAULT '{DEFAULT_ACCOUNT}'")]
    )  # which organisation
    provider = TextField()
    location = TextField(null=True)  # where the participant was, as the vendor names it
    verdict_metric = TextField(null=True)  # loss | latency | jitter | frame_rate | cpu: the root cause (NULL: good)
    shared_cause = TextField(null=True)  # another participant's uplink or CPU that hurt this session too
    shared_cause_session = BigIntegerField(null=True)  # that participant's session

    class Meta:
        table_name = "media_sessions"


class MediaStream(BaseModel):
    id = BigIntegerField(primary_key=True)
    session_id = BigIntegerField(constraints=_fk("media_sessions(id)"))
    kind = TextField()
    direction = TextField()
    seq = IntegerField()
    start_time = TextField(null=True)
    end_time = TextField(null=True)
    sampling_interval = FloatField(null=True)
    codec = TextField(null=True)
    transport_type = TextField(null=True)
    sample_count = IntegerField(default=0)

    class Meta:
        table_name = "media_streams"


class StreamSeries(BaseModel):
    """A stream's samples, packed (packing.py): read them as rows through the media_samples view.
    Keyed by a rowid in insertion order, not by the stream's id: ids are hashes, and rows of a few
    hundred bytes inserted at random keys leave a fifth of every page empty (3 bytes a sample);
    the index on stream_id costs under one."""

    id = AutoField()
    stream_id = BigIntegerField(unique=True, constraints=_fk("media_streams(id)"))
    start_ms = BigIntegerField(null=True)  # epoch ms of sample 0
    step_ms = IntegerField(null=True)  # ms per sample
    samples = IntegerField()
    packed = BlobField()

    class Meta:
        table_name = "stream_series"


class CpuSeries(BaseModel):
    """A session's CPU samples, packed, one array per resources element: the cpu_samples view."""

    session_id = BigIntegerField(primary_key=True, constraints=_fk("media_sessions(id)"))
    start_ms = BigIntegerField(null=True)
    step_ms = IntegerField(null=True)
    samples = IntegerField()
    packed = BlobField()

    class Meta:
        table_name = "cpu_series"


class MediaSummary(BaseModel):
    """Per session, media kind and direction: the figures a person asks for first."""

    session_id = BigIntegerField(constraints=_fk("media_sessions(id)"))
    kind = TextField()
    direction = TextField()
    samples = IntegerField()
    avg_packet_loss = FloatField(null=True)
    p90_packet_loss = FloatField(null=True)
    max_packet_loss = FloatField(null=True)
    avg_latency = FloatField(null=True)
    p90_latency = FloatField(null=True)
    max_latency = FloatField(null=True)
    avg_jitter = FloatField(null=True)
    p90_jitter = FloatField(null=True)
    max_jitter = FloatField(null=True)
    avg_bit_rate = FloatField(null=True)
    p10_frame_rate = FloatField(null=True)
    min_frame_rate = FloatField(null=True)
    min_resolution_height = FloatField(null=True)
    verdict = TextField()
    reason = TextField()
    avg_frame_rate = FloatField(null=True)
    verdict_metric = TextField(null=True)
    seconds = FloatField(null=True)  # how long the stream ran (short streams are unrated)

    class Meta:
        table_name = "media_summaries"
        primary_key = CompositeKey("session_id", "kind", "direction")
        without_rowid = True


class RawResponse(BaseModel):
    endpoint = TextField()
    meeting_id = TextField(null=True)
    offset = IntegerField(null=True)
    url = TextField()
    status = IntegerField()
    tracking_id = TextField(null=True)
    content_type = TextField(null=True)
    fetched_at = TextField()
    body = TextField()
    body_sha256 = TextField()
    error = TextField(null=True)
    account = TextField(
        default=DEFAULT_ACCOUNT, constraints=[SQL(f"DEFAULT '{DEFAULT_ACCOUNT}'")]
    )  # which organisation

    class Meta:
        table_name = "raw_responses"
        indexes = ((("endpoint", "meeting_id", "offset", "status", "body_sha256"), True),)


class CollectorRun(BaseModel):
    started_at = TextField()
    finished_at = TextField(null=True)
    outcome = TextField(default="running")  # running|ok|partial|error|reauth_required|interrupted
    trigger = TextField(null=True)
    meetings_listed = IntegerField(default=0)
    meetings_new = IntegerField(default=0)
    quality_calls = IntegerField(default=0)
    quality_pages = IntegerField(default=0)
    sessions_written = IntegerField(default=0)
    samples_written = IntegerField(default=0)
    meetings_completed = IntegerField(default=0)
    meetings_expired = IntegerField(default=0)
    rate_limited = IntegerField(default=0)
    errors = IntegerField(default=0)
    duration_ms = IntegerField(null=True)
    message = TextField(null=True)
    account = TextField(
        default=DEFAULT_ACCOUNT, constraints=[SQL(f"DEFAULT '{DEFAULT_ACCOUNT}'")]
    )  # which organisation

    class Meta:
        table_name = "collector_runs"


class CollectorState(BaseModel):
    key = TextField(primary_key=True)
    value = TextField(null=True)
    updated_at = TextField(null=True)

    class Meta:
        table_name = "collector_state"


class LocationFile(BaseModel):
    """An imported building file. One is active; the others are kept, so history can be re-mapped."""

    imported_at = TextField()
    source = TextField()
    sha256 = TextField()
    ranges = IntegerField()
    active = IntegerField(default=0)

    class Meta:
        table_name = "location_files"


class LocationRange(BaseModel):
    """One line of a building file (CQD's columns, in our names)."""

    file_id = IntegerField()
    line = IntegerField()
    network = TextField()
    prefix = IntegerField()
    version = IntegerField()
    network_name = TextField(null=True)
    building = TextField(null=True)
    ownership_type = TextField(null=True)
    building_type = TextField(null=True)
    office_type = TextField(null=True)
    city = TextField(null=True)
    zip_code = TextField(null=True)
    country = TextField(null=True)
    state = TextField(null=True)
    region = TextField(null=True)
    inside_corp = IntegerField()
    express_route = IntegerField()
    vpn = IntegerField()

    class Meta:
        table_name = "location_ranges"
        primary_key = CompositeKey("file_id", "network", "prefix")


class SessionLocation(BaseModel):
    """Where a session was, by the building file active when it was placed (file_id NULL: none)."""

    session_id = IntegerField(primary_key=True)
    file_id = IntegerField(null=True)
    status = TextField()  # mapped | outside | unmapped | masked | no_address
    address_from = TextField()  # local | public
    subnet = TextField()  # the range, else the address's /24 (IPv6 /48)
    building = TextField(null=True)
    network_name = TextField(null=True)
    city = TextField(null=True)
    country = TextField(null=True)
    region = TextField(null=True)
    inside_corp = IntegerField(default=0)
    vpn = IntegerField(default=0)

    class Meta:
        table_name = "session_locations"


TABLES = [
    Meeting,
    MediaSession,
    MediaStream,
    StreamSeries,
    CpuSeries,
    MediaSummary,
    RawResponse,
    CollectorRun,
    CollectorState,
]

INDEXES = [
    # Collector state per account: the first account keeps the bare keys older databases used,
    # the others `<account>/<key>` (store.account_key). Queries read this, never the keys.
    f"""CREATE VIEW IF NOT EXISTS account_state AS
       SELECT CASE WHEN instr(key, '/') > 0 THEN substr(key, 1, instr(key, '/') - 1) ELSE '{DEFAULT_ACCOUNT}' END
                  AS account,
              CASE WHEN instr(key, '/') > 0 THEN substr(key, instr(key, '/') + 1) ELSE key END AS key,
              value, updated_at
       FROM collector_state""",
    # Where a person starts in Datasette's own tables: who, when and the verdict first, ids last.
    """CREATE VIEW IF NOT EXISTS sessions AS
       SELECT s.user_name AS name, s.user_email AS email, s.join_time AS joined, s.leave_time AS "left",
              s.verdict, s.verdict_metric, s.verdict_reason, s.shared_cause, m.title AS meeting, s.provider AS vendor,
              s.account, s.client_type AS client, s.client_version, s.os_type AS os, s.hardware_type AS hardware,
              s.network_type AS network, coalesce(s.server_region, s.location) AS region_or_location,
              (SELECT group_concat(DISTINCT t.transport_type) FROM media_streams t
               WHERE t.session_id = s.id AND t.kind = 'audio') AS transport,
              '/-/dashboards/session?session=' || s.id AS session_page,
              '/-/dashboards/meeting?meeting=' || s.meeting_id AS meeting_page, s.id AS session_id, s.meeting_id,
              l.building, l.subnet
       FROM media_sessions s LEFT JOIN meetings m ON m.id = s.meeting_id
       LEFT JOIN session_locations l ON l.session_id = s.id""",
    """CREATE VIEW IF NOT EXISTS meeting_list AS
       SELECT m.title, m.start, m."end", m.provider AS vendor, m.account, m.host_email AS host,
              (SELECT count(*) FROM media_sessions s WHERE s.meeting_id = m.id) AS sessions,
              (SELECT count(*) FROM media_sessions s WHERE s.meeting_id = m.id AND s.verdict = 'poor') AS poor,
              '/-/dashboards/meeting?meeting=' || m.id AS meeting_page, m.quality_state, m.id
       FROM meetings m WHERE m.quality_state != 'not_applicable'""",
    "CREATE INDEX IF NOT EXISTS media_sessions_provider ON media_sessions(provider, join_time, verdict)",
    "CREATE INDEX IF NOT EXISTS meetings_account ON meetings(account, quality_state)",
    "CREATE INDEX IF NOT EXISTS meetings_queue ON meetings(quality_state, expires_at)",
    "CREATE INDEX IF NOT EXISTS meetings_start ON meetings(start)",
    "CREATE INDEX IF NOT EXISTS media_sessions_meeting ON media_sessions(meeting_id)",
    "CREATE INDEX IF NOT EXISTS media_sessions_email ON media_sessions(user_email, join_time)",
    # The overview dashboard filters and groups sessions by day and verdict.
    "CREATE INDEX IF NOT EXISTS media_sessions_join_time ON media_sessions(join_time, verdict)",
    "CREATE INDEX IF NOT EXISTS media_sessions_verdict ON media_sessions(verdict, join_time)",
    "CREATE INDEX IF NOT EXISTS meetings_join_code ON meetings(join_code)",
    "CREATE INDEX IF NOT EXISTS media_streams_session ON media_streams(session_id, kind, direction)",
    "CREATE INDEX IF NOT EXISTS raw_responses_meeting ON raw_responses(meeting_id)",
    "CREATE INDEX IF NOT EXISTS collector_runs_started ON collector_runs(started_at)",
    # Where each session was, with CQD's two summary axes: inside or outside the corporate
    # network (a range marked InsideCorp), and the connection (wired, Wi-Fi, other).
    """CREATE VIEW IF NOT EXISTS session_places AS
       SELECT s.id AS session_id, s.meeting_id, s.provider, s.account, s.join_time, s.user_email, s.verdict,
              s.network_type, coalesce(l.status, 'unknown') AS location_status, l.address_from, l.subnet,
              l.building, l.network_name, l.city, l.country, l.region,
              coalesce(l.inside_corp, 0) AS inside_corp, coalesce(l.vpn, 0) AS vpn,
              CASE WHEN l.inside_corp = 1 THEN 'Inside' ELSE 'Outside' END AS corp_network,
              CASE WHEN lower(s.network_type) IN ('wifi', 'wi-fi', 'wireless') THEN 'Wi-Fi'
                   WHEN lower(s.network_type) IN ('ethernet', 'wired', 'lan') THEN 'Wired'
                   WHEN s.network_type IS NULL THEN 'Unknown' ELSE 'Other' END AS connection
       FROM media_sessions s LEFT JOIN session_locations l ON l.session_id = s.id""",
    "CREATE INDEX IF NOT EXISTS session_locations_building ON session_locations(building, inside_corp)",
    "CREATE INDEX IF NOT EXISTS session_locations_subnet ON session_locations(status, subnet)",
]


def _migration_1(db: SqliteDatabase) -> None:
    db.create_tables(TABLES)


def _migration_2(db: SqliteDatabase) -> None:
    """Several organisations in one database: rows say which account they came from."""
    for model in (Meeting, MediaSession, RawResponse, CollectorRun):
        _add_column_if_missing(db, model._meta.table_name, f"account TEXT NOT NULL DEFAULT '{DEFAULT_ACCOUNT}'")


def _migration_3(db: SqliteDatabase) -> None:
    """A second vendor: the provider of meetings and sessions, where a participant was, and the
    mean frame rate. Rows stored before carry '' as their provider: the first vendor's own
    migration, which knows they were its rows, claims them."""
    columns = [
        (Meeting, "provider TEXT NOT NULL DEFAULT ''"),
        (MediaSession, "provider TEXT NOT NULL DEFAULT ''"),
        (MediaSession, "location TEXT"),
        (MediaSummary, "avg_frame_rate REAL"),
    ]
    for model, definition in columns:
        _add_column_if_missing(db, model._meta.table_name, definition)


def table_names(db: SqliteDatabase) -> set[str]:
    return {row[0] for row in db.execute_sql("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _add_column_if_missing(db: SqliteDatabase, table: str, definition: str) -> None:
    """Migration 1 creates today's tables, so a new database has every column already."""
    if definition.split()[0] not in column_names(db, table):
        db.execute_sql(f"ALTER TABLE {table} ADD COLUMN {definition}")


def _migration_4(db: SqliteDatabase) -> None:
    """Once a vendor's attendance table; now its provider's own migration creates it."""


# The metric a verdict reason names, for rows judged before verdict_metric existed.
METRIC_OF_REASON = """CASE WHEN {reason} LIKE '%packet loss%' THEN 'loss'
     WHEN {reason} LIKE '%latency%' OR {reason} LIKE '%round-trip%' THEN 'latency'
     WHEN {reason} LIKE '%jitter%' THEN 'jitter' WHEN {reason} LIKE '%frame rate%' THEN 'frame_rate'
     WHEN {reason} LIKE '%CPU%' THEN 'cpu' END"""


def _migration_5(db: SqliteDatabase) -> None:
    """The metric that decided a verdict, as data beside the reason in words."""
    _add_column_if_missing(db, "media_sessions", "verdict_metric TEXT")
    _add_column_if_missing(db, "media_summaries", "verdict_metric TEXT")
    db.execute_sql(
        "UPDATE media_sessions SET verdict_metric = "
        + METRIC_OF_REASON.format(reason="verdict_reason")
        + " WHERE verdict IN ('fair', 'poor') AND verdict_metric IS NULL"
    )
    db.execute_sql(
        "UPDATE media_summaries SET verdict_metric = "
        + METRIC_OF_REASON.format(reason="reason")
        + " WHERE verdict IN ('fair', 'poor') AND verdict_metric IS NULL"
    )


def _migration_6(db: SqliteDatabase) -> None:
    """Once a vendor's re-keying of its sessions; now its provider's own migration does it."""


def rekey_sessions(db: SqliteDatabase, provider: str, session_id_of_row) -> int:
    """Give each of `provider`'s sessions the id `session_id_of_row(row)` says, moving its
    children along. Two rows that now share an id were one session stored twice: one stays."""
    columns = column_names(db, "media_sessions")
    tables = table_names(db)
    children = [
        t
        for t in ("media_summaries", "media_streams", "cpu_samples", "legacy_cpu_samples", "cpu_series")
        if t in tables
    ]
    cursor = db.execute_sql(f"SELECT {', '.join(columns)} FROM media_sessions WHERE provider = ?", (provider,))
    moved = 0
    for row in [dict(zip(columns, values)) for values in cursor.fetchall()]:
        old, new = row["id"], session_id_of_row(row)
        if new == old:
            continue
        if not db.execute_sql("SELECT 1 FROM media_sessions WHERE id = ?", (new,)).fetchone():
            rest = [c for c in columns if c != "id"]
            db.execute_sql(
                f"INSERT INTO media_sessions (id, {', '.join(rest)}) "
                f"SELECT ?, {', '.join(rest)} FROM media_sessions WHERE id = ?",
                (new, old),
            )
            for child in children:
                db.execute_sql(f"UPDATE {child} SET session_id = ? WHERE session_id = ?", (new, old))
        db.execute_sql("DELETE FROM media_sessions WHERE id = ?", (old,))
        moved += 1
    return moved


def _migration_7(db: SqliteDatabase) -> None:
    """Verdicts that say why: how long each stream ran (short ones are unrated) and the shared
    cause another participant's uplink or CPU gave this session. `meetq rejudge` (and the daemon,
    when the rules change) fills them for stored sessions."""
    _add_column_if_missing(db, "media_summaries", "seconds REAL")
    _add_column_if_missing(db, "media_sessions", "shared_cause TEXT")
    _add_column_if_missing(db, "media_sessions", "shared_cause_session INTEGER")


def _migration_8(db: SqliteDatabase) -> None:
    """Subnets mapped to buildings (meetq locations): the imported files, their ranges, and
    where each session was."""
    db.create_tables([LocationFile, LocationRange, SessionLocation], safe=True)


def _migration_9(db: SqliteDatabase) -> None:
    """Alerts, each a state machine: opened, notified, reminded, resolved (alerts.py)."""
    db.execute_sql("""CREATE TABLE IF NOT EXISTS alerts (
        id INTEGER PRIMARY KEY, rule TEXT NOT NULL, subject TEXT NOT NULL, text TEXT, link TEXT, figures TEXT,
        opened_at TEXT NOT NULL, last_notified_at TEXT, resolved_at TEXT, notifications INTEGER NOT NULL DEFAULT 0,
        due TEXT, claimed_at TEXT)""")
    # One open alert per rule and subject, whoever evaluates: a second insert fails instead of doubling it.
    db.execute_sql("CREATE UNIQUE INDEX IF NOT EXISTS alerts_open ON alerts(rule, subject) WHERE resolved_at IS NULL")


COMPACTING = "storage.compacting"  # in collector_state while compact.compact_legacy has work left
UNPACKING = "storage.unpacking"  # … while samples a release before compressed are still compressed


def _migration_10(db: SqliteDatabase) -> None:
    """Compact storage: samples packed a stream to a row, raw bodies compressed. The row-per-sample
    tables are renamed legacy_*; `compact.compact_legacy` moves their rows over in batches after
    this (resumably: each batch is its own transaction) and drops them; until then the views
    show both."""
    tables = table_names(db)
    for name in ("media_samples", "cpu_samples"):
        if name in tables:
            db.execute_sql(f"ALTER TABLE {name} RENAME TO legacy_{name}")
    db.create_tables([StreamSeries, CpuSeries], safe=True)
    for index in ("media_sessions_metric", "media_sessions_person"):  # no query used them any more
        db.execute_sql(f"DROP INDEX IF EXISTS {index}")
    if db.execute_sql("SELECT 1 FROM raw_responses LIMIT 1").fetchone() or "media_samples" in tables:
        db.execute_sql("INSERT OR REPLACE INTO collector_state (key, value) VALUES (?, 'pending')", (COMPACTING,))


def _migration_11(db: SqliteDatabase) -> None:
    """No vendor in the core tables: a meeting's join code (what people type) and the cursor its
    next read resumes at, as the provider words it. The columns only one vendor had move to its
    provider's tables (its own migration moves them, after this one)."""
    _add_column_if_missing(db, "meetings", "join_code TEXT")
    _add_column_if_missing(db, "meetings", "quality_cursor TEXT")
    if "quality_offset" in column_names(db, "meetings"):
        db.execute_sql(
            "UPDATE meetings SET quality_cursor = json_object('offset', quality_offset, 'next_url', quality_next_url) "
            "WHERE coalesce(quality_offset, 0) != 0 OR quality_next_url IS NOT NULL"
        )
    drop_columns(db, "meetings", ("quality_offset", "quality_next_url"))


def column_names(db: SqliteDatabase, table: str) -> list[str]:
    return [row[1] for row in db.execute_sql(f"PRAGMA table_info({table})")]


def drop_columns(db: SqliteDatabase, table: str, columns: tuple[str, ...], indexes: tuple[str, ...] = ()) -> None:
    """Drop the columns a table still has (and the indexes on them first: SQLite refuses to drop
    an indexed column)."""
    for index in indexes:
        db.execute_sql(f"DROP INDEX IF EXISTS {index}")
    present = column_names(db, table)
    for column in columns:
        if column in present:
            db.execute_sql(f'ALTER TABLE {table} DROP COLUMN "{column}"')


def _migration_12(db: SqliteDatabase) -> None:
    """Samples any SQLite client reads: stored as plain JSON, the views need nothing of meetq's.
    `compact.compact_legacy` turns the compressed ones into text in batches after this; the view of
    raw bodies (compressed, they need meetq_text) is a TEMP view of meetq's connections now."""
    compressed = db.execute_sql(
        "SELECT 1 FROM stream_series WHERE typeof(packed) = 'blob' "
        "UNION ALL SELECT 1 FROM cpu_series WHERE typeof(packed) = 'blob' LIMIT 1"
    ).fetchone()
    if compressed:
        db.execute_sql("INSERT OR REPLACE INTO collector_state (key, value) VALUES (?, 'pending')", (UNPACKING,))


# Migration N+1 upgrades a database at schema version N. Append, never edit.
MIGRATIONS = [
    _migration_1,
    _migration_2,
    _migration_3,
    _migration_4,
    _migration_5,
    _migration_6,
    _migration_7,
    _migration_8,
    _migration_9,
    _migration_10,
    _migration_11,
    _migration_12,
]

# The packed samples as rows (packing.py): a sample's time is its stream's clock, its values the
# elements of its row.
TIME_OF = "strftime('%Y-%m-%dT%H:%M:%fZ', ({0}.start_ms + {1}.key * {0}.step_ms) / 1000.0, 'unixepoch')"
SAMPLE_VIEW = (
    "CREATE VIEW IF NOT EXISTS media_samples AS SELECT s.stream_id, r.key AS idx, "
    + TIME_OF.format("s", "r")
    + " AS ts, "
    # + 0.0: a number sent as an integer is stored as one (shorter), and reads as REAL like the rest
    + ", ".join(f"json_extract(r.value, '$[{i}]') + 0.0 AS {name}" for i, name in enumerate(SAMPLE_METRICS))
    + " FROM stream_series s, json_each(s.packed) r"
)
CPU_VIEW = (
    "CREATE VIEW IF NOT EXISTS cpu_samples AS SELECT c.session_id, r.key AS seq, x.key AS idx, "
    + TIME_OF.format("c", "x")
    + " AS ts, "
    + ", ".join(f"json_extract(x.value, '$[{i}]') + 0.0 AS {name}" for i, name in enumerate(CPU_METRICS))
    + " FROM cpu_series c, json_each(c.packed) r, json_each(r.value) x"
)
# While a migration still moves samples (compact.py), some are compressed: the views read them
# through meetq_text then, and only meetq's connections can (for a minute a 5,000-person year).
MOVING = (
    ("json_each(s.packed)", "json_each(meetq_text(s.packed))"),
    ("json_each(c.packed)", "json_each(meetq_text(c.packed))"),
)


# The columns of the row-per-sample tables a migration has not emptied yet (compact.py).
LEGACY_COLUMNS = {
    "media_samples": ("stream_id", "idx", "ts", *SAMPLE_METRICS),
    "cpu_samples": ("session_id", "seq", "idx", "ts", *CPU_METRICS),
}


def sample_views(db: SqliteDatabase) -> list[str]:
    """The views on packed samples: plain SQL, unless a migration is still moving them (then
    through meetq_text, with the legacy tables' rows too while they remain)."""
    tables = table_names(db)
    moving = db.execute_sql(
        "SELECT 1 FROM collector_state WHERE key IN (?, ?) LIMIT 1", (COMPACTING, UNPACKING)
    ).fetchone()
    views = []
    for name, view in (("media_samples", SAMPLE_VIEW), ("cpu_samples", CPU_VIEW)):
        for plain, packed in MOVING if moving else ():
            view = view.replace(plain, packed)
        if f"legacy_{name}" in tables:
            view += f" UNION ALL SELECT {', '.join(LEGACY_COLUMNS[name])} FROM legacy_{name}"
        views.append(view)
    return views


def schema_version(db: SqliteDatabase = database) -> int:
    return db.execute_sql("PRAGMA user_version").fetchone()[0]


@dataclass(frozen=True)
class Schema:
    """A provider's own tables. `migrations` are frozen like the core's (append, never edit; each
    takes the database and uses SQL alone, never the provider's live code); `shape` holds the
    indexes and views on top, recreated on every open like the core's INDEXES."""

    name: str
    migrations: tuple[Callable[[SqliteDatabase], None], ...] = ()
    shape: tuple[str, ...] = ()


def migrate(db: SqliteDatabase = database, migrations=None, schemas: Sequence[Schema] = ()) -> int:
    """Bring the database to the newest schema: the core's migrations, then each provider
    schema's in the order given, each step in its own transaction."""
    migrations = MIGRATIONS if migrations is None else migrations
    steps = [(number, migrations[number], None) for number in range(schema_version(db), len(migrations))]
    if steps:
        drop_views(db)  # derived, recreated by ensure_db_shape: a migration never trips on one
    _run(db, steps)
    # The providers' after the core's: collector_state exists, and the core columns they move out.
    steps = [
        (number, schema.migrations[number], schema)
        for schema in schemas
        for number in range(schema_version_of_provider(db, schema), len(schema.migrations))
    ]
    if steps:
        drop_views(db)
    _run(db, steps)
    return schema_version(db)


def _run(db: SqliteDatabase, steps: list) -> None:
    """Each (number, migration, schema or None for the core's) in its own transaction, with the
    version it reaches."""
    for number, migration, schema in steps:
        with db.atomic():
            migration(db)
            if schema is None:
                db.execute_sql(f"PRAGMA user_version = {number + 1}")
            else:
                db.execute_sql(
                    "INSERT OR REPLACE INTO collector_state (key, value) VALUES (?, ?)",
                    (f"schema.{schema.name}", str(number + 1)),
                )


def schema_version_of_provider(db: SqliteDatabase, schema: Schema) -> int:
    found = db.execute_sql("SELECT value FROM collector_state WHERE key = ?", (f"schema.{schema.name}",)).fetchone()
    return int(found[0]) if found else 0


def drop_views(db: SqliteDatabase) -> None:
    """Views are derived: dropped before migrations, created again by ensure_db_shape. To change a
    view's definition, change it in INDEXES (or a schema's shape) and append a migration (even an
    empty one)."""
    with db.atomic():
        for (view,) in db.execute_sql("SELECT name FROM sqlite_master WHERE type = 'view'").fetchall():
            db.execute_sql(f'DROP VIEW main."{view}"')  # main: a TEMP view of the same name comes first
        # This connection's TEMP view too: SQLite refuses to drop a column a view reads.
        db.execute_sql("DROP VIEW IF EXISTS temp.raw_bodies")


def ensure_db_shape(db: SqliteDatabase = database, schemas: Sequence[Schema] = ()) -> None:
    """Indexes and views on top of the tables, the core's and then each schema's; idempotent."""
    with db.atomic():
        for statement in INDEXES + sample_views(db) + [s for schema in schemas for s in schema.shape]:
            db.execute_sql(statement)
        db.execute_sql(packing.RAW_VIEW)


def open_database(path: Path | str, schemas: Sequence[Schema] = ()) -> SqliteDatabase:
    """Open (creating if needed) the collector's database and bring its schema, and those of the
    providers' `schemas`, up to date."""
    path = Path(path)
    if str(path) != ":memory:":
        path.parent.mkdir(parents=True, exist_ok=True)
        make_private(path)
    database.init(str(path), pragmas=PRAGMAS, check_same_thread=False)
    database.connect(reuse_if_open=True)
    migrate(database, schemas=schemas)
    ensure_db_shape(database, schemas)
    return database


def make_private(path: Path) -> None:
    """The database holds people's names, emails and addresses: it and the -wal and -shm files
    beside it are readable by their owner alone (the viewer runs as the same user). A new file
    is made 0600 before SQLite opens it, which then gives its -wal and -shm the same mode; an
    older, wider file is narrowed."""
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    for each in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if each.stat().st_mode & 0o077:
                os.chmod(each, 0o600)
                log.info("database_made_private", path=str(each))
        except FileNotFoundError:
            pass


def writable(path: Path | str) -> None:
    """The collector writes the file and, in WAL mode, files beside it: say so before SQLite does.
    A file or folder without write bits is read-only for meetq even when run as root (an archive
    someone protected), so the same mistake gets the same answer for every user."""
    path = Path(path)
    if path.exists() and not _may_write(path):
        raise DatabaseUnusable(
            f"{path} is read-only: the collector must be able to write it (the viewer needs only to read it)"
        )
    if path.parent.exists() and not _may_write(path.parent):
        raise DatabaseUnusable(
            f"cannot write in {path.parent}: the collector must be able to write the database's folder"
        )


def _may_write(path: Path) -> bool:
    return os.access(path, os.W_OK) and bool(path.stat().st_mode & 0o222)


def schema_version_of(path: Path | str) -> tuple[int, int]:
    """(the file's schema version, this meetq's) read without writing anything; a clear error for a
    missing file, a file that is not SQLite, or SQLite that is not meetq's."""
    path = Path(path)
    if not path.exists():
        raise DatabaseMissing(f"no database at {path}; run `meetq run` first or check MEETQ_DATABASE")
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as error:
        raise DatabaseUnusable(f"{path} is not an SQLite database ({error})") from None
    if "meetings" not in tables or version == 0:
        raise DatabaseUnusable(f"{path} is SQLite but not a meetq database (no meetings table)")
    return version, len(MIGRATIONS)


def wait_for_database(path: Path | str, seconds: float) -> tuple[int, int]:
    """schema_version_of, once the collector has created the file (within `seconds`)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return schema_version_of(path)
        except (DatabaseMissing, DatabaseUnusable):
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.2)


def close_database() -> None:
    if not database.is_closed():
        database.close()
