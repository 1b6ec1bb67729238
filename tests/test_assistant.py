"""The bot answers people in their thread, through the daemon's real webhook receiver and the
simulator's spaces: `last` names the asker's own last meeting; forged deliveries get nothing, a
replayed one one answer; `person` is for the helpdesk only; a stranger to the organisation
learns nothing; a person asking too fast is told once to slow down; vendor text and the asker's
words make no Markdown of their own."""

import json
import signal

import pytest
import requests
from conftest import free_port
from meetq import markdown, packing
from meetq.assistant import PER_PERSON, REFUSED, SLOW_DOWN, Pace
from meetq.providers.webex.bot import command_of
from meetq.providers.webex.webhooks import SIGNATURE_HEADER, sign
from meetq.simulator.server import BOT, ROOMS

STRANGER = "sam@other-company.test"


def helpdesk(sim):
    return sim.org.people[-1].email


@pytest.fixture
def bot(meetq, sim):
    port = free_port()
    HELPDESK = helpdesk(sim)
    meetq.write_config(interval_seconds=3600)
    meetq.add_settings(
        f'[webhook]\nlisten = "127.0.0.1:{port}"\n[notify]\nbot_token = "{sim.config.bot_token}"\n'
        f'room_id = "{ROOMS[0]["id"]}"\nperson_askers = "{HELPDESK}"\ndigest_day = "off"\n'
        'disabled_rules = "quality collector"'
    )
    meetq.login()
    url = f"http://127.0.0.1:{port}/webex"
    assert "answers mentions through" in meetq("notify", "register", "--url", url).stdout
    meetq("notify", "register", "--url", url)  # again: the same webhook, not a second one
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
        "and s.verdict = 'poor' limit 1"
    )[0]
    said = sim.say(asker, "last")
    assert said["deliveries"] == [200]
    (answer,) = replies_to(sim, said["message"])
    assert answer["roomId"] == ROOMS[0]["id"] and f"**{markdown.text(title)}**" in answer["markdown"]
    assert "was poor" in answer["markdown"] and verdict == "poor"
    (again,) = replies_to(sim, sim.say(asker, "How was my call yesterday?")["message"])
    assert again["markdown"] == answer["markdown"]


def test_forged_and_replayed_deliveries(meetq, sim, bot):
    url, secret = bot
    said = sim.say("someone@example.com", "help")
    assert len(replies_to(sim, said["message"])) == 1
    envelope = json.dumps(
        {
            "id": "x",
            "resource": "messages",
            "event": "created",
            "data": {
                "id": said["message"],
                "roomId": ROOMS[0]["id"],
                "personId": "p",
                "personEmail": "someone@example.com",
            },
        }
    ).encode()
    forged = requests.post(url, data=envelope, headers={SIGNATURE_HEADER: sign("guessed", envelope)}, timeout=10)
    assert forged.status_code == 401
    replayed = requests.post(url, data=envelope, headers={SIGNATURE_HEADER: sign(secret, envelope)}, timeout=10)
    assert replayed.status_code == 200 and replayed.json()["status"] == "replay: already answered"
    assert len(replies_to(sim, said["message"])) == 1
    own = envelope.replace(b'"personId": "p"', f'"personId": "{BOT["id"]}"'.encode()).replace(
        b'"id": "sim', b'"id": "sim2'
    )
    ignored = requests.post(url, data=own, headers={SIGNATURE_HEADER: sign(secret, own)}, timeout=10)
    assert ignored.json()["status"] == "ignored: the bot's own message"


def test_person_is_for_the_helpdesk_and_nonsense_is_answered_politely(meetq, sim, bot):
    someone = meetq.scalar("select user_email from media_sessions limit 1")
    refused = sim.say(someone, f"person {someone}")
    assert "only for the helpdesk" in replies_to(sim, refused["message"])[0]["markdown"]
    allowed = sim.say(helpdesk(sim), f"person {someone}")
    assert f"The last sessions of {markdown.text(someone)}" in replies_to(sim, allowed["message"])[0]["markdown"]
    puzzled = sim.say(someone, "make me a sandwich")
    answer = replies_to(sim, puzzled["message"])[0]["markdown"]
    assert answer.startswith("Sorry, I don't understand that.") and "`last`" in answer and "sandwich" not in answer
    week = sim.say(someone, "week")
    assert "rated sessions were poor" in replies_to(sim, week["message"])[0]["markdown"]
    status = sim.say(someone, "status")  # the same words as `meetq health`
    assert replies_to(sim, status["message"])[0]["markdown"].startswith("The collector: last successful cycle ")


def test_a_stranger_to_the_organisation_learns_nothing(meetq, sim, bot):
    questions = ["week", "status", "last", "meeting %board%", "meeting _", f"person {STRANGER}"]
    assert len(questions) <= PER_PERSON  # within the pace: each is refused for who asks, not how fast
    for question in questions:
        said = sim.say(STRANGER, question)
        assert [m["markdown"] for m in replies_to(sim, said["message"])] == [REFUSED], question
    member = sim.say(sim.org.people[0].email, "status")  # the organisation's own people still get answers
    assert replies_to(sim, member["message"])[0]["markdown"].startswith("The collector: ")


