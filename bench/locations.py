"""Building files at scale: importing 100,000 ranges, and placing sessions with them against placing
the same sessions with no ranges at all (the ratio is the cost of the ranges)."""

from __future__ import annotations

import ipaddress
import random
import statistics
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from meetq.locations import Locator, import_building_file, parse_building_file
from meetq.models import close_database
from meetq.providers import open_database

from bench.common import save, spread, timer, verdict

RUNS = 5


def building_file(ranges: int) -> bytes:
    """`ranges` /26s across 10.0.0.0/8 (IPv4) and a tenth as many IPv6 /56s, CQD's 15 columns."""
    lines = []
    for n in range(ranges):
        network = ipaddress.ip_address("10.0.0.0") + n * 64
        lines.append(f"{network},net {n},26,Building {n // 40},Example,Office,,City {n % 97},,DE,,EMEA,1,0,0")
    for n in range(ranges // 10):
        network = ipaddress.ip_address("2001:db8::") + (n << 72)
        lines.append(f"{network},v6 {n},56,Building {n // 40},Example,Office,,,,,,,1,0,0")
    return ("\n".join(lines) + "\n").encode()


def addresses(count: int, seed: int = 5) -> list[tuple[str | None, str | None]]:
    """(local, public) pairs as sessions carry them: office LANs, masked ones, homes, Meet's public only."""
    rng = random.Random(seed)
    pairs = []
    for _ in range(count):
        kind = rng.random()
        office = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        if kind < 0.5:
            pairs.append((office, "198.51.100.10"))
        elif kind < 0.7:
            pairs.append((office.rsplit(".", 1)[0] + ".*", "198.51.100.*"))
        elif kind < 0.9:
            pairs.append((f"192.168.{rng.randrange(256)}.{rng.randrange(1, 255)}", f"203.0.113.{rng.randrange(256)}"))
        else:
            pairs.append((None, f"192.0.2.{rng.randrange(256)}"))
    return pairs


def place_all(locator: Locator, pairs) -> float:
    with timer() as took:
        for local, public in pairs:
            locator.place(local, public)
    return took["seconds"]


def main(full: bool) -> dict:
    ranges, sessions = (100_000, 200_000) if full else (10_000, 20_000)
    data = building_file(ranges)
    with timer() as parsed:
        parsed_ranges = parse_building_file(data, "bench.csv")
    with tempfile.TemporaryDirectory() as folder:
        open_database(Path(folder) / "bench.db")
        with timer() as imported:
            import_building_file(data, "bench.csv", datetime.now(timezone.utc))
        close_database()
    with timer() as indexed:
        mapped = Locator(parsed_ranges, file_id=1)
    empty = Locator([], None)
    pairs = addresses(sessions)
    ratios, with_ranges, without = [], [], []
    for _ in range(RUNS):  # each pair of runs back to back, so they share the machine's state
        none_seconds, ranges_seconds = place_all(empty, pairs), place_all(mapped, pairs)
        without.append(sessions / none_seconds)
        with_ranges.append(sessions / ranges_seconds)
        ratios.append(none_seconds / ranges_seconds)
    figures = {
        "ranges": len(parsed_ranges),
        "file_bytes": len(data),
        "sessions_placed": sessions,
        "runs": RUNS,
        "seconds": {
            "parse_and_check": round(parsed["seconds"], 2),
            "import_into_sqlite": round(imported["seconds"], 2),
            "build_locator": round(indexed["seconds"], 2),
        },
        "sessions_per_second_with_ranges": spread(with_ranges, 3),
        "sessions_per_second_without_ranges": spread(without, 3),
        "with_ranges_vs_without": spread(ratios, 3),
        "targets": {
            f"import of {len(parsed_ranges):,} ranges in seconds (< 10 s)": verdict(imported["seconds"], 10, False),
            "placing with the ranges >= 0.5x as fast as with none (median)": verdict(statistics.median(ratios), 0.5),
        },
    }
    save("locations", full, figures)
    return figures
