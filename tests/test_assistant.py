"""The bot answers people in their thread, through the daemon's real webhook receiver and the
simulator's spaces: `last` names the asker's own last meeting; forged deliveries get nothing, a
replayed one one answer; `person` is for the helpdesk only."""

import json
import signal

import pytest
import requests

from conftest import free_port
from meetq.providers.webex.bot import command_of
from meetq.providers.webex.webhooks import SIGNATURE_HEADER, sign
from meetq.simulator.server import BOT, ROOMS

HELPDESK = "helpdesk@example.com"


@pytest.fixture
def bot(meetq, sim):
    port = free_port()
    meetq.write_config(interval_seconds=3600)
    meetq.add_settings(f'[webhook]\nlisten = "127.0.0.1:{port}"\n[notify]\nbot_token = "{sim.config.bot_token}"\n'
                       f'room_id = "{ROOMS[0]["id"]}"\nperson_askers = "{HELPDESK}"\ndigest_day = "off"\n'
                       'disabled_rules = "quality collector"')
    meetq.login()
    url = f"http://127.0.0.1:{port}/webex"
    assert "answers mentions through" in meetq("notify", "register", "--url", url).stdout
    meetq("notify", "register", "--url", url)   # again: the same webhook, not a second one
    assert [h["resource"] for h in sim.webhooks.values()] == ["messages"]
    daemon = meetq.start_collector()
    yield url, json.loads((meetq.workdir / "secrets.bot-webhook.json").read_text())["secret"]
    daemon.send_signal(signal.SIGTERM)
    out, err = daemon.communicate(timeout=30)
    assert daemon.returncode == 0 and "Traceback" not in err


def replies_to(sim, message_id):
    with sim.lock:
        return [m for m in sim.messages.values() if m.get("parentId") == message_id and m["personId"] == BOT["id"]]


def test_last_gets_a_threaded_reply_naming_the_askers_last_meeting(meetq, sim, bot):
    asker, title, verdict = meetq.sql(
        "select s.user_email, m.title, s.verdict from media_sessions s join meetings m on m.id = s.meeting_id "
        "where s.join_time = (select max(join_time) from media_sessions x where x.user_email = s.user_email) "
        "and s.verdict = 'poor' limit 1")[0]
    said = sim.say(asker, "last")
    assert said["deliveries"] == [200]
    (answer,) = replies_to(sim, said["message"])
    assert answer["roomId"] == ROOMS[0]["id"] and f"**{title}**" in answer["markdown"]
    assert "was poor" in answer["markdown"] and verdict == "poor"


def test_forged_and_replayed_deliveries(meetq, sim, bot):
    url, secret = bot
    said = sim.say("someone@example.com", "help")
    assert len(replies_to(sim, said["message"])) == 1
    envelope = json.dumps({"id": "x", "resource": "messages", "event": "created",
                           "data": {"id": said["message"], "roomId": ROOMS[0]["id"],
                                    "personId": "p", "personEmail": "someone@example.com"}}).encode()
    forged = requests.post(url, data=envelope, headers={SIGNATURE_HEADER: sign("guessed", envelope)}, timeout=10)
    assert forged.status_code == 401
    replayed = requests.post(url, data=envelope, headers={SIGNATURE_HEADER: sign(secret, envelope)}, timeout=10)
    assert replayed.status_code == 200 and replayed.json()["status"] == "replay: already answered"
    assert len(replies_to(sim, said["message"])) == 1
    own = envelope.replace(b'"personId": "p"', f'"personId": "{BOT["id"]}"'.encode()).replace(b'"id": "sim', b'"id": "sim2')
    ignored = requests.post(url, data=own, headers={SIGNATURE_HEADER: sign(secret, own)}, timeout=10)
    assert ignored.json()["status"] == "ignored: the bot's own message"


def test_person_is_for_the_helpdesk_and_nonsense_is_answered_politely(meetq, sim, bot):
    someone = meetq.scalar("select user_email from media_sessions limit 1")
    refused = sim.say(someone, f"person {someone}")
    assert "only for the helpdesk" in replies_to(sim, refused["message"])[0]["markdown"]
    allowed = sim.say(HELPDESK, f"person {someone}")
    assert f"The last sessions of {someone}" in replies_to(sim, allowed["message"])[0]["markdown"]
    puzzled = sim.say(someone, "make me a sandwich")
    answer = replies_to(sim, puzzled["message"])[0]["markdown"]
    assert answer.startswith("Sorry, I don't understand “make me a sandwich”.") and "`last`" in answer
    week = sim.say(someone, "week")
    assert "rated sessions were poor" in replies_to(sim, week["message"])[0]["markdown"]
    status = sim.say(someone, "status")   # the same words as `meetq health`
    assert replies_to(sim, status["message"])[0]["markdown"].startswith("The collector: last successful cycle ")


@pytest.mark.parametrize("message, command", [
    ({"html": '<p><spark-mention data-object-type="person" data-object-id="B1">meetq</spark-mention> last</p>',
      "text": "meetq last"}, "last"),
    ({"text": "Meetq Bot meeting weekly sync"}, "meeting weekly sync"),   # the display name in front
    ({"text": "Meetq status"}, "status"),                                 # only its first name shown
    ({"text": "help"}, "help"),                                           # a 1:1 space: no mention at all
    ({"html": "<p>&lt;b&gt; week</p>"}, "<b> week"),
])
def test_the_mention_is_taken_off_whatever_the_client_sent(message, command):
    assert command_of(message, "B1", "Meetq Bot") == command
