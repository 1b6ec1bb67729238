"""Webex's own tables: what only Webex reports, keyed by the core row it belongs to.

  webex_meetings  a listed meeting's site and the scheduled meeting it is an instance of
  webex_sessions  a session's Video Mesh node and the legacy field names its item used

For one release, `meetings_as_before` and `media_sessions_as_before` show the core tables with
the columns that moved out of them, under their old names.
"""

from __future__ import annotations

from ...models import Schema, column_names, drop_columns

VENDOR = "webex"
MEETING_TABLE, MEETING_COLUMNS = "webex_meetings", ("meeting_id", "site_url", "scheduled_meeting_id")
SESSION_TABLE, SESSION_COLUMNS = (
    "webex_sessions",
    ("session_id", "video_mesh_cluster", "video_mesh_server", "legacy_fields"),
)


def _migration_1(db) -> None:
    """Webex's fields leave the core tables for its own; rows stored before vendors were told apart
    (provider '') were Webex's; a meeting's number is its join code."""
    db.execute_sql("""CREATE TABLE IF NOT EXISTS webex_meetings (
        meeting_id TEXT NOT NULL PRIMARY KEY REFERENCES meetings(id) ON DELETE CASCADE,
        site_url TEXT, scheduled_meeting_id TEXT)""")
    db.execute_sql("""CREATE TABLE IF NOT EXISTS webex_sessions (
        session_id INTEGER NOT NULL PRIMARY KEY REFERENCES media_sessions(id) ON DELETE CASCADE,
        video_mesh_cluster TEXT, video_mesh_server TEXT, legacy_fields TEXT)""")
    for table in ("meetings", "media_sessions"):
        db.execute_sql(f"UPDATE {table} SET provider = 'webex' WHERE provider = ''")
    if "site_url" in column_names(db, "meetings"):
        db.execute_sql(
            "INSERT OR IGNORE INTO webex_meetings SELECT id, site_url, scheduled_meeting_id FROM meetings "
            "WHERE provider = 'webex' AND (site_url IS NOT NULL OR scheduled_meeting_id IS NOT NULL)"
        )
    if "video_mesh_cluster" in column_names(db, "media_sessions"):
        db.execute_sql(
            "INSERT OR IGNORE INTO webex_sessions "
            "SELECT id, video_mesh_cluster, video_mesh_server, legacy_fields FROM media_sessions "
            "WHERE provider = 'webex' "
            "AND coalesce(video_mesh_cluster, video_mesh_server, legacy_fields) IS NOT NULL"
        )
    db.execute_sql(
        "UPDATE meetings SET join_code = replace(CAST(json_extract(raw, '$.meetingNumber') AS TEXT), ' ', '') "
        "WHERE provider = 'webex' AND join_code IS NULL AND json_valid(raw)"
    )
    drop_columns(db, "meetings", ("site_url", "scheduled_meeting_id"), indexes=("meetings_site",))
    drop_columns(db, "media_sessions", ("video_mesh_cluster", "video_mesh_server", "legacy_fields"))


SHAPE = (
    "CREATE INDEX IF NOT EXISTS webex_meetings_site ON webex_meetings(site_url)",
    """CREATE VIEW IF NOT EXISTS meetings_as_before AS
       SELECT m.*, w.site_url, w.scheduled_meeting_id,
              coalesce(json_extract(m.quality_cursor, '$.offset'), 0) AS quality_offset,
              json_extract(m.quality_cursor, '$.next_url') AS quality_next_url
       FROM meetings m LEFT JOIN webex_meetings w ON w.meeting_id = m.id""",
    """CREATE VIEW IF NOT EXISTS media_sessions_as_before AS
       SELECT s.*, w.video_mesh_cluster, w.video_mesh_server, w.legacy_fields
       FROM media_sessions s LEFT JOIN webex_sessions w ON w.session_id = s.id""",
)

# Append to `migrations`, never edit one.
SCHEMA = Schema(VENDOR, migrations=(_migration_1,), shape=SHAPE)
