"""Alerts: what should make someone look, found in the database, each a state machine kept there.

A *rule* looks at the database and names the *subjects* that are in trouble now, each with its
figures and a sentence (`Condition`). `reconcile` turns that into the `alerts` table's states:
a new subject opens an alert (a message is due), one still in trouble after `remind_hours` is due
a reminder, one no longer in trouble is resolved (a message is due).

Quality is judged on evidence, so its rules say three things of a subject: in trouble, fine
(enough rated sessions in the window, within the limit), or not enough data. Not enough data
neither opens nor resolves an alert, nor reminds of it: an hour with three sessions, or none
(a quiet evening, a building whose sessions stopped being placed), says nothing about whether
the trouble is over. The collector's rules resolve when their subject is no longer named. `deliver` posts what is due
through a channel (notify.py) and marks it sent; a post that fails stays due for the next round,
and never holds up collection. A claim in the same transaction as the state change makes two
evaluators, or a restart between posting and marking, post an alert at most once.

The digest is a one-shot alert per week (subject `2026-W49`), so it goes through the same path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

from .clock import iso, parse_iso
from .digest import week_digest, when
from .logs import get_logger
from .models import database
from .verdicts import RATED as RATED_SESSION

log = get_logger("meetq.alerts")

RATED = f"s.{RATED_SESSION}"
# Quality is watched per group: where the sessions came from, and what they ran on.
QUALITY_GROUPS = {
    "account": "s.account",
    "building": "(SELECT building FROM session_locations l WHERE l.session_id = s.id)",
    "network": "s.network_type",
    "media_region": "s.server_region",
    "client": "s.client_type",
}
CLAIM_SECONDS = 300  # a claimed message another evaluator is posting; after this, it is taken over


@dataclass(frozen=True)
class Condition:
    rule: str
    subject: str
    text: str  # one sentence with the figures and the reason
    link: str = ""  # a dashboard path, made absolute with viewer.public_url
    figures: dict = field(default_factory=dict)
    one_shot: bool = False  # the digest: posted once, resolved at once, no resolution message
    state: str = "trouble"  # or "fine", or "unknown" (too little data to say): quality rules


# Rules whose alerts resolve only on a "fine" condition, never because their subject went quiet.
EVIDENCE_RULES = ("quality", "jump")


# -- the rules -----------------------------------------------------------------------------------


def quality_conditions(settings, now: datetime) -> list[Condition]:
    """Poor % of rated sessions in the last window, per group, over the threshold with enough sessions;
    and a jump against the same hours a week before."""
    start = iso(now - timedelta(minutes=settings.window_minutes))
    found = []
    watched = settings.quality_groups.replace(",", " ").split()
    for kind, expression in QUALITY_GROUPS.items():
        if kind not in watched:
            continue
        for subject, rated, poor in _poor_by(expression, start, iso(now)):
            share = 100.0 * poor / rated
            state = "unknown" if rated < settings.min_sessions else "trouble" if share > settings.poor_pct else "fine"
            found.append(
                Condition(
                    "quality",
                    f"{kind.replace('_', ' ')}: {subject}",
                    f"{share:.0f} % of {rated} rated sessions poor in the last {span(settings.window_minutes)} "
                    f"(alert above {settings.poor_pct:g} %, with at least {settings.min_sessions} sessions)",
                    _quality_link(kind, subject, start),
                    {"poor_pct": round(share, 1), "rated": rated, "poor": poor},
                    state=state,
                )
            )
    if "jump" not in disabled(settings):
        found += _jumps(settings, now)
    return found


def span(minutes: float) -> str:
    """60 -> "hour", 90 -> "90 min", 10080 -> "7 days": how people say a window."""
    if minutes % 1440 == 0:
        return "day" if minutes == 1440 else f"{minutes / 1440:g} days"
    if minutes % 60 == 0:
        return "hour" if minutes == 60 else f"{minutes / 60:g} hours"
    return f"{minutes:g} min"


def _poor_by(expression: str, start: str, stop: str) -> list[tuple]:
    return database.execute_sql(
        f"SELECT {expression} AS subject, sum({RATED}), sum(s.verdict = 'poor') FROM media_sessions s "
        f"WHERE s.join_time >= ? AND s.join_time < ? GROUP BY 1 HAVING subject IS NOT NULL AND sum({RATED}) > 0",
        (start, stop),
    ).fetchall()


def _jumps(settings, now: datetime) -> list[Condition]:
    window = timedelta(minutes=settings.window_minutes)
    week = timedelta(days=7)
    before = {s: (r, p) for s, r, p in _poor_by("s.account", iso(now - window - week), iso(now - week))}
    found = []
    for account, rated, poor in _poor_by("s.account", iso(now - window), iso(now)):
        if account not in before or min(rated, before[account][0]) < settings.min_sessions:
            found.append(Condition("jump", f"account: {account}", "too few sessions to compare", state="unknown"))
            continue
        share, was = 100.0 * poor / rated, 100.0 * before[account][1] / before[account][0]
        found.append(
            Condition(
                "jump",
                f"account: {account}",
                f"{share:.0f} % poor in the last {span(settings.window_minutes)} against {was:.0f} % in the same "
                f"hours a week ago (alert at +{settings.jump_points:g} points)",
                f"/-/dashboards/overview?account={quote(account)}",
                {"poor_pct": round(share, 1), "week_before_pct": round(was, 1)},
                state="trouble" if share - was >= settings.jump_points else "fine",
            )
        )
    return found


def _quality_link(kind: str, subject: str, since: str) -> str:
    """The page behind a quality alert: the building's, or the poor sessions it counted (the group's,
    joined since the window began, newest first)."""
    if kind == "building":
        return f"/-/dashboards/places?building={quote(subject)}"
    column = {"account": "account", "network": "network", "media_region": "region_or_location", "client": "client"}[
        kind
    ]
    return f"/meetq/sessions?verdict=poor&{column}={quote(subject)}&joined__gte={quote(since)}&_sort_desc=joined"


def collector_conditions(settings, now: datetime) -> list[Condition]:
    """The collector's own trouble, per account."""
    found = []
    for account in settings.accounts():
        name = account.account
        state = dict(database.execute_sql("SELECT key, value FROM account_state WHERE account = ?", (name,)).fetchall())
        last_ok = database.execute_sql(
            "SELECT max(finished_at) FROM collector_runs WHERE account = ? AND outcome IN ('ok', 'partial')", (name,)
        ).fetchone()[0]
        started = database.execute_sql(
            "SELECT min(started_at) FROM collector_runs WHERE account = ?", (name,)
        ).fetchone()[0]
        since = parse_iso(last_ok or started)
        if since and (now - since).total_seconds() > settings.stale_minutes * 60:
            found.append(
                Condition(
                    "collector_stale",
                    f"account: {name}",
                    f"no successful cycle for {(now - since).total_seconds() / 60:.0f} min "
                    f"(alert after {settings.stale_minutes:g})",
                    "/-/dashboards/health",
                )
            )
        if state.get("auth.reauth_required"):
            found.append(
                Condition(
                    "reauth",
                    f"account: {name}",
                    f"the vendor refused meetq's authorisation since "
                    f"{when(state['auth.reauth_required'], settings)}: "
                    f"run `meetq auth login{' --account ' + name if len(settings.accounts()) > 1 else ''}`",
                    "/-/dashboards/health",
                )
            )
        expires = parse_iso(state.get("auth.refresh_expires_at"))
        if expires and expires - now < timedelta(days=settings.refresh_warning_days):
            found.append(
                Condition(
                    "refresh_expiring",
                    f"account: {name}",
                    f"the refresh token expires {when(iso(expires), settings)}: run `meetq auth login` before",
                    "/-/dashboards/health",
                )
            )
        found += _meeting_conditions(settings, name, now)
        failing = [
            r[0]
            for r in database.execute_sql(
                "SELECT outcome FROM collector_runs WHERE account = ? AND outcome != 'running' "
                "ORDER BY id DESC LIMIT ?",
                (name, settings.failed_cycles),
            ).fetchall()
        ]
        if len(failing) >= settings.failed_cycles and all(o in ("error", "partial") for o in failing):
            found.append(
                Condition(
                    "collector_errors",
                    f"account: {name}",
                    f"the last {len(failing)} cycles failed or were partial (rate limits, server "
                    "errors or timeouts: see the runs)",
                    "/-/dashboards/health",
                )
            )
    return found


