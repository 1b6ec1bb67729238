"""SQL functions for the viewer's queries.

datasette-dashboards puts table and metric cells into the page with innerHTML, so any text that
came from a vendor (a meeting title, a display name) passes through h() or a() there, or a hostile
title would run as script.

  h(text)            the text, HTML-escaped
  a(path, text)      a link: <a href="path">text</a>, both escaped
  q(value)           the value quoted for a URL's query string
  local(ts)          an ISO UTC time as 'YYYY-MM-DD HH:MM' in the display time zone (viewer.timezone)
  wall(ts)           the same wall-clock time as ISO text with a Z, for charts on a UTC scale: they
                     then show the display zone's digits whatever the browser's zone
  tz_shift()         that zone's offset now, as SQLite's '+N minutes' (for day buckets: one offset per
                     query, not per row, so a day that crosses a DST change is off by an hour)
  tz_name()          the zone's name, for the pages to say
  local_today()      today's date in that zone ('YYYY-MM-DD')
  day_start(day)     the UTC time (as stored) at which a 'YYYY-MM-DD' day begins in that zone: periods
                     are calendar days in the display zone, the same as the digest's (clock.last_days)
  palette(i)         the i-th colour: ten chosen ones, then hues a golden angle apart, never one
                     twice (a chart's legend maps each participant to its own colour string)
  threshold(name)    a [quality] threshold's value, for the lines drawn on the charts
  threshold(name, vendor)  the same, or the vendor's own line where it has one (Teams: CQD's)
  meetq_text(value)  a compressed raw body as text (meetq/packing.py), with the TEMP view
                     raw_bodies that reads every body through it, on this connection only

A column named *_page (a path in the viewer) is shown as a link on Datasette's own table and
query pages.
"""

import html
import re
import sqlite3
import weakref
from datetime import date, datetime, timezone
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from datasette import Response, hookimpl
from markupsafe import Markup
from meetq import clock, packing
from meetq_viewer import DATABASE

# What one query may give a signed-in person, whatever SQL they write: a value of at most
# MAX_VALUE_BYTES (SQLite's own length limit: `zeroblob(200000000)` fails at once), and an
# answer of at most MAX_ANSWER_BYTES, counted as its rows are fetched, before Datasette holds
# them all: a thousand rows of 30 MB each never sit in memory. viewer.sql_time_limit_ms still applies.
MAX_VALUE_BYTES = 32 * 1024 * 1024
MAX_ANSWER_BYTES = 32 * 1024 * 1024

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


def escape(value):
    return html.escape(value) if isinstance(value, str) else value


def link(path, text):
    if path is None:
        return escape(text)
    return f'<a href="{html.escape(str(path))}">{html.escape(str(text if text is not None else path))}</a>'


def quoted(value):
    return "" if value is None else quote(str(value), safe="")


GOLDEN_ANGLE = 137.508


