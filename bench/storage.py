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
    layouts = sample_layouts(connection, samples)
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
        "sample_layouts": layouts,
        "targets": {
            "all-in bytes per sample <= 72": verdict(per_sample, 72, higher_is_better=False),
            "media samples bytes per sample <= 30": verdict(media, 30, higher_is_better=False),
            "database <= 1.3x the raw JSON": verdict(total / raw_json_bytes, 1.3, higher_is_better=False),
        },
    }


def sample_layouts(connection, samples: int) -> dict:
    """The samples' own bytes (the `packed` values, no B-tree around them) per sample, in each
    layout tried on the same rows: plain JSON (stored, what any client reads), the same JSON
    zstandard-compressed (the release before: only meetq could read it), and a row per sample
    as the release before that kept them (the key and six REAL or NULL columns, no time)."""
    import zstandard

    compressor = zstandard.ZstdCompressor(level=3)
    plain = compressed = 0
    for (packed,) in connection.execute("select packed from stream_series"):
        text = packed.encode() if isinstance(packed, str) else packed
        plain += len(text)
        compressed += len(compressor.compress(text))
    # A row per sample: SQLite's record, a 1-byte header per column, 8 bytes a REAL, 0 a NULL, ~10 the key.
    row = connection.execute(
        "select sum(10 + 8 + (packet_loss is not null) * 8 + (latency is not null) * 8 + (jitter is not null) * 8 "
        "+ (bit_rate is not null) * 8 + (resolution_height is not null) * 8 + (frame_rate is not null) * 8) "
        "from media_samples"
    ).fetchone()[0]
    return {
        "plain_json": round(plain / samples, 1),
        "zstd_json": round(compressed / samples, 1),
        "row_per_sample_payload": round((row or 0) / samples, 1),
    }
