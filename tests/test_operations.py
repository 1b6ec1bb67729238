"""Operating commands against real files: status, health, prune, backup; and the compose file's
commands run natively (no Docker engine on the development machines)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import free_port, wait_for
from meetq import packing

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.e2e


def test_status_shows_queue_runs_tokens_and_size_without_secrets(meetq, sim):
    meetq.login()
    meetq("collect")
    report = json.loads(meetq("status", "--json").stdout)
    assert report["queue"] == dict(meetq.sql("select quality_state, count(*) from meetings group by 1"))
    assert report["recent_runs"][0]["outcome"] == "ok" and report["database_bytes"] > 100_000
    assert report["authorisation"]["who"] == ["admin@example.com"]
    tokens = json.loads(meetq.secrets.read_text())
    assert tokens["access_token"] not in json.dumps(report)
    # For a person: the same facts as lines, times said in UTC, no secret either.
    text = meetq("status").stdout
    done = report["queue"].get("done", 0)
    assert "Meetings   " in text and f"done {done}" in text
    assert "default (webex): integration, as admin@example.com" in text
    run = report["recent_runs"][0]
    assert (
        f"{run['started_at'][:10]} {run['started_at'][11:19]} UTC  default  ok: {run['meetings_new']} new meetings"
        in text
    )
    assert tokens["access_token"] not in text and tokens["refresh_token"] not in text


def test_health_follows_the_last_success_and_the_authorisation(meetq, sim):
    meetq.login()
    unhealthy = meetq("health", check=False)
    assert unhealthy.returncode == 1 and "no database" in unhealthy.stderr + unhealthy.stdout
    meetq("collect")
    assert meetq("health").returncode == 0
    time.sleep(2.1)
    stale = meetq("health", check=False, env={"MEETQ_INTERVAL_SECONDS": "1"})
    assert stale.returncode == 1 and "more than two intervals" in stale.stdout
    flagged = json.loads(meetq.secrets.read_text())
    flagged["reauth_required"] = {"since": "2026-11-23T00:00:00.000Z", "reason": "invalid_grant"}
    meetq.secrets.write_text(json.dumps(flagged))
    reauth = meetq("health", check=False)
    assert reauth.returncode == 1 and "re-authorisation required" in reauth.stdout


def test_prune_drops_old_samples_keeps_sessions_and_summaries_and_returns_space(meetq, sim):
    meetq.login()
    meetq("collect")
    counts = lambda: meetq.sql(
        "select (select count(*) from media_samples), (select count(*) from cpu_samples), "
        "(select count(*) from media_sessions), (select count(*) from media_summaries), "
        "(select count(*) from raw_responses)"
    )[0]
    samples, cpu, sessions, summaries, raw = counts()
    recent = meetq.scalar(
        "select count(*) from media_samples x join media_streams t on t.id = x.stream_id "
        "join media_sessions s on s.id = t.session_id join meetings m on m.id = s.meeting_id "
        "where m.start >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-2 days')"
    )
    size_before = meetq.database.stat().st_size
    time.sleep(1.1)  # every raw body is now older than the one second kept below
    result = json.loads(meetq("prune", "--samples-days", "2", "--raw-days", str(1 / 86400)).stdout)
    after = counts()
    assert result["media_samples"] == samples - recent > 0 and after[0] == recent
    assert after[1] < cpu and after[2:4] == (sessions, summaries) and after[4] == 0
    assert meetq.database.stat().st_size < size_before * 0.8  # the space went back to the file system
    assert meetq.sql("pragma integrity_check") == [("ok",)]


def test_backup_while_the_daemon_writes_is_consistent(meetq, sim):
    meetq.login()
    meetq.write_config(interval_seconds=1, quality_min_interval_seconds=1)
    daemon = meetq.popen("run")
    try:
        wait_for(lambda: meetq.database.exists() and os.path.getsize(meetq.database) > 50_000, timeout=30)
        copies = []
        for n in range(3):
            target = meetq.workdir / f"backup-{n}.db"
            assert "Backed up" in meetq("backup", str(target)).stdout
            copies.append(target)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.communicate(timeout=60)
    for copy in copies:
        with packing.connect(copy) as db:
            assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
            assert db.execute("pragma journal_mode").fetchone()[0] == "delete"  # one self-contained file
            assert db.execute("select count(*) from meetings").fetchone()[0] > 0
    assert daemon.returncode == 0


def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_file_is_what_the_readme_describes():
    services = compose()["services"]
    assert set(services) == {"collector", "viewer"}
    collector, viewer = services["collector"], services["viewer"]
    assert collector["command"] == ["meetq", "run"] and viewer["command"][:2] == ["meetq", "serve"]
    assert "--host" in viewer["command"] and "0.0.0.0" in viewer["command"]
    # Secrets reach the collector only; the viewer gets the data volume, read-write for WAL's -shm.
    assert any("secrets" in v for v in collector["volumes"]) and not any("secrets" in v for v in viewer["volumes"])
    assert viewer["environment"]["MEETQ_VIEWER_AUTH"] == "webex" and "viewer:/viewer" in viewer["volumes"]
    assert any(v.startswith("data:") and not v.endswith(":ro") for v in viewer["volumes"])
    assert collector["healthcheck"]["test"][-1] == "health" and "restart" in collector and "restart" in viewer
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "USER meetq" in dockerfile and "python:3.11-slim" in dockerfile


def test_every_compose_command_works_natively(meetq, sim):
    """Docker cannot run here: run each service's command and healthcheck as the container would."""
    services = compose()["services"]
    meetq.login()
    meetq.write_config(interval_seconds=1)
    env = {
        **meetq.env,
        **{k: str(v) for k, v in services["collector"].get("environment", {}).items() if k.startswith("MEETQ_LOG")},
    }
    bin_dir = Path(sys.executable).parent
    collector = subprocess.Popen(
        [str(bin_dir / services["collector"]["command"][0]), *services["collector"]["command"][1:]],
        env=env,
        cwd=meetq.workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    port = free_port()
    viewer_command = [a if a != "8001" else str(port) for a in services["viewer"]["command"]]
    # The viewer as compose configures it (Sign in with Webex), with what .env would add.
    viewer_env = {
        **meetq.env,
        **{k: compose_value(v) for k, v in services["viewer"]["environment"].items()},
        "MEETQ_VIEWER_SIGN_IN_ORGS": sim.org.org_id,
        "MEETQ_VIEWER_SECRETS": str(meetq.workdir / "viewer" / "viewer-secrets.json"),
    }
    viewer = subprocess.Popen(
        [str(bin_dir / viewer_command[0]), *viewer_command[1:]],
        env=viewer_env,
        cwd=meetq.workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        health = services["collector"]["healthcheck"]["test"]
        wait_for(
            lambda: (
                subprocess.run([str(bin_dir / health[1]), *health[2:]], env=meetq.env, cwd=meetq.workdir).returncode
                == 0
            ),
            timeout=60,
            interval=0.5,
        )
        viewer_health = [a.replace("8001", str(port)) for a in services["viewer"]["healthcheck"]["test"][1:]]
        wait_for(
            lambda: subprocess.run([sys.executable, *viewer_health[1:]], capture_output=True).returncode == 0,
            timeout=30,
            interval=0.5,
        )
        import requests

        assert requests.get(f"http://127.0.0.1:{port}/meetq/meetings.json", timeout=5).status_code == 401
    finally:
        collector.send_signal(signal.SIGTERM)
        viewer.send_signal(signal.SIGTERM)
        assert collector.wait(60) == 0
        viewer.wait(30)


def compose_value(value) -> str:
    """${NAME:-default} as compose reads it from an empty environment."""
    import re

    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(value))
