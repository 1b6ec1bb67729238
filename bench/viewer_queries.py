"""Viewer: a synthetic year for a 5,000-person organisation, built through meetq's own load
path, then every canned query and every dashboard chart timed through Datasette's own query
path (p50 and p95 over repeated runs), with Datasette's 1-second limit in force."""

from __future__ import annotations

import asyncio
import re
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from bench.common import save, timer, verdict

REPEATS = 7


def build(path: Path, days: int, meetings_per_day: int, people: int) -> dict:
    from meetq import models, providers, store
    from meetq.models import database
    from meetq.providers.webex.collect import save_listed_meetings, save_quality_items
    from meetq.simulator.org import Organisation

    models.close_database()
    providers.open_database(path)
    # The year ends today: the pages open on "the last 7 days", which must hold that week's calls
    # (a year ending on a fixed date leaves them empty, and their timings say nothing).
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    org = Organisation(
        11,
        now=today,
        days=days,
        meetings_per_day=meetings_per_day,
        people=people,
        upcoming_hours=0,
        max_participants=8,
        long_meeting_every=50,
    )
    samples = 0
    with timer() as t, database.connection_context():
        meetings = list(org.meetings.values())
        for start in range(0, len(meetings), 200):
            chunk = meetings[start : start + 200]
            with database.atomic():
                save_listed_meetings([org.meeting_json(m) for m in chunk], datetime.now(timezone.utc))
                for meeting in chunk:
                    samples += save_quality_items(
                        meeting.id, org.quality_items(meeting), today.isoformat().replace("+00:00", "Z")
                    )[1]
                    store.update_meeting(meeting.id, quality_state="done", quality_passes=1)
            org._quality_items.cache_clear()
    # The simulated offices' building file, as the demo imports it: every stored session placed.
    from meetq.locations import import_building_file
    from meetq.simulator.org import BUILDING_FILE

    with timer() as placing:
        import_building_file(BUILDING_FILE.encode(), "buildings.csv", datetime.now(timezone.utc))
    models.close_database()
    return {
        "days": days,
        "meetings": len(org.meetings),
        "people": people,
        "samples": samples,
        "build_seconds": round(t["seconds"], 1),
        "build_samples_per_second": round(samples / t["seconds"]),
        "placing_every_session_seconds": round(placing["seconds"], 1),
    }


def queries(path: Path) -> dict[str, tuple[str, dict]]:
    """Every canned query and every dashboard chart, with realistic parameters."""
    import sqlite3

    import meetq_viewer

    metadata = meetq_viewer.metadata()
    name = meetq_viewer.DATABASE
    db = sqlite3.connect(path)
    meeting_id = db.execute(
        "select meeting_id from media_sessions group by meeting_id order by count(*) desc limit 1"
    ).fetchone()[0]
    email = db.execute(
        "select user_email from media_sessions where join_time > (select max(join_time) from media_sessions) limit 1"
    ).fetchone()
    email = email[0] if email else db.execute("select user_email from media_sessions limit 1").fetchone()[0]
    last = db.execute("select substr(max(join_time), 1, 10) from media_sessions").fetchone()[0]
    month_ago = db.execute("select date(?, '-30 days')", (last,)).fetchone()[0]
    site = db.execute("select site_url from webex_meetings where site_url is not null limit 1").fetchone()[0]
    title = db.execute(
        "select title || ' · ' || substr(start, 1, 16) || ' · ' || id from meetings where id = ?", (meeting_id,)
    ).fetchone()[0]
    session = db.execute(
        "select id from media_sessions where meeting_id = ? and verdict = 'poor' limit 1", (meeting_id,)
    ).fetchone()
    session = session[0] if session else db.execute("select id from media_sessions limit 1").fetchone()[0]
    db.close()
    canned = metadata["databases"][name]["queries"]
    params = {
        "meeting_report": {"meeting_id": meeting_id},
        "user_history": {"email": email},
        "poor_sessions": {"since": month_ago, "vendor": ""},
        "backlog": {},
        "missing_subnets": {"date_start": "", "date_end": ""},  # the last 7 days, as the page links it
        "raw_bodies": {"endpoint": "qualities", "meeting_id": ""},
    }
    found = {f"canned/{key}": (query["sql"], params[key]) for key, query in canned.items()}
    # Each page as it opens (no filter: the last 7 days, the latest poor meeting or session) and as
    # an engineer narrows it; a parameter a query names but the page leaves empty is "", as Datasette does.
    filters = {
        "overview": {
            "date_start": month_ago,
            "date_end": last,
            "site": site,
            "account": "default",
            "provider": "webex",
            "min_sessions": "10",
        },
        "places": {"date_start": month_ago, "date_end": last, "building": "Frankfurt HQ", "min_sessions": "10"},
        "meeting": {"meeting": title, "direction": "in"},
        "session": {"session": str(session)},
        "health": {},
    }
    for slug, dashboard in metadata["plugins"]["datasette-dashboards"].items():
        for chart_slug, chart in dashboard["charts"].items():
            sql = chart["query"]
            opened = re.sub(r"\[\[.*?\]\]", "", sql, flags=re.S)
            found[f"{slug}/{chart_slug}"] = (opened, _blank(opened))
            if filters.get(slug):
                kept = re.sub(r"\[\[(.*?)\]\]", r"\1", sql, flags=re.S)
                used = {**_blank(kept), **{k: v for k, v in filters[slug].items() if f":{k}" in kept}}
                found[f"{slug}/{chart_slug} (filtered)"] = (kept, used)
    return found


