"""Time helpers. Every timestamp meetq stores is ISO-8601 UTC text with milliseconds
and a trailing Z, so that text order is time order in SQL and in Datasette."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

UTC = timezone.utc


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    # isoformat is several times faster than strftime, and this runs once per stored sample.
    return moment.isoformat(timespec="milliseconds")[:23] + "Z"


def parse_iso(text: str | None) -> datetime | None:
    """Parse the API's ISO-8601 times (`Z` or an offset, with or without fractions).
    Returns None for missing or unparseable values: a bad time must not sink a payload."""
    if not text or not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 moved past the calendar's end
        return None


def normalise_iso(text: str | None) -> str | None:
    """The API's time text in meetq's one canonical form, or None."""
    return iso(parse_iso(text))


def add_seconds(moment: datetime, seconds: float) -> datetime:
    return moment + timedelta(seconds=seconds)


# -- periods: calendar days in the display zone ---------------------------------------------------
# "This week" is the same everywhere (the front page, places, the digest, the assistant): the last
# seven calendar days in viewer.timezone, today included, from local midnight to local midnight.


@dataclass(frozen=True)
class Period:
    first_day: date  # local dates: the first day and the day after the last
    next_day: date
    start: str  # the UTC instants where they begin, as stored times are written
    stop: str
    zone: str

    def before(self) -> "Period":
        """The period of the same length just before this one."""
        return period(self.first_day - (self.next_day - self.first_day), self.first_day, self.zone)

    def words(self) -> str:
        """How the pages say it: "2026-11-27 to 2026-12-03 (Europe/Berlin)"."""
        return f"{self.first_day} to {self.next_day - timedelta(days=1)} ({self.zone})"


def day_start(day: date, zone: str) -> str:
    """The UTC instant at which `day` begins in `zone`, as meetq stores times."""
    return iso(datetime.combine(day, time(0), tzinfo=ZoneInfo(zone)))


def period(first_day: date, next_day: date, zone: str) -> Period:
    return Period(first_day, next_day, day_start(first_day, zone), day_start(next_day, zone), zone)


def last_days(now: datetime, zone: str, days: int = 7) -> Period:
    """The last `days` calendar days in `zone`, today included."""
    today = now.astimezone(ZoneInfo(zone)).date()
    return period(today - timedelta(days=days - 1), today + timedelta(days=1), zone)
