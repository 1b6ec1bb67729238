"""Settings: precedence, the operator-facing environment names, one-line errors with exit 2."""

import subprocess
import sys
from pathlib import Path

import pytest
from meetq.config import SETTINGS, example_toml, load_settings
from meetq.errors import ConfigError
from meetq.providers.webex import client as webex

ROOT = Path(__file__).resolve().parents[1]


def test_precedence_defaults_file_environment_options(tmp_path):
    config = tmp_path / "meetq.toml"
    config.write_text('[collector]\ninterval_seconds = 120\nbackfill_days = 3\n[storage]\ndatabase = "file.db"\n')
    environ = {"MEETQ_CONFIG": str(config), "MEETQ_INTERVAL_SECONDS": "60"}
    settings = load_settings({"interval_seconds": 30}, environ=environ)
    assert settings.interval_seconds == 30  # option beats environment
    assert load_settings(environ=environ).interval_seconds == 60  # environment beats file
    assert settings.backfill_days == 3.0  # file beats default
    assert str(settings.database) == "file.db"
    assert settings.lookback_hours == 24.0  # default
    assert settings.sources["interval_seconds"] == "command-line option --interval-seconds"


def test_documented_environment_names_work_exactly():
    environ = {
        "MEETQ_WEBEX_CLIENT_ID": "cid",
        "MEETQ_WEBEX_CLIENT_SECRET": "csecret",
        "MEETQ_WEBEX_REDIRECT_URI": "http://localhost:9999/cb",
        "MEETQ_WEBEX_SCOPES": "a b",
        "MEETQ_WEBEX_API_BASE": "http://api",
        "MEETQ_WEBEX_ANALYTICS_BASE": "http://analytics",
        "MEETQ_WEBEX_ACCESS_TOKEN": "pat",
        "MEETQ_DATABASE": "x.db",
        "MEETQ_SECRETS": "s.json",
        "MEETQ_INTERVAL_SECONDS": "42",
    }
    s = load_settings(environ=environ)
    assert (s.webex.client_id, s.webex.client_secret, s.webex.redirect_uri, s.webex.scopes) == (
        "cid",
        "csecret",
        "http://localhost:9999/cb",
        "a b",
    )
    assert (s.webex.api_base, s.webex.analytics_base, s.webex.access_token) == ("http://api", "http://analytics", "pat")
    assert (str(s.database), str(s.secrets), s.interval_seconds) == ("x.db", "s.json", 42)
    assert webex.token_url(s) == "http://api/access_token" and webex.authorize_url(s) == "http://api/authorize"


def test_defaults_match_the_documented_ones():
    s = load_settings(environ={})
    assert s.webex.redirect_uri == "http://localhost:8765/callback"
    assert s.webex.scopes == "analytics:read_all meeting:admin_schedule_read meeting:schedules_read spark:people_read"
    assert (s.webex.api_base, s.webex.analytics_base) == (
        "https://webexapis.com/v1",
        "https://analytics.webexapis.com/v1",
    )
    assert (str(s.database), str(s.secrets), s.interval_seconds) == ("data/meetq.db", "data/secrets.json", 300)


@pytest.mark.parametrize(
    "environ, expected",
    [
        (
            {"MEETQ_INTERVAL_SECONDS": "soon"},
            "collector.interval_seconds from environment variable MEETQ_INTERVAL_SECONDS must be int",
        ),
        ({"MEETQ_INTERVAL_SECONDS": "0"}, "must be at least 1"),
        ({"MEETQ_LOG_FORMAT": "xml"}, "must be one of auto, json, console"),
    ],
)
def test_invalid_values_name_the_key_and_the_source(environ, expected):
    with pytest.raises(ConfigError, match=expected):
        load_settings(environ=environ)


def test_unknown_key_in_the_file_is_an_error(tmp_path):
    config = tmp_path / "meetq.toml"
    config.write_text("[collector]\nintervall = 3\n")
    with pytest.raises(ConfigError, match="unknown setting collector.intervall"):
        load_settings(environ={"MEETQ_CONFIG": str(config)})


def test_cli_reports_a_bad_setting_in_one_line_with_exit_2(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "meetq.cli", "collect"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "MEETQ_INTERVAL_SECONDS": "-5"},
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "meetq: configuration error: collector.interval_seconds from environment variable "
        "MEETQ_INTERVAL_SECONDS must be at least 1, got '-5'"
    ]


