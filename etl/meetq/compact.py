"""A database of an older release, moved onto today's storage in place (schema migrations 10, 12).

Migration 10 renames the row-per-sample tables legacy_media_samples and legacy_cpu_samples;
this moves their rows into series a batch at a time, and compresses the raw bodies still stored
as text. Migration 12 finds samples stored compressed (as the release before kept them); this
rewrites them as plain JSON, a batch at a time. Each batch is one transaction that writes the new
rows and deletes (or rewrites) the old ones, so a kill at any moment loses nothing and the next
start carries on where the last committed batch ended. Meanwhile the views show old and new rows
together (through meetq_text). When nothing is left the legacy tables are dropped and the views
made plain; `meetq migrate --vacuum` then gives the freed pages back to the file system.
"""

from __future__ import annotations

from itertools import groupby

from .clock import parse_iso
from .logs import get_logger
from .models import COMPACTING, UNPACKING, database, sample_views, table_names
from .packing import pack_rows, pack_text, unpack_rows
from .rows import CPU_METRICS, SAMPLE_METRICS, series_clock, series_row
from .store import INSERT_CPU_SERIES, INSERT_SERIES

log = get_logger("meetq.compact")
STREAMS_PER_BATCH = 2_000  # about 60,000 samples: a batch holds a few MB in memory
BODIES_PER_BATCH = 200
# The series a release before this one stored compressed.
COMPRESSED_SERIES = ("stream_series", "cpu_series")


def pending(db=database) -> dict:
    """What is left to move: legacy rows and raw bodies still stored as text."""
    tables = table_names(db)
    left = {
        name: db.execute_sql(f"SELECT count(*) FROM legacy_{name}").fetchone()[0]
        for name in ("media_samples", "cpu_samples")
        if f"legacy_{name}" in tables
    }
    left["raw_bodies"] = db.execute_sql("SELECT count(*) FROM raw_responses WHERE typeof(body) = 'text'").fetchone()[0]
    for table in COMPRESSED_SERIES:
        left[table] = db.execute_sql(f"SELECT count(*) FROM {table} WHERE typeof(packed) = 'blob'").fetchone()[0]
    return left


def needed(db=database) -> bool:
    """Whether migration 10 or 12 left work (a flag: counting would read every raw body at each start)."""
    return (
        db.execute_sql("SELECT 1 FROM collector_state WHERE key IN (?, ?)", (COMPACTING, UNPACKING)).fetchone()
        is not None
    )


def compact_legacy(db=database, progress=None) -> dict:
    """Move everything `pending` counts; returns how much was moved. `progress(what, done, total)`
    is called after each batch (and each batch is logged)."""
    progress = progress or (lambda what, done, total: log.info("compacting", what=what, done=done, total=total))
    if not needed(db):
        return {}
    left = pending(db)
    moved = {what: 0 for what in left}
    steps = [("media_samples", _pack_streams), ("cpu_samples", _pack_cpu), ("raw_bodies", _compress_bodies)]
    position: dict[str, int] = {}  # each table's last rowid rewritten, so no batch reads the done ones again
    steps += [(table, lambda db, table=table: _plain_series(db, table, position)) for table in COMPRESSED_SERIES]
    for what, step in steps:
        while left.get(what):
            with db.atomic():
                done = step(db)
            if not done:
                break
            moved[what] += done
            progress(what, moved[what], left[what])
    _drop_empty_legacy(db)
    if not any(pending(db).values()):
        with db.atomic():
            db.execute_sql("DELETE FROM collector_state WHERE key IN (?, ?)", (COMPACTING, UNPACKING))
            _make_sample_views(db)  # plain now: any SQLite client reads them
    return moved


def _plain_series(db, table: str, position: dict) -> int:
    """The next batch of compressed series, in rowid order after `position[table]`, rewritten as
    JSON text. Returns how many."""
    rows = db.execute_sql(
        f"SELECT rowid, packed FROM {table} WHERE rowid > ? AND typeof(packed) = 'blob' "
        f"ORDER BY rowid LIMIT {STREAMS_PER_BATCH}",
        (position.get(table, -(2**63)),),
    ).fetchall()
    db.cursor().executemany(
        f"UPDATE {table} SET packed = ? WHERE rowid = ?",
        [(pack_rows(unpack_rows(packed)), key) for key, packed in rows],
    )
    if rows:
        position[table] = rows[-1][0]
    return len(rows)


def _pack_streams(db) -> int:
    """One batch of streams: their legacy rows become series. Returns the samples moved."""
    batch = _legacy_batch(db, "legacy_media_samples", "stream_id", ("idx",), SAMPLE_METRICS)
    if batch is None:
        return 0
    first_last, rows = batch
    clocks = dict(_stream_clocks(db, "id BETWEEN ? AND ?", first_last))
    series = [
        series_row(stream_id, clocks.get(stream_id), _by_index(samples, 1))
        for stream_id, samples in groupby(rows, key=lambda r: r[0])
    ]
    _replace(db, "legacy_media_samples", "stream_id", first_last, INSERT_SERIES, series)
    return len(rows)


