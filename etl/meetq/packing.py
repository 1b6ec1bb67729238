"""Compact storage: a stream's samples as one row of plain JSON, raw bodies zstandard-compressed.

A sample is six small numbers a minute apart, and a row per sample cost 94 bytes of the file
(most of it the key, the time as text and the B-tree around them). A stream's samples are kept
instead as one JSON array of rows, `[[loss, latency, jitter, bit rate, height, fps], ...]`, with
the numbers exactly as the vendor sent them (lossless: no unit conversion, no rounding), and its
clock as two integers (epoch milliseconds of the first sample, milliseconds per sample). The
JSON is plain text, so the views `media_samples` and `cpu_samples` unpack it with SQLite's own
`json_each`: any SQLite client reads them with nothing registered (docs/storage.md).

Raw bodies are the archive, read rarely and whole: zstandard level 3, not zlib: as small (31.7 %
against 30.4 % of the JSON) at ten times the speed (bench/RESULTS.md, section 5).
`meetq_text(value)` reads them: compressed bytes back to text; text and NULL pass through
unchanged (so it also reads samples a release before this one compressed). The collector
registers it on its connections, the viewer on Datasette's, and `connect` here on yours, with
the TEMP view `raw_bodies` that uses it.
"""

from __future__ import annotations

import sqlite3
import threading

import orjson
import zstandard

LEVEL = 3
# The largest text meetq keeps or gives back: a body over it is not stored (store.save_raw), and
# a value that would decompress past it reads as NULL, so a small hostile frame built in SQL
# (`meetq_text(x'28b52ffd…')`) cannot make a query take seconds and gigabytes: SQLite cannot
# interrupt a Python function. The largest page the vendors serve at meetq's page sizes is a few MB.
MAX_TEXT_BYTES = 64 * 1024 * 1024
MAGIC = b"\x28\xb5\x2f\xfd"  # what every zstandard frame starts with
_local = threading.local()  # compressor objects are not thread-safe; the receiver stores from a pool


def _compressor() -> zstandard.ZstdCompressor:
    if not hasattr(_local, "compressor"):
        _local.compressor = zstandard.ZstdCompressor(level=LEVEL)
        _local.decompressor = zstandard.ZstdDecompressor()
    return _local.compressor


def pack_text(value: str) -> bytes:
    return _compressor().compress(value.encode("utf-8", "surrogatepass"))


def pack_rows(rows) -> str:
    """Rows of finite numbers (or None) as JSON text, each row without its trailing nulls (an audio
    stream has no resolution or frame rate: `json_extract` reads a missing element as NULL, and
    ",null,null" was a quarter of an audio sample). orjson prints them six times as fast as the
    standard library, each number in the shortest form that reads back as the same double."""
    return orjson.dumps([_trimmed(row) for row in rows]).decode()


def rows_of(columns: list[list]) -> list:
    """The rows of equal-length columns, each without its trailing nulls, as `pack_rows` stores
    them. Trimmed a column at a time where whole columns are null (an audio stream's resolution
    and frame rate), row by row only where the last column left has a gap."""
    width = len(columns)
    while width and columns[width - 1].count(None) == len(columns[width - 1]):
        width -= 1
    rows = list(zip(*columns[:width])) if width else [() for _ in columns[0]] if columns else []
    return [_trimmed(row) for row in rows] if width and None in columns[width - 1] else rows


def pack_trimmed(rows: list) -> str:
    """`pack_rows` for rows already without their trailing nulls (from `rows_of`)."""
    return orjson.dumps(rows).decode()


def _trimmed(row):
    if row and isinstance(row[0], list):  # CPU: an array of rows per resources element
        return [_trimmed(each) for each in row]
    end = len(row)
    while end and row[end - 1] is None:
        end -= 1
    return row[:end] if end < len(row) else row


def unpack_text(value):
    """What `meetq_text` returns: text from compressed bytes; anything else as it is. Damaged
    bytes, and bytes that would decompress past MAX_TEXT_BYTES, read as missing, never as a
    failed query."""
    if not (isinstance(value, bytes) and value[:4] == MAGIC):
        return value
    _compressor()
    try:
        size = zstandard.frame_content_size(value)
        if size > MAX_TEXT_BYTES:
            return None
        if size >= 0:  # what meetq writes: the frame says its size, and decompress holds it to that
            text = _local.decompressor.decompress(value)
        else:  # a frame that does not: decompressed one byte past the limit at the most
            with _local.decompressor.stream_reader(value) as reader:
                text = reader.read(MAX_TEXT_BYTES + 1)
            if len(text) > MAX_TEXT_BYTES:
                return None
        return text.decode("utf-8", "surrogatepass")
    except (zstandard.ZstdError, UnicodeDecodeError):
        return None


def unpacked_size(value: bytes) -> int:
    """How many bytes a value meetq packed holds (its frame says so)."""
    return zstandard.frame_content_size(value)


def unpack_rows(value) -> list:
    text = unpack_text(value)
    return orjson.loads(text) if text else []


# Bodies as text, on meetq's own connections only: a view in the file that needs meetq_text would
# fail in every other client, so this one lives in each connection's TEMP schema.
RAW_VIEW = """CREATE TEMP VIEW IF NOT EXISTS raw_bodies AS
    SELECT id, account, endpoint, meeting_id, offset, url, status, tracking_id, content_type, fetched_at,
           meetq_text(body) AS body, body_sha256, error
    FROM main.raw_responses"""


def register(connection, views: bool = True) -> None:
    """Make `meetq_text`, and the TEMP view `raw_bodies` (unless told not to: a database that is not
    meetq's), available on a sqlite3 connection."""
    connection.create_function("meetq_text", 1, unpack_text, deterministic=True)
    if views:
        connection.execute(RAW_VIEW)


def connect(database, **options) -> sqlite3.Connection:
    """sqlite3.connect, with `meetq_text` and `raw_bodies` (the raw bodies as text)."""
    connection = sqlite3.connect(database, **options)
    register(connection)
    return connection
