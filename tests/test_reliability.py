"""Proof under faults: chaos from the API, SIGKILL mid-cycle, readers while the daemon writes,
secrets hunted everywhere. `make soak` runs the same tests longer (MEETQ_SOAK=1)."""

import json
import os
import random
import re
import signal
import sqlite3
import time

import pytest
import requests
from conftest import expected_quality, free_port, sim_post, sim_stats, stored_quality, wait_for, wait_for_progress

SOAK = os.environ.get("MEETQ_SOAK") == "1"
CHAOS_TARGET = 10_000 if SOAK else 1_000
KILLS = 200 if SOAK else 30

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def stop(child, timeout=60):
    child.send_signal(signal.SIGTERM)
    out, err = child.communicate(timeout=timeout)
    return child.returncode, out, err


def test_chaos_never_kills_the_daemon_and_loses_nothing(meetq, sim):
    meetq.login()
    # Small pages and a week's lookback make every cycle list page by page: many calls, fast.
    meetq.write_config(
        interval_seconds=1,
        quality_min_interval_seconds=1,
        request_timeout_seconds=0.15,
        max_retries=2,
        max_retry_after_seconds=1,
        default_retry_after_seconds=0.05,
        meetings_page_size=1,
        quality_page_size=2,
        lookback_hours=168.0,
        cycle_budget_seconds=60,
    )
    sim_post(
        sim,
        "/_sim/config",
        {
            "rate_limit_seconds": 1,
            "chaos_rate": 0.5,
            "chaos_delay": 0.2,
            "chaos_huge_bytes": 100_000,
            "chaos_retry_after": "0",
        },
    )
    daemon = meetq.popen("run")
    try:
        deadline = time.monotonic() + (3600 if SOAK else 240)
        while sum(sim_stats(sim)["chaos_served"].values()) < CHAOS_TARGET:
            assert daemon.poll() is None, "the daemon died"
            assert time.monotonic() < deadline, f"only {sim_stats(sim)['chaos_served']} chaotic answers in time"
            sim_post(sim, "/_sim/meetings", {"count": 1, "participants": 3})  # new work keeps arriving
            time.sleep(0.5)
        chaos = sim_stats(sim)["chaos_served"]
        sim_post(sim, "/_sim/config", {"chaos_rate": 0.0})
        wait_for(lambda: stored_quality(meetq) == expected_quality(sim), timeout=120, interval=1)
        assert daemon.poll() is None
    finally:
        code, out, err = stop(daemon)
    assert code == 0, err[-2000:]
    assert sum(chaos.values()) >= CHAOS_TARGET and len(chaos) == 13  # every kind of trouble was served
    # Stored exactly once: one row per session of the API, none twice.
    assert (
        meetq.scalar(
            "select count(*) - count(distinct meeting_id || participant_session_id || join_time) from media_sessions"
        )
        == 0
    )
    failures = meetq.sql("select sum(errors), sum(rate_limited), count(*) from collector_runs")[0]
    assert failures[0] > 0 and failures[1] > 0 and failures[2] > 20
    assert meetq.sql("pragma integrity_check") == [("ok",)]
    assert meetq.scalar("select count(*) from raw_responses where error is not null") > 0  # kept, with the reason


def test_sigkill_at_random_moments_loses_and_doubles_nothing(meetq, sim):
    # Answers take 50 ms, as real ones take longer: cycles last long enough to be killed in.
    sim_post(sim, "/_sim/config", {"rate_limit_seconds": 1, "latency": 0.05})
    meetq.login()
    meetq.write_config(quality_min_interval_seconds=1, interval_seconds=1, quality_page_size=2)
    moments = random.Random(42)
    mid_cycle = attempts = 0
    while mid_cycle < KILLS:
        attempts += 1
        assert attempts <= 3 * KILLS, f"only {mid_cycle} of {attempts} kills landed inside a cycle"
        sim_post(sim, "/_sim/meetings", {"count": 4, "participants": 6})  # new work for every run
        before = runs(meetq)
        child = meetq.popen("run")
        try:
            wait_for(lambda before=before: runs(meetq) > before, timeout=30, interval=0.02)
            time.sleep(moments.uniform(0.0, 0.5))  # a random moment of the cycle
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(10)
        mid_cycle += meetq.scalar("select outcome from collector_runs order by id desc limit 1") == "running"
    expected = expected_quality(sim)
    assert meetq.sql("pragma integrity_check") == [("ok",)]
    runs_before = meetq.scalar("select count(*) from collector_runs")
    final = meetq.popen("run")
    try:
        wait_for(
            lambda: (
                meetq.scalar(
                    "select count(*) from collector_runs where finished_at is not null and id > ?", runs_before
                )
                > 0
            ),
            timeout=60,
        )
        # The backlog grows with the kills (about 800 meetings in `make soak`): wait while it drains.
        wait_for_progress(
            lambda: stored_quality(meetq) == expected,
            lambda: meetq.sql(
                "select (select count(*) from media_samples), (select count(*) from meetings "
                "where quality_state in ('pending', 'partial', 'recheck'))"
            )[0],
        )
    finally:
        code, out, err = stop(final)
    assert code == 0, err[-2000:]
    assert meetq.sql("pragma integrity_check") == [("ok",)]
    assert meetq.scalar("select count(*) from media_sessions") == sum(s for s, _ in expected.values())
    assert meetq.scalar("select count(*) from collector_runs where outcome = 'crashed'") >= KILLS
    assert meetq.scalar("select count(*) from collector_runs where outcome = 'running'") == 0


