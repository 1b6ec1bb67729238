"""The real `meetq` CLI against the simulator over loopback: login, collect, restart, token
expiry and rotation, invalid_grant, 429, 5xx, paging, idempotence. (SIGKILL mid-cycle is in
test_reliability.py.)"""

import json
import os
import signal
import stat
import time

import pytest
import requests
from conftest import expected_quality, sim_post, sim_stats, stored_quality, wait_for

pytestmark = pytest.mark.e2e


def quality_calls(sim):
    return sum(len(v) for v in sim_stats(sim)["quality_calls"].values())


def test_login_through_the_real_redirect_stores_a_private_token_file(meetq):
    consent = meetq.login()
    assert consent.status_code == 200 and "meetq is authorised" in consent.text
    mode = stat.S_IMODE(os.stat(meetq.secrets).st_mode)
    assert mode == 0o600
    tokens = json.loads(meetq.secrets.read_text())
    assert tokens["access_token"].startswith("SIMAT-") and tokens["refresh_token"].startswith("SIMRT-")
    assert tokens["identity"]["emails"] == ["admin@example.com"]
    status = meetq("auth", "status")
    assert "admin@example.com" in status.stdout and "usable" in status.stdout
    assert tokens["access_token"] not in status.stdout + status.stderr


def test_login_rejects_a_wrong_state(meetq):
    child, _ = meetq.start_login("--no-browser", "--timeout", "20")
    redirect = meetq.env["MEETQ_WEBEX_REDIRECT_URI"]
    answer = requests.get(f"{redirect}?code=x&state=forged", timeout=5)
    out, err = child.communicate(timeout=20)
    assert answer.status_code == 400
    assert child.returncode == 1 and "state does not match" in err
    assert not meetq.secrets.exists()


def test_login_reports_a_refused_consent(meetq, sim):
    sim_post(sim, "/_sim/config", {"authorize_error": "access_denied"})
    child, url = meetq.start_login("--no-browser", "--timeout", "20")
    requests.get(url, timeout=5)
    out, err = child.communicate(timeout=20)
    assert child.returncode == 1 and "access_denied" in err


def test_collect_stores_everything_and_a_second_run_calls_nothing_again(meetq, sim):
    meetq.login()
    first = json.loads(meetq("collect").stdout)
    expected = expected_quality(sim)
    assert first["outcome"] == "ok" and first["meetings_new"] == len(expected) > 20
    assert stored_quality(meetq) == expected
    calls_after_first = quality_calls(sim)
    assert calls_after_first == len(expected)  # exactly one qualities call per (single-page) meeting

    second = json.loads(meetq("collect").stdout)
    assert second["outcome"] == "ok" and second["quality_calls"] == 0 and second["meetings_new"] == 0
    assert quality_calls(sim) == calls_after_first
    assert stored_quality(meetq) == expected
    assert meetq.scalar("select count(*) from collector_runs where outcome = 'ok'") == 2
    assert meetq.scalar("select count(*) from meetings where quality_state not in ('done', 'recheck')") == 0


def test_expiry_across_cycles_refreshes_and_persists_the_rotated_token(meetq, sim):
    sim_post(sim, "/_sim/config", {"access_lifetime": 3})
    meetq.login()
    before = json.loads(meetq.secrets.read_text())
    meetq.write_config(token_refresh_margin_seconds=1)
    meetq("collect")
    time.sleep(3.2)  # whatever the first cycle did, the access token is now expired
    grants = sim_stats(sim)["token_grants"].get("refresh_token", 0)
    sim_post(sim, "/_sim/meetings", {"count": 2})
    result = json.loads(meetq("collect").stdout)
    after = json.loads(meetq.secrets.read_text())
    assert result["outcome"] == "ok" and result["meetings_new"] == 2
    assert sim_stats(sim)["token_grants"]["refresh_token"] == grants + 1
    assert after["refresh_token"] != before["refresh_token"]  # rotation persisted
    assert before["refresh_token"] not in sim.refresh  # the old one is dead server-side
    assert stat.S_IMODE(os.stat(meetq.secrets).st_mode) == 0o600


def test_a_401_mid_cycle_refreshes_once_and_retries(meetq, sim):
    meetq.login()
    # The access token dies server-side while the file still believes it valid.
    sim.access.clear()
    result = json.loads(meetq("collect").stdout)
    assert result["outcome"] == "ok" and result["meetings_new"] > 0
    assert sim_stats(sim)["token_grants"]["refresh_token"] == 1


def test_refresh_token_kept_when_the_answer_omits_it(meetq, sim):
    sim_post(sim, "/_sim/config", {"access_lifetime": 1, "rotate_refresh": False, "omit_refresh_in_response": True})
    meetq.login()
    refresh = json.loads(meetq.secrets.read_text())["refresh_token"]
    meetq.write_config(token_refresh_margin_seconds=0.5)
    time.sleep(1.1)
    assert json.loads(meetq("collect").stdout)["outcome"] == "ok"
    assert json.loads(meetq.secrets.read_text())["refresh_token"] == refresh


