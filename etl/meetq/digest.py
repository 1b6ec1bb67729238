"""The week in one message: poor %, its trend, the worst meetings and buildings, the causes and
the collector, each with a link. The assistant's `week` answers with the same text."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from . import markdown
from .clock import last_days, parse_iso
from .models import database
from .operations import health
from .verdicts import RATED


def link(settings, path: str, text: str) -> str:
    """A Markdown link to a viewer page, its text escaped; plain text when viewer.public_url is unset."""
    return markdown.link((settings.public_url or "").rstrip("/"), path, text)


def when(moment: str | None, settings) -> str:
    """A stored UTC time as people read it: in the viewer's display zone, with the zone named."""
    parsed = parse_iso(moment)
    if parsed is None:
        return "an unknown time"
    return parsed.astimezone(ZoneInfo(settings.timezone)).strftime("%Y-%m-%d %H:%M ") + settings.timezone


def poor_share(start: str, stop: str) -> tuple[float | None, int]:
    rated, poor = database.execute_sql(
        f"SELECT sum({RATED}), sum(verdict = 'poor') FROM media_sessions WHERE join_time >= ? AND join_time < ?",
        (start, stop),
    ).fetchone()
    return (round(100.0 * poor / rated, 1) if rated else None), rated or 0


def week_digest(settings, now: datetime) -> str:
    """The last seven calendar days in the display zone, today included: the same period as the
    front page's and the places page's (clock.last_days), said in the message."""
    week = last_days(now, settings.timezone)
    start, stop = week.start, week.stop
    share, rated = poor_share(start, stop)
    was, rated_before = poor_share(week.before().start, start)
    if share is None:
        headline = "No rated sessions this week"
    else:
        trend = (
            ""
            if was is None
            else (
                f" (the week before: {was} %, "
                + (
                    f"▲ +{share - was:.1f} points)"
                    if share > was
                    else f"▼ {share - was:.1f} points)"
                    if share < was
                    else "the same)"
                )
            )
        )
        headline = f"**{share} %** of {rated} rated sessions were poor{trend}"
    lines = [f"**meetq: the 7 days {week.words()}**", "", f"- {headline}"]
    meetings = database.execute_sql(
        "SELECT m.id, coalesce(m.title, '(untitled)'), sum(s.verdict = 'poor') AS poor, "
        f"sum(s.{RATED}) FROM media_sessions s JOIN meetings m ON m.id = s.meeting_id WHERE s.join_time >= ? "
        "AND s.join_time < ? GROUP BY m.id HAVING poor > 0 ORDER BY poor DESC, 1.0 * poor / sum(s." + RATED + ") "
        "DESC LIMIT 5",
        (start, stop),
    ).fetchall()
    if meetings:
        lines.append(
            "- Worst meetings: "
            + "; ".join(
                f"{link(settings, '/-/dashboards/meeting?meeting=' + quote(m), title)} ({poor} of {of} poor)"
                for m, title, poor, of in meetings
            )
        )
    places = database.execute_sql(
        f"SELECT l.building, sum(s.verdict = 'poor'), sum(s.{RATED}) FROM media_sessions s JOIN session_locations l "
        "ON l.session_id = s.id WHERE s.join_time >= ? AND s.join_time < ? AND l.building IS NOT NULL GROUP BY 1 "
        f"HAVING sum(s.{RATED}) >= ? AND sum(s.verdict = 'poor') > 0 "
        f"ORDER BY 1.0 * sum(s.verdict = 'poor') / sum(s.{RATED}) DESC LIMIT 3",
        (start, stop, settings.min_sessions),
    ).fetchall()
    if places:
        lines.append(
            "- Worst buildings: "
            + "; ".join(
                f"{link(settings, '/-/dashboards/places?building=' + quote(b), b)} ({100.0 * p / r:.0f} % of {r})"
                for b, p, r in places
            )
        )
    causes = database.execute_sql(
        "SELECT coalesce(verdict_metric, 'other'), count(*) FROM media_sessions WHERE verdict = 'poor' "
        "AND join_time >= ? AND join_time < ? GROUP BY 1 ORDER BY 2 DESC LIMIT 4",
        (start, stop),
    ).fetchall()
    if causes:
        lines.append("- Causes of poor sessions: " + ", ".join(f"{metric} {count}" for metric, count in causes))
    lines.append("- Collector: " + collector_line(settings))
    lines += ["", link(settings, "/-/dashboards/overview", "Open the week in meetq")]
    return "\n".join(lines)


def collector_line(settings) -> str:
    """What `meetq health` says, so the digest, the assistant and the probe never disagree."""
    healthy, message = health(settings)
    return message if healthy else f"UNHEALTHY: {message}"
