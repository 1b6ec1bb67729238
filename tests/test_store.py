"""The schema on real SQLite files: migrations, idempotent writes, the queue's order."""

import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from meetq import models, packing, store
from meetq.models import database
from meetq.providers import open_database
from meetq.providers.webex.collect import save_listed_meetings, save_quality_items

DATA = Path(__file__).parent / "data"


@pytest.fixture
def db(tmp_path):
    yield open_database(tmp_path / "meetq.db")
    models.close_database()


def dump(path):
    with packing.connect(path) as c:
        return {
            t: c.execute(f"select * from {t} order by 1").fetchall()
            for t in ("meetings", "media_sessions", "media_streams", "media_samples", "cpu_samples")
        }


def test_wal_foreign_keys_and_schema_version(db, tmp_path):
    assert database.execute_sql("pragma journal_mode").fetchone()[0] == "wal"
    assert database.execute_sql("pragma foreign_keys").fetchone()[0] == 1
    assert models.schema_version() == len(models.MIGRATIONS)


def test_an_older_database_is_upgraded_on_open(tmp_path):
    path = tmp_path / "old.db"
    open_database(path)
    models.close_database()
    calls = []
    number = len(models.MIGRATIONS) + 1

    def migration_next(db):
        db.execute_sql("ALTER TABLE meetings ADD COLUMN note TEXT")
        calls.append(number)

    models.MIGRATIONS.append(migration_next)
    try:
        open_database(path)
        assert models.schema_version() == number and calls == [number]
        assert "note" in [c.name for c in database.get_columns("meetings")]
        models.close_database()
        open_database(path)  # already current: nothing runs again
        assert calls == [number]
    finally:
        models.MIGRATIONS.pop()
        models.close_database()


def test_a_single_account_database_gains_the_account_column(tmp_path):
    path = tmp_path / "v1.db"
    open_database(path)
    models.close_database()
    with sqlite3.connect(path) as old:  # the shape before several accounts: no account column, no view on it
        for (view,) in old.execute("SELECT name FROM sqlite_master WHERE type = 'view'").fetchall():
            old.execute(f"DROP VIEW {view}")
        old.execute("DROP INDEX meetings_account")
        for table in ("meetings", "media_sessions", "raw_responses", "collector_runs"):
            old.execute(f"ALTER TABLE {table} DROP COLUMN account")
        old.execute(
            "INSERT INTO meetings (id, provider, quality_state, quality_passes, quality_failures) "
            "VALUES ('m1', 'webex', 'done', 1, 0)"
        )
        old.execute("PRAGMA user_version = 1")
    open_database(path)
    try:
        assert models.schema_version() == len(models.MIGRATIONS)
        assert database.execute_sql("SELECT id, account FROM meetings").fetchall() == [("m1", "default")]
        for table in ("media_sessions", "raw_responses", "collector_runs"):
            assert "account" in [c.name for c in database.get_columns(table)]
    finally:
        models.close_database()


def test_ingesting_the_same_payload_twice_changes_nothing(db, tmp_path):
    items = json.loads((DATA / "qualities_two_sessions.json").read_text())["items"]
    meeting = items[0]["meetingInstanceId"]
    with database.atomic():
        assert save_quality_items(meeting, items, "2026-04-10T18:00:00.000Z") == (
            2,
            13 + 4,
        )  # 3+3+3+3+1 intervals, then 2+2
    before = dump(tmp_path / "meetq.db")
    with database.atomic():
        assert save_quality_items(meeting, items, "2026-04-11T18:00:00.000Z") == (0, 0)
    assert dump(tmp_path / "meetq.db") == before


def test_a_changed_session_is_replaced_whole(db, tmp_path):
    items = json.loads((DATA / "qualities_two_sessions.json").read_text())["items"]
    meeting = items[0]["meetingInstanceId"]
    save_quality_items(meeting, items, "t1")
    corrected = items[1]["audioIn"][0]
    for metric in ("packetLoss", "latency", "jitter", "mediaBitRate"):
        corrected[metric] = corrected[metric][:1]  # a shorter, corrected series
    assert save_quality_items(meeting, items, "t2") == (1, 3)
    with packing.connect(tmp_path / "meetq.db") as c:
        assert c.execute("select count(*) from media_samples").fetchone()[0] == 13 + 1 + 2
        assert c.execute("select count(*) from media_sessions").fetchone()[0] == 2


def test_queue_order_is_nearest_expiry_and_respects_the_call_interval(db):
    now = datetime(2026, 11, 23, 12, tzinfo=timezone.utc)
    meetings = [
        {
            "id": f"m{i}_I_{i}",
            "meetingType": "meeting",
            "state": "ended",
            "start": (now - timedelta(days=d)).isoformat(),
            "end": (now - timedelta(days=d, minutes=-30)).isoformat(),
        }
        for i, d in enumerate([1, 6, 3, 8])
    ]
    save_listed_meetings(meetings, now)
    store.update_meeting("m2_I_2", quality_called_at=(now - timedelta(seconds=100)).isoformat())
    assert store.expire_overdue(now) == 1  # the 8-day-old one can never be fetched
    due = [m.id for m in store.due_meetings(now, min_interval=300)]
    assert due == ["m1_I_1", "m0_I_0"]  # m2 was called 100 s ago
    assert [m.id for m in store.due_meetings(now + timedelta(seconds=201), 300)] == ["m1_I_1", "m2_I_2", "m0_I_0"]
    assert models.Meeting.get_by_id("m3_I_3").quality_state == "expired"


def test_listing_never_queues_series_or_scheduled_meetings(db):
    items = json.loads((DATA / "meetings_spec_example.json").read_text())["items"]
    new = save_listed_meetings(items, datetime(2019, 11, 2, tzinfo=timezone.utc))
    assert len(new) == 4
    states = {m.id: m.quality_state for m in models.Meeting.select()}
    assert sorted(states.values()) == ["not_applicable", "not_applicable", "pending", "pending"]
