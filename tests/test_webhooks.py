"""Webhooks, several organisations and personal tokens, through the real CLI and daemon over loopback."""

import json
import re
import signal
import stat
import time
from pathlib import Path

import pytest
import requests
from conftest import SMALL_ORG, free_port, sim_post, sim_stats, wait_for
from meetq.providers.webex.webhooks import SIGNATURE_HEADER, sign
from meetq.simulator import SimConfig, Simulator


def counts(meetq):
    return {
        t: meetq.scalar(f"select count(*) from {t}")
        for t in ("meetings", "raw_responses", "media_sessions", "media_samples", "collector_state")
    }


def test_a_signed_webhook_brings_quality_at_once_and_forgeries_change_nothing(meetq, sim):
    port = free_port()
    receiver = f"http://127.0.0.1:{port}/webex"
    meetq.write_config(interval_seconds=3600)
    meetq.add_settings(f'[webhook]\nlisten = "127.0.0.1:{port}"\nfetch_delay_seconds = 0.2')
    meetq.login()

    meetq("webhook", "register", "--url", receiver)
    registration = meetq.workdir / "secrets.webhook.json"
    assert stat.S_IMODE(registration.stat().st_mode) == 0o600
    first_id = json.loads(registration.read_text())["id"]
    meetq("webhook", "register", "--url", receiver)  # again: the same webhook, updated, not a second one
    assert list(sim.webhooks) == [first_id] and sim.webhooks[first_id]["ownedBy"] == "org"
    secret = json.loads(registration.read_text())["secret"]
    listed = json.loads(meetq("webhook", "list").stdout)
    assert [w["id"] for w in listed] == [first_id] and listed[0]["ours"] and "secret" not in listed[0]

    daemon = meetq.popen("run")
    try:
        wait_for(lambda: meetq.scalar("select count(*) from collector_runs where outcome = 'ok'") == 1)
        # A meeting ends now: the listing will not show it for 15 minutes, the webhook tells at once.
        (meeting,) = sim_post(sim, "/_sim/meetings", {"count": 1, "ended_ago_seconds": 0})["ids"]
        wait_for(
            lambda: meetq.scalar("select count(*) from media_sessions where meeting_id = ?", meeting) > 0, timeout=20
        )
        assert meeting not in {m.id for m in sim.visible_meetings()}
        assert [d[2] for d in sim_stats(sim)["webhook_deliveries"] if d[0] == meeting] == [200]
        assert len(sim_stats(sim)["quality_calls"][meeting]) == 1
        assert (
            meetq.scalar("select trigger from collector_runs where id = (select max(id) from collector_runs)")
            == "webhook"
        )
        expected_sessions = len(sim.org.quality_items(sim.org.meetings[meeting]))
        assert meetq.scalar("select count(*) from media_sessions where meeting_id = ?", meeting) == expected_sessions

        # Forged, unsigned and replayed deliveries change nothing.
        before = counts(meetq)
        forged = json.dumps({"resource": "meetings", "event": "ended", "data": {"id": "forged_I_1"}}).encode()
        assert requests.post(receiver, data=forged, timeout=5).status_code == 401
        assert (
            requests.post(
                receiver, data=forged, headers={SIGNATURE_HEADER: sign("guess", forged)}, timeout=5
            ).status_code
            == 401
        )
        assert counts(meetq) == before
        signed = json.dumps(
            {
                "id": first_id,
                "resource": "meetings",
                "event": "ended",
                "data": {"id": meeting, "meetingType": "meeting"},
            }
        ).encode()
        for _ in range(2):
            answer = requests.post(receiver, data=signed, headers={SIGNATURE_HEADER: sign(secret, signed)}, timeout=5)
            assert answer.status_code == 200
        assert answer.json()["status"] == "replay: already received"
        after = counts(meetq)
        assert after["raw_responses"] == before["raw_responses"] + 1  # the delivery itself, once
        assert {k: v for k, v in after.items() if k != "raw_responses"} == {
            k: v for k, v in before.items() if k != "raw_responses"
        }
        assert len(sim_stats(sim)["quality_calls"][meeting]) == 1

        # Signed bodies meetq cannot use: 400 (Webex does not deliver those again), nothing stored,
        # no traceback. Fields of the wrong type count as absent; addresses in any field are masked.
        def deliver(body: bytes):
            return requests.post(receiver, data=body, headers={SIGNATURE_HEADER: sign(secret, body)}, timeout=10)

        before = counts(meetq)
        deep = b'{"resource": "meetings", "data": ' + b"[" * 200_000 + b"]" * 200_000 + b"}"
        assert [deliver(body).status_code for body in (deep, b"[1, 2]", b"not json")] == [400, 400, 400]
        assert counts(meetq) == before
        odd = json.dumps(
            {
                "id": "odd-1",
                "resource": "meetings",
                "event": "ended",
                "orgId": "from 198.51.100.77",
                "data": {
                    "id": "odd_I_1",
                    "meetingType": "meeting",
                    "title": ["a", "list"],
                    "start": {"no": "time"},
                    "end": 7,
                    "hostIp": "203.0.113.99",
                },
            }
        ).encode()
        assert deliver(odd).json()["status"] == "queued"
        assert meetq.sql("select title, start from meetings where id = 'odd_I_1'") == [(None, None)]
        stored = meetq.scalar("select body from raw_bodies where endpoint = 'webhook' and meeting_id = 'odd_I_1'")
        assert '"hostIp": "203.0.113.*"' in stored and '"orgId": "from 198.51.100.*"' in stored
    finally:
        daemon.send_signal(signal.SIGTERM)
        out, err = daemon.communicate(timeout=30)
    assert daemon.returncode == 0 and "Traceback" not in out + err
    assert "webhook_rejected" in err and secret not in out + err

    meetq("webhook", "delete")
    assert sim.webhooks == {} and not registration.exists()


