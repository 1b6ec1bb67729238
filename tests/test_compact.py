"""Compact storage: packed samples read back exactly as the vendor sent them, and a database made
by the previous release moved onto the new layout in place, surviving a kill half-way."""

import gzip
import json
import random
import re
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import meetq_viewer
from meetq import models, packing, providers
from meetq.clock import iso

DATA = Path(__file__).parent / "data"
RECORDED = [
    "qualities_spec_example.json",
    "qualities_two_sessions.json",
    "qualities_shared_uplink.json",
    "qualities_cpu_saturated.json",
]
SAMPLE_KEYS = {
    "packetLoss": "packet_loss",
    "latency": "latency",
    "jitter": "jitter",
    "mediaBitRate": "bit_rate",
    "resolutionHeight": "resolution_height",
    "frameRate": "frame_rate",
}
CPU_KEYS = {
    "processAverageCPU": "process_avg_cpu",
    "processMaxCPU": "process_max_cpu",
    "systemAverageCPU": "system_avg_cpu",
    "systemMaxCPU": "system_max_cpu",
}
SAMPLES = "select * from media_samples order by stream_id, idx"
CPU = "select * from cpu_samples order by session_id, seq, idx"


def test_recorded_payloads_read_back_value_for_value(meetq, tmp_path):
    """Every number of the recorded payloads, as the media_samples and cpu_samples views show it,
    equals the number in the file (stored losslessly: no unit conversion, no rounding), and every
    time is the stream's start plus its index times the sampling interval."""
    compared = 0
    for name in RECORDED:  # a database each: some files describe the same participants
        database = tmp_path / f"{name}.db"
        meetq("load", str(DATA / name), env={"MEETQ_DATABASE": str(database)})
        samples, cpu = expected_rows(json.loads((DATA / name).read_text())["items"])
        with packing.connect(database) as db:
            stored = db.execute(f"select ts, {', '.join(SAMPLE_KEYS.values())} from media_samples").fetchall()
            assert sorted(stored, key=repr) == sorted(samples, key=repr)
            stored_cpu = db.execute(f"select {', '.join(CPU_KEYS.values())} from cpu_samples").fetchall()
            assert sorted(stored_cpu, key=repr) == sorted(cpu, key=repr)
            if name == "qualities_spec_example.json":  # Webex's own float32 artefact, as sent
                assert db.execute("select count(*) from media_samples where frame_rate = 25.940001").fetchone()[0]
        compared += len(samples) + len(cpu)
    assert compared > 500


def expected_rows(items: list[dict]) -> tuple[list, list]:
    """What the views should show for these Meeting Qualities items, computed from them directly."""
    samples, cpu = [], []
    for item in items:
        for array in ("audioIn", "audioOut", "videoIn", "videoOut", "shareIn", "shareOut"):
            for interval in item.get(array, []):
                start = datetime.fromisoformat(interval["startTime"].replace("Z", "+00:00"))
                step = timedelta(seconds=interval["samplingInterval"])
                length = max(len(interval.get(key, [])) for key in SAMPLE_KEYS)
                samples += [
                    (iso(start + i * step),) + tuple(_at(interval.get(key), i) for key in SAMPLE_KEYS)
                    for i in range(length)
                ]
        for resource in item.get("resources", []):
            length = max(len(resource.get(key, [])) for key in CPU_KEYS)
            cpu += [tuple(_at(resource.get(key), i) for key in CPU_KEYS) for i in range(length)]
    return samples, cpu


def _at(values, i):
    return float(values[i]) if values and i < len(values) and values[i] is not None else None


def test_times_match_the_transform_to_the_millisecond():
    """The views compute a sample's time in SQL from its stream's integer clock; it must be the
    text the transform wrote before, for odd starts and fractional intervals too."""
    db = sqlite3.connect(":memory:")
    rng = random.Random(7)
    for _ in range(2000):
        start_ms, step_ms, idx = (
            rng.randrange(1_500_000_000_000, 1_900_000_000_000),
            rng.choice([60_000, 1_000, 500, 2_500, 30_000]),
            rng.randrange(0, 1500),
        )
        expected = iso(datetime.fromtimestamp((start_ms + idx * step_ms) / 1000, timezone.utc))
        shown = db.execute(
            "select strftime('%Y-%m-%dT%H:%M:%fZ', (? + ? * ?) / 1000.0, 'unixepoch')", (start_ms, idx, step_ms)
        ).fetchone()[0]
        assert shown == expected, (start_ms, step_ms, idx)


