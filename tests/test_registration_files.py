"""The webhook registration files (the meeting-ended webhook's and the bot's): one reader, so bad
input gets the same one clear line from both, and a good file is read the same way."""

import json

import pytest
from meetq.config import load_settings
from meetq.errors import NotAuthorised
from meetq.providers.webex import bot, webhooks


@pytest.fixture
def settings(tmp_path):
    (tmp_path / "meetq.toml").write_text("")
    return load_settings(
        environ={
            "MEETQ_CONFIG": str(tmp_path / "meetq.toml"),
            "MEETQ_SECRETS": str(tmp_path / "secrets.json"),
            "MEETQ_NOTIFY_BOT_TOKEN": "bot-token",
        }
    )


READERS = [
    (webhooks.registration_path, webhooks.receiver_secret, "meetq webhook register"),
    (bot.registration_path, bot.receiver_secret, "meetq notify register"),
]


@pytest.mark.parametrize("path_of, secret_of, again", READERS)
@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"id": "x"}', '{"secret": ""}', "\udcff"])
def test_a_bad_registration_file_is_one_line_naming_the_command_that_mends_it(
    settings, path_of, secret_of, again, content
):
    path = path_of(settings)
    path.write_text(content, errors="surrogateescape")
    with pytest.raises(NotAuthorised) as refused:
        secret_of(settings)
    said = str(refused.value)
    assert said.startswith(str(path)) and f"run `{again}" in said and "\n" not in said


@pytest.mark.parametrize("path_of, secret_of, again", READERS)
def test_no_file_is_no_registration_and_a_good_one_gives_its_secret(settings, path_of, secret_of, again):
    assert secret_of(settings) is None
    path_of(settings).write_text(json.dumps({"id": "W1", "secret": "s3cret", "target_url": "https://x/webex"}))
    assert secret_of(settings) == "s3cret"