def palette(index):
    """A participant's colour. Past the ten, hues a golden angle apart, so a large meeting
    never gives two people the same colour (the charts' legends read colours per person)."""
    index = max(int(index or 0), 0)
    if index < len(PALETTE):
        return PALETTE[index]
    lightness = (35, 50, 65)[index // len(PALETTE) % 3]
    return f"hsl({index * GOLDEN_ANGLE % 360:.0f}, 65%, {lightness}%)"


def _zone(datasette):
    name = (datasette.plugin_config("meetq") or {}).get("timezone") or "UTC"
    try:
        return name, ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC", timezone.utc


@hookimpl
def prepare_connection(conn, database, datasette):
    name, zone = _zone(datasette)
    thresholds = (datasette.plugin_config("meetq") or {}).get("thresholds") or {}

    def local(ts):
        if not ts:
            return None
        try:
            moment = datetime.fromisoformat(str(ts).replace("Z", "+00:00"))
        except ValueError:
            return ts
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    def wall(ts):
        shown = local(ts)
        return f"{shown[:10]}T{shown[11:16]}:00Z" if shown and len(shown) >= 16 else None

    def tz_shift():
        offset = datetime.now(zone).utcoffset()
        return f"{int(offset.total_seconds() // 60):+d} minutes"

    conn.create_function("h", 1, escape, deterministic=True)
    conn.create_function("a", 2, link, deterministic=True)
    conn.create_function("q", 1, quoted, deterministic=True)
    conn.create_function("palette", 1, palette, deterministic=True)
    conn.create_function("local", 1, local, deterministic=True)
    conn.create_function("wall", 1, wall, deterministic=True)
    conn.create_function("tz_shift", 0, tz_shift)  # reads the clock: an offset changes at DST
    conn.create_function("tz_name", 0, lambda: name, deterministic=True)
    conn.create_function("local_today", 0, lambda: datetime.now(zone).date().isoformat())
    conn.create_function("day_start", 1, lambda day: _day_start(day, name), deterministic=True)
    conn.create_function("threshold", 1, lambda key: thresholds.get(key), deterministic=True)
    # A vendor whose own classifier judges its streams (Teams: CQD) draws its own poor lines.
    conn.create_function(
        "threshold", 2, lambda key, vendor: thresholds.get(f"{vendor}:{key}", thresholds.get(key)), deterministic=True
    )
    packing.register(conn, views=database == DATABASE)
    bound_answers(conn)


def bound_answers(conn) -> None:
    """The viewer's limits on what a query returns (MAX_VALUE_BYTES, MAX_ANSWER_BYTES)."""
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
    make_row = conn.row_factory or (lambda cursor, row: row)
    fetched = weakref.WeakKeyDictionary()  # bytes so far, per cursor: per query

    def counted(cursor, row):
        size = fetched.get(cursor, 0) + sum(len(v) if isinstance(v, (str, bytes)) else 8 for v in row)
        if size > MAX_ANSWER_BYTES:
            raise sqlite3.DataError(
                f"the answer passed the viewer's {MAX_ANSWER_BYTES // 2**20} MiB: ask for fewer "
                "rows or columns (LIMIT, or a narrower select)"
            )
        fetched[cursor] = size
        return make_row(cursor, row)

    conn.row_factory = counted


def _day_start(day, zone_name: str):
    try:
        return clock.day_start(date.fromisoformat(str(day)[:10]), zone_name)
    except (TypeError, ValueError):
        return None


# Every page's ☰ menu: the way to each part of the viewer from anywhere, a dead end from none.
MENU = (
    ("How was this week?", "/-/dashboards/overview"),
    ("Which office?", "/-/dashboards/places"),
    ("Collector health", "/-/dashboards/health"),
    ("Tables and canned queries", "/meetq"),
    ("SQL", "/meetq?sql=select+*+from+sessions+limit+10"),
)


@hookimpl
def menu_links():
    return [{"href": href, "label": label} for label, href in MENU]


@hookimpl
def register_routes():
    """The front page answers "how was this week?": the overview dashboard. /-/healthz is for
    load balancers and container health checks, in every sign-in mode: it says nothing of the data."""
    return [
        (r"^/$", lambda: Response.redirect("/-/dashboards/overview")),
        (r"^/-/healthz$", lambda: Response.json({"ok": True})),
    ]


# Times are stored, and given as JSON and CSV, as ISO UTC text with its Z; a page shows each in
# the display zone (viewer.timezone) with the zone's abbreviation, the UTC text beside it.
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z$")
# Where a sample's owner is read: a view has no foreign keys for Datasette to link, so these do.
OWNER_LINKS = {
    ("media_samples", "stream_id"): "/meetq/media_streams/{}",
    ("cpu_samples", "session_id"): "/-/dashboards/session?session={}",
}


@hookimpl
def render_cell(value, column, table, datasette):
    """On Datasette's table, view and query pages: a column named *_page holds a path in the
    viewer, shown as a link; a sample's owner links to it; a time is shown in the display zone."""
    if isinstance(value, str) and column.endswith("_page") and value.startswith("/"):
        return Markup(f'<a href="{html.escape(value)}">{html.escape(column.removesuffix("_page"))}</a>')
    if isinstance(value, int) and (table, column) in OWNER_LINKS:
        return Markup(link(OWNER_LINKS[table, column].format(value), value))
    if isinstance(value, str) and ISO_UTC.match(value):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:  # the shape of a time, not one (month 13): shown as it is
            return None
        shown = moment.astimezone(_zone(datasette)[1]).strftime("%Y-%m-%d %H:%M:%S %Z")
        return Markup(f"{html.escape(shown)} <small>({html.escape(value)})</small>")
    return None
