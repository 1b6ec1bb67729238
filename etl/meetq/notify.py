"""Posting alerts and the digest into a space: evaluate the rules, post what is due, remember
what happened. Called after every collection round and by `meetq notify run`; it never raises
for a post that fails (the alert stays due for the next round) and never stops collection."""

from __future__ import annotations

from datetime import datetime

from . import alerts, store
from .clock import iso, utcnow
from .digest import link, when
from .errors import MeetqError
from .logs import get_logger
from .models import DEFAULT_ACCOUNT, database

log = get_logger("meetq.notify")

HEADINGS = {
    "open": "🔴 **{title}**",
    "remind": "⏰ **Still: {title}** (open since {opened})",
    "resolve": "✅ **Resolved: {title}** (open since {opened})",
}
TITLES = {
    "quality": "Poor quality, {subject}",
    "jump": "Quality dropped, {subject}",
    "collector_stale": "The collector is not collecting, {subject}",
    "reauth": "Login needed, {subject}",
    "refresh_expiring": "Login expiring, {subject}",
    "expiring_unread": "Quality about to be lost, {subject}",
    "expired": "Quality lost, {subject}",
    "collector_errors": "The collector keeps failing, {subject}",
}


def configured(settings) -> bool:
    return bool(settings.bot_token and settings.room_id)


def bot_module(settings):
    return settings.channel


def bot(settings):
    return bot_module(settings).Bot(settings)


def room_for(rule: str, settings) -> str:
    """The space for `rule`: its own from notify.rule_rooms, else notify.room_id."""
    pairs = dict(item.split("=", 1) for item in settings.rule_rooms.replace(",", " ").split() if "=" in item)
    return pairs.get(rule) or settings.room_id


def compose(alert: dict, settings) -> str:
    if alert["due"] == "digest":
        return alert["text"]
    title = TITLES.get(alert["rule"], alert["rule"] + ", {subject}").format(subject=alert["subject"])
    heading = HEADINGS[alert["due"]].format(title=title, opened=when(alert["opened_at"], settings))
    body = (
        alert["text"]
        if alert["due"] != "resolve"
        else "back within its limits" + (f": {alert['text']}" if alert["rule"] in alerts.EVIDENCE_RULES else "")
    )
    more = link(settings, alert["link"], "see it in meetq") if alert["link"] else ""
    return f"{heading}: {body}." + (f" {more}" if more else "")


def run(settings, now: datetime | None = None) -> dict:
    """One round: rules, states, posts. Returns what it did (for `meetq notify run` and the logs)."""
    if not configured(settings):
        return {"configured": False}
    now = now or utcnow()
    with database.connection_context():
        alerts.reconcile(alerts.conditions(settings, now), now, settings.remind_hours)
        due = alerts.claim_due(now)
        posted, failed = 0, []
        channel = bot(settings) if due else None
        for alert in due:
            try:
                channel.post(compose(alert, settings), room_id=room_for(alert["rule"], settings))
            except MeetqError as error:  # 429 beyond our wait, 5xx, a refused token: the next round tries again
                alerts.release(alert)
                failed.append(f"{alert['rule']} {alert['subject']}: {error}")
                continue
            alerts.mark_sent(alert, now)
            posted += 1
        record(now, posted, failed)
    outcome = {
        "configured": True,
        "posted": posted,
        "failed": failed,
        "open": database_count("SELECT count(*) FROM alerts WHERE resolved_at IS NULL AND rule != 'digest'"),
    }
    (log.warning if failed else log.info)("notify_round", **outcome)
    return outcome


def record(now: datetime, posted: int, failed: list[str]) -> None:
    with database.atomic():
        values = {"notify.last_round": iso(now)}
        if posted:
            values["notify.last_posted_at"] = iso(now)
        values["notify.last_error"] = failed[0][:300] if failed else None
        store.set_state(now, DEFAULT_ACCOUNT, **values)


def database_count(query: str) -> int:
    with database.connection_context():
        return database.execute_sql(query).fetchone()[0]