def test_a_previous_release_database_moves_over_in_place_even_when_killed(meetq, tmp_path):
    """tests/data/previous-release.db.gz was written by the release before compact storage (schema
    9, a row per sample, text bodies). A kill inside a batch loses nothing; the next start carries
    on; afterwards every row reads back as before and the file passes integrity_check."""
    meetq.database.write_bytes(gzip.decompress((DATA / "previous-release.db.gz").read_bytes()))
    with sqlite3.connect(meetq.database) as old:
        before = {
            "samples": old.execute(SAMPLES).fetchall(),
            "cpu": old.execute(CPU).fetchall(),
            "bodies": old.execute("select id, body from raw_responses order by id").fetchall(),
            "sessions": by_name(old, "select * from media_sessions order by id"),
            "meetings": by_name(old, "select * from meetings order by id"),
            "version": old.execute("pragma user_version").fetchone()[0],
        }
    assert before["version"] == 9 and len(before["samples"]) > 3000 and len(before["cpu"]) > 500

    # A collector that dies (SIGKILL) inside its third batch of streams, after writing series.
    crash = killed_in_third_batch(meetq, "_pack_streams")
    assert crash.stderr.count('"what": "media_samples"') == 2  # two batches committed, as logged
    with packing.connect(meetq.database) as half:
        assert half.execute("pragma user_version").fetchone()[0] == len(models.MIGRATIONS)
        assert half.execute("select count(*) from stream_series").fetchone()[0] == 20
        assert half.execute("select count(*) from legacy_media_samples").fetchone()[0] > 0
        # Half-way, the views already show every sample once: packed ones and those still waiting.
        assert half.execute(SAMPLES).fetchall() == before["samples"]

    result = meetq("migrate", "--vacuum")
    assert "nothing left to move" in result.stdout and "Vacuumed:" in result.stdout
    assert '"what": "raw_bodies"' in result.stderr  # progress, batch by batch
    with packing.connect(meetq.database) as new:
        assert new.execute(SAMPLES).fetchall() == before["samples"]
        assert new.execute(CPU).fetchall() == before["cpu"]
        assert new.execute("select id, body from raw_bodies order by id").fetchall() == before["bodies"]
        # Webex's columns moved to its own tables, and read as before through the views for one release.
        assert (
            by_name(new, "select * from media_sessions_as_before order by id", before["sessions"]) == before["sessions"]
        )
        assert by_name(new, "select * from meetings_as_before order by id", before["meetings"]) == before["meetings"]
        assert "site_url" not in {row[1] for row in new.execute("pragma table_info(meetings)")}
        assert "video_mesh_cluster" not in {row[1] for row in new.execute("pragma table_info(media_sessions)")}
        assert new.execute("select count(*) from raw_responses where typeof(body) != 'blob'").fetchone()[0] == 0
        assert new.execute("select sum(samples) from stream_series").fetchone()[0] == len(before["samples"])
        assert new.execute("select sum(samples) from cpu_series").fetchone()[0] == len(before["cpu"])
        assert new.execute("pragma integrity_check").fetchone()[0] == "ok"
        tables = {row[0] for row in new.execute("select name from sqlite_master where type = 'table'")}
        assert not {"legacy_media_samples", "legacy_cpu_samples"} & tables
        assert new.execute("select count(*) from collector_state where key = 'storage.compacting'").fetchone()[0] == 0
    again = meetq("migrate")
    assert '"what"' not in again.stderr  # nothing moved twice


def by_name(db, sql: str, like: list[dict] | None = None) -> list[dict]:
    """Rows as {column: value}; with `like`, only the columns its rows have."""
    cursor = db.execute(sql)
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, values)) for values in cursor.fetchall()]
    return [{k: row[k] for k in like[0]} for row in rows] if like else rows


