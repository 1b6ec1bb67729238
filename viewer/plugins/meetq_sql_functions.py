"""SQL functions for the viewer's queries.

`h(text)` HTML-escapes a value. datasette-dashboards puts table and metric chart cells into
the page with innerHTML, so any text that came from Webex (a meeting title, a display name)
must pass through h() in those charts, or a hostile title would run as script.
"""

import html

from datasette import hookimpl


def escape(value):
    return html.escape(value) if isinstance(value, str) else value


@hookimpl
def prepare_connection(conn):
    conn.create_function("h", 1, escape, deterministic=True)
