"""Zoom's own tables: what only Zoom reports, keyed by the core row it belongs to.

zoom_meetings  a past meeting's number, duration as Zoom prints it, participant count, and
               Zoom's own quality words for its audio, video and screen share
zoom_sessions  a participant's Zoom ids, device, Zoom's word for the network, data centre and
               Zoom's health flag
"""

from __future__ import annotations

from ...models import Schema

VENDOR = "zoom"
MEETING_TABLE = "zoom_meetings"
MEETING_COLUMNS = (
    "meeting_id",
    "meeting_number",
    "duration",
    "participants",
    "audio_quality",
    "video_quality",
    "screen_share_quality",
    "user_type",
    "dept",
)
SESSION_TABLE = "zoom_sessions"
SESSION_COLUMNS = ("session_id", "participant_uuid", "user_id", "device", "network_type", "data_center", "health")


def _migration_1(db) -> None:
    """Zoom's tables."""
    db.execute_sql("""CREATE TABLE IF NOT EXISTS zoom_meetings (
        meeting_id TEXT NOT NULL PRIMARY KEY REFERENCES meetings(id) ON DELETE CASCADE,
        meeting_number TEXT, duration TEXT, participants INTEGER, audio_quality TEXT, video_quality TEXT,
        screen_share_quality TEXT, user_type TEXT, dept TEXT)""")
    db.execute_sql("""CREATE TABLE IF NOT EXISTS zoom_sessions (
        session_id INTEGER NOT NULL PRIMARY KEY REFERENCES media_sessions(id) ON DELETE CASCADE,
        participant_uuid TEXT, user_id TEXT, device TEXT, network_type TEXT, data_center TEXT, health TEXT)""")


# Append to `migrations`, never edit one. (No index of its own: a meeting is found by the core's
# join_code; the tables are read by their keys.)
SCHEMA = Schema(VENDOR, migrations=(_migration_1,))
