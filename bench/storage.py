"""Storage: bytes in the database per sample and per meeting, against the raw JSON's size."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def measure(path: Path, raw_json_bytes: int, meetings: int, samples: int) -> dict:
    connection = sqlite3.connect(path)
    connection.execute("pragma wal_checkpoint(TRUNCATE)")
    # dbstat names every b-tree; an index belongs to its table.
    owners = dict(connection.execute("select name, tbl_name from sqlite_master where type in ('table', 'index')"))
    by_table: dict[str, int] = {}
    for name, size in connection.execute("select name, sum(pgsize) from dbstat group by name"):
        owner = owners.get(name, name)
        if owner.startswith("sqlite_autoindex_"):
            owner = owner.split("_")[2]
        by_table[owner] = by_table.get(owner, 0) + size
    connection.close()
    total = Path(path).stat().st_size
    normalised = sum(v for k, v in by_table.items() if k != "raw_responses")
    return {
        "database_bytes": total, "raw_json_bytes": raw_json_bytes, "bytes_by_table": by_table,
        "bytes_per_sample_all_tables": round(total / samples, 1),
        "bytes_per_sample_normalised": round(normalised / samples, 1),
        "bytes_per_sample_media_samples_table": round(by_table.get("media_samples", 0) / samples, 1),
        "bytes_per_meeting": round(total / meetings),
        "database_vs_raw_json": round(total / raw_json_bytes, 3),
        "raw_table_share": round(by_table.get("raw_responses", 0) / total, 3),
    }