def test_the_askers_wildcards_and_markup_are_only_letters(meetq, sim, bot):
    asker = sim.org.people[0].email
    hostile = "[Reset your password](https://evil.test/x) <@all> **now**"
    meeting = meetq.scalar("select id from meetings where title is not null limit 1")
    with packing.connect(meetq.database, timeout=30) as db:  # commits on leaving
        db.execute("update meetings set title = ? where id = ?", (hostile, meeting))
    answers = {}
    for question in ("meeting %", "meeting ___", "meeting %%%", "meeting Reset your", "meeting <@all>"):
        said = sim.say(asker, question)
        (answers[question],) = [m["markdown"] for m in replies_to(sim, said["message"])]
    assert "at least 3 letters" in answers["meeting %"]
    assert answers["meeting ___"].startswith("I found no meeting") and answers["meeting %%%"].startswith("I found no")
    found = answers["meeting Reset your"]
    assert found.startswith(r"**\[Reset your password\]\(https://evil.test/x\) \<\@all\> \*\*now\*\***")
    assert "](https://evil" not in found and "<@all>" not in found
    assert "<@all>" not in answers["meeting <@all>"]


def test_asking_too_fast_is_told_once_to_slow_down(meetq, sim, bot):
    asker = sim.org.people[1].email
    replies = [
        [m["markdown"] for m in replies_to(sim, sim.say(asker, "help")["message"])] for _ in range(PER_PERSON + 4)
    ]
    assert all(r and r[0].startswith("I answer questions") for r in replies[:PER_PERSON])
    assert replies[PER_PERSON] == [SLOW_DOWN] and replies[PER_PERSON + 1 :] == [[]] * 3
    other = sim.say(sim.org.people[2].email, "help")  # someone else in the space is still answered
    assert replies_to(sim, other["message"])[0]["markdown"].startswith("I answer questions")


def test_the_pace_is_per_person_and_per_space():
    pace = Pace(per_person=2, per_space=3, window=60)
    assert [pace.admit("a", "room") for _ in range(4)] == ["answer", "answer", "slow down", "ignore"]
    assert pace.admit("b", "room") == "answer"  # the space's third
    assert [pace.admit("c", "room"), pace.admit("d", "room")] == ["slow down", "ignore"]
    assert pace.admit("e", "another room") == "answer"
    quick = Pace(per_person=1, per_space=10, window=0.05)
    assert [quick.admit("a", "r"), quick.admit("a", "r")] == ["answer", "slow down"]
    import time

    time.sleep(0.12)
    assert quick.admit("a", "r") == "answer"  # the window passed: answered again, and warned again if need be


@pytest.mark.parametrize(
    "message, command",
    [
        (
            {
                "html": '<p><spark-mention data-object-type="person" data-object-id="B1">meetq</spark-mention>'
                " last</p>",
                "text": "meetq last",
            },
            "last",
        ),
        ({"text": "Meetq Bot meeting weekly sync"}, "meeting weekly sync"),  # the display name in front
        ({"text": "Meetq status"}, "status"),  # only its first name shown
        ({"text": "help"}, "help"),  # a 1:1 space: no mention at all
        ({"html": "<p>&lt;b&gt; week</p>"}, "<b> week"),
    ],
)
def test_the_mention_is_taken_off_whatever_the_client_sent(message, command):
    assert command_of(message, "B1", "Meetq Bot") == command


def test_a_meet_code_as_people_paste_it_finds_its_meeting(tmp_path):
    """Join codes are pasted with separators (eed-djmb-ane, 123 456 789); meetq keeps them without."""
    from meetq import assistant, models, providers
    from meetq.config import load_settings

    providers.open_database(tmp_path / "meetq.db")
    try:
        models.Meeting.insert_many(
            [
                {"id": f"meet:conference-{n}", "title": f"Meet {code}", "start": f"2026-12-0{n}T10:00:00.000Z"}
                | {"account": "gmeet", "provider": "google", "join_code": code}
                for n, code in ((1, "eeddjmbane"), (2, "abcdefghij"))
            ]
            + [{"id": "m_I_1", "title": "Weekly sync", "join_code": "123456789", "provider": "webex"}]
        ).execute()
        (tmp_path / "none.toml").write_text("")
        settings = load_settings(
            environ={
                "MEETQ_CONFIG": str(tmp_path / "none.toml"),
                "MEETQ_VIEWER_PUBLIC_URL": "https://meetq.example.com",
            }
        )
        for asked in ("meeting eed-djmb-ane", "meeting EED-DJMB-ANE", "meeting eeddjmbane"):
            answer = assistant.reply(asked, "someone@example.com", settings)
            assert answer.startswith("**Meet eeddjmbane**") and "meeting=meet%3Aconference-1" in answer, (asked, answer)
        assert assistant.reply("meeting xyz-wxyz-xyz", "someone@example.com", settings).startswith("I found no meeting")
        assert assistant.reply("meeting 123 456 789", "someone@example.com", settings).startswith("**Weekly sync**")
    finally:
        models.close_database()
