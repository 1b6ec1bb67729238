"""Shared fixtures: a real simulator on loopback and a way to run the real `meetq` CLI."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from meetq import packing
from meetq.simulator import SimConfig, Simulator
from meetq.simulator.org import BUILDING_FILE

SMALL_ORG = dict(days=7, meetings_per_day=5, people=12, max_participants=4, upcoming_hours=0, long_meeting_every=6)


@pytest.fixture
def sim():
    simulator = Simulator(SimConfig(**SMALL_ORG)).start()
    yield simulator
    simulator.stop()


def sim_post(sim, path, payload):
    response = requests.post(f"{sim.url}{path}", json=payload, timeout=5)
    response.raise_for_status()
    return response.json()


def sim_stats(sim):
    return requests.get(f"{sim.url}/_sim/stats", timeout=5).json()


from meetq.demo import free_port  # noqa: E402  (one free_port for the demo and the tests)


class Meetq:
    """Runs the real CLI as a child process with an environment pointing at the simulator."""

    def __init__(self, sim: Simulator, workdir: Path):
        self.sim = sim
        self.workdir = workdir
        self.database = workdir / "meetq.db"
        self.secrets = workdir / "secrets.json"
        self.logs: list[str] = []
        self.children: list[subprocess.Popen] = []
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("MEETQ_")},
            "MEETQ_WEBEX_API_BASE": sim.api_base,
            "MEETQ_WEBEX_ANALYTICS_BASE": sim.analytics_base,
            "MEETQ_WEBEX_CLIENT_ID": sim.config.client_id,
            "MEETQ_WEBEX_CLIENT_SECRET": sim.config.client_secret,
            "MEETQ_WEBEX_REDIRECT_URI": f"http://127.0.0.1:{free_port()}/callback",
            "MEETQ_DATABASE": str(self.database),
            "MEETQ_SECRETS": str(self.secrets),
            "MEETQ_CONFIG": str(workdir / "meetq.toml"),
            "MEETQ_LOG_LEVEL": "debug",
            "MEETQ_LOG_FORMAT": "json",
            # Tests run two at a time beside browsers and simulators: a chart must not fail on a
            # busy machine. How fast the pages are is bench/'s to measure, with the 1 s default.
            "MEETQ_VIEWER_SQL_TIME_LIMIT_MS": "10000",
        }
        self.write_config()

    def write_config(self, **collector):
        """Test-speed collector settings; the API's own limits stay as in production."""
        values = {
            "backoff_seconds": 0.01,
            "backoff_max_seconds": 0.05,
            "request_timeout_seconds": 3,
            "max_retry_after_seconds": 2,
            "default_retry_after_seconds": 0.1,
            **collector,
        }
        lines = ["[collector]"] + [
            f"{k} = {v!r}" if not isinstance(v, str) else f'{k} = "{v}"' for k, v in values.items()
        ]
        (self.workdir / "meetq.toml").write_text("\n".join(lines) + "\n")

    def add_settings(self, text: str) -> None:
        """Append TOML to the settings file the runs read."""
        with open(self.workdir / "meetq.toml", "a") as config:
            config.write("\n" + text.strip() + "\n")

    def start_collector(self):
        """`meetq run`, once its first cycle has succeeded."""
        daemon = self.popen("run")
        wait_for(lambda: self.scalar("select count(*) from collector_runs where outcome = 'ok'") == 1)
        return daemon

    def __call__(self, *args, check=True, timeout=120, env=None):
        result = subprocess.run(
            [sys.executable, "-m", "meetq.cli", *args],
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.workdir,
        )
        self.logs += [result.stdout, result.stderr]
        if check and result.returncode != 0:
            raise AssertionError(f"meetq {' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
        return result

    def popen(self, *args, env=None):
        """A long-running child meetq. It logs to files: a full pipe nobody reads would block it."""
        child = Child([sys.executable, "-m", "meetq.cli", *args], {**self.env, **(env or {})}, self)
        self.children.append(child)
        return child

    def kill_children(self):
        """A failing test must not leave a collector running behind it."""
        for child in self.children:
            if child.poll() is None:
                child.kill()
                child.wait(10)

    def start_login(self, *options):
        """Start `meetq auth login` and read its output up to where it waits for the person:
        returns the child and the authorize URL it printed."""
        paste = "--paste" in options
        child = subprocess.Popen(
            [sys.executable, "-m", "meetq.cli", "auth", "login", *options],
            env=self.env,
            stdin=subprocess.PIPE if paste else None,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=self.workdir,
        )
        self.children.append(child)
        url = None
        for line in iter(child.stdout.readline, ""):
            url = url or (re.search(r"(http://\S+/authorize\S+)", line) or [None])[0]
            if (paste and url) or "Waiting for the redirect" in line:
                break
        assert url, "login printed no authorize URL"
        return child, url

    def login(self):
        """`meetq auth login --no-browser`, with this test playing the person who clicks Accept."""
        child, url = self.start_login("--no-browser", "--timeout", "30")
        consent = requests.get(url, timeout=10)
        out, err = child.communicate(timeout=30)
        self.logs += [out, err]
        assert child.returncode == 0, err
        return consent

    def sql(self, query, *params):
        with packing.connect(self.database) as db:
            return db.execute(query, params).fetchall()

    def scalar(self, query, *params):
        return self.sql(query, *params)[0][0]

    def everything_stored(self) -> bytes:
        """The database's files byte for byte, then every compressed body in them decompressed:
        what a search for a secret or an address must read (compression hides text from a byte
        search; the samples are plain text, in the files as they are)."""
        files = b"".join(p.read_bytes() for p in self.workdir.glob("meetq.db*"))
        bodies = self.sql("select body from raw_responses")
        assert all(isinstance(value, bytes) for (value,) in bodies), "every body is compressed"
        series = self.sql("select packed from stream_series union all select packed from cpu_series")
        assert all(isinstance(value, str) for (value,) in series), "every series is plain JSON"
        return files + "\n".join(packing.unpack_text(value) for (value,) in bodies).encode()


class Child(subprocess.Popen):
    """A process whose output goes to files; communicate() returns it (and keeps it in the logs)."""

    count = 0

    def __init__(self, command, env, owner):
        Child.count += 1
        self.owner = owner
        self.out_path = owner.workdir / f"child-{Child.count}.out"
        self.err_path = owner.workdir / f"child-{Child.count}.err"
        with open(self.out_path, "w") as out, open(self.err_path, "w") as err:
            super().__init__(command, env=env, stdout=out, stderr=err, text=True, cwd=owner.workdir)

    def communicate(self, input=None, timeout=None):
        self.wait(timeout)
        out, err = self.out_path.read_text(), self.err_path.read_text()
        self.owner.logs += [out, err]
        return out, err


@pytest.fixture
def meetq(sim, tmp_path):
    runner = Meetq(sim, tmp_path)
    yield runner
    runner.kill_children()


def wait_for(predicate, timeout=30.0, interval=0.1):
    """Poll until `predicate` is true. A database whose schema the daemon is still creating
    counts as "not yet"."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except sqlite3.OperationalError:
            value = None
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def wait_for_progress(done, progress, stall=60.0, limit=900.0, interval=0.5):
    """Poll until `done()`. A long drain is waited on for as long as `progress()` keeps changing;
    it fails when nothing moved for `stall` seconds (or, as a backstop, after `limit`)."""
    started = moved = time.monotonic()
    last = None
    while True:
        try:
            if done():
                return
            now = progress()
        except sqlite3.OperationalError:
            now = last
        if now != last:
            last, moved = now, time.monotonic()
        elif time.monotonic() - moved > stall:
            raise AssertionError(f"no progress for {stall:.0f} s; stuck at {last}")
        if time.monotonic() - started > limit:
            raise AssertionError(f"still moving after {limit:.0f} s; at {last}")
        time.sleep(interval)


def expected_quality(sim) -> dict:
    """What a complete collection must hold: sessions and samples per visible meeting."""
    expected = {}
    for meeting in sim.visible_meetings():
        items = sim.org.quality_items(meeting)
        samples = sum(
            max(
                (
                    len(interval.get(metric, []))
                    for metric in ("packetLoss", "latency", "jitter", "mediaBitRate", "resolutionHeight", "frameRate")
                ),
                default=0,
            )
            for item in items
            for key in ("audioIn", "audioOut", "videoIn", "videoOut", "shareIn", "shareOut")
            for interval in item[key]
        )
        expected[meeting.id] = (len(items), samples)
    return expected


def stored_quality(meetq) -> dict:
    rows = meetq.sql("""
        select m.id, count(distinct s.id), count(x.stream_id)
        from meetings m left join media_sessions s on s.meeting_id = m.id
        left join media_streams t on t.session_id = s.id
        left join media_samples x on x.stream_id = t.id
        group by m.id""")
    return {meeting: (sessions, samples) for meeting, sessions, samples in rows}


HOSTILE_TITLE = '<img src=x onerror="window.__pwned=1">Budget & <b>plans</b>'


@pytest.fixture(scope="session")
def served(tmp_path_factory):
    """A database filled by the real collector from four accounts, served by `meetq serve`: the
    `default` Webex organisation, a second one (`emea`) whose authorisation is revoked after its
    first cycle, a Google Meet account (`gmeet`), a Zoom one (`zoomorg`) and a Teams tenant
    (`teamsorg`). A chart or query that ignores accounts or vendors meets all of them here."""
    from meetq.simulator.google import GoogleSimulator
    from meetq.simulator.teams import TeamsSimulator
    from meetq.simulator.zoom import ZoomSimulator

    workdir = tmp_path_factory.mktemp("viewer")
    simulator = Simulator(SimConfig(**SMALL_ORG)).start()
    emea = Simulator(SimConfig(**{**SMALL_ORG, "seed": 23})).start()
    google = GoogleSimulator(SimConfig(**{**SMALL_ORG, "seed": 11})).start()
    zoom = ZoomSimulator(SimConfig(**{**SMALL_ORG, "seed": 31, "client_id": "zc", "client_secret": "zs"}))
    zoom.qos_per_second = 40
    zoom.start()
    teams = TeamsSimulator(SimConfig(**{**SMALL_ORG, "seed": 37, "client_id": "tc", "client_secret": "ts"})).start()
    meetq = Meetq(simulator, workdir)
    key = google.write_key_file(workdir / "google-key.json")
    with open(workdir / "meetq.toml", "a") as config:
        config.write(f"""
[[accounts]]
name = "emea"
client_id = "{emea.config.client_id}"
client_secret = "{emea.config.client_secret}"
api_base = "{emea.api_base}"
analytics_base = "{emea.analytics_base}"

[[accounts]]
name = "gmeet"
provider = "google"
key_file = "{key}"
admin_email = "{google.admin_email}"
reports_base = "{google.reports_base}"
meet_base = "{google.meet_base}"

[[accounts]]
name = "zoomorg"
provider = "zoom"
account_id = "{zoom.account_id}"
client_id = "zc"
client_secret = "zs"
api_base = "{zoom.api_base}"
oauth_url = "{zoom.oauth_url}"

[[accounts]]
name = "teamsorg"
provider = "teams"
tenant_id = "{teams.tenant_id}"
client_id = "tc"
client_secret = "ts"
graph_base = "{teams.graph_base}"
login_base = "{teams.login_base}"
""")
    meetq.add_settings("[zoom]\nqos_calls_per_second = 20.0\nready_after_minutes = 0.0")
    meetq.login()
    child, url = meetq.start_login("--no-browser", "--timeout", "30", "--account", "emea")
    requests.get(url, timeout=10)
    child.communicate(timeout=30)
    simulator.add_ended_meetings(1, minutes=40, participants=4)  # one still due for its recheck
    hostile = simulator.add_ended_meetings(1, minutes=20, participants=3)[0]
    simulator.org.meetings[hostile].title = HOSTILE_TITLE
    meetq("collect")
    (workdir / "buildings.csv").write_text(BUILDING_FILE)  # the simulated offices, as the demo maps them
    meetq("locations", "import", str(workdir / "buildings.csv"))
    sim_post(emea, "/_sim/revoke", {})
    emea.config.access_lifetime = 0  # its access tokens die too: only a refresh could help, and it is refused
    meetq("collect", check=False)
    meetq.emea, meetq.google, meetq.zoom, meetq.teams = emea, google, zoom, teams
    port = free_port()
    viewer = meetq.popen("serve", "--port", str(port))
    meetq.viewer_url = f"http://127.0.0.1:{port}"
    wait_for(lambda: _answers(f"{meetq.viewer_url}/-/versions.json"), timeout=30)
    yield meetq
    viewer.terminate()
    viewer.communicate(timeout=10)
    meetq.kill_children()
    for each in (simulator, emea, google, zoom, teams):
        each.stop()


def _answers(url):
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


LOOPBACK_FIXTURES = {"sim", "meetq", "served", "google", "zoom"}


def pytest_collection_modifyitems(items):
    """A test that runs a simulator, the CLI or the viewer is end to end (`make quick` leaves it out)."""
    for item in items:
        if LOOPBACK_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.e2e)


# Debian's chromium, driven by Playwright, for every test of a page (test_browser, test_sign_in).
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        message = "Debian's chromium is not installed (make test installs it when it can: make browser)"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()