def _pack_cpu(db) -> int:
    """One batch of sessions' CPU rows. Their clock is the session's earliest stream's, as the
    transform gives it."""
    batch = _legacy_batch(db, "legacy_cpu_samples", "session_id", ("seq", "idx"), CPU_METRICS)
    if batch is None:
        return 0
    first_last, rows = batch
    clocks: dict[int, tuple] = {}
    for session_id, clock in _stream_clocks(db, "session_id BETWEEN ? AND ?", first_last, key="session_id"):
        if clock and (session_id not in clocks or clock < clocks[session_id]):
            clocks[session_id] = clock
    series = []
    for session_id, samples in groupby(rows, key=lambda r: r[0]):
        per_resource = [_by_index(resource, 2) for _, resource in groupby(samples, key=lambda r: r[1])]
        series.append(series_row(session_id, clocks.get(session_id), per_resource, sum(map(len, per_resource))))
    _replace(db, "legacy_cpu_samples", "session_id", first_last, INSERT_CPU_SERIES, series)
    return len(rows)


def _legacy_batch(db, table: str, key: str, order: tuple, metrics: tuple):
    """The next STREAMS_PER_BATCH keys of a legacy table: ((first key, last key), their rows as
    key, *order, *metrics, in that order), or None when it is empty."""
    first_last = db.execute_sql(
        f"SELECT min({key}), max({key}) FROM (SELECT DISTINCT {key} FROM {table} "
        f"ORDER BY {key} LIMIT {STREAMS_PER_BATCH})"
    ).fetchone()
    if first_last[0] is None:
        return None
    columns = ", ".join((key, *order))
    return first_last, db.execute_sql(
        f"SELECT {columns}, {', '.join(metrics)} FROM {table} WHERE {key} BETWEEN ? AND ? ORDER BY {columns}",
        first_last,
    ).fetchall()


def _replace(db, table: str, key: str, first_last: tuple, insert: str, series: list) -> None:
    """The batch's series written (replacing any of the same stream: one series each), its legacy rows
    deleted."""
    db.cursor().executemany(insert.replace("INSERT", "INSERT OR REPLACE", 1), series)
    db.execute_sql(f"DELETE FROM {table} WHERE {key} BETWEEN ? AND ?", first_last)


def _by_index(rows, index_at: int) -> list[list]:
    """Rows of (keys…, idx, values…) as a list indexed by idx; a gap becomes a row of NULLs."""
    values: list[list] = []
    for row in rows:
        while len(values) < row[index_at]:
            values.append([None] * (len(row) - index_at - 1))
        values.append(list(row[index_at + 1 :]))
    return values


def _stream_clocks(db, condition: str, params, key: str = "id"):
    """(key, (epoch ms, ms per sample) or None) of media_streams rows, as the transform computes them."""
    for owner, start, step in db.execute_sql(
        f"SELECT {key}, start_time, sampling_interval FROM media_streams WHERE {condition}", params
    ):
        yield owner, series_clock(parse_iso(start), step)


def _compress_bodies(db) -> int:
    rows = db.execute_sql(
        f"SELECT id, body FROM raw_responses WHERE typeof(body) = 'text' ORDER BY id LIMIT {BODIES_PER_BATCH}"
    ).fetchall()
    db.cursor().executemany(
        "UPDATE raw_responses SET body = ? WHERE id = ?", [(pack_text(body), row_id) for row_id, body in rows]
    )
    return len(rows)


def _drop_empty_legacy(db) -> None:
    """Legacy tables go once empty; the sample views are made again without them (the other views,
    the providers' among them, never read these tables)."""
    empty = [
        name
        for name in ("legacy_media_samples", "legacy_cpu_samples")
        if name in table_names(db) and db.execute_sql(f"SELECT 1 FROM {name} LIMIT 1").fetchone() is None
    ]
    if empty:
        with db.atomic():
            for name in empty:
                db.execute_sql(f"DROP VIEW IF EXISTS main.{name.removeprefix('legacy_')}")
                db.execute_sql(f"DROP TABLE {name}")
            _make_sample_views(db)


def _make_sample_views(db) -> None:
    """The sample views made again, as the tables and flags now are (the other views, the
    providers' among them, never read samples)."""
    for view in ("media_samples", "cpu_samples"):
        db.execute_sql(f"DROP VIEW IF EXISTS main.{view}")
    for statement in sample_views(db):
        db.execute_sql(statement)
