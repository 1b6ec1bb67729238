"""Compact storage: a stream's samples and every raw body kept as zstandard-compressed text.

A sample is six small numbers a minute apart, and a row per sample cost 94 bytes of the file
(most of it the key, the time as text and the B-tree around them). A stream's samples are kept
instead as one JSON array of rows, `[[loss, latency, jitter, bit rate, height, fps], ...]`, with
the numbers exactly as the vendor sent them (lossless: no unit conversion, no rounding), and its
clock as two integers (epoch milliseconds of the first sample, milliseconds per sample). The
views `media_samples` and `cpu_samples` unpack them into the rows and columns people query
(docs/storage.md).

zstandard level 3, not zlib: as small (31.7 % against 30.4 % of the JSON) at ten times the speed
(bench/RESULTS.md, section 5), and the ingest path compresses every byte it stores.

`meetq_text(value)` is the one SQL function that reads them: compressed bytes back to text; text
(a body stored before compression, or by hand) and NULL pass through unchanged. The collector
registers it on its connections and the viewer on Datasette's.
"""

from __future__ import annotations

import sqlite3
import threading

import orjson
import zstandard

LEVEL = 3
MAGIC = b"\x28\xb5\x2f\xfd"   # what every zstandard frame starts with
_local = threading.local()     # compressor objects are not thread-safe; the receiver stores from a pool


def _compressor() -> zstandard.ZstdCompressor:
    if not hasattr(_local, "compressor"):
        _local.compressor = zstandard.ZstdCompressor(level=LEVEL)
        _local.decompressor = zstandard.ZstdDecompressor()
    return _local.compressor


def pack_text(value: str) -> bytes:
    return _compressor().compress(value.encode("utf-8", "surrogatepass"))


def pack_rows(rows) -> bytes:
    """Rows of finite numbers (or None) as compressed JSON. orjson prints them six times as fast
    as the standard library, each in the shortest form that reads back as the same double."""
    return _compressor().compress(orjson.dumps(rows))


def unpack_text(value):
    """What `meetq_text` returns: text from compressed bytes; anything else as it is."""
    if isinstance(value, bytes) and value[:4] == MAGIC:
        _compressor()
        try:
            return _local.decompressor.decompress(value).decode("utf-8", "surrogatepass")
        except zstandard.ZstdError:
            return None  # a damaged value reads as missing, never as a failed query
    return value


def unpack_rows(value) -> list:
    text = unpack_text(value)
    return orjson.loads(text) if text else []


def register(connection) -> None:
    """Make `meetq_text` available on a sqlite3 connection."""
    connection.create_function("meetq_text", 1, unpack_text, deterministic=True)


def connect(database, **options) -> sqlite3.Connection:
    """sqlite3.connect, with `meetq_text` registered: the views of samples and bodies need it."""
    connection = sqlite3.connect(database, **options)
    register(connection)
    return connection
