"""`meetq demo`: the whole product against the simulator, with no account and no person.

Starts the simulator, completes the real OAuth login through the real redirect (an HTTP
client plays the person who clicks "Accept"), then runs the real collector daemon and
the real viewer as child processes, and prints the URLs.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import click
import requests

from .config import load_settings
from .providers.webex import auth, bot, webhooks
from .simulator import SimConfig, Simulator
from .simulator.google import GoogleSimulator
from .simulator.org import BUILDING_FILE
from .simulator.server import ROOMS
from .simulator.teams import TeamsSimulator
from .simulator.zoom import ZoomSimulator

DEMO_SIMULATOR = dict(visibility_delay=60, data_delay=60, upcoming_hours=3, meetings_per_day=40)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def demo_environment(sim: Simulator, workdir: Path, interval: int, port: int) -> dict:
    webhook_port = free_port()
    return {
        "MEETQ_WEBHOOK_LISTEN": f"127.0.0.1:{webhook_port}",
        "MEETQ_WEBEX_API_BASE": sim.api_base,
        "MEETQ_WEBEX_ANALYTICS_BASE": sim.analytics_base,
        "MEETQ_WEBEX_CLIENT_ID": sim.config.client_id,
        "MEETQ_WEBEX_CLIENT_SECRET": sim.config.client_secret,
        "MEETQ_WEBEX_REDIRECT_URI": f"http://127.0.0.1:{free_port()}/callback",
        "MEETQ_DATABASE": str(workdir / "meetq.db"),
        "MEETQ_SECRETS": str(workdir / "secrets.json"),
        "MEETQ_INTERVAL_SECONDS": str(interval),
        "MEETQ_VIEWER_PORT": str(port),
        "MEETQ_CONFIG": str(workdir / "meetq.toml"),
        "MEETQ_WEBEX_ACCESS_TOKEN": "",
        # The simulator's bot posts alerts and the digest into its space; quality alerts look at the
        # simulated week (its calls are days old), not the last hour.
        "MEETQ_NOTIFY_BOT_TOKEN": sim.config.bot_token,
        "MEETQ_NOTIFY_ROOM_ID": ROOMS[0]["id"],
        "MEETQ_NOTIFY_WINDOW_MINUTES": str(7 * 24 * 60),
        "MEETQ_VIEWER_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }


# What the viewer is not given: it reads the database and signs people in, and needs no
# credential of the collector's or the bot's.
COLLECTOR_SECRETS = ("MEETQ_WEBEX_CLIENT_SECRET", "MEETQ_NOTIFY_BOT_TOKEN", "MEETQ_WEBEX_ACCESS_TOKEN")


def viewer_environment(environment: dict) -> dict:
    return {k: v for k, v in environment.items() if k not in COLLECTOR_SECRETS}


def add_google_meet(workdir: Path) -> GoogleSimulator:
    """A second vendor: the Google simulator and a service-account key pointing at it."""
    google = GoogleSimulator(SimConfig(port=free_port(), seed=11, **DEMO_SIMULATOR)).start()
    key = google.write_key_file((workdir / "google-key.json").resolve())  # whatever folder the CLI runs in
    (workdir / "meetq.toml").write_text(
        "# Written by `meetq demo`: the Google Meet account beside the simulated Webex one.\n"
        f'[[accounts]]\nname = "google-meet"\nprovider = "google"\nkey_file = "{key}"\n'
        f'admin_email = "{google.admin_email}"\nreports_base = "{google.reports_base}"\n'
        f'meet_base = "{google.meet_base}"\norganizers = "{_busiest_host(google)}"\n'
    )
    return google


def add_zoom(workdir: Path) -> ZoomSimulator:
    """A third vendor: the Zoom simulator and a Server-to-Server app's credentials for it, in the
    settings file (mode 0600: it holds the app's secret)."""
    config = SimConfig(
        port=free_port(), seed=23, client_id="sim-zoom-client", client_secret="sim-zoom-secret", **DEMO_SIMULATOR
    )
    zoom = ZoomSimulator(config).start()
    zoom.qos_per_second = 40  # Zoom's Heavy limit; the demo reads at half of it
    settings = workdir / "meetq.toml"
    os.chmod(settings, 0o600)
    with open(settings, "a") as out:
        out.write(
            "\n# The Zoom account: a third organisation, through a Server-to-Server OAuth app.\n"
            f'[zoom]\nqos_calls_per_second = 20.0\n[[accounts]]\nname = "zoom"\nprovider = "zoom"\n'
            f'account_id = "{zoom.account_id}"\nclient_id = "{config.client_id}"\n'
            f'client_secret = "{config.client_secret}"\napi_base = "{zoom.api_base}"\noauth_url = "{zoom.oauth_url}"\n'
        )
    return zoom


def add_teams(workdir: Path) -> TeamsSimulator:
    """A fourth vendor: the Graph simulator and an app registration's credentials for it, in the
    settings file (mode 0600, as for Zoom). Records are published at once, and one in four is
    revised a minute after it is first read."""
    config = SimConfig(
        port=free_port(), seed=31, client_id="sim-teams-app", client_secret="sim-teams-secret", **DEMO_SIMULATOR
    )
    teams = TeamsSimulator(config).start()
    settings = workdir / "meetq.toml"
    os.chmod(settings, 0o600)
    with open(settings, "a") as out:
        out.write(
            "\n# The Teams tenant: a fourth organisation, through an app registration (client credentials).\n"
            "[teams]\nreread_minutes = 2.0\n"  # the demo's revisions arrive a minute after the first read
            f'[[accounts]]\nname = "teams"\nprovider = "teams"\ntenant_id = "{teams.tenant_id}"\n'
            f'client_id = "{config.client_id}"\nclient_secret = "{config.client_secret}"\n'
            f'graph_base = "{teams.graph_base}"\nlogin_base = "{teams.login_base}"\n'
        )
    return teams


def _busiest_host(google: GoogleSimulator) -> str:
    """The organiser whose attendance the demo reads from the Meet REST API."""
    hosts = [m.host.email for m in google.org.meetings.values()]
    return max(set(hosts), key=hosts.count)


def login_without_a_person(settings) -> None:
    """The real authorisation-code flow; an HTTP client follows the consent redirect
    (302 -> our own listener on the redirect URI)."""
    url, state = auth.authorization_url(settings)
    code = auth.receive_code(settings, state, lambda: requests.get(url, timeout=10), timeout=30)
    auth.finish_login(settings, code)


def meetq_command() -> str:
    """This installation's `meetq` (make demo's .venv/bin/meetq), relative to here when inside."""
    installed = Path(sys.executable).parent / "meetq"
    if not installed.exists():
        return "meetq"
    try:
        return shlex.quote(str(installed.relative_to(Path.cwd())))
    except ValueError:
        return shlex.quote(str(installed))


def cli_prefix(environment: dict) -> str:
    """What points another shell's `meetq` at the demo's settings, database and token file."""
    return " ".join(
        f"{name}={shlex.quote(environment[name])}" for name in ("MEETQ_CONFIG", "MEETQ_DATABASE", "MEETQ_SECRETS")
    )


def run_demo(workdir: Path, interval: int, port: int, viewer: bool = True) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    sim = Simulator(SimConfig(port=free_port(), **DEMO_SIMULATOR)).start()
    google = add_google_meet(workdir)
    zoom = add_zoom(workdir)
    teams = add_teams(workdir)
    environment = {**os.environ, **demo_environment(sim, workdir, interval, port)}
    settings = load_settings(environ=environment)
    click.echo(f"Simulator: {sim.url} ({len(sim.org.meetings)} meetings over the last 7 days and next 3 hours)")
    click.echo(f"Google:    {google.url} (Meet calls of another organisation, through a service account)")
    click.echo(f"Zoom:      {zoom.url} (a third organisation's meetings, through a Server-to-Server OAuth app)")
    click.echo(f"Teams:     {teams.url} (a fourth organisation's call records from Graph, through an app registration)")
    login_without_a_person(settings)
    click.echo(f"Logged in through the real OAuth redirect; tokens in {settings.secrets} (mode 0600)")
    webhook = webhooks.register(settings, f"http://{settings.listen}/webex")
    bot.register(settings, f"http://{settings.listen}/webex")  # the assistant hears mentions there too
    click.echo(f"Webhook:   meetings ending in the next hours reach the collector at once ({webhook.target_url})")
    meetq = [sys.executable, "-m", "meetq.cli"]
    buildings = workdir / "buildings.csv"
    buildings.write_text(BUILDING_FILE)
    subprocess.run(
        [*meetq, "locations", "import", str(buildings)], env=environment, check=True, stdout=subprocess.DEVNULL
    )
    click.echo(f"Buildings: {buildings} (the simulated offices and VPN pool; `meetq locations missing` shows the rest)")
    children = [subprocess.Popen([*meetq, "run"], env=environment)]
    if viewer:  # the viewer never creates the file: it waits for the collector to
        children.append(subprocess.Popen([*meetq, "serve", "--wait", "120"], env=viewer_environment(environment)))
    click.echo(f"Collector: every {interval} s into {settings.database}")
    click.echo(
        f"Alerts:    the bot posts alerts and the digest into the space {ROOMS[0]['title']!r}: read them at "
        f"{sim.url}/_sim/messages"
    )
    click.echo("Assistant: talk to the bot on that page as anyone of the organisation: try `last`, `week`, `status`")
    if viewer:
        click.echo(f"Viewer:    http://127.0.0.1:{port}/  (dashboards at /-/dashboards)")
    click.echo(
        f"CLI:       the demo's files, for `meetq status`, `health`, `raw` and the rest: "
        f"{cli_prefix(environment)} {meetq_command()} status"
    )
    click.echo("Ctrl-C stops everything.")
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    try:
        while not stopping.is_set() and all(child.poll() is None for child in children):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(30)
        except subprocess.TimeoutExpired:
            child.kill()
    sim.stop()
    google.stop()
    zoom.stop()
    teams.stop()
