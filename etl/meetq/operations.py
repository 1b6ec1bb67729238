"""Operating the collector: status, health, retention and backups.

status and health read the database read-only with plain sqlite3 (no migrations, no write
lock), so probes never disturb the collector.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing, contextmanager
from datetime import timedelta
from pathlib import Path

from peewee import fn

from . import packing
from .clock import iso, parse_iso, utcnow
from .errors import DatabaseMissing, DatabaseUnusable, MeetqError
from .models import (
    CpuSeries,
    MediaSession,
    MediaStream,
    Meeting,
    RawResponse,
    StreamSeries,
    database,
    make_private,
    schema_version_of,
)
from .store import OPEN_STATES

PRUNE_BATCH = 200  # meetings per transaction: the collector never waits long on a prune


@contextmanager
def read_only(path: Path):
    if not Path(path).exists():
        raise DatabaseMissing(f"no database at {path}: has the collector run yet?")
    schema_version_of(path)  # a clear line for a file that is not SQLite, or not meetq's
    with closing(packing.connect(f"file:{path}?mode=ro", uri=True, timeout=10)) as connection:
        yield connection


def status(settings) -> dict:
    """The queue, the last runs, each account's authorisation and last success, the file's size."""
    with read_only(settings.database) as db:
        queue = dict(db.execute("select quality_state, count(*) from meetings group by 1").fetchall())
        runs = [
            dict(
                zip(
                    ("started_at", "account", "outcome", "meetings_new", "quality_calls", "samples_written", "message"),
                    r,
                )
            )
            for r in db.execute(
                "select started_at, account, outcome, meetings_new, quality_calls, "
                "samples_written, message from collector_runs order by id desc limit 5"
            )
        ]
        last_ok = db.execute("select max(finished_at) from collector_runs where outcome = 'ok'").fetchone()[0]
        accounts = {a.account: _account_status(a, db) for a in settings.accounts()}
        notify = _notify_status(settings, db)
    size = sum(
        p.stat().st_size
        for p in Path(settings.database).parent.glob(Path(settings.database).name + "*")
        if not p.name.endswith(".lock")
    )
    authorisation = {name: facts["authorisation"] for name, facts in accounts.items()}
    return {
        "database": str(settings.database),
        "database_bytes": size,
        "queue": queue,
        "last_success": last_ok,
        "recent_runs": runs,
        "accounts": accounts,
        "notify": notify,
        "authorisation": authorisation if len(authorisation) > 1 else next(iter(authorisation.values())),
    }


def status_text(report: dict) -> str:
    """`status` for a person: each account's authorisation and last success, what waits, the
    alerts, the last runs with their messages. Times as stored, in UTC; --json gives it all."""

    def when(ts):
        return f"{ts[:10]} {ts[11:19]} UTC" if ts else "never"

    def queue(counts):
        waiting = sum(counts.get(state, 0) for state in OPEN_STATES)  # as Health counts them
        return (
            ", ".join(f"{state} {n}" for state, n in sorted(counts.items())) + f" (waiting: {waiting})"
            if counts
            else "no meetings yet"
        )

    lines = [
        f"Database   {report['database']} ({report['database_bytes'] / 2**20:.1f} MiB)",
        f"Meetings   {queue(report['queue'])}",
        "Accounts",
    ]
    for name, facts in report["accounts"].items():
        auth = facts["authorisation"]
        who = ", ".join(auth.get("who") or []) or auth.get("acting_as") or "nobody yet"
        expiry = "; ".join(
            f"{label} until {when(auth[key])}"
            for key, label in (("access_expires_at", "access"), ("refresh_expires_at", "refresh"))
            if auth.get(key)
        )
        lines.append(
            f"  {name} ({facts['provider']}): {auth.get('mode', '?')}, as {who}" + (f"; {expiry}" if expiry else "")
        )
        refused = auth.get("reauth_required")
        if refused:
            login = "meetq auth login" + (f" --account {name}" if len(report["accounts"]) > 1 else "")
            why = refused.get("reason") if isinstance(refused, dict) else refused
            lines.append(f"    RE-AUTHORISATION REQUIRED ({why}): run `{login}`")
        if auth.get("problem"):
            lines.append(f"    PROBLEM: {auth['problem']}")
        lines.append(
            f"    last success {when(facts['last_success'])}, last cycle {facts['last_outcome'] or 'none'}; "
            f"meetings {queue(facts['queue'])}"
        )
    notify = report["notify"]
    lines.append(
        "Alerts     "
        + ("posted by the bot" if notify["configured"] else "not configured (no bot token and space)")
        + f"; {notify['open_alerts']} open, last posted {when(notify['last_posted_at'])}"
        + (f"; last error: {notify['last_error']}" if notify["last_error"] else "")
    )
    lines.append("Last runs")
    for run in report["recent_runs"] or [{"started_at": None}]:
        if not run["started_at"]:
            lines.append("  none yet")
            break
        lines.append(
            f"  {when(run['started_at'])}  {run['account']}  {run['outcome']}: {run['meetings_new']} new "
            f"meetings, {run['quality_calls']} qualities calls, {run['samples_written']} samples"
            + (f"\n    {run['message']}" if run["message"] else "")
        )
    return "\n".join(lines)


def _notify_status(settings, db) -> dict:
    """Whether alerts can be posted: configured, the last round, the last post, the last failure."""
    state = dict(db.execute("select key, value from collector_state where key like 'notify.%'").fetchall())
    has_alerts = db.execute("select 1 from sqlite_master where name = 'alerts'").fetchone()
    opened = (
        db.execute("select count(*) from alerts where resolved_at is null and rule != 'digest'").fetchone()[0]
        if has_alerts
        else 0
    )
    return {
        "configured": bool(settings.bot_token and settings.room_id),
        "open_alerts": opened,
        "last_round": state.get("notify.last_round"),
        "last_posted_at": state.get("notify.last_posted_at"),
        "last_error": state.get("notify.last_error"),
    }


def _account_status(settings, db) -> dict:
    last_ok, last_outcome = db.execute(
        "select (select max(finished_at) from collector_runs where account = ?1 and outcome = 'ok'), "
        "(select outcome from collector_runs where account = ?1 order by id desc limit 1)",
        (settings.account,),
    ).fetchone()
    queue = dict(
        db.execute(
            "select quality_state, count(*) from meetings where account = ? group by 1", (settings.account,)
        ).fetchall()
    )
    return {
        "provider": settings.provider,
        "authorisation": _authorisation(settings, db),
        "last_success": last_ok,
        "last_outcome": last_outcome,
        "queue": queue,
    }


def _authorisation(settings, db) -> dict:
    def state(key: str) -> str | None:
        found = db.execute(
            "select value from account_state where account = ? and key = ?", (settings.account, key)
        ).fetchone()
        return found[0] if found else None

    return settings.source.authorisation(settings, state)


def health(settings, now=None) -> tuple[bool, str]:
    """Healthy when every account needs no re-authorisation and had a successful cycle within two
    intervals. The reason names the first account that is not."""
    now = now or utcnow()
    try:
        with read_only(settings.database) as db:
            accounts = [(a, _account_status(a, db)) for a in settings.accounts()]
    except (sqlite3.Error, DatabaseMissing, DatabaseUnusable) as error:
        return False, f"database unreadable: {error}"
    several = len(accounts) > 1
    for account, facts in accounts:
        auth = facts["authorisation"]
        if auth.get("reauth_required") or auth.get("problem"):
            login = "meetq auth login" + (f" --account {account.account}" if several else "")
            what = auth.get("problem") or f"re-authorisation required: run `{login}`"
            return False, (f"account {account.account}: " if several else "") + what
    ages = []
    for account, facts in accounts:
        name = f"account {account.account}: " if several else ""
        if facts["last_success"] is None:
            return False, f"{name}no successful cycle yet"
        age = (now - parse_iso(facts["last_success"])).total_seconds()
        if age > 2 * settings.interval_seconds:
            return False, f"{name}last successful cycle {age:.0f} s ago (more than two intervals)"
        ages.append(age)
    healthy = f"last successful cycle {max(ages):.0f} s ago" + (" (the oldest of every account's)" if several else "")
    # Alerts that cannot be posted are said, but the collector is healthy: it still collects.
    with read_only(settings.database) as db:
        problem = _notify_status(settings, db)["last_error"]
    return True, healthy + (f"; alerts cannot be posted: {problem}" if problem else "")


def prune(settings, now=None) -> dict:
    """Drop samples of meetings older than `retention.samples_days` and raw bodies older than
    `retention.raw_days`; meetings, sessions and their summaries stay. Space goes back to the
    file system through incremental vacuum."""
    now = now or utcnow()
    counts = {"media_samples": 0, "cpu_samples": 0, "raw_responses": 0}
    with database.connection_context():
        if settings.samples_days:
            cutoff = iso(now - timedelta(days=settings.samples_days))
            old = [m.id for m in Meeting.select(Meeting.id).where(Meeting.start < cutoff)]
            for start in range(0, len(old), PRUNE_BATCH):
                with database.atomic():
                    sessions = MediaSession.select(MediaSession.id).where(
                        MediaSession.meeting_id.in_(old[start : start + PRUNE_BATCH])
                    )
                    streams = MediaStream.select(MediaStream.id).where(MediaStream.session_id.in_(sessions))
                    counts["media_samples"] += _delete_series(StreamSeries, StreamSeries.stream_id.in_(streams))
                    counts["cpu_samples"] += _delete_series(CpuSeries, CpuSeries.session_id.in_(sessions))
        if settings.raw_days:
            cutoff = iso(now - timedelta(days=settings.raw_days))
            with database.atomic():
                counts["raw_responses"] = RawResponse.delete().where(RawResponse.fetched_at < cutoff).execute()
        # executescript steps the pragma to completion; a cursor frees one page per step.
        database.connection().executescript("PRAGMA incremental_vacuum; PRAGMA wal_checkpoint(TRUNCATE);")
    return counts


def _delete_series(model, condition) -> int:
    """Delete packed series; returns how many samples they held."""
    held = model.select(fn.COALESCE(fn.SUM(model.samples), 0)).where(condition).scalar()
    model.delete().where(condition).execute()
    return held


def vacuum(settings) -> tuple[int, int]:
    """Rebuild the file without its free pages (after a migration freed them); (bytes before,
    after). Needs as much free disk as the database and takes the write lock while it runs."""
    before = Path(settings.database).stat().st_size
    with database.connection_context():
        database.execute_sql("VACUUM")
        database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return before, Path(settings.database).stat().st_size


def backup(settings, target: Path) -> int:
    """A consistent copy through SQLite's online backup API, safe while the collector writes.
    Returns the copy's size in bytes."""
    target = Path(target)
    if not target.parent.is_dir():  # a typo in the path should not make folders
        raise MeetqError(f"cannot back up to {target}: there is no folder {target.parent}")
    partial = target.with_name(target.name + ".partial")
    make_private(partial)  # a copy holds what the database holds
    with read_only(settings.database) as source, closing(sqlite3.connect(partial)) as copy:
        source.backup(copy)
    check = sqlite3.connect(partial)
    try:
        if check.execute("pragma integrity_check").fetchone()[0] != "ok":
            raise sqlite3.DatabaseError("the copy failed its integrity check")
        check.execute("pragma journal_mode = delete")
    finally:
        check.close()
    partial.replace(target)
    return target.stat().st_size
