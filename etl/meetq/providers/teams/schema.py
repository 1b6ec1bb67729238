"""Teams' own tables: what only Graph's call records report, keyed by the core row it belongs to.

teams_records   a call record: its type, modalities, the version listed and the version read,
                when Graph last changed it, the meeting's join URL, who organised it (a user, a
                phone number, a guest)
teams_sessions  a Graph session from the participant's side: which end that is, the client's
                product family, platform and user agent, who it was (a user, guest, phone or
                nobody), the network (connection, subnet, Wi-Fi band and signal, link speed,
                relay), the CPU, feedback and failure
teams_streams   a stream of a segment (per media label and direction) with every figure Graph
                gives, in the shared units, and CQD's class and what made it poor
"""

from __future__ import annotations

from ...models import Schema

VENDOR = "teams"
RECORD_TABLE = "teams_records"
RECORD_COLUMNS = (
    "meeting_id",
    "call_type",
    "modalities",
    "version",
    "last_modified",
    "join_web_url",
    "organizer_kind",
    "organizer_id",
)
SESSION_TABLE = "teams_sessions"
SESSION_COLUMNS = (
    "session_id",
    "graph_session_id",
    "record_id",
    "side",
    "product_family",
    "platform",
    "user_agent",
    "identity_kind",
    "subnet",
    "connection_type",
    "wifi_band",
    "wifi_signal",
    "link_speed_bps",
    "relay_ip",
    "cpu_name",
    "cpu_cores",
    "cpu_insufficient_ratio",
    "feedback_rating",
    "failure",
    "is_test",
    "other_end",
)
STREAM_TABLE = "teams_streams"
STREAM_COLUMNS = (
    "stream_id",
    "session_id",
    "segment_id",
    "label",
    "kind",
    "direction",
    "graph_direction",
    "start_time",
    "end_time",
    "packets",
    "avg_packet_loss",
    "max_packet_loss",
    "avg_latency",
    "max_latency",
    "avg_jitter",
    "max_jitter",
    "avg_network_jitter",
    "max_network_jitter",
    "avg_concealed_ratio",
    "max_concealed_ratio",
    "audio_degradation",
    "frame_loss_pct",
    "avg_frame_rate",
    "received_frame_rate",
    "post_fec_loss",
    "video_packet_loss",
    "low_frame_rate_ratio",
    "low_processing_ratio",
    "bandwidth_estimate_bps",
    "avg_freeze_ms",
    "rms_freeze_ms",
    "codec",
    "media_bypassed",
    "sent_quality_event_ratio",
    "received_quality_event_ratio",
    "delay_event_ratio",
    "bandwidth_low_event_ratio",
    "cpu_insufficient_ratio",
    "cqd_class",
    "cqd_poor_due_to",
)


def _migration_1(db) -> None:
    """Teams' tables."""
    db.execute_sql("""CREATE TABLE IF NOT EXISTS teams_records (
        meeting_id TEXT NOT NULL PRIMARY KEY REFERENCES meetings(id) ON DELETE CASCADE,
        call_type TEXT, modalities TEXT, version INTEGER, last_modified TEXT, join_web_url TEXT,
        organizer_kind TEXT, organizer_id TEXT, read_version INTEGER, read_modified TEXT)""")
    db.execute_sql("""CREATE TABLE IF NOT EXISTS teams_sessions (
        session_id INTEGER NOT NULL PRIMARY KEY REFERENCES media_sessions(id) ON DELETE CASCADE,
        graph_session_id TEXT, record_id TEXT, side TEXT, product_family TEXT, platform TEXT, user_agent TEXT,
        identity_kind TEXT, subnet TEXT, connection_type TEXT, wifi_band TEXT, wifi_signal REAL,
        link_speed_bps INTEGER, relay_ip TEXT, cpu_name TEXT, cpu_cores INTEGER, cpu_insufficient_ratio REAL,
        feedback_rating TEXT, failure TEXT, is_test INTEGER, other_end TEXT)""")
    figures = ", ".join(f"{c} REAL" for c in STREAM_COLUMNS[10:31])
    db.execute_sql(f"""CREATE TABLE IF NOT EXISTS teams_streams (
        stream_id INTEGER NOT NULL PRIMARY KEY REFERENCES media_streams(id) ON DELETE CASCADE,
        session_id INTEGER NOT NULL REFERENCES media_sessions(id) ON DELETE CASCADE,
        segment_id TEXT, label TEXT, kind TEXT, direction TEXT, graph_direction TEXT, start_time TEXT,
        end_time TEXT, packets INTEGER, {figures}, codec TEXT, media_bypassed INTEGER,
        sent_quality_event_ratio REAL, received_quality_event_ratio REAL, delay_event_ratio REAL,
        bandwidth_low_event_ratio REAL, cpu_insufficient_ratio REAL, cqd_class TEXT, cqd_poor_due_to TEXT)""")
    db.execute_sql("CREATE INDEX IF NOT EXISTS teams_streams_session ON teams_streams(session_id)")


# Teams sessions with what only Teams reports beside the shared columns, as the sessions view
# shows them: where a Teams breakdown's bar leads (recreated on every open).
SESSION_LIST = """CREATE VIEW IF NOT EXISTS teams_session_list AS
   SELECT s.user_name AS name, s.user_email AS email, s.join_time AS joined, s.leave_time AS "left", s.verdict,
          s.verdict_metric, s.verdict_reason, m.title AS meeting, s.provider AS vendor, s.account,
          t.product_family, s.client_version, t.platform, t.connection_type, t.wifi_band, t.wifi_signal, t.subnet,
          s.microphone AS capture_device, s.speaker AS render_device, s.camera, t.identity_kind, t.side,
          t.cpu_insufficient_ratio, t.feedback_rating, t.other_end,
          '/-/dashboards/session?session=' || s.id AS session_page,
          '/-/dashboards/meeting?meeting=' || s.meeting_id AS meeting_page, s.id AS session_id, s.meeting_id,
          l.building
   FROM teams_sessions t JOIN media_sessions s ON s.id = t.session_id LEFT JOIN meetings m ON m.id = s.meeting_id
   LEFT JOIN session_locations l ON l.session_id = s.id"""

# Append to `migrations`, never edit one.
SCHEMA = Schema(VENDOR, migrations=(_migration_1,), shape=(SESSION_LIST,))
