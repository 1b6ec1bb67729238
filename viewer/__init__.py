"""meetq's viewer: Datasette over the collector's file, read-only, configured by the files here.

This folder is the whole viewer: `metadata.yml` (tables, units, facets, canned queries,
dashboards), `sql/` (every chart's and canned query's SQL, with the parts they share in
`sql/fragments/`), `plugins/` (SQL functions), `static/` (the CSS and script the pages add to
datasette-dashboards', served at /-/meetq/) and this module, which starts it. Datasette opens
a mutable file with `mode=ro`, so it never writes it; secrets live in separate files it is never
given. The database is always served as `meetq`, whatever the file is called.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import yaml
from meetq.providers import VENDOR_LINES

HERE = Path(__file__).resolve().parent
SQL_DIR = HERE / "sql"
DATABASE = "meetq"  # the name every chart and query of metadata.yml uses
SETTINGS = {"sql_time_limit_ms": 1000, "default_cache_ttl": 0, "allow_download": False}
STATIC = ("-/meetq", str(HERE / "static"))
# datasette-dashboards ships Vega-Lite 6 but labels every spec v5, and the library warns about it
# on every chart: each chart says the version it is drawn with.
VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def read_sql(file: str, values: dict | None = None) -> str:
    """The SQL of `file` under sql/, each {{ name }} filled from `values`, else from
    sql/fragments/<name>.sql (fragments may hold placeholders too). A name neither gives is an
    error, so a typo fails at start, not in a chart."""
    values = values or {}

    def fill(match: re.Match) -> str:
        name = match.group(1)
        if name in values:
            return str(values[name])
        fragment = SQL_DIR / "fragments" / f"{name}.sql"
        if not fragment.exists():
            raise ValueError(f"{file}: no value or fragment for {{{{ {name} }}}}")
        return _PLACEHOLDER.sub(fill, _without_comments(fragment))

    return _PLACEHOLDER.sub(fill, _without_comments(SQL_DIR / file))


def _without_comments(path: Path) -> str:
    """A file's SQL without its comment lines: a fragment can then sit inside an expression."""
    return "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("--")).strip()


class _Loader(yaml.SafeLoader):
    """YAML with `!sql FILE` and `!sql {file: FILE, name: value, …}`."""


def _sql_tag(loader: _Loader, node: yaml.Node) -> str:
    if isinstance(node, yaml.ScalarNode):
        return read_sql(loader.construct_scalar(node))
    values = loader.construct_mapping(node)
    return read_sql(values.pop("file"), values)


_Loader.add_constructor("!sql", _sql_tag)


def metadata() -> dict:
    """metadata.yml with every `!sql` reference replaced by its SQL, every Vega-Lite chart
    labelled with the version that draws it."""
    configured = yaml.load((HERE / "metadata.yml").read_text(), Loader=_Loader)
    for dashboard in configured.get("plugins", {}).get("datasette-dashboards", {}).values():
        for chart in dashboard.get("charts", {}).values():
            if chart.get("library") == "vega-lite":
                chart["display"] = {"$schema": VEGA_LITE_SCHEMA, **chart.get("display", {})}
    return configured


def datasette(database: Path, timezone: str = "UTC", thresholds: dict | None = None, settings=None):
    """A Datasette serving `database` (read-only) as `meetq`, with the viewer's configuration:
    times shown in `timezone`, threshold lines at `thresholds` (the collector's [quality]; a
    vendor's own classifier's poor lines beside them, VENDOR_LINES), and
    the sign-in `settings.auth` asks for (sign_in.py)."""
    from datasette.app import Datasette
    from datasette.database import Database

    from .sign_in import configure

    sign_in = configure(settings) if settings else None
    configured = metadata()
    lines = {**(thresholds or {}), **VENDOR_LINES}
    configured.setdefault("plugins", {})["meetq"] = {"timezone": timezone, "thresholds": lines}
    if sign_in:
        configured["allow"] = {"id": "*"}  # a second lock behind the sign-in gate: no anonymous view at all
    limit = {"sql_time_limit_ms": settings.sql_time_limit_ms} if settings else {}
    app = Datasette(
        [],
        metadata=configured,
        plugins_dir=str(HERE / "plugins"),
        template_dir=str(HERE / "templates"),
        static_mounts=[STATIC],
        settings={**SETTINGS, **limit},
        secret=sign_in.keys.cookie_secret() if sign_in else None,
    )
    app._meetq_sign_in = sign_in
    app.remove_database("_memory")  # Datasette adds it when given no files; we add ours by name
    app.add_database(Database(app, path=str(database), is_mutable=True), name=DATABASE)
    return app


LOOPBACK_NAMES = ("localhost", "ip6-localhost")


def refuse_unsafe_exposure(settings, public: bool) -> None:
    """Without sign-in, only this machine may reach the viewer, unless told `--public`."""
    if settings.auth != "none" or public or is_loopback(settings.host):
        return
    from meetq.errors import ConfigError

    raise ConfigError(
        f"refusing to serve {settings.host} without sign-in: anyone who reaches it would see every "
        "participant's name, address and network. Set viewer.auth (password, proxy or webex; "
        'README, "Signing in") or pass --public if that is what you want'
    )


def is_loopback(host: str) -> bool:
    import ipaddress

    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# What a client may hold of the viewer: its request's headers in HEADER_SECONDS (then the
# connection is closed: a slow sender holds nothing for long), an idle kept-alive connection for
# KEEPALIVE_SECONDS, at most MAX_HEADER_BYTES of headers, MAX_CONNECTIONS connections in all.
HEADER_SECONDS, KEEPALIVE_SECONDS, MAX_HEADER_BYTES, MAX_CONNECTIONS = 10.0, 5, 16_384, 1000


def serve(settings) -> None:
    """Serve settings.database until SIGTERM or Ctrl-C. The client address is the peer's own
    (proxy_headers off): the proxy sign-in trusts a header by the address it came from."""
    import uvicorn
    from meetq.bounded_http import guarded_protocol

    app = datasette(settings.database, settings.timezone, settings.thresholds(), settings)
    asyncio.run(app.invoke_startup())
    uvicorn.run(
        app.app(),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        lifespan="on",
        workers=1,
        proxy_headers=False,
        server_header=False,
        http=guarded_protocol(HEADER_SECONDS, MAX_CONNECTIONS, "viewer_request_refused"),
        timeout_keep_alive=KEEPALIVE_SECONDS,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
    )
