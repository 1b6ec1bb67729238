"""A new vendor is one folder and one registry line: tests/tiny_vendor/ (a throwaway vendor over a
tiny local HTTP server) collects into the real schema through the real CLI and shows on the front
page's vendor chart, served by the real viewer, with nothing of meetq changed for it."""

import json
import re
import signal
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from conftest import _answers, free_port, wait_for
from test_viewer import DASHBOARDS

pytestmark = pytest.mark.e2e
TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
# The one line a new vendor adds to providers/__init__.py, here made before meetq reads its settings.
REGISTERED = (
    "import sys; sys.path.insert(0, {tests!r}); from meetq import providers; import tiny_vendor; "
    "providers.PROVIDERS['tiny'] = tiny_vendor.PROVIDER; from meetq.cli import cli; cli(sys.argv[1:])"
)


def environment(tmp_path: Path, config: Path) -> dict:
    """A meetq of its own: these settings, a database and token file in the test's folder."""
    return {
        "PATH": "/usr/bin:/bin",
        "MEETQ_CONFIG": str(config),
        "MEETQ_DATABASE": str(tmp_path / "meetq.db"),
        "MEETQ_SECRETS": str(tmp_path / "secrets.json"),
        "MEETQ_LOG_FORMAT": "json",
    }


def tiny_api(calls: dict):
    asked = []

    class Answer(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            asked.append(self.path)
            body = json.dumps(calls).encode()
            self.send_response(200 if self.path in ("/calls", "/subscriptions/renew") else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Answer)
    server.asked = asked
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_a_throwaway_vendor_collects_and_shows_on_the_front_page(tmp_path):
    start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=3)
    stamp = lambda moment: moment.isoformat().replace("+00:00", ".000Z")  # noqa: E731
    people = [
        {"email": "ana@example.com", "name": "Ana", "loss": 12.5, "seconds": 1800},
        {"email": "ben@example.com", "name": "Ben", "loss": 0.2, "seconds": 1800},
    ]
    api = tiny_api(
        {
            "calls": [
                {
                    "id": "c1",
                    "title": "Tiny stand-up",
                    "start": stamp(start),
                    "end": stamp(start + timedelta(minutes=30)),
                    "participants": people,
                }
            ]
        }
    )
    config = tmp_path / "meetq.toml"
    config.write_text(
        f'[account]\nprovider = "tiny"\n[tiny]\nbase_url = "http://127.0.0.1:{api.server_port}"\n'
        'client_id = "tiny-client"\n[webex]\nclient_id = "webex-client"\n'
    )
    env = environment(tmp_path, config)
    meetq = [sys.executable, "-c", REGISTERED.format(tests=str(TESTS))]
    try:
        collected = subprocess.run([*meetq, "collect"], env=env, capture_output=True, text=True, timeout=120)
        report = json.loads(collected.stdout)
        assert collected.returncode == 0 and report["outcome"] == "ok", collected.stdout + collected.stderr
        assert report["sessions_written"] == 2
    finally:
        api.shutdown()
    with sqlite3_file(tmp_path / "meetq.db") as db:
        assert db.execute("select id, provider, title from meetings").fetchall() == [
            ("tiny:c1", "tiny", "Tiny stand-up")
        ]
        assert db.execute(
            "select user_email, provider, verdict, verdict_metric from media_sessions order by user_email"
        ).fetchall() == [("ana@example.com", "tiny", "poor", "loss"), ("ben@example.com", "tiny", "good", None)]
    port = free_port()
    viewer = subprocess.Popen(
        [*meetq, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: _answers(f"{url}/-/healthz"), timeout=60)
        chart = DASHBOARDS["overview"]["charts"]["by-provider"]["query"]
        rows = requests.get(
            f"{url}/meetq.json",
            params={"sql": re.sub(r"\[\[.*?\]\]", "", chart, flags=re.S), "_shape": "array"},
            timeout=30,
        ).json()
        assert [(r["value"], r["poor_pct"], r["rated"]) for r in rows] == [("tiny · default (2)", 50.0, 2)]
    finally:
        viewer.terminate()
        viewer.wait(30)
    # ...and nothing of meetq names it: the vendor is its folder and that registry line.
    named = re.compile(r"['\"]tiny['\"]|\.tiny\b|tiny_vendor|\[tiny\]")
    core = [
        p
        for p in [*(ROOT / "etl").rglob("*.py"), *(ROOT / "viewer").rglob("*.*")]
        if p.suffix in (".py", ".sql", ".yml") and named.search(p.read_text())
    ]
    assert core == []


def sqlite3_file(path):
    import contextlib
    import sqlite3

    return contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True))


def test_a_vendor_that_proves_its_webhook_address_gets_its_own_answer(tmp_path):
    """A vendor whose subscriptions start with a challenge (Microsoft Graph's validationToken,
    echoed as plain text) answers it through its webhooks module: the daemon's receiver sends that
    answer as it is, before any signature; anything else unsigned is still refused. Its subscriptions
    expire, as Graph's do: the daemon renews them soon after it starts."""
    api = tiny_api({"calls": []})
    listen = free_port()
    config = tmp_path / "meetq.toml"
    config.write_text(
        f'[account]\nprovider = "tiny"\n[tiny]\nbase_url = "http://127.0.0.1:{api.server_port}"\n'
        f'[webhook]\nlisten = "127.0.0.1:{listen}"\n'
    )
    env = environment(tmp_path, config)
    daemon = subprocess.Popen(
        [sys.executable, "-c", REGISTERED.format(tests=str(TESTS)), "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{listen}/tiny"
        wait_for(lambda: listening(url), timeout=60)
        proved = requests.post(url, params={"validationToken": "Validation: <token>"}, timeout=10)
        assert proved.status_code == 200 and proved.text == "Validation: <token>"
        assert proved.headers["content-type"] == "text/plain" and proved.headers["x-content-type-options"] == "nosniff"
        unsigned = requests.post(url, data=b'{"event": "call.ended"}', timeout=10)
        assert unsigned.status_code == 401 and unsigned.json() == {"status": "no registered account's secret signed it"}
        wait_for(lambda: "/subscriptions/renew" in api.asked, timeout=30)
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=30)
        api.shutdown()
    assert daemon.returncode == 0 and "Traceback" not in err
    assert '"event": "webhooks_renewed"' in err and '"result": "1 subscription renewed"' in err


def listening(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 405  # the receiver takes POSTs only
    except requests.ConnectionError:
        return False
