"""Backlog: a week of ended meetings, a collector that starts empty, one real `meetq collect`.

Webex answers in 50 ms here (its real answers take longer), so the drain is bound by waiting:
the same backlog is drained with concurrency 1 (the baseline) and with the default, in the
same run. Peak RSS is the collector process's own (wait4), for two sizes, to show it is flat.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from bench.common import save, verdict

LATENCY = 0.05


def drain(meetings: int, concurrency: int) -> dict:
    from meetq.config import load_settings
    from meetq.demo import free_port, login_without_a_person
    from meetq.simulator import SimConfig, Simulator

    sim = Simulator(
        SimConfig(
            port=free_port(),
            days=7,
            meetings_per_day=max(1, meetings // 7),
            people=300,
            max_participants=4,
            upcoming_hours=0,
            long_meeting_every=0,
            latency=LATENCY,
        )
    ).start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith("MEETQ_")},
                "MEETQ_WEBEX_API_BASE": sim.api_base,
                "MEETQ_WEBEX_ANALYTICS_BASE": sim.analytics_base,
                "MEETQ_WEBEX_CLIENT_ID": sim.config.client_id,
                "MEETQ_WEBEX_CLIENT_SECRET": sim.config.client_secret,
                "MEETQ_WEBEX_REDIRECT_URI": f"http://127.0.0.1:{free_port()}/callback",
                "MEETQ_DATABASE": f"{folder}/meetq.db",
                "MEETQ_SECRETS": f"{folder}/secrets.json",
                "MEETQ_COLLECTOR_CONCURRENCY": str(concurrency),
                "MEETQ_COLLECTOR_CYCLE_BUDGET_SECONDS": "36000",
                "MEETQ_LOG_LEVEL": "warning",
                "MEETQ_CONFIG": "",
            }
            login_without_a_person(load_settings(environ=env))
            visible = len(sim.visible_meetings())  # more become visible while it runs: the next cycle's
            started = time.perf_counter()
            child = subprocess.Popen(
                [sys.executable, "-m", "meetq.cli", "collect"],
                env=env,
                cwd=folder,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            peak_kb = 0
            while child.poll() is None:  # VmHWM: the process's own peak since exec (wait4's
                peak_kb = max(peak_kb, _peak_kb(child.pid))  # ru_maxrss counts the forked parent)
                time.sleep(0.05)
            seconds = time.perf_counter() - started
            summary = json.loads(child.stdout.read())
        stats = requests.get(f"{sim.url}/_sim/stats", timeout=10).json()
    finally:
        sim.stop()
    calls = [len(v) for v in stats["quality_calls"].values()]
    return {
        "meetings": visible,
        "concurrency": concurrency,
        "seconds": round(seconds, 2),
        "meetings_per_second": round(visible / seconds, 1),
        "outcome": summary["outcome"],
        "samples_written": summary["samples_written"],
        "qualities_calls": sum(calls),
        "meetings_expired": summary["meetings_expired"],
        "qualities_calls_per_meeting_max": max(calls),
        "meetings_fetched": len(calls),
        "served_429": stats["served_429"],
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "exit_status": child.returncode,
    }


def _peak_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def main(full: bool) -> dict:
    small, large = (1000, 10000) if full else (100, 300)
    runs = {"baseline_sequential": drain(small, 1), "concurrent": drain(small, 4), "large": drain(large, 4)}
    speedup = runs["baseline_sequential"]["seconds"] / runs["concurrent"]["seconds"]
    rss_growth = runs["large"]["peak_rss_mb"] / runs["concurrent"]["peak_rss_mb"]
    figures = {
        "simulated_webex_latency_seconds": LATENCY,
        "runs": runs,
        "concurrency_speedup": round(speedup, 2),
        "peak_rss_ratio_large_vs_small": round(rss_growth, 2),
        "targets": {
            "one qualities call per meeting page": verdict(
                max(r["qualities_calls_per_meeting_max"] for r in runs.values()), 1, higher_is_better=False
            ),
            "zero 429 provoked": verdict(sum(r["served_429"] for r in runs.values()), 0, higher_is_better=False),
            "peak RSS < 150 MB": verdict(max(r["peak_rss_mb"] for r in runs.values()), 150, higher_is_better=False),
            "peak RSS flat (large/small <= 1.25)": verdict(rss_growth, 1.25, higher_is_better=False),
            # A meeting that started 7 days ago expires while a long drain runs: marked, not lost.
            "every listed meeting fetched or marked expired": verdict(
                min(r["meetings_fetched"] + r["meetings_expired"] - r["meetings"] for r in runs.values()), 0
            ),
            # (meetings counts those visible when the collect started; later ones are the next cycle's)
        },
    }
    save("backlog", full, figures)
    return figures
