"""`make demo` as a new user runs it (`meetq demo`): the collector fills the database, the building
file places sessions in offices, the bot posts alerts and the digest into the simulated space and
answers when spoken to, the viewer holds no secret of the collector's or the bot's, and Ctrl-C
(SIGTERM) stops it all cleanly."""

import os
import re
import signal
import subprocess
import sys

import pytest
import requests
from conftest import free_port, wait_for
from meetq import packing

pytestmark = pytest.mark.e2e


def children_of(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as found:
        return [int(child) for child in found.read().split()]


def cmdline(pid: int) -> bytes:
    with open(f"/proc/{pid}/cmdline", "rb") as found:
        return found.read()


def test_the_demo_fills_every_report_and_the_bot_speaks(tmp_path):
    command = [
        sys.executable,
        "-m",
        "meetq.cli",
        "demo",
        "--workdir",
        str(tmp_path),
        "--interval",
        "5",
        "--port",
        str(free_port()),
    ]
    out_path = tmp_path / "demo.out"
    with open(out_path, "w") as out, open(tmp_path / "demo.err", "w") as err:
        demo = subprocess.Popen(command, stdout=out, stderr=err, text=True)
    try:
        wait_for(lambda: "Ctrl-C stops everything." in out_path.read_text(), timeout=60)
        printed = out_path.read_text()
        messages = re.search(r"read them at (http://\S+/_sim/messages)", printed).group(1)
        assert "Assistant: talk to the bot on that page" in printed
        # The CLI line it prints works in another shell: `meetq status` reads the demo's files.
        told_cli = re.search(r"^CLI: .*?: (MEETQ_CONFIG=.*) (\S+) status$", printed, flags=re.M)
        cli_env = dict(pair.split("=", 1) for pair in told_cli.group(1).split())
        wait_for(lambda: (tmp_path / "meetq.db").exists(), timeout=60)
        elsewhere = subprocess.run(
            [told_cli.group(2), "status"], env={**os.environ, **cli_env}, capture_output=True, text=True, timeout=60
        )
        assert elsewhere.returncode == 0 and "google-meet (google): google service account" in elsewhere.stdout, (
            elsewhere.stdout + elsewhere.stderr
        )
        assert "zoom (zoom): zoom server-to-server app, as app sim-zoom-client" in elsewhere.stdout

        def texts():
            return [m["text"] for m in requests.get(messages, params={"format": "json"}, timeout=5).json()["items"]]

        wait_for(
            lambda: any(t.startswith("🔴") for t in texts()) and any("meetq: the 7 days" in t for t in texts()),
            timeout=90,
        )
        database = packing.connect(tmp_path / "meetq.db")
        # The third organisation's Zoom meetings, a minute at a time, beside the others.
        zoom = (
            "select count(*) from media_samples x join media_streams t on t.id = x.stream_id "
            "join media_sessions s on s.id = t.session_id where s.provider = 'zoom'"
        )
        wait_for(lambda: database.execute(zoom).fetchone()[0] > 0, timeout=60)
        placed = dict(database.execute("select building, count(*) from session_places group by 1").fetchall())
        assert {"Frankfurt HQ", "VPN"} <= set(placed)
        # No finding blames a sender for a receiver whose own verdict is not about loss.
        told = database.execute(
            "select count(*), sum(verdict not in ('fair', 'poor') or verdict_metric is not "
            "'loss') from media_sessions where shared_cause like 'likely cause:%'"
        ).fetchone()
        print(f"demo: {told[0]} sessions told another's uplink was the likely cause, {told[1] or 0} of them wrongly")
        assert (told[1] or 0) == 0
        person = database.execute(
            "select user_email from media_sessions where provider = 'webex' and user_email is not null limit 1"
        ).fetchone()[0]
        asked = requests.post(
            messages.replace("/messages", "/say"), json={"personEmail": person, "text": "last"}, timeout=30
        ).json()
        assert asked["deliveries"] == [200]
        assert any(t.startswith("Your last meeting") for t in texts())
        (viewer,) = [pid for pid in children_of(demo.pid) if b"serve" in cmdline(pid)]
        given = dict(line.split(b"=", 1) for line in open(f"/proc/{viewer}/environ", "rb").read().split(b"\0") if line)
        assert b"MEETQ_NOTIFY_BOT_TOKEN" not in given and b"MEETQ_WEBEX_CLIENT_SECRET" not in given
    finally:
        demo.send_signal(signal.SIGTERM)
        demo.wait(60)
    assert demo.returncode == 0
    assert "Traceback" not in (tmp_path / "demo.err").read_text()
