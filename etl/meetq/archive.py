"""Raw bodies back out as files: what `meetq load` reads, so a database can be rebuilt from them,
another one seeded, or a support case sent the exact answers (already masked and secret-free, as
they were stored).

Files go to `FOLDER/<account>/<endpoint>/<meeting or "none">/<offset>-<digest>.json`: one body
each, named so that two exports of the same database write the same files.
"""

from __future__ import annotations

import re
from pathlib import Path

SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def export_raw(
    db,
    folder: Path,
    account: str | None = None,
    meeting_id: str | None = None,
    since: str | None = None,
    until: str | None = None,
    endpoints: tuple[str, ...] = (),
) -> dict:
    """Write every successful raw body that matches, read through `db` (operations.read_only: exporting
    never writes the database). Returns {endpoint: files written}."""
    conditions, params = ["status BETWEEN 200 AND 299"], []
    for column, value, operator in (
        ("account", account, "="),
        ("meeting_id", meeting_id, "="),
        ("fetched_at", since, ">="),
        ("fetched_at", until, "<"),
    ):
        if value:
            conditions.append(f"{column} {operator} ?")
            params.append(value)
    if endpoints:
        conditions.append(f"endpoint IN ({', '.join('?' * len(endpoints))})")
        params += list(endpoints)
    written: dict[str, int] = {}
    last = 0
    while True:  # in batches by rowid: a year of bodies never sits in memory at once
        rows = db.execute(
            "SELECT rowid, account, endpoint, meeting_id, offset, body_sha256, meetq_text(body) FROM raw_responses "
            f"WHERE rowid > ? AND {' AND '.join(conditions)} ORDER BY rowid LIMIT 500",
            [last, *params],
        ).fetchall()
        if not rows:
            return written
        for rowid, owner, endpoint, meeting, offset, digest, body in rows:
            path = folder / name(owner) / name(endpoint) / name(meeting or "none") / f"{offset or 0}-{digest[:12]}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(body)
            written[endpoint] = written.get(endpoint, 0) + 1
            last = rowid


def name(part: str) -> str:
    """A path component from an id: no slashes, no dots-only names."""
    cleaned = SAFE.sub("_", str(part)).strip(".") or "_"
    return cleaned[:120]
