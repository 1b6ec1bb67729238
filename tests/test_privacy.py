"""What meetq keeps of people is theirs to keep private: no address in any stored body beyond what
`privacy.ip_addresses` allows (known fields or not), the database readable by its owner alone, a
token file others can read refused everywhere, and no process given a secret it does not need."""

import json
import os
import stat

import pytest
import responses
from meetq.demo import COLLECTOR_SECRETS, demo_environment, viewer_environment
from meetq.privacy import mask_addresses

DATA = os.path.join(os.path.dirname(__file__), "data")


@pytest.mark.parametrize(
    "text, masked, dropped",
    [
        ('{"clientIp": "203.0.113.7"}', '{"clientIp": "203.0.113.*"}', '{"clientIp": "*"}'),
        (
            '{"note": "via 10.1.2.3 and [2001:db8:1:2::5]:443"}',
            '{"note": "via 10.1.2.* and [2001:db8:1:*]:443"}',
            '{"note": "via * and [*]:443"}',
        ),
        (
            '{"x": "::ffff:192.0.2.1", "y": "fe80::1%eth0"}',
            '{"x": "192.0.2.*", "y": "fe80:0:0:*"}',
            '{"x": "*", "y": "*"}',
        ),
        ("Gateway error from 198.51.100.23", "Gateway error from 198.51.100.*", "Gateway error from *"),
    ],
)
def test_every_address_in_a_body_is_masked_or_dropped(text, masked, dropped):
    assert mask_addresses(text, "masked") == masked and mask_addresses(text, "none") == dropped
    assert mask_addresses(text, "full") == text
    assert mask_addresses(masked, "masked") == masked  # masking twice changes nothing


def test_what_only_looks_like_an_address_is_left_alone():
    text = (
        '{"clientVersion": "44.10.2.31", "osBuild": "10.0.2.5", "at": "2026-11-29T08:47:15.139Z", '
        '"clock": "12:34:56", "mac": "aa:bb:cc:dd:ee:ff", "code": "std::string", "ratio": "1.2.3.4.5", '
        '"big": "300.1.2.3", "loss": [1.5, 2.25]}'
    )
    assert mask_addresses(text, "none") == text


def load_with_addresses(meetq, tmp_path, mode):
    """The Webex spec's qualities example with addresses where meetq has no field for them."""
    document = json.load(open(os.path.join(DATA, "qualities_spec_example.json")))
    document["items"][0].update(clientIp="198.51.100.77", diagnostics="relay 203.0.113.201, v6 2001:db8:aa:bb::9")
    path = tmp_path / f"extra-{mode}.json"
    path.write_text(json.dumps(document))
    meetq("load", str(path), env={"MEETQ_IP_ADDRESSES": mode})
    return document["items"][0]


@pytest.mark.parametrize("mode", ["masked", "none"])
def test_no_stored_body_keeps_an_address_privacy_does_not_allow(meetq, tmp_path, mode):
    item = load_with_addresses(meetq, tmp_path, mode)
    stored = meetq.everything_stored()
    for address in ("198.51.100.77", "203.0.113.201", "2001:db8:aa:bb::9", item["localIP"], item["publicIP"]):
        assert address.encode() not in stored, address
    body = meetq.scalar("select body from raw_bodies where endpoint = 'qualities'")
    if mode == "masked":
        assert '"clientIp": "198.51.100.*"' in body and "relay 203.0.113.*, v6 2001:db8:aa:*" in body
    else:
        assert '"clientIp": "*"' in body and "relay *, v6 *" in body
    assert f'"clientVersion": "{item["clientVersion"]}"' in body  # a version is no address


def test_the_database_and_its_copies_are_the_owners_alone(meetq, tmp_path):
    meetq.login()
    meetq("collect")
    files = [meetq.database, *(meetq.database.with_name(meetq.database.name + s) for s in ("-wal", "-shm"))]
    modes = {f.name: stat.S_IMODE(f.stat().st_mode) for f in files if f.exists()}
    assert modes and set(modes.values()) == {0o600}, modes
    (tmp_path / "copies").mkdir()
    meetq("backup", str(tmp_path / "copies" / "backup.db"))
    assert stat.S_IMODE((tmp_path / "copies" / "backup.db").stat().st_mode) == 0o600
    os.chmod(meetq.database, 0o644)  # a file from an older release, or copied in by hand
    meetq("collect")
    assert stat.S_IMODE(meetq.database.stat().st_mode) == 0o600


def test_auth_status_refuses_a_token_file_others_can_read(meetq):
    meetq.login()
    assert meetq("auth", "status").returncode == 0
    os.chmod(meetq.secrets, 0o644)
    status = meetq("auth", "status", check=False)
    collect = meetq("collect", check=False)
    assert status.returncode == 1 and f"chmod 600 {meetq.secrets}" in status.stdout
    assert collect.returncode != 0 and f"chmod 600 {meetq.secrets}" in collect.stderr


def test_the_demo_gives_the_viewer_no_secret_of_the_collector_or_the_bot(tmp_path):
    class Sim:
        api_base = analytics_base = "http://127.0.0.1:1"
        config = type("C", (), {"client_id": "id", "client_secret": "collector-secret", "bot_token": "bot-token"})

    environment = demo_environment(Sim, tmp_path, 60, 8001)
    assert {"MEETQ_WEBEX_CLIENT_SECRET", "MEETQ_NOTIFY_BOT_TOKEN"} <= set(environment)
    given = viewer_environment({**environment, "MEETQ_WEBEX_ACCESS_TOKEN": "personal"})
    assert not set(COLLECTOR_SECRETS) & set(given)
    assert "collector-secret" not in given.values() and "bot-token" not in given.values()
    assert given["MEETQ_DATABASE"] == environment["MEETQ_DATABASE"]  # test_demo: the real viewer, as started


@responses.activate
def test_ids_from_outside_are_encoded_in_url_paths():
    from meetq.config import load_settings
    from meetq.providers.webex.bot import Bot

    settings = load_settings(
        environ={"MEETQ_NOTIFY_BOT_TOKEN": "bot-token-for-test", "MEETQ_WEBEX_API_BASE": "https://webex.test/v1"}
    )
    hostile = "../people/me?x=1#y"
    responses.get("https://webex.test/v1/messages/..%2Fpeople%2Fme%3Fx%3D1%23y", json={"id": hostile})
    assert Bot(settings).message(hostile) == {"id": hostile}
    assert responses.calls[0].request.path_url == "/v1/messages/..%2Fpeople%2Fme%3Fx%3D1%23y"
