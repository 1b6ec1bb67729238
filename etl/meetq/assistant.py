"""What the bot answers when someone talks to it: the helpdesk's first questions, from the database.

`reply(text, asker, settings)` is the whole conversation: a command word, its argument, and the
Markdown to answer with. Every text that came from a vendor or from the asker is escaped
(markdown.py). `TALK.admit(person, space)` says whether to answer at all: a person or a space
asking faster than a person types gets one "slow down", then silence until the pace drops. The
vendor's part (hearing a message, fetching its text, checking the asker's organisation,
replying in its thread) is the provider's bot module. A meeting is found by its id, its join code
(what people type to join it, as each provider stores it) or a word of its title.
"""

from __future__ import annotations

import re
import threading
import time
from collections import defaultdict, deque
from urllib.parse import quote

from . import digest, markdown
from .clock import utcnow
from .digest import link, when
from .models import database
from .verdicts import RATED

# Questions a minute: per person, and per space (everyone in it together).
PER_PERSON, PER_SPACE, PACE_WINDOW = 6, 20, 60.0
SLOW_DOWN = "You are asking faster than I can look things up: wait a minute and ask again."
REFUSED = "Sorry, I answer only people of the organisation whose meetings I watch."
ASKING_ABOUT_MY_CALL = re.compile(r"\bhow\b.*\bmy\b.*\b(call|meeting)\b", re.I)
MIN_SEARCH = 3  # characters of a title to search for: fewer match almost every meeting

HELP = (
    "I answer questions about call quality:\n"
    "- `last`: your own most recent meeting, its verdict and why\n"
    "- `meeting <number, title or link>`: how a meeting went\n"
    "- `person <email>`: someone's recent sessions (for the helpdesk)\n"
    "- `week`: this week's digest\n"
    "- `status`: whether the collector is keeping up\n"
    "- `help`: this"
)


def reply(text: str, asker: str, settings) -> str:
    """The answer to `text` (the message without the mention) from `asker` (their email)."""
    if ASKING_ABOUT_MY_CALL.search(text):  # "how was my call?" is what people type first
        text = "last"
    word, _, argument = text.strip().partition(" ")
    command = COMMANDS.get(word.lower().strip("/!?.,"))
    if command is None:  # the question is not repeated back: it is the asker's text, not ours
        return ("Sorry, I don't understand that." if text.strip() else "Hello!") + " " + HELP
    with database.connection_context():
        return command(argument.strip(), (asker or "").lower(), settings)


def last(_: str, asker: str, settings) -> str:
    found = database.execute_sql(
        "SELECT s.id, s.meeting_id, coalesce(m.title, '(untitled)'), s.join_time, s.verdict, s.verdict_reason, "
        "s.shared_cause FROM media_sessions s LEFT JOIN meetings m ON m.id = s.meeting_id WHERE s.user_email = ? "
        "ORDER BY s.join_time DESC LIMIT 1",
        (asker,),
    ).fetchone()
    if not found:
        return (
            f"I have no meeting of yours ({markdown.text(asker)}) yet: meetq collects ended meetings a few "
            "minutes after they end."
        )
    session, meeting, title, joined, verdict, reason, shared = found
    said = {"good": "went well", "fair": "was fair", "poor": "was poor", "unrated": "had too little data to judge"}
    answer = (
        f"Your last meeting, **{markdown.text(title)}** (joined {when(joined, settings)}), "
        f"{said.get(verdict, 'is not judged yet')}"
        + (f": {markdown.text(reason)}." if reason and verdict != "good" else ".")
    )
    if shared:
        answer += f" The cause was shared: {markdown.text(shared)}."
    return (
        answer
        + " "
        + link(settings, f"/-/dashboards/session?session={session}", "Your session's figures")
        + " · "
        + link(settings, f"/-/dashboards/meeting?meeting={quote(meeting)}", "the whole meeting")
    )