@pytest.mark.parametrize("shape", ["rfc", "webex"])
def test_invalid_grant_requires_reauthorisation_and_stops_calling_the_token_endpoint(meetq, sim, shape):
    sim_post(sim, "/_sim/config", {"access_lifetime": 1, "grant_error_shape": shape})
    meetq.login()
    meetq.write_config(token_refresh_margin_seconds=0.5)
    sim_post(sim, "/_sim/revoke", {})
    time.sleep(1.1)
    failed = meetq("collect", check=False)
    assert failed.returncode == 1 and json.loads(failed.stdout)["outcome"] == "reauth_required"
    assert "meetq auth login" in failed.stdout
    grants = sim_stats(sim)["token_grants"]["refresh_token"]
    assert grants == 1
    again = meetq("collect", check=False)
    assert json.loads(again.stdout)["outcome"] == "reauth_required"
    assert sim_stats(sim)["token_grants"]["refresh_token"] == grants  # no further refresh attempts
    assert meetq("auth", "status", check=False).returncode == 1
    runs = meetq.sql("select outcome, message from collector_runs order by id")
    assert [r[0] for r in runs] == ["reauth_required", "reauth_required"]
    assert "invalid_grant" in runs[0][1]
    # A fresh login writes a new token file and collection resumes.
    sim.revoked = False
    meetq.login()
    assert json.loads(meetq("collect").stdout)["outcome"] == "ok"


def test_per_meeting_429_defers_and_a_refused_later_page_resumes_from_its_offset(meetq, sim):
    sim_post(sim, "/_sim/config", {"pages_count": True, "rate_limit_seconds": 2})
    meetq.login()
    meetq.write_config(quality_page_size=2, quality_min_interval_seconds=2)
    first = json.loads(meetq("collect").stdout)
    assert first["rate_limited"] > 0  # page 2 of every multi-page meeting was refused
    partial = meetq.scalar("select count(*) from meetings where quality_state = 'partial'")
    assert partial > 0
    assert meetq.scalar("select count(*) from media_sessions") > 0  # page 1s are kept
    for _ in range(6):
        time.sleep(2.1)
        meetq("collect")
        if meetq.scalar("select count(*) from meetings where quality_state in ('pending', 'partial')") == 0:
            break
    assert stored_quality(meetq) == expected_quality(sim)
    # A refused page is left for a later cycle, never asked again at once: no meeting saw three
    # qualities calls within the 2 s limit (a page, the refused next one, and a retry).
    for meeting_id, calls in sim_stats(sim)["quality_calls"].items():
        assert all(later - first_call >= 2.0 for first_call, later in zip(calls, calls[2:])), (meeting_id, calls)
    raw_429 = meetq.scalar("select count(*) from raw_responses where status = 429")
    assert raw_429 >= first["rate_limited"]


def test_5xx_bursts_and_timeouts_are_retried(meetq, sim):
    meetq.login()
    sim_post(
        sim,
        "/_sim/faults",
        [
            {"path": "/meetings", "status": 503, "times": 2},
            {"path": "/meeting/qualities", "status": 500, "times": 3},
            {
                "path": "/meeting/qualities",
                "status": 502,
                "times": 1,
                "body": "<html>bad gateway</html>",
                "content_type": "text/html",
            },
            {
                "path": "/meeting/qualities",
                "status": 200,
                "times": 1,
                "body": '{"items": [',
                "content_type": "application/json",
            },
        ],
    )
    result = json.loads(meetq("collect", check=False).stdout)
    assert result["errors"] == 1  # the truncated body: stored, logged, retried later
    assert meetq.scalar("select count(*) from raw_responses where error like '%not JSON%'") == 1
    assert meetq.scalar("select count(*) from raw_responses where status in (500, 502, 503)") == 6
    meetq.write_config(quality_min_interval_seconds=0)
    assert json.loads(meetq("collect").stdout)["outcome"] == "ok"
    assert stored_quality(meetq) == expected_quality(sim)


def test_pagination_across_windows_with_dropped_filters(meetq, sim):
    sim_post(sim, "/_sim/config", {"drop_params_in_next": True})
    meetq.login()
    meetq.write_config(window_hours=13.0, meetings_page_size=3)
    result = json.loads(meetq("collect").stdout)
    visible = {m.id for m in sim.visible_meetings()}
    stored = {row[0] for row in meetq.sql("select id from meetings")}
    assert stored == visible and result["meetings_listed"] == len(visible)
    listing_pages = sim_stats(sim)["calls"]["/v1/meetings"]
    assert listing_pages > 13  # 13 windows over 7 days, several pages each
    assert meetq.scalar("select count(*) from raw_bodies where endpoint = 'meetings'") == listing_pages
    raw = "".join(r[0] for r in meetq.sql("select body from raw_bodies where endpoint = 'meetings'"))
    assert '"password"' not in raw and '"hostKey"' not in raw
    # Long meetings are filed under their start; the lookback still finds them on later runs.
    assert any((m.end - m.start).total_seconds() >= 4 * 3600 for m in sim.visible_meetings() if m.id in stored)


