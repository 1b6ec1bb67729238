"""`meetq rejudge` for Teams: a stored session judged again from its teams_streams rows, with the
thresholds now set (CQD's poor lines are Microsoft's and do not move; the fair lines may)."""

from __future__ import annotations

from ...models import database
from .schema import STREAM_COLUMNS, STREAM_TABLE
from .settings import SETTINGS
from .transform import rejudge_session as judged_again

MIN_PACKETS = next(s.default for s in SETTINGS if s.name == "min_audio_packets")


def rejudge_session(stored, thresholds: dict) -> tuple[list[tuple], dict]:
    cursor = database.execute_sql(
        f"SELECT {', '.join(STREAM_COLUMNS)} FROM {STREAM_TABLE} WHERE session_id = ? ORDER BY rowid", (stored.id,)
    )
    rows = [dict(zip(STREAM_COLUMNS, row)) for row in cursor.fetchall()]
    return judged_again(stored, thresholds, rows, MIN_PACKETS)