def meeting(argument: str, _: str, settings) -> str:
    if not argument:
        return "Which meeting? Give its number, a word of its title or its meetq link: `meeting weekly sync`."
    chosen = re.search(r"meeting=([^&\s)]+)", argument)
    key = chosen.group(1) if chosen else argument
    # The title is searched for as written: the asker's % and _ are letters, not wildcards.
    words = like_pattern(key) if len(key) >= MIN_SEARCH else None
    # A join code as people paste it (123 456 789, abc-defg-hij) is stored without its separators.
    code = re.sub(r"[\s-]", "", key).lower()
    found = database.execute_sql(
        "SELECT id, coalesce(title, '(untitled)'), start FROM meetings WHERE id = ?1 "
        "OR join_code = ?3 OR title LIKE '%' || ?2 || '%' ESCAPE '\\' "
        "ORDER BY id = ?1 DESC, join_code = ?3 DESC, start DESC LIMIT 1",
        (key, words, code),
    ).fetchone()
    if not found:
        return "I found no meeting by that number, link or title" + (
            "." if words else f": give at least {MIN_SEARCH} letters of a title."
        )
    meeting_id, title, start = found
    rated, poor, causes = database.execute_sql(
        f"SELECT sum({RATED}), sum(verdict = 'poor'), group_concat(DISTINCT verdict_metric) "
        "FROM media_sessions WHERE meeting_id = ?",
        (meeting_id,),
    ).fetchone()
    figures = (
        f"{poor or 0} of {rated} rated sessions were poor" + (f" ({causes})" if causes else "")
        if rated
        else "no rated sessions yet"
    )
    return f"**{markdown.text(title)}** ({when(start, settings)}): {figures}. " + link(
        settings, f"/-/dashboards/meeting?meeting={quote(meeting_id)}", "See who and why"
    )


def person(argument: str, asker: str, settings) -> str:
    allowed = people_list(settings.person_askers)
    if not any(asker == a or (a.startswith("@") and asker.endswith(a)) for a in allowed):
        return "Sorry, `person` is only for the helpdesk (notify.person_askers)."
    email = argument.lower().strip("<>")
    rows = database.execute_sql(
        "SELECT s.join_time, coalesce(m.title, '(untitled)'), s.verdict, s.verdict_reason FROM media_sessions s "
        "LEFT JOIN meetings m ON m.id = s.meeting_id WHERE s.user_email = ? ORDER BY s.join_time DESC LIMIT 5",
        (email,),
    ).fetchall()
    if not rows:
        return f"I have no sessions of {markdown.text(email)}."
    lines = [
        f"- {when(joined, settings)} **{markdown.text(title)}**: {verdict}"
        + (f" ({markdown.text(reason)})" if reason else "")
        for joined, title, verdict, reason in rows
    ]
    return (
        f"The last sessions of {markdown.text(email)}:\n"
        + "\n".join(lines)
        + "\n"
        + link(settings, f"/meetq/user_history?email={quote(email)}", "Every session")
    )


def week(_: str, __: str, settings) -> str:
    return digest.week_digest(settings, utcnow())


def status(_: str, __: str, settings) -> str:
    return f"The collector: {digest.collector_line(settings)}. " + link(
        settings, "/-/dashboards/health", "Collector health"
    )


def help_(_: str, __: str, ___) -> str:
    return HELP


def like_pattern(text: str) -> str:
    """`text` for LIKE … ESCAPE '\\': its own %, _ and backslashes match only themselves."""
    return re.sub(r"([\\%_])", r"\\\1", text)


class Pace:
    """Questions per person and per space in a sliding window (the receiver answers from a pool
    of threads, hence the lock)."""

    def __init__(self, per_person: int = PER_PERSON, per_space: int = PER_SPACE, window: float = PACE_WINDOW):
        self.limits = {"person": per_person, "space": per_space}
        self.window = window
        self.asked: dict = defaultdict(deque)
        self.warned: dict = {}
        self.lock = threading.Lock()

    def admit(self, person: str, space: str) -> str:
        """ "answer", "slow down" (once while over the pace), or "ignore"."""
        now = time.monotonic()
        keys = {("person", person): self.limits["person"], ("space", space): self.limits["space"]}
        with self.lock:
            for key in keys:
                recent = self.asked[key]
                while recent and recent[0] < now - self.window:
                    recent.popleft()
                if not recent and key in self.warned:
                    del self.warned[key]
            over = [key for key, limit in keys.items() if len(self.asked[key]) >= limit]
            if not over:
                for key in keys:
                    self.asked[key].append(now)
                return "answer"
            if any(key in self.warned for key in over):
                return "ignore"
            for key in over:
                self.warned[key] = now
                self.asked[key].append(now)  # the warning counts: the window restarts from it
            return "slow down"


TALK = Pace()


def people_list(text: str) -> list[str]:
    return [item.lower() for item in re.split(r"[\s,]+", text or "") if item]


COMMANDS = {
    "help": help_,
    "hi": help_,
    "hello": help_,
    "last": last,
    "meeting": meeting,
    "person": person,
    "week": week,
    "status": status,
}
