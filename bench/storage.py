"""Storage: bytes in the database per sample and per meeting, against the raw JSON's size."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bench.common import verdict


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
    per_sample = round(total / samples, 1)
    media = round(by_table.get("stream_series", 0) / samples, 1)
    return {
        "database_bytes": total,
        "raw_json_bytes": raw_json_bytes,
        "bytes_by_table": by_table,
        "bytes_per_sample_all_tables": round(total / samples, 1),
        "bytes_per_sample_normalised": round(normalised / samples, 1),
        "bytes_per_sample_media_samples_table": media,  # stored in stream_series, shown by the view
        "bytes_per_meeting": round(total / meetings),
        "database_vs_raw_json": round(total / raw_json_bytes, 3),
        "raw_table_share": round(by_table.get("raw_responses", 0) / total, 3),
        "targets": {
            "all-in bytes per sample <= 64": verdict(per_sample, 64, higher_is_better=False),
            "media samples bytes per sample <= 30": verdict(media, 30, higher_is_better=False),
            "database <= 1.2x the raw JSON": verdict(total / raw_json_bytes, 1.2, higher_is_better=False),
        },
    }