@pytest.fixture
def second_org():
    simulator = Simulator(
        SimConfig(**{**SMALL_ORG, "seed": 99}, client_id="emea-client", client_secret="emea-secret")
    ).start()
    yield simulator
    simulator.stop()


def test_two_organisations_land_in_one_database_and_one_revoked_leaves_the_other(meetq, sim, second_org):
    meetq.add_settings(f"""
[[accounts]]
name = "emea"
client_id = "emea-client"
client_secret = "emea-secret"
api_base = "{second_org.api_base}"
analytics_base = "{second_org.analytics_base}"
""")
    meetq.login()
    child, url = meetq.start_login("--no-browser", "--timeout", "30", "--account", "emea")
    requests.get(url, timeout=10)
    child.communicate(timeout=30)
    assert child.returncode == 0
    assert stat.S_IMODE((meetq.workdir / "secrets.emea.json").stat().st_mode) == 0o600

    result = json.loads(meetq("collect").stdout)
    assert result["outcome"] == "ok" and set(result["accounts"]) == {"default", "emea"}
    stored = dict(meetq.sql("select account, group_concat(id) from meetings group by account"))
    assert set(stored["default"].split(",")) == {m.id for m in sim.visible_meetings()}
    assert set(stored["emea"].split(",")) == {m.id for m in second_org.visible_meetings()}
    assert (
        meetq.scalar(
            "select count(*) from media_sessions s join meetings m on m.id = s.meeting_id where s.account != m.account"
        )
        == 0
    )
    assert meetq.scalar("select count(distinct account) from media_sessions") == 2
    assert meetq.scalar("select count(distinct account) from collector_runs") == 2

    sim_post(second_org, "/_sim/revoke", {})
    second_org.config.access_lifetime = 0  # and its access tokens die: only a refresh could help
    (new_default,) = sim_post(sim, "/_sim/meetings", {"count": 1})["ids"]
    sim_post(second_org, "/_sim/meetings", {"count": 1})
    again = meetq("collect", check=False)
    report = json.loads(again.stdout)
    assert again.returncode == 1 and report["outcome"] == "partial"
    assert (
        report["accounts"]["default"]["outcome"] == "ok" and report["accounts"]["emea"]["outcome"] == "reauth_required"
    )
    assert meetq.scalar("select account from meetings where id = ?", new_default) == "default"
    assert meetq.scalar("select count(*) from media_sessions where meeting_id = ?", new_default) > 0
    status = meetq("auth", "status", "--account", "emea", check=False)
    assert status.returncode == 1 and "RE-AUTHORISATION REQUIRED" in status.stdout
    assert meetq("auth", "status").returncode == 0


def test_a_personal_token_is_checked_at_start_and_expires_cleanly(meetq, sim):
    bogus = meetq("--token", "not-a-real-token", "run", check=False, timeout=60)
    said = [line for line in bogus.stderr.splitlines() if line.strip()]
    assert bogus.returncode == 1 and len(said) == 1 and bogus.stdout == "", (bogus.stdout, bogus.stderr)
    assert said[0].startswith("meetq: Webex refused the personal access token")
    assert "not-a-real-token" not in bogus.stdout + bogus.stderr
    # A token that was never valid is refused as that, not as an expired one.
    collected = meetq("--token", "not-a-real-token", "collect", check=False, timeout=60)
    message = json.loads(collected.stdout)["messages"][0]
    assert message.startswith("Webex refused the personal access token") and "Expired" not in message
    # The README section it names is there to read.
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    section = message.split('README, "')[1].split('"')[0]
    assert re.search(rf"^#+ (\d+\. )?{re.escape(section)}$", readme, flags=re.M), section

    token = sim.issue_tokens(sim.config.client_id, "admin-person", "")["access_token"]
    meetq.add_settings("[webex]\npersonal_token_hours = 0.0008")  # about 3 seconds, from its first use
    env = {"MEETQ_WEBEX_CLIENT_SECRET": ""}
    first = json.loads(meetq("--token", token, "collect", env=env).stdout)
    assert first["outcome"] == "ok" and first["meetings_new"] > 0
    assert meetq.scalar("select value from collector_state where key = 'auth.access_expires_at'")
    time.sleep(3.2)
    calls = sim_stats(sim)["calls"]
    sim_post(sim, "/_sim/meetings", {"count": 1})
    expired = meetq("--token", token, "collect", env=env, check=False)
    report = json.loads(expired.stdout)
    assert expired.returncode == 1 and report["outcome"] == "error"
    assert "expired at" in report["messages"][0] and "integration" in report["messages"][0]
    assert sim_stats(sim)["calls"] == {
        **calls,
        "/_sim/meetings": calls.get("/_sim/meetings", 0) + 1,
        "/_sim/stats": calls.get("/_sim/stats", 0) + 1,
    }
    assert token not in expired.stdout + expired.stderr
