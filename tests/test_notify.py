"""Alerts in a Webex space, against the simulator's bot, spaces and messages over real HTTP: one
message when an alert opens, nothing while it stays open (restarts included) until a reminder is
due, nothing when there is too little data to tell, one when it resolves on evidence; 429s
honoured; a bot that cannot post never stops collection."""

import json
import subprocess
import sys
import time
from datetime import datetime, timezone

from conftest import sim_post, sim_stats, wait_for
from meetq.providers.webex.bot import MAX_MARKDOWN_BYTES, split_markdown

ROOM = "sim-room-network-team"
VPN_ONLY = "172.16.0.0,Remote access VPN,16,VPN,Example AG,Virtual,,,,,,,1,0,1\n"
NOTHING_MAPPED = "10.99.0.0,unused,16,Nowhere,,,,,,,,,1,0,0\n"


def configure(meetq, **notify):
    """The bot of the simulator posting into its space; quality watched per building over the
    simulated week (its sessions are days old), the VPN's users being the ones with poor calls."""
    values = {
        "bot_token": meetq.sim.config.bot_token,
        "room_id": ROOM,
        "window_minutes": 8 * 24 * 60,
        "quality_groups": "building",
        "poor_pct": 50,
        "min_sessions": 3,
        "digest_day": "off",
        "disabled_rules": "jump collector",
        **notify,
    }
    meetq.write_config(interval_seconds=3600)
    meetq.add_settings("[notify]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in values.items()))


def posted(sim) -> list[str]:
    with sim.lock:
        return [m["markdown"] for m in sim.messages.values() if m["roomId"] == ROOM]


def buildings(meetq, text):
    (meetq.workdir / "b.csv").write_text(text)
    meetq("locations", "import", str(meetq.workdir / "b.csv"))


def notify_run(meetq, check=True):
    result = meetq("notify", "run", check=check)
    return json.loads(result.stdout) if result.returncode == 0 else result


def test_an_alert_opens_once_stays_quiet_through_restarts_and_resolves_once(meetq, sim):
    configure(meetq)
    meetq.login()
    meetq("collect")
    buildings(meetq, VPN_ONLY)
    assert notify_run(meetq)["posted"] == 1
    (opened,) = posted(sim)
    assert opened.startswith("🔴 **Poor quality, building: VPN**") and "% of" in opened and "rated sessions" in opened

    # The same condition: a second round, a daemon's round, and one after a restart post nothing.
    assert notify_run(meetq)["posted"] == 0
    for _ in range(2):  # a daemon, stopped and started again
        daemon = meetq.popen("run")
        wait_for(lambda daemon=daemon: "notify_round" in daemon.err_path.read_text(), timeout=60)
        daemon.terminate()
        daemon.communicate(timeout=30)
        assert daemon.returncode == 0
    assert posted(sim) == [opened]
    assert meetq.scalar("select count(*) from alerts") == 1

    # The VPN's sessions no longer in a building: not enough data to say, so nothing is posted and
    # the alert stays open (it used to "resolve", and reopen at the next round with data).
    buildings(meetq, NOTHING_MAPPED)
    answer = notify_run(meetq)
    assert answer["posted"] == 0 and answer["open"] == 1 and posted(sim) == [opened]
    assert answer["judged_with"]["min_sessions"].startswith("3 (")

    # A real recovery: the sessions are back, enough of them, and within the limit. One resolution
    # that gives the figures, then silence.
    buildings(meetq, VPN_ONLY)
    configure(meetq, poor_pct=100)
    assert notify_run(meetq)["posted"] == 1
    resolved = posted(sim)[-1]
    assert resolved.startswith("✅ **Resolved: Poor quality, building: VPN**") and "rated sessions poor" in resolved
    assert notify_run(meetq)["posted"] == 0 and len(posted(sim)) == 2
    assert meetq.sql("select notifications, resolved_at is not null from alerts") == [(2, 1)]


def test_an_open_alert_is_reminded_at_most_once_a_reminder_interval(meetq, sim):
    # 7.2 s: long enough that the second round (a process start, on a loaded machine) comes before it
    configure(meetq, remind_hours=0.002)
    meetq.login()
    meetq("collect")
    buildings(meetq, VPN_ONLY)
    notify_run(meetq)
    assert notify_run(meetq)["posted"] == 0
    time.sleep(7.5)
    assert notify_run(meetq)["posted"] == 1 and posted(sim)[-1].startswith("⏰ **Still: Poor quality, building: VPN**")
    assert notify_run(meetq)["posted"] == 0


def test_two_evaluators_at_once_post_each_alert_once(meetq, sim):
    configure(meetq, quality_groups="building network client", poor_pct=20, min_sessions=1)
    meetq.login()
    meetq("collect")
    buildings(meetq, VPN_ONLY)
    command = [sys.executable, "-m", "meetq.cli", "notify", "run"]
    runs = [
        subprocess.Popen(
            command, env=meetq.env, cwd=meetq.workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    results = [run.communicate(timeout=120) for run in runs]
    assert all(run.returncode == 0 for run in runs), results
    alerts = meetq.scalar("select count(*) from alerts")
    assert alerts >= 2 and len(posted(sim)) == alerts
    assert sum(json.loads(out)["posted"] for out, _ in results) == alerts
    # A group's alert leads to the poor sessions it counted: the group's, joined since its window began.
    links = [
        link for (link,) in meetq.sql("select link from alerts where rule = 'quality' and subject like 'network:%'")
    ]
    assert links and all("verdict=poor&network=" in link and "&joined__gte=20" in link for link in links), links


def test_a_429_is_waited_out_or_left_for_the_next_round(meetq, sim):
    configure(meetq)
    meetq.login()
    meetq("collect")
    buildings(meetq, VPN_ONLY)
    sim_post(sim, "/_sim/faults", [{"path": "/v1/messages", "status": 429, "retry_after": "1"}])
    waited = notify_run(meetq)
    assert waited["posted"] == 1 and len(posted(sim)) == 1, waited  # waited 1 s, then posted
    assert sim_stats(sim)["faults_served"] >= 1

    configure(meetq, poor_pct=100)  # recovered: the resolution is due
    sim_post(sim, "/_sim/faults", [{"path": "/v1/messages", "status": 429, "retry_after": "3600"}])
    first = notify_run(meetq)
    assert first["posted"] == 0 and "429" in first["failed"][0] and len(posted(sim)) == 1
    assert notify_run(meetq)["posted"] == 1 and posted(sim)[-1].startswith("✅")  # the next round delivers it


def test_a_bot_that_cannot_post_is_said_and_collection_goes_on(meetq, sim):
    configure(meetq, bot_token="a-regenerated-token")
    meetq.login()
    meetq("collect")
    buildings(meetq, VPN_ONLY)
    result = notify_run(meetq)
    assert result["posted"] == 0 and "401" in result["failed"][0]
    status = json.loads(meetq("status", "--json").stdout)["notify"]
    assert status["configured"] and "401" in status["last_error"] and status["open_alerts"] == 1
    assert meetq("collect").returncode == 0
    health = meetq("health")
    assert health.returncode == 0 and "alerts cannot be posted" in health.stdout + health.stderr
    assert "a-regenerated-token" not in "".join(meetq.logs)
    failed = meetq("notify", "test", check=False)
    last = failed.stderr.strip().splitlines()[-1]
    assert failed.returncode == 1 and last.startswith("meetq: Webex refused notify.bot_token (HTTP 401)")


def test_the_weekly_digest_is_posted_once_for_its_week(meetq, sim):
    today = datetime.now(timezone.utc).strftime("%A").lower()
    configure(meetq, digest_day=today, digest_time="00:00", disabled_rules="quality collector")
    meetq.login()
    meetq("collect")
    buildings(meetq, VPN_ONLY)
    assert notify_run(meetq)["posted"] == 1
    (digest,) = posted(sim)
    assert digest.startswith("**meetq: the 7 days ") and "rated sessions were poor" in digest
    assert "Worst meetings:" in digest
    assert "Worst buildings: VPN" in digest and "- Collector: last successful cycle" in digest
    assert notify_run(meetq)["posted"] == 0


def test_a_rule_can_have_a_space_of_its_own(meetq, sim):
    with sim.lock:  # a second space with the bot in it, for the collector's own trouble
        sim.rooms["sim-room-noc"] = {"id": "sim-room-noc", "title": "NOC", "type": "group", "bot_member": True}
    configure(
        meetq,
        rule_rooms="digest=sim-room-noc",
        digest_day=datetime.now(timezone.utc).strftime("%A").lower(),
        digest_time="00:00",
    )
    meetq.login()
    meetq("collect")
    buildings(meetq, VPN_ONLY)
    assert notify_run(meetq)["posted"] == 2
    with sim.lock:
        rooms = {m["roomId"]: m["text"][:12] for m in sim.messages.values()}
    assert rooms["sim-room-noc"].startswith("**meetq: the") and rooms[ROOM].startswith("🔴")


def test_rooms_and_a_test_message(meetq, sim):
    configure(meetq)
    rooms = meetq("notify", "rooms").stdout
    assert ROOM in rooms and "Network team" in rooms and "without the bot" not in rooms
    assert "posted into sim-room-network-team as meetq" in meetq("notify", "test").stdout
    configure(meetq, room_id="sim-room-elsewhere")
    refused = meetq("notify", "test", check=False)
    last = refused.stderr.strip().splitlines()[-1]
    assert refused.returncode == 1 and last.startswith("meetq: the bot cannot post into sim-room-elsewhere")


def test_long_messages_are_split_within_the_limit():
    text = "\n".join(f"- line {n}: " + "é" * 90 for n in range(300))
    parts = split_markdown(text)
    assert len(parts) > 1 and all(len(p.encode()) <= MAX_MARKDOWN_BYTES for p in parts)
    assert "".join(parts) == text
    one_long_line = "x" * (3 * MAX_MARKDOWN_BYTES)
    assert [len(p) for p in split_markdown(one_long_line)] == [MAX_MARKDOWN_BYTES] * 3