def _meeting_conditions(settings, account: str, now: datetime) -> list[Condition]:
    soon = database.execute_sql(
        "SELECT count(*) FROM meetings WHERE account = ? AND quality_state IN ('pending', 'partial') "
        "AND expires_at IS NOT NULL AND expires_at < ?",
        (account, iso(now + timedelta(hours=settings.expiring_hours))),
    ).fetchone()[0]
    lost = database.execute_sql(
        "SELECT count(*) FROM meetings WHERE account = ? AND quality_state = 'expired' AND expires_at >= ?",
        (account, iso(now - timedelta(days=1))),
    ).fetchone()[0]
    found = []
    if soon:
        found.append(
            Condition(
                "expiring_unread",
                f"account: {account}",
                f"{soon} meetings expire within {settings.expiring_hours:g} h with their quality still unread",
                "/-/dashboards/health",
                {"meetings": soon},
            )
        )
    if lost:
        found.append(
            Condition(
                "expired",
                f"account: {account}",
                f"{lost} meetings expired unread in the last day: their quality is lost",
                "/-/dashboards/health",
                {"meetings": lost},
            )
        )
    return found


def digest_condition(settings, now: datetime) -> list[Condition]:
    """The week's digest once its moment (notify.digest_day at digest_time, display zone) has come."""
    if settings.digest_day == "off":
        return []
    zone = ZoneInfo(settings.timezone)
    local = now.astimezone(zone)
    day = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday").index(settings.digest_day)
    hour, minute = (int(part) for part in settings.digest_time.split(":"))
    moment = (local - timedelta(days=(local.weekday() - day) % 7)).replace(
        hour=hour, minute=minute, second=0, microsecond=0
    )
    if moment > local:
        moment -= timedelta(days=7)
    year, week, _ = moment.isocalendar()
    subject = f"{year}-W{week:02d}"
    if database.execute_sql("SELECT 1 FROM alerts WHERE rule = 'digest' AND subject = ?", (subject,)).fetchone():
        return []  # this week's is made already: not worth its queries again
    return [Condition("digest", subject, week_digest(settings, now), "/-/dashboards/overview", one_shot=True)]