def test_cli_names_a_missing_client_id_and_where_to_set_it(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "meetq.cli", "auth", "login", "--no-browser"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "webex.client_id is not set: set MEETQ_WEBEX_CLIENT_ID" in result.stderr


def test_example_file_documents_every_setting_and_is_current():
    text = (ROOT / "config" / "meetq.example.toml").read_text()
    assert text == example_toml(), "run `make example-config`"
    for setting in SETTINGS:
        assert f"# {setting.name} = " in text and setting.env_name in text


def test_readme_documents_every_setting_and_command():
    readme = (ROOT / "README.md").read_text()
    reference = (ROOT / "docs" / "settings.md").read_text()  # the README links it
    from meetq.config import settings_markdown

    assert "(docs/settings.md)" in readme
    assert settings_markdown() in reference, "run `make example-config`"
    for setting in SETTINGS:
        assert f"`{setting.env_name}`" in reference and f"`{setting.section}.{setting.name}`" in reference
    from meetq.cli import cli

    for name in cli.commands:
        assert f"`meetq {name}" in readme


VENDORS_BESIDE_WEBEX = """
import dataclasses, json, sys
from meetq import providers
from meetq.setting import Setting
for vendor in ("zoom", "teams"):   # two vendors to come, each with a client id of its own
    providers.PROVIDERS[vendor] = dataclasses.replace(
        providers.PROVIDERS["webex"], name=vendor, title=vendor.title(), account_keys=("client_id",),
        settings=(Setting(vendor, "client_id", str, None, "Client ID."),), required=lambda table: None)
from meetq.config import ConfigError, load_settings
try:
    s = load_settings(environ={"MEETQ_CONFIG": sys.argv[1], "MEETQ_TEAMS_CLIENT_ID": "from-env"})
except ConfigError as error:
    print(json.dumps({"error": str(error)}))
else:
    print(json.dumps({"webex": s.webex.client_id, "zoom": s.zoom.client_id, "teams": s.teams.client_id,
                      "accounts": [[a.account, a.provider, a.value(a.provider + ".client_id")] for a in s.accounts()]}))
"""


def vendors_beside_webex(tmp_path, toml):
    import json

    (tmp_path / "meetq.toml").write_text(toml)
    run = subprocess.run(
        [sys.executable, "-c", VENDORS_BESIDE_WEBEX, str(tmp_path / "meetq.toml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_every_vendor_has_its_own_client_id(tmp_path):
    """Settings are per vendor: a [zoom] and a [teams] client_id load beside [webex]'s, from the
    file or from MEETQ_<VENDOR>_CLIENT_ID, and an account takes its own vendor's keys."""
    loaded = vendors_beside_webex(
        tmp_path,
        '[webex]\nclient_id = "w"\nclient_secret = "ws"\n'
        '[zoom]\nclient_id = "z"\n[teams]\nclient_id = "t"\n'
        '[[accounts]]\nname = "video"\nprovider = "zoom"\nclient_id = "z2"\n',
    )
    assert (loaded["webex"], loaded["zoom"], loaded["teams"]) == ("w", "z", "from-env")
    assert loaded["accounts"] == [["default", "webex", "w"], ["video", "zoom", "z2"]]


def test_an_account_with_a_key_of_another_vendor_is_refused_in_one_line(tmp_path):
    refused = vendors_beside_webex(
        tmp_path,
        '[[accounts]]\nname = "workspace"\nprovider = "google"\n'
        'key_file = "k.json"\nadmin_email = "a@example.com"\nsite_url = "x"\n',
    )
    assert refused["error"] == (
        f"{tmp_path / 'meetq.toml'} [[accounts]] workspace: site_url is a webex setting, and "
        'this is a google account (provider = "google"); its keys: name, provider, secrets, '
        "key_file, admin_email, reports_base, organizers, meet_base"
    )
    unknown = vendors_beside_webex(
        tmp_path, '[[accounts]]\nname = "x"\nclient_id = "a"\nclient_secret = "b"\ncolour = "red"\n'
    )
    assert "unknown key 'colour'; a webex account's keys: name, provider, secrets, client_id" in unknown["error"]


def test_inverted_thresholds_are_refused_with_their_names(tmp_path):
    """A settings mistake is one line and exit 2, before anything is opened (no simulator, no
    process: click's runner is enough for the CLI's output)."""
    from click.testing import CliRunner
    from meetq.cli import cli

    (tmp_path / "meetq.toml").write_text("[quality]\nloss_fair_pct = 10\nloss_poor_pct = 5\n")
    result = CliRunner().invoke(cli, ["status"], env={"MEETQ_CONFIG": str(tmp_path / "meetq.toml")})
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and result.stdout == ""
    assert lines[0].startswith(
        "meetq: configuration error: quality.loss_fair_pct = 10 must be below quality.loss_poor_pct = 5"
    )
