"""`meetq run`: the scheduler around the collection runs.

APScheduler 3.11 with the settings its defaults get wrong for an ETL job
(docs/libraries.md, "APScheduler"): the first cycle at once, no misfire grace limit
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

from . import logs, notify
from .clock import UTC, utcnow
from .errors import CollectorLocked, DatabaseUnusable, MeetqError
from .models import writable
from .operations import prune
from .providers import provider_of
from .receiver import WebhookReceiver
from .runs import run_accounts, run_cycle

log = logs.get_logger("meetq.daemon")


@contextmanager
def collector_lock(database_path: Path):
    """Hold `<database>.lock` exclusively for the life of the block (released by the OS on a crash)."""
    path = Path(f"{database_path}.lock")
    writable(database_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        handle = open(path, "a+")
    except PermissionError:
        raise DatabaseUnusable(
            f"cannot write {path}: the collector must be able to write the database's folder {path.parent}"
        ) from None
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


def check_accounts(accounts, warn) -> None:
    """Before the daemon starts: every account usable, or a clear error. With several accounts,
    one unusable account is a warning (the run log keeps saying so) and the others go on."""
    failures: list[tuple[str, MeetqError]] = []
    for account in accounts:
        try:
            provider_of(account).check(account)
        except MeetqError as error:
            failures.append((account.account, error))
    if failures and len(failures) == len(accounts):
        if len(failures) == 1:
            raise failures[0][1]
        raise MeetqError("; ".join(f"account {name}: {error}" for name, error in failures))
    for name, error in failures:
        warn(f"account {name}: {error}")


def usable_credentials(accounts) -> None:
    """Every account's credentials can at least be read (no network): else the first account's
    error, before anything is created on disk."""
    failures = []
    for account in accounts:
        try:
            provider_of(account).credentials(account)
        except MeetqError as error:
            failures.append(error)
    if failures and len(failures) == len(accounts):
        raise failures[0]


def _shutdown_quietly(scheduler) -> None:
    try:
        scheduler.shutdown(wait=True)
    except SchedulerNotRunningError:  # a second signal
        pass


class FastPath:
    """Webhook-driven cycles: when a delivery makes a meeting due, one queue-only cycle for its
    account runs after `fetch_delay_seconds`. Deliveries arriving meanwhile join that cycle.
    Cycles never overlap (`cycle_lock`), so no meeting is fetched twice at once."""

    def __init__(self, settings, stop: threading.Event, cycle_lock: threading.Lock):
        self.settings, self.stop, self.cycle_lock = settings, stop, cycle_lock
        self.pending: set[str] = set()
        self.wake = threading.Event()
        self.guard = threading.Lock()

    def due(self, account: str) -> None:
        with self.guard:
            self.pending.add(account)
        self.wake.set()

    def run(self) -> None:
        while not self.stop.is_set():
            if not self.wake.wait(timeout=1.0) or self.stop.wait(self.settings.fetch_delay_seconds):
                continue
            self.wake.clear()
            with self.guard:
                accounts, self.pending = self.pending, set()
            with self.cycle_lock:
                for name in sorted(accounts):
                    run_cycle(self.settings.account_named(name), trigger="webhook", stop=self.stop, listing=False)


RENEW_EVERY = timedelta(hours=1)  # well inside the shortest subscription a vendor grants (Graph: ~70 h)


def renewing(settings) -> list:
    """The accounts whose vendor's webhook subscriptions expire, each with its `renew`."""
    found = []
    for account in settings.accounts():
        renew = getattr(provider_of(account).webhooks, "renew", None)
        if renew:
            found.append((account, renew))
    return found


def renew_quietly(accounts: list) -> None:
    """Each account's subscriptions renewed; a refusal is one line, and the next round tries again."""
    for account, renew in accounts:
        try:
            done = renew(account)
        except MeetqError as error:
            log.warning("webhooks_not_renewed", account=account.account, error=logs.redact(error))
            continue
        if done:
            log.info("webhooks_renewed", account=account.account, result=done)


def notify_quietly(settings) -> None:
    """Alerts after the round. Whatever goes wrong in posting them, collection goes on."""
    try:
        notify.run(settings)
    except Exception as error:  # a bug here must not stop the collector; the log keeps it, traceback and all
        log.exception("notify_failed", error=logs.redact(error))


def run_forever(settings) -> None:
    stop = threading.Event()
    cycle_lock = threading.Lock()
    scheduler = BlockingScheduler(
        timezone=UTC, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
    )

    def cycle():
        with cycle_lock:
            run_accounts(settings, trigger="schedule", stop=stop)
            if not stop.is_set():
                notify_quietly(settings)

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
        scheduler.add_job(
            lambda: log.info("pruned", **prune(settings)),
            IntervalTrigger(hours=24, timezone=UTC),
            id="prune",
            next_run_time=utcnow() + timedelta(minutes=1),
        )
    scheduler.add_job(
        cycle,
        IntervalTrigger(seconds=settings.interval_seconds, timezone=UTC),
        id="collect",
        next_run_time=utcnow() + timedelta(milliseconds=10),
    )
    receiver = None
    if settings.listen and renewing(settings):
        scheduler.add_job(
            renew_quietly,
            IntervalTrigger(seconds=RENEW_EVERY.total_seconds(), timezone=UTC),
            args=(renewing(settings),),
            id="renew_webhooks",
            next_run_time=utcnow() + timedelta(seconds=5),  # they may have run out while the daemon was down
        )
    if settings.listen:
        fast_path = FastPath(settings, stop, cycle_lock)
        receiver = WebhookReceiver(settings, on_due=fast_path.due).start()
        threading.Thread(target=fast_path.run, name="webhook-fast-path", daemon=True).start()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log.info(
        "collector_started",
        interval_seconds=settings.interval_seconds,
        database=str(settings.database),
        accounts=[a.account for a in settings.accounts()],
    )
    try:
        scheduler.start()
    finally:
        if receiver:
            receiver.stop()
        with cycle_lock:  # a webhook cycle still running finishes its transaction first
            pass
    log.info("collector_stopped")