RULES = {"quality": quality_conditions, "collector": collector_conditions, "digest": digest_condition}


def disabled(settings) -> set[str]:
    return set(settings.disabled_rules.replace(",", " ").split())


def conditions(settings, now: datetime) -> list[Condition]:
    off = disabled(settings)
    found = []
    for name, rule in RULES.items():
        if name not in off:
            found += [c for c in rule(settings, now) if c.rule not in off]
    return found


# -- the state machine ---------------------------------------------------------------------------


def reconcile(found: list[Condition], now: datetime, remind_hours: float) -> None:
    """Open, remind and resolve, in one transaction: what is due is marked, not yet posted."""
    stamp = iso(now)
    with database.atomic():
        open_alerts = {
            (rule, subject): (alert_id, last)
            for alert_id, rule, subject, last in database.execute_sql(
                "SELECT id, rule, subject, last_notified_at FROM alerts WHERE resolved_at IS NULL"
            )
        }
        for condition in found:
            key = (condition.rule, condition.subject)
            if condition.one_shot:
                if not database.execute_sql("SELECT 1 FROM alerts WHERE rule = ? AND subject = ?", key).fetchone():
                    _insert(condition, stamp, due="digest")
                continue
            if condition.state != "trouble":
                if key in open_alerts and condition.state == "fine":  # back within limits, on evidence
                    alert_id, _ = open_alerts[key]
                    database.execute_sql(
                        "UPDATE alerts SET text = ?, figures = ?, resolved_at = ?, due = 'resolve' WHERE id = ?",
                        (condition.text, json.dumps(condition.figures), stamp, alert_id),
                    )
                open_alerts.pop(key, None)  # too little data: left as it is
                continue
            if key not in open_alerts:
                _insert(condition, stamp, due="open")
                continue
            alert_id, last = open_alerts.pop(key)
            database.execute_sql(
                "UPDATE alerts SET text = ?, link = ?, figures = ? WHERE id = ?",
                (condition.text, condition.link, json.dumps(condition.figures), alert_id),
            )
            if last and now - parse_iso(last) >= timedelta(hours=remind_hours):
                database.execute_sql("UPDATE alerts SET due = 'remind' WHERE id = ? AND due IS NULL", (alert_id,))
        for key, (alert_id, _) in open_alerts.items():
            if key[0] == "digest" or key[0] in EVIDENCE_RULES:  # not named at all: no data, no verdict
                continue
            database.execute_sql("UPDATE alerts SET resolved_at = ?, due = 'resolve' WHERE id = ?", (stamp, alert_id))


def _insert(condition: Condition, stamp: str, due: str) -> None:
    database.execute_sql(
        "INSERT INTO alerts (rule, subject, text, link, figures, opened_at, due) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (condition.rule, condition.subject, condition.text, condition.link, json.dumps(condition.figures), stamp, due),
    )


def claim_due(now: datetime) -> list[dict]:
    """The messages due, each claimed by this evaluator in one write transaction: another one
    running at the same time finds them claimed and leaves them."""
    stale = iso(now - timedelta(seconds=CLAIM_SECONDS))
    with database.atomic("IMMEDIATE"):
        cursor = database.execute_sql(
            "SELECT id, rule, subject, text, link, opened_at, resolved_at, due FROM alerts WHERE due IS NOT NULL "
            "AND (claimed_at IS NULL OR claimed_at < ?) ORDER BY id",
            (stale,),
        )
        due = [dict(zip([c[0] for c in cursor.description], row)) for row in cursor.fetchall()]
        for alert in due:
            database.execute_sql("UPDATE alerts SET claimed_at = ? WHERE id = ?", (iso(now), alert["id"]))
    return due


def mark_sent(alert: dict, now: datetime) -> None:
    with database.atomic():
        resolved = ", resolved_at = coalesce(resolved_at, ?)" if alert["due"] == "digest" else ""
        database.execute_sql(
            f"UPDATE alerts SET due = NULL, claimed_at = NULL, last_notified_at = ?, "
            f"notifications = notifications + 1{resolved} WHERE id = ?",
            (iso(now), iso(now), alert["id"]) if resolved else (iso(now), alert["id"]),
        )


def release(alert: dict) -> None:
    """A post that failed: due again at the next round."""
    with database.atomic():
        database.execute_sql("UPDATE alerts SET claimed_at = NULL WHERE id = ?", (alert["id"],))