def test_restart_is_idempotent(meetq, sim):
    meetq.login()
    meetq("collect")
    dump = meetq.sql("select * from media_samples order by stream_id, idx")
    # Re-ingesting every stored page changes nothing.
    bodies = meetq.sql("select meeting_id, body from raw_bodies where endpoint = 'qualities' and status = 200")
    for meeting_id, body in bodies[:5]:
        path = meetq.workdir / "page.json"
        path.write_text(body)
        assert "Stored 0 new or changed sessions" in meetq("load", str(path), "--meeting-id", meeting_id).stdout
    assert meetq.sql("select * from media_samples order by stream_id, idx") == dump


def test_a_second_collector_on_the_same_database_is_refused(meetq):
    meetq.login()
    first = meetq.popen("run")
    try:
        wait_for(lambda: meetq.database.exists() and meetq.scalar("select count(*) from collector_runs") > 0)
        second = meetq("run", check=False, timeout=30)
        assert second.returncode == 1 and "another collector is running" in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=30)
    assert first.returncode == 0


def test_headless_login_by_pasting_the_redirected_url(meetq, sim):
    child, url = meetq.start_login("--paste")
    # The person's browser is redirected somewhere nothing listens; they copy the address.
    redirected = requests.get(url, allow_redirects=False, timeout=5).headers["Location"]
    out, err = child.communicate(redirected + "\n", timeout=30)
    assert child.returncode == 0, err
    assert "Authorised as admin@example.com" in out
    assert stat.S_IMODE(os.stat(meetq.secrets).st_mode) == 0o600


def test_refresh_token_near_its_end_is_warned_about(meetq, sim):
    sim_post(sim, "/_sim/config", {"refresh_lifetime": 10 * 86400})
    meetq.login()
    result = json.loads(meetq("collect").stdout)
    assert result["outcome"] == "ok"
    assert any("refresh token expires" in m for m in result["messages"])
    assert "run `meetq auth login` before then" in meetq.scalar("select message from collector_runs")
    assert meetq.scalar("select value from collector_state where key = 'auth.refresh_expires_at'")


def test_a_recent_meeting_is_fetched_once_more_after_the_recheck_delay(meetq, sim):
    meetq.login()
    meetq.write_config(recheck_after_minutes=0.05, quality_min_interval_seconds=0)
    meetq("collect")  # the week's backlog, all long past their recheck time
    sim_post(sim, "/_sim/config", {"rate_limit_seconds": 0, "visibility_delay": 0})
    meeting_id = sim_post(sim, "/_sim/meetings", {"count": 1})["ids"][0]  # ended just now
    meetq("collect")
    assert meetq.sql("select quality_state, quality_passes from meetings where id = ?", meeting_id) == [("recheck", 1)]
    time.sleep(3.2)
    meetq("collect")
    assert meetq.sql("select quality_state, quality_passes from meetings where id = ?", meeting_id) == [("done", 2)]
    assert len(sim_stats(sim)["quality_calls"][meeting_id]) == 2
    meetq("collect")
    assert len(sim_stats(sim)["quality_calls"][meeting_id]) == 2  # done means done


def test_a_slow_answer_times_out_and_is_retried(meetq, sim):
    meetq.login()
    # 2 s: a loaded CI machine's ordinary answers come well within it; the slow one takes 4
    meetq.write_config(request_timeout_seconds=2.0)
    sim_post(sim, "/_sim/faults", [{"path": "/meeting/qualities", "status": 200, "delay": 4.0, "times": 1}])
    result = json.loads(meetq("collect").stdout)
    assert result["outcome"] == "ok"
    assert stored_quality(meetq) == expected_quality(sim)
    assert any('"request_retry"' in text and "timeout" in text for text in meetq.logs)


def test_legacy_field_names_from_the_api_are_stored_the_same_way(meetq, sim):
    sim_post(sim, "/_sim/config", {"legacy_names": True})
    meetq.login()
    meetq("collect")
    assert stored_quality(meetq) == expected_quality(sim)
    assert meetq.scalar("select count(*) from media_sessions where user_email is null or join_time is null") == 0
    assert meetq.scalar("select count(distinct legacy_fields) from webex_sessions") == 1


def test_personal_access_token_mode_collects_then_says_clearly_when_it_dies(meetq, sim):
    token = sim.issue_tokens(sim.config.client_id, "admin-person", "")["access_token"]
    env = {"MEETQ_WEBEX_ACCESS_TOKEN": token, "MEETQ_WEBEX_CLIENT_SECRET": ""}
    first = json.loads(meetq("collect", env=env).stdout)
    assert first["outcome"] == "ok" and first["meetings_new"] > 0
    assert not meetq.secrets.exists()  # nothing to store: no token file in this mode
    assert "Personal access token mode" in meetq("auth", "status", env=env).stdout
    sim.access.clear()  # the 12 hours are over
    sim_post(sim, "/_sim/meetings", {"count": 1})
    dead = meetq("collect", env=env, check=False)
    report = json.loads(dead.stdout)
    assert dead.returncode == 1 and report["outcome"] == "error"
    assert "personal access token" in report["messages"][0] and "integration" in report["messages"][0]
    assert token not in dead.stdout + dead.stderr
    assert sim_stats(sim)["token_grants"].get("refresh_token", 0) == 0
