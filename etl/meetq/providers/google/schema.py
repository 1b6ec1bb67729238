"""Google Meet's own tables: attendance from the Meet REST API (who was in a conference when)."""

from __future__ import annotations

from ...models import Schema, rekey_sessions
from ...rows import stable_id

VENDOR = "google"
ATTENDANCE_TABLE = "meet_attendance"


def _migration_1(db) -> None:
    """Attendance: one row per participant session. Only conferences of the configured organisers
    (the API lists what its user organised)."""
    db.execute_sql("""CREATE TABLE IF NOT EXISTS meet_attendance (
        id TEXT NOT NULL PRIMARY KEY,           -- conferenceRecords/…/participants/…/participantSessions/…
        account TEXT NOT NULL,
        meeting_id TEXT NOT NULL,               -- meet:<conference record id>, as the quality rows file it
        conference_record TEXT NOT NULL,
        meeting_code TEXT,                      -- normalised: letters only, lower case
        organizer_email TEXT,
        participant TEXT NOT NULL,
        user TEXT,                              -- users/… for a signed-in user (Directory API id)
        display_name TEXT,
        kind TEXT NOT NULL,                     -- signed_in | anonymous | phone
        start_time TEXT, end_time TEXT, fetched_at TEXT NOT NULL)""")


def _migration_2(db) -> None:
    """Session ids, once derived from the activity's qualifier alone, derived from its whole
    identity, so the next re-read finds them instead of doubling them. Frozen: the rule as it was
    when this was written (transform.session_id_of then), never the live code, which may change."""
    rekey_sessions(
        db,
        VENDOR,
        lambda row: stable_id(
            VENDOR, row["leave_time"], row["participant_session_id"], row["participant_id"], row["meeting_id"]
        ),
    )


def _migration_3(db) -> None:
    """A conference's Meet code is its join code."""
    db.execute_sql(
        "UPDATE meetings SET join_code = coalesce("
        "(SELECT a.meeting_code FROM meet_attendance a WHERE a.meeting_id = meetings.id LIMIT 1), "
        "CASE WHEN title LIKE 'Meet %' THEN substr(title, 6) END) WHERE provider = 'google' AND join_code IS NULL"
    )


SHAPE = (
    "CREATE INDEX IF NOT EXISTS meet_attendance_meeting ON meet_attendance(meeting_id, start_time)",
    # Attendance beside the quality of the same person's endpoint session, where the data allows:
    # the same conference, the same display name, overlapping times.
    """CREATE VIEW IF NOT EXISTS meet_attendance_quality AS
       SELECT a.meeting_id, a.meeting_code, a.display_name, a.kind, a.start_time, a.end_time,
              s.id AS session_id, s.client_type, s.location, s.verdict, s.verdict_reason
       FROM meet_attendance a
       LEFT JOIN media_sessions s ON s.meeting_id = a.meeting_id
            AND s.user_name = a.display_name AND s.join_time < a.end_time AND s.leave_time > a.start_time""",
)

# Append to `migrations`, never edit one.
SCHEMA = Schema(VENDOR, migrations=(_migration_1, _migration_2, _migration_3), shape=SHAPE)
