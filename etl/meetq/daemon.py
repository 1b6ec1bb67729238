"""`meetq run`: the scheduler around the pipeline.

APScheduler 3.11 with the settings its defaults get wrong for an ETL job
(../shared/research/ecosystem.md §3): the first cycle at once, no misfire grace limit
(a late cycle still runs), coalesced catch-up, one instance at a time, UTC. SIGTERM and
SIGINT stop the cycle between two transactions and exit 0. An exclusive lock on
`<database>.lock` keeps a second collector off the same file.
"""

from __future__ import annotations

import fcntl
import os
import signal
import threading
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from . import logs
from .clock import UTC, utcnow
from .errors import CollectorLocked
from .ops import prune
from .pipeline import run_cycle

log = logs.get_logger("meetq.daemon")


@contextmanager
def collector_lock(database_path: Path):
    """Hold `<database>.lock` exclusively for the life of the block (released by the OS on a crash)."""
    path = Path(f"{database_path}.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise CollectorLocked(f"another collector is running against {database_path} (lock {path})") from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def _shutdown_quietly(scheduler) -> None:
    try:
        scheduler.shutdown(wait=True)
    except SchedulerNotRunningError:  # a second signal
        pass


def run_forever(settings, credentials=None) -> None:
    stop = threading.Event()
    scheduler = BlockingScheduler(timezone=UTC, job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": None})

    def cycle():
        run_cycle(settings, credentials, trigger="schedule", stop=stop)

    def on_event(event):
        if event.code == EVENT_JOB_ERROR:
            log.error("cycle_crashed", error=logs.redact(event.exception))
        elif event.code == EVENT_JOB_MISSED:
            log.warning("cycle_missed", scheduled=str(event.scheduled_run_time))
        else:
            log.warning("cycle_skipped_still_running")

    def on_signal(signum, frame):
        log.info("stopping", signal=signal.Signals(signum).name)
        stop.set()
        # Not from the handler itself: it may interrupt the scheduler's own loop in this thread,
        # which holds a re-entrant lock that shutdown would then slip past. The shutdown waits
        # for the running cycle, which stops at its next transaction boundary.
        if scheduler.running:
            threading.Thread(target=_shutdown_quietly, args=(scheduler,), name="shutdown").start()

    scheduler.add_listener(on_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
    if settings.samples_days or settings.raw_days:
        scheduler.add_job(lambda: log.info("pruned", **prune(settings)), IntervalTrigger(hours=24, timezone=UTC),
                          id="prune", next_run_time=utcnow() + timedelta(minutes=1))
    scheduler.add_job(cycle, IntervalTrigger(seconds=settings.interval_seconds, timezone=UTC),
                      id="collect", next_run_time=utcnow() + timedelta(milliseconds=10))
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log.info("collector_started", interval_seconds=settings.interval_seconds, database=str(settings.database))
    scheduler.start()
    log.info("collector_stopped")