def runs(meetq) -> int:
    try:
        return meetq.scalar("select count(*) from collector_runs")
    except sqlite3.OperationalError:  # no database, or no tables yet
        return 0


def test_readers_see_no_error_while_the_daemon_writes(meetq, sim):
    meetq.login()
    meetq.write_config(interval_seconds=1, quality_min_interval_seconds=1)
    sim_post(sim, "/_sim/config", {"rate_limit_seconds": 1})
    daemon = meetq.popen("run")
    port = free_port()
    viewer = meetq.popen("serve", "--port", str(port), "--wait", "60")  # started beside the collector
    base = f"http://127.0.0.1:{port}"
    queries = [
        "select count(*) from media_samples",
        "select verdict, count(*) from media_sessions group by 1",
        "select max(id) from collector_runs",
    ]
    errors, answers = [], 0
    try:
        wait_for(lambda: _up(base), timeout=30)
        deadline = time.monotonic() + (300 if SOAK else 15)
        while time.monotonic() < deadline:
            for sql in queries:
                response = requests.get(f"{base}/meetq.json", params={"sql": sql, "_shape": "array"}, timeout=10)
                answers += 1
                if response.status_code != 200:
                    errors.append(response.text[:200])
            page = requests.get(f"{base}/meetq/media_sessions.json", params={"_size": 5}, timeout=10)
            answers += 1
            if page.status_code != 200:
                errors.append(page.text[:200])
        samples = meetq.scalar("select count(*) from media_samples")
    finally:
        viewer.terminate()
        viewer.communicate(timeout=10)
        code, _, err = stop(daemon)
    assert errors == [] and answers > 100
    assert samples > 0 and code == 0


def _up(url):
    try:
        return requests.get(f"{url}/-/versions.json", timeout=1).ok
    except requests.ConnectionError:
        return False


def test_no_secret_in_any_log_traceback_database_or_viewer_answer(meetq, sim):
    sim_post(sim, "/_sim/config", {"access_lifetime": 2})
    meetq.login()
    meetq.write_config(token_refresh_margin_seconds=1)
    tokens = [json.loads(meetq.secrets.read_text())]
    meetq("collect")
    time.sleep(2.2)
    meetq("collect")  # a refresh
    tokens.append(json.loads(meetq.secrets.read_text()))
    sim_post(sim, "/_sim/faults", [{"path": "/access_token", "status": 500, "times": 2}])
    time.sleep(2.2)
    meetq("collect", check=False)  # a refresh that fails, logged with its traceback at debug level
    sim_post(sim, "/_sim/revoke", {})
    meetq("collect", check=False)  # invalid_grant
    tokens.append(json.loads(meetq.secrets.read_text()))
    secrets = {sim.config.client_secret} | {t[k] for t in tokens for k in ("access_token", "refresh_token")}
    port = free_port()
    viewer = meetq.popen("serve", "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _up(base), timeout=30)
        served = [
            requests.get(f"{base}/meetq/{table}.json", params={"_size": "max"}, timeout=10).text
            for table in ("collector_runs", "collector_state", "raw_bodies", "meetings")
        ]
        served.append(requests.get(f"{base}/-/dashboards/health", timeout=10).text)
    finally:
        viewer.terminate()
        out, err = viewer.communicate(timeout=10)
    haystack = "\n".join(meetq.logs + served + [out, err])
    database = meetq.everything_stored()
    assert '"token_refresh"' in haystack and "reauth_required" in haystack  # we did look at real logs
    for secret in secrets:
        assert secret not in haystack
        assert secret.encode() not in database


def test_ip_addresses_are_masked_before_anything_is_stored(meetq, sim):
    meetq.login()
    meetq("collect")
    database = meetq.everything_stored()
    # A /24 is what masking keeps ("203.0.113.*", or as a network "203.0.113.0/24"); a host address is not.
    host = rb"(?!0/24)\d"
    assert re.search(rb"203\.0\.113\." + host, database) is None
    assert re.search(rb"192\.168\.\d+\." + host, database) is None
    assert meetq.scalar("select count(*) from media_sessions where public_ip = '203.0.113.*'") > 0
    raw = meetq.scalar("select body from raw_bodies where endpoint = 'qualities' and status = 200 limit 1")
    assert '"publicIP": "203.0.113.*"' in raw


def test_no_ip_addresses_at_all_when_asked(meetq, sim):
    meetq.login()
    meetq("collect", env={"MEETQ_IP_ADDRESSES": "none"})
    assert (
        meetq.scalar(
            "select count(*) from media_sessions where coalesce(local_ip, public_ip, masked_local_ip, "
            "masked_public_ip) is not null"
        )
        == 0
    )
    assert "203.0.113." not in "".join(r[0] for r in meetq.sql("select body from raw_bodies"))
    # Where sessions were is kept, but not the /24 of an address no building file maps.
    assert meetq.sql("select distinct subnet from session_locations where status != 'mapped'") in ([("",)], [])


def test_a_token_file_others_can_read_is_refused(meetq):
    meetq.login()
    os.chmod(meetq.secrets, 0o644)
    result = meetq("collect", check=False)
    assert result.returncode == 1 and "chmod 600" in result.stderr
    assert meetq("run", check=False, timeout=30).returncode == 1
