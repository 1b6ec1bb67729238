"""Time helpers. Every timestamp meetq stores is ISO-8601 UTC text with milliseconds
and a trailing Z, so that text order is time order in SQL and in Datasette."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

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
    except (ValueError, OverflowError):   # OverflowError: year 1 or 9999 moved past the calendar's end
        return None


def normalise_iso(text: str | None) -> str | None:
    """The API's time text in meetq's one canonical form, or None."""
    return iso(parse_iso(text))


def add_seconds(moment: datetime, seconds: float) -> datetime:
    return moment + timedelta(seconds=seconds)