KILLED_MID_BATCH = """
import os, signal, sys
from meetq import compact, logs, providers
logs.configure("info", "json")
compact.STREAMS_PER_BATCH = 10
calls = []
original = getattr(compact, sys.argv[2])

def dies_in_third_batch(*args):
    moved = original(*args)
    calls.append(moved)
    if len(calls) == 3:
        os.kill(os.getpid(), signal.SIGKILL)   # inside the batch's transaction: nothing of it lands
    return moved

setattr(compact, sys.argv[2], dies_in_third_batch)
compact.compact_legacy(providers.open_database(sys.argv[1]))
"""


def killed_in_third_batch(meetq, step: str) -> subprocess.CompletedProcess:
    """The database opened and moved in batches of 10 by a process SIGKILLed inside the third
    batch of compact's `step`; what it logged."""
    crash = subprocess.run(
        [sys.executable, "-c", KILLED_MID_BATCH, str(meetq.database), step],
        env=meetq.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert crash.returncode == -9, crash.stderr
    return crash


# Indexes the viewer's pages do not use, and the collector's query each one serves.
COLLECTOR_QUERIES = {
    "collector_runs_started": "SELECT min(started_at) FROM collector_runs WHERE account = ?",
    "raw_responses_meeting": "SELECT rowid FROM raw_responses WHERE rowid > ? AND meeting_id = ? ORDER BY rowid",
    "meet_attendance_meeting": "SELECT * FROM meet_attendance_quality WHERE meeting_id = ?",
    "meetings_join_code": "SELECT id FROM meetings WHERE join_code = ?",  # the assistant's `meeting 123456789`
    # `meetq locations missing`: every unmapped subnet of all time (the pages read a period by time)
    "session_locations_subnet": "SELECT l.subnet, count(*) FROM session_locations l JOIN media_sessions s "
    "ON s.id = l.session_id WHERE l.status IN ('unmapped', 'outside', 'masked') GROUP BY l.subnet, l.status "
    "LIMIT ?",
}


def test_every_index_serves_a_query(tmp_path):
    """An index costs bytes on every row written: each one must be the plan SQLite chooses for a
    dashboard chart, a canned query, or one of the collector's queries (a unique one enforces a
    constraint instead)."""
    models.close_database()
    providers.open_database(tmp_path / "plans.db")
    models.close_database()
    db = packing.connect(tmp_path / "plans.db")
    for name in (
        "h",
        "q",
        "palette",
        "local",
        "wall",
        "threshold",
        "day_start",
    ):  # the viewer's functions, as stand-ins
        db.create_function(name, 1, lambda value: value)
    db.create_function("a", 2, lambda path, text: text)
    db.create_function("threshold", 2, lambda key, vendor: key)  # a vendor's own line
    db.create_function("tz_shift", 0, lambda: "+0 minutes")
    db.create_function("tz_name", 0, lambda: "UTC")
    db.create_function("local_today", 0, lambda: "2026-12-01")
    metadata = meetq_viewer.metadata()
    sql = [q["sql"] for q in metadata["databases"][meetq_viewer.DATABASE]["queries"].values()]
    for dashboard in metadata["plugins"]["datasette-dashboards"].values():
        for chart in dashboard["charts"].values():
            sql += [
                re.sub(r"\[\[.*?\]\]", "", chart["query"], flags=re.S),  # as the page opens
                re.sub(r"\[\[(.*?)\]\]", r"\1", chart["query"], flags=re.S),
            ]  # every filter set
    used = set()
    for query in sql:
        params = {name: "x" for name in re.findall(r"(?<!:):(\w+)", query)}
        plan = " ".join(row[3] for row in db.execute("EXPLAIN QUERY PLAN " + query, params))
        used |= set(re.findall(r"INDEX (\w+)", plan))
    for index, query in COLLECTOR_QUERIES.items():
        plan = " ".join(row[3] for row in db.execute("EXPLAIN QUERY PLAN " + query, (1,) * query.count("?")))
        assert f"INDEX {index} " in plan + " ", (index, plan)
        used.add(index)
    indexes = {
        name
        for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'"
        )
    }
    assert indexes - used == set()
    assert {"media_sessions_join_time", "stream_series_stream_id", "session_locations_building"} <= used