def _blank(sql: str) -> dict:
    return {name: "" for name in re.findall(r"(?<!:):(\w+)", sql)}


async def time_all(path: Path) -> dict:
    import meetq_viewer

    datasette = meetq_viewer.datasette(path, "Europe/Berlin")
    from datasette.database import QueryInterrupted

    results = {}
    for label, (sql, params) in queries(path).items():
        timings = []
        for _ in range(REPEATS):
            started = time.perf_counter()
            try:
                await datasette.execute(meetq_viewer.DATABASE, sql, params, custom_time_limit=1000)
            except QueryInterrupted:
                timings.append(float("inf"))  # hit Datasette's time limit
                continue
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        results[label] = {
            "p50_ms": round(statistics.median(timings), 1),
            "p95_ms": round(timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))], 1),
        }
    return results


def legacy_layout(path: Path) -> None:
    """Turn a database back into the previous release's layout (schema 9: a row per sample, bodies
    as text), for the migration to move over again. tests/test_compact.py migrates a file the
    previous release itself wrote; here the point is the size."""
    from meetq.packing import connect

    db = connect(path, isolation_level=None)
    for view in ("media_samples", "cpu_samples", "raw_bodies"):
        db.execute(f"drop view if exists {view}")
    db.executescript("""
        begin;
        create table legacy_media_samples (stream_id integer not null references media_streams(id) on delete cascade,
            idx integer not null, ts text, packet_loss real, latency real, jitter real, bit_rate real,
            resolution_height real, frame_rate real, primary key (stream_id, idx)) without rowid;
        create table legacy_cpu_samples (session_id integer not null references media_sessions(id) on delete cascade,
            seq integer not null, idx integer not null, ts text, process_avg_cpu real, process_max_cpu real,
            system_avg_cpu real, system_max_cpu real, primary key (session_id, seq, idx)) without rowid;
        commit;""")
    from meetq.models import CPU_VIEW, SAMPLE_VIEW

    db.execute(SAMPLE_VIEW.replace("media_samples", "packed_samples", 1))
    db.execute(CPU_VIEW.replace("cpu_samples", "packed_cpu", 1))
    db.execute("begin")
    db.execute("insert into legacy_media_samples select * from packed_samples")
    db.execute("insert into legacy_cpu_samples select * from packed_cpu")
    db.execute("delete from stream_series")
    db.execute("delete from cpu_series")
    db.execute("update raw_responses set body = meetq_text(body)")
    db.execute("insert or replace into collector_state (key, value) values ('storage.compacting', 'pending')")
    db.execute("commit")
    db.execute("drop view packed_samples")
    db.execute("drop view packed_cpu")
    db.execute("vacuum")
    db.close()


