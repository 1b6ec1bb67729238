"""What every benchmark shares: the machine, the clock, the results files."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import statistics
import sys
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory / 2**30, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": sys.platform,
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


@contextmanager
def timer():
    result = {}
    started = time.perf_counter()
    yield result
    result["seconds"] = time.perf_counter() - started


def save(name: str, full: bool, figures: dict) -> Path:
    folder = RESULTS if full else RESULTS / "quick"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(
        json.dumps({"benchmark": name, "mode": "full" if full else "quick", "machine": machine(), **figures}, indent=2)
        + "\n"
    )
    return path


def spread(values: list[float], digits: int = 1) -> dict:
    """min / median / max of several runs, as every benchmark reports a figure."""
    return {
        "min": round(min(values), digits),
        "median": round(statistics.median(values), digits),
        "max": round(max(values), digits),
    }


def spread_text(figure: dict) -> str:
    return f"{figure['min']:,} / {figure['median']:,} / {figure['max']:,}"


def verdict(value: float, target: float, higher_is_better: bool = True) -> str:
    met = value >= target if higher_is_better else value <= target
    return "met" if met else "NOT met"
