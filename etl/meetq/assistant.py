"""What the bot answers when someone talks to it: the helpdesk's first questions, from the database.

`reply(text, asker, settings)` is the whole conversation: a command word, its argument, and the
Markdown to answer with. The vendor's part (hearing a message, fetching its text, replying in its
thread) is the provider's bot module; this one names no vendor.
"""

from __future__ import annotations

import re

from . import digest
from .clock import utcnow
from .digest import link, when
from .models import database

HELP = ("I answer questions about call quality:\n"
        "- `last`: your own most recent meeting, its verdict and why\n"
        "- `meeting <number, title or link>`: how a meeting went\n"
        "- `person <email>`: someone's recent sessions (for the helpdesk)\n"
        "- `week`: this week's digest\n"
        "- `status`: whether the collector is keeping up\n"
        "- `help`: this")


def reply(text: str, asker: str, settings) -> str:
    """The answer to `text` (the message without the mention) from `asker` (their email)."""
    word, _, argument = text.strip().partition(" ")
    command = COMMANDS.get(word.lower().strip("/!?.,"))
    if command is None:
        shown = (text.strip()[:60] + "…") if len(text.strip()) > 60 else text.strip()
        return (f"Sorry, I don't understand “{shown}”." if shown else "Hello!") + " " + HELP
    with database.connection_context():
        return command(argument.strip(), (asker or "").lower(), settings)


def last(_: str, asker: str, settings) -> str:
    found = database.execute_sql(
        "SELECT s.id, s.meeting_id, coalesce(m.title, '(untitled)'), s.join_time, s.verdict, s.verdict_reason, "
        "s.shared_cause FROM media_sessions s LEFT JOIN meetings m ON m.id = s.meeting_id WHERE s.user_email = ? "
        "ORDER BY s.join_time DESC LIMIT 1", (asker,)).fetchone()
    if not found:
        return f"I have no meeting of yours ({asker}) yet: meetq collects ended meetings a few minutes after they end."
    session, meeting, title, joined, verdict, reason, shared = found
    said = {"good": "went well", "fair": "was fair", "poor": "was poor", "unrated": "had too little data to judge"}
    answer = (f"Your last meeting, **{title}** (joined {when(joined, settings)}), "
              f"{said.get(verdict, 'is not judged yet')}" + (f": {reason}." if reason and verdict != "good" else "."))
    if shared:
        answer += f" The cause was shared: {shared}."
    return (answer + " " + link(settings, f"/-/dashboards/session?session={session}", "Your session's figures")
            + " · " + link(settings, f"/-/dashboards/meeting?meeting={meeting}", "the whole meeting"))


def meeting(argument: str, _: str, settings) -> str:
    if not argument:
        return "Which meeting? Give its number, a word of its title or its meetq link: `meeting weekly sync`."
    chosen = re.search(r"meeting=([^&\s)]+)", argument)
    key = chosen.group(1) if chosen else argument
    found = database.execute_sql(
        "SELECT id, coalesce(title, '(untitled)'), start FROM meetings WHERE id = ?1 "
        "OR json_extract(raw, '$.meetingNumber') = ?1 OR title LIKE '%' || ?1 || '%' "
        "ORDER BY id = ?1 DESC, start DESC LIMIT 1", (key,)).fetchone()
    if not found:
        return f"I found no meeting matching “{argument[:60]}”."
    meeting_id, title, start = found
    rated, poor, causes = database.execute_sql(
        "SELECT sum(verdict IN ('good', 'fair', 'poor')), sum(verdict = 'poor'), group_concat(DISTINCT verdict_metric) "
        "FROM media_sessions WHERE meeting_id = ?", (meeting_id,)).fetchone()
    figures = (f"{poor or 0} of {rated} rated sessions were poor" + (f" ({causes})" if causes else "")
               if rated else "no rated sessions yet")
    return (f"**{title}** ({when(start, settings)}): {figures}. "
            + link(settings, f"/-/dashboards/meeting?meeting={meeting_id}", "See who and why"))


def person(argument: str, asker: str, settings) -> str:
    allowed = people_list(settings.person_askers)
    if not any(asker == a or (a.startswith("@") and asker.endswith(a)) for a in allowed):
        return "Sorry, `person` is only for the helpdesk (notify.person_askers)."
    email = argument.lower().strip("<>")
    rows = database.execute_sql(
        "SELECT s.join_time, coalesce(m.title, '(untitled)'), s.verdict, s.verdict_reason FROM media_sessions s "
        "LEFT JOIN meetings m ON m.id = s.meeting_id WHERE s.user_email = ? ORDER BY s.join_time DESC LIMIT 5",
        (email,)).fetchall()
    if not rows:
        return f"I have no sessions of {email}."
    lines = [f"- {when(joined, settings)} **{title}**: {verdict}" + (f" ({reason})" if reason else "")
             for joined, title, verdict, reason in rows]
    return f"The last sessions of {email}:\n" + "\n".join(lines) + "\n" + \
        link(settings, f"/meetq/user_history?email={email}", "Every session")


def week(_: str, __: str, settings) -> str:
    return digest.week_digest(settings, utcnow())


def status(_: str, __: str, settings) -> str:
    return (f"The collector: {digest.collector_line(settings)}. "
            + link(settings, "/-/dashboards/health", "Collector health"))


def help_(_: str, __: str, ___) -> str:
    return HELP


def people_list(text: str) -> list[str]:
    return [item.lower() for item in re.split(r"[\s,]+", text or "") if item]


COMMANDS = {"help": help_, "hi": help_, "hello": help_, "last": last, "meeting": meeting, "person": person,
            "week": week, "status": status}
