"""Raw bodies compressed: how small and how fast, zlib (standard library) against zstandard, on the
Meeting Qualities pages meetq keeps (masked, as stored). Each body is compressed on its own, as a
row would be. Five runs; min / median / max of each speed."""

from __future__ import annotations

import json
import time
import zlib

from meetq.providers.webex.transform import private_body

from bench.common import save, spread
from bench.ingest import payloads

RUNS = 5


def codecs() -> dict:
    found = {
        f"zlib level {level}": (lambda data, level=level: zlib.compress(data, level), zlib.decompress)
        for level in (1, 6, 9)
    }
    try:
        import zstandard
    except ImportError:  # the bench extra installs it; without it, zlib alone is measured
        return found
    for level in (3, 9, 19):
        compressor, decompressor = zstandard.ZstdCompressor(level=level), zstandard.ZstdDecompressor()
        found[f"zstandard level {level}"] = (compressor.compress, decompressor.decompress)
    return found


def bodies(meetings: int) -> list[bytes]:
    """One stored page per meeting: the items as Webex sends them, addresses masked as stored."""
    return [private_body(json.dumps({"items": items}), "masked").encode() for _, items in payloads(meetings)]


def measure(compress, decompress, data: list[bytes]) -> dict:
    raw = sum(len(d) for d in data)
    packed, compress_speed, decompress_speed = [], [], []
    for _ in range(RUNS):
        started = time.perf_counter()
        packed = [compress(d) for d in data]
        compress_speed.append(raw / (time.perf_counter() - started) / 1e6)
        started = time.perf_counter()
        restored = [decompress(p) for p in packed]
        decompress_speed.append(raw / (time.perf_counter() - started) / 1e6)
        assert restored == data
    return {
        "compressed_vs_raw": round(sum(len(p) for p in packed) / raw, 4),
        "compress_mb_per_s": spread(compress_speed),
        "decompress_mb_per_s": spread(decompress_speed),
    }


def main(full: bool) -> dict:
    data = bodies(400 if full else 40)
    figures = {
        "bodies": len(data),
        "raw_bytes": sum(len(d) for d in data),
        "runs": RUNS,
        "codecs": {name: measure(c, d, data) for name, (c, d) in codecs().items()},
        "targets": {},
    }
    save("compression", full, figures)
    return figures
