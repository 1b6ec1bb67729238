"""Ordinary mistakes get one clear line and an exit code, never a traceback (the real CLI, real
files). `meetq serve` never writes the database."""

import stat
import time

import pytest
from conftest import _answers, free_port, wait_for
from meetq import packing

pytestmark = pytest.mark.e2e


def one_line(result, code, *words):
    """Exit `code`, one line on stderr naming the problem, no traceback anywhere."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert len(lines) == 1 and lines[0].startswith("meetq: "), result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def test_a_database_folder_that_cannot_be_written(meetq, tmp_path):
    meetq.login()
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    env = {"MEETQ_DATABASE": str(locked / "meetq.db")}
    for command in ("collect", "run"):
        one_line(meetq(command, check=False, env=env, timeout=60), 1, "cannot write in", str(locked))
    assert list(locked.iterdir()) == []


def test_a_read_only_database_is_refused_by_the_collector_and_served_by_the_viewer(meetq, sim):
    meetq.login()
    meetq("collect")
    copy = meetq.workdir / "copy.db"
    meetq("backup", str(copy))
    copy.chmod(0o444)
    env = {"MEETQ_DATABASE": str(copy)}
    one_line(meetq("collect", check=False, env=env), 1, "read-only", str(copy))
    before = copy.read_bytes()
    port = free_port()
    viewer = meetq.popen("serve", "--port", str(port), env=env)
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: _answers(f"{url}/-/dashboards/overview"), timeout=30)
    viewer.terminate()
    viewer.communicate(timeout=10)
    assert copy.read_bytes() == before and stat.S_IMODE(copy.stat().st_mode) == 0o444


def test_serve_refuses_a_missing_file_and_creates_nothing(meetq):
    missing = meetq.workdir / "typo" / "meetq.db"
    line = one_line(
        meetq("serve", check=False, env={"MEETQ_DATABASE": str(missing)}),
        1,
        "no database at",
        "meetq run",
        "MEETQ_DATABASE",
    )
    assert str(missing) in line and not missing.parent.exists()


def test_serve_says_when_the_schema_is_older_and_never_writes(meetq, sim):
    meetq.login()
    meetq("collect")
    with packing.connect(meetq.database) as db:
        db.execute("PRAGMA user_version = 5")
    before = meetq.database.read_bytes()
    port = free_port()
    viewer = meetq.popen("serve", "--port", str(port))
    wait_for(lambda: _answers(f"http://127.0.0.1:{port}/-/versions.json"), timeout=30)
    viewer.terminate()
    _, err = viewer.communicate(timeout=10)
    assert "has schema version 5" in err and "upgrades it" in err
    with packing.connect(meetq.database) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 5
    assert meetq.database.read_bytes() == before


def test_collect_under_a_missing_folder_without_credentials_creates_nothing(meetq):
    target = meetq.workdir / "new" / "folder" / "meetq.db"
    one_line(meetq("collect", check=False, env={"MEETQ_DATABASE": str(target)}), 1, "no token file", "meetq auth login")
    assert not (meetq.workdir / "new").exists()


@pytest.mark.parametrize(
    "content, words",
    [
        (b"this is not a database at all, just some text" * 100, ("not an SQLite database",)),
        (None, ("not a meetq database",)),
    ],
)
def test_status_on_a_file_that_is_not_meetqs(meetq, content, words):
    other = meetq.workdir / "other.db"
    if content is None:
        with packing.connect(other) as db:
            db.execute("CREATE TABLE recipes (name TEXT)")
    else:
        other.write_bytes(content)
    one_line(meetq("status", check=False, env={"MEETQ_DATABASE": str(other)}), 1, *words)
    assert meetq("health", check=False, env={"MEETQ_DATABASE": str(other)}).returncode == 1


def test_health_on_a_fresh_install_says_what_is_missing_not_a_reauthorisation(meetq, sim):
    result = meetq("health", check=False)
    assert result.returncode == 1 and "re-authorisation" not in result.stdout
    assert "no database" in result.stdout and "collector run" in result.stdout
    meetq.login()
    meetq("collect")
    meetq.secrets.unlink()  # the token file is gone: not a refusal, nobody has authorised
    result = meetq("health", check=False)
    assert result.returncode == 1 and "re-authorisation" not in result.stdout
    assert "no token file" in result.stdout and "meetq auth login" in result.stdout


def test_debug_shows_the_traceback_a_bug_report_needs(meetq):
    other = meetq.workdir / "junk.db"
    other.write_bytes(b"junk" * 1000)
    result = meetq("--debug", "status", check=False, env={"MEETQ_DATABASE": str(other)})
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_serve_waits_for_a_collector_started_beside_it(meetq, sim):
    meetq.login()
    port = free_port()
    viewer = meetq.popen("serve", "--port", str(port), "--wait", "60")
    time.sleep(1.5)
    assert viewer.poll() is None and not meetq.database.exists()  # still waiting, nothing created
    meetq("collect")
    wait_for(lambda: _answers(f"http://127.0.0.1:{port}/-/dashboards/overview"), timeout=30)
    viewer.terminate()
    viewer.communicate(timeout=10)


def test_what_a_newcomer_ran_into_gets_one_clear_line(meetq, tmp_path):
    """`users add` with no terminal, a backup into a folder that does not exist, and `auth
    status` once the refresh token has expired."""
    import json
    import subprocess
    import sys

    env = {**meetq.env, "MEETQ_VIEWER_SECRETS": str(tmp_path / "viewer-secrets.json")}
    added = subprocess.run(
        [sys.executable, "-m", "meetq.cli", "users", "add", "alice"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    one_line(added, 1, "no terminal", "--password-stdin")
    assert "GetPassWarning" not in added.stderr and not (tmp_path / "viewer-secrets.json").exists()

    meetq.login()
    meetq("collect")
    one_line(meetq("backup", str(tmp_path / "no-such-folder" / "x.db"), check=False), 1, "no folder")
    assert not (tmp_path / "no-such-folder").exists()

    assert meetq("auth", "status").returncode == 0
    tokens = json.loads(meetq.secrets.read_text())
    tokens["refresh_expires_at"] = "2026-01-01T00:00:00.000Z"
    meetq.secrets.write_text(json.dumps(tokens))
    status = meetq("auth", "status", check=False)
    assert status.returncode == 1 and "refresh token expired at 2026-01-01" in status.stdout
    assert "usable" not in status.stdout