def compressed_layout(path: Path) -> None:
    """Turn a database back into the previous release's layout (schema 11: each series stored as
    zstandard-compressed JSON, read through meetq_text), for migration 12 to make plain again.
    tests/test_plain_sql.py migrates a file that release itself wrote; here the point is the time."""
    from meetq.models import UNPACKING, sample_views
    from meetq.packing import pack_text, register
    from peewee import SqliteDatabase

    db = SqliteDatabase(str(path))
    register(db.connection())  # the compressed views read through meetq_text
    with db.atomic():
        for table in ("stream_series", "cpu_series"):
            rows = db.execute_sql(f"select rowid, packed from {table}").fetchall()
            db.cursor().executemany(
                f"update {table} set packed = ? where rowid = ?", [(pack_text(p), key) for key, p in rows]
            )
        db.execute_sql("insert or replace into collector_state (key, value) values (?, 'pending')", (UNPACKING,))
        for view in ("media_samples", "cpu_samples"):
            db.execute_sql(f"drop view if exists main.{view}")
        for statement in sample_views(db):  # the flag is set: through meetq_text
            db.execute_sql(statement)
        db.execute_sql("pragma user_version = 11")
    db.execute_sql("vacuum")
    db.close()


def migrate(path: Path, make_layout) -> dict:
    """`meetq migrate --vacuum` on an older layout (`make_layout` turns the file into it), in its own
    process: time, peak RSS, size."""
    import os
    import subprocess
    import sys

    from bench.backlog import _peak_kb

    with timer() as converting:
        make_layout(path)
    before = path.stat().st_size
    env = {**os.environ, "MEETQ_DATABASE": str(path), "MEETQ_LOG_FORMAT": "json"}
    peak = 0
    with timer() as t:
        child = subprocess.Popen(
            [sys.executable, "-m", "meetq.cli", "migrate", "--vacuum"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        while child.poll() is None:
            peak = max(peak, _peak_kb(child.pid))
            time.sleep(0.2)
    output = child.stdout.read()
    import sqlite3

    with sqlite3.connect(path) as db:
        check = db.execute("pragma integrity_check").fetchone()[0]
    return {
        "exit_status": child.returncode,
        "seconds": round(t["seconds"], 1),
        "peak_rss_mb": round(peak / 1024, 1),
        "bytes_before": before,
        "bytes_after": path.stat().st_size,
        "integrity_check": check,
        "making_the_old_layout_seconds": round(converting["seconds"], 1),
        "said": output.strip()[-200:],
    }


def year(people: int, days: int, per_day: int, with_migration: bool) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "meetq.db"
        built = build(path, days, per_day, people)
        timings = asyncio.run(time_all(path))
        size = path.stat().st_size
        migration = migrate(path, compressed_layout) if with_migration else None
        legacy_migration = migrate(path, legacy_layout) if with_migration else None
    worst = max(timings.items(), key=lambda kv: kv[1]["p95_ms"])
    return {
        **built,
        "database_bytes": size,
        "bytes_per_sample": round(size / built["samples"], 1),
        "queries": timings,
        "worst": {"query": worst[0], **worst[1]},
        "migration": migration,
        "legacy_migration": legacy_migration,
    }


def main(full: bool) -> dict:
    """The 5,000-person year (and the migration of its previous-release layout), then, in full, the
    25,000-person one: every page as it opens and filtered, p50/p95 over REPEATS runs."""
    small = year(5000, 365, 30, True) if full else year(5000, 14, 8, True)
    large = year(25000, 365, 150, False) if full else None
    limits = {"5,000": (small, 50)} | ({"25,000": (large, 200)} if large else {})
    targets = {
        f"{people} people: every p95 < {limit} ms": verdict(y["worst"]["p95_ms"], limit, higher_is_better=False)
        for people, (y, limit) in limits.items()
    }
    for key, label in (("migration", "the previous release's"), ("legacy_migration", "the row-per-sample")):
        m = small[key]
        targets[f"migration from {label} layout finishes, peak RSS < 300 MB, integrity ok"] = (
            "met" if m["exit_status"] == 0 and m["peak_rss_mb"] < 300 and m["integrity_check"] == "ok" else "NOT met"
        )
    figures = {**{k: v for k, v in small.items()}, "repeats": REPEATS, "large": large, "targets": targets}
    save("viewer", full, figures)
    return figures
