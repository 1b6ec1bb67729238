"""Settings: defaults < TOML file < environment < command-line options.

Every setting is declared once, with its TOML key, environment variable, type, default and
meaning: the core's here, each vendor's in its provider package (providers/<vendor>/settings.py).
The example file `config/meetq.example.toml` is generated from the same table (`make
example-config`), so documentation cannot drift.

The core's settings are attributes by name (`settings.interval_seconds`); a vendor's live in its
own namespace, named as its section (`settings.<vendor>.client_id`), so every vendor may have a
`client_id` of its own. An [[accounts]] table takes the core's account
keys and those of its own vendor only.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from dataclasses import field, make_dataclass, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ConfigError
from .privacy import IP_MODES
from .providers import CHANNELS, PROVIDERS
from .setting import Setting
from .verdicts import THRESHOLDS

DEFAULT_CONFIG_PATH = "config/meetq.toml"
# The registry's first vendor is the first account's unless the settings say otherwise, and the
# section older files named the account in (`[<vendor>] account`, MEETQ_<VENDOR>_ACCOUNT).
FIRST_VENDOR = next(iter(PROVIDERS))
PERSONAL_TOKEN = "access_token"  # --token: the first account's vendor's personal access token


def _threshold_settings() -> list[Setting]:
    """The verdict rules' thresholds, one setting each, declared with their defaults and sources
    beside the engine that applies them (verdicts.THRESHOLDS)."""
    return [Setting("quality", t.name, float, t.default, f"{t.meaning} ({t.source}).", minimum=0) for t in THRESHOLDS]


ACCOUNT_SETTINGS = [
    Setting(
        "account",
        "account",
        str,
        "default",
        "Name of the first account (the one not in an [[accounts]] table); further ones go in [[accounts]].",
        env="MEETQ_ACCOUNT",
        aliases=(f"{FIRST_VENDOR}.account",),
        env_aliases=(f"MEETQ_{FIRST_VENDOR.upper()}_ACCOUNT",),
    ),
    Setting(
        "account",
        "provider",
        str,
        FIRST_VENDOR,
        "Vendor of the first account; its settings are that vendor's section ("
        + ", ".join(f"[{name}]" for name in PROVIDERS)
        + ").",
        choices=tuple(PROVIDERS),
        aliases=(f"{FIRST_VENDOR}.provider",),
    ),
]

CORE_SETTINGS: list[Setting] = [
    Setting(
        "storage",
        "database",
        Path,
        Path("data/meetq.db"),
        "SQLite file the collector writes and the viewer serves.",
        env="MEETQ_DATABASE",
    ),
    Setting(
        "storage",
        "secrets",
        Path,
        Path("data/secrets.json"),
        "Token file (mode 0600). Never inside the database.",
        env="MEETQ_SECRETS",
    ),
    Setting(
        "collector",
        "interval_seconds",
        int,
        300,
        "Seconds between collection cycles.",
        env="MEETQ_INTERVAL_SECONDS",
        minimum=1,
    ),
    Setting(
        "collector",
        "backfill_days",
        float,
        7.0,
        "On the first run, list meetings this many days back (the API keeps 7).",
        minimum=0,
    ),
    Setting(
        "collector",
        "lookback_hours",
        float,
        24.0,
        "Every listing re-reads this far behind the watermark: ended meetings appear about "
        "15 minutes late, and a long meeting may be filed under its start time.",
        minimum=0,
    ),
    Setting(
        "collector",
        "window_hours",
        float,
        24.0,
        "Longest from/to window of one meetings listing request.",
        minimum=0.01,
    ),
    Setting("collector", "meetings_page_size", int, 100, "`max` for List Meetings (the API allows 100).", minimum=1),
    Setting("collector", "quality_page_size", int, 100, "`max` for Meeting Qualities.", minimum=1),
    Setting(
        "collector",
        "quality_min_interval_seconds",
        float,
        300.0,
        "Never start a qualities fetch for one meeting more often than this (the API's limit).",
        minimum=0,
    ),
    Setting(
        "collector",
        "recheck_after_minutes",
        float,
        120.0,
        "Fetch a meeting once more this long after it ended, to catch late sessions.",
        minimum=0,
    ),
    Setting(
        "collector",
        "cycle_budget_seconds",
        float,
        0.0,
        "Stop starting new qualities fetches after this long in one cycle (0: 80% of the interval).",
        minimum=0,
    ),
    Setting(
        "collector",
        "concurrency",
        int,
        4,
        "Meetings whose qualities are fetched at once (never the same meeting twice).",
        minimum=1,
    ),
    Setting("collector", "request_timeout_seconds", float, 30.0, "Timeout of every HTTP request.", minimum=0.1),
    Setting("collector", "max_retries", int, 4, "Retries of a request after 5xx, timeout or reset.", minimum=0),
    Setting("collector", "backoff_seconds", float, 1.0, "First retry delay; doubles, with jitter.", minimum=0),
    Setting("collector", "backoff_max_seconds", float, 30.0, "Longest retry delay.", minimum=0),
    Setting(
        "collector",
        "max_retry_after_seconds",
        float,
        60.0,
        "Longest Retry-After the collector sleeps through inside a cycle; longer waits end "
        "the request and it is retried in a later cycle.",
        minimum=0,
    ),
    Setting(
        "collector",
        "default_retry_after_seconds",
        float,
        15.0,
        "Wait used when a 429 carries no usable Retry-After.",
        minimum=0,
    ),
    Setting(
        "collector",
        "token_refresh_margin_seconds",
        float,
        3600.0,
        "Refresh the access token when it expires within this many seconds.",
        minimum=0,
    ),
    Setting(
        "collector",
        "refresh_warning_days",
        float,
        14.0,
        "Warn when the refresh token expires within this many days.",
        minimum=0,
    ),
    Setting(
        "privacy",
        "ip_addresses",
        str,
        "masked",
        "Participants' IP addresses: `full`, `masked` (IPv4 /24, IPv6 /48) or `none`; applied before "
        "anything is stored, raw bodies included.",
        env="MEETQ_IP_ADDRESSES",
        choices=IP_MODES,
    ),
    Setting(
        "retention",
        "samples_days",
        float,
        0.0,
        "Drop media and CPU samples of meetings that started more than this many days ago (0: keep).",
        minimum=0,
    ),
    Setting(
        "retention", "raw_days", float, 0.0, "Drop raw response bodies older than this many days (0: keep).", minimum=0
    ),
    *_threshold_settings(),
    Setting(
        "log", "level", str, "info", "Log level.", env="MEETQ_LOG_LEVEL", choices=("debug", "info", "warning", "error")
    ),
    Setting(
        "log",
        "format",
        str,
        "auto",
        "`json`, `console`, or `auto` (console on a terminal).",
        env="MEETQ_LOG_FORMAT",
        choices=("auto", "json", "console"),
    ),
    Setting(
        "webhook",
        "listen",
        str,
        None,
        "host:port where `meetq run` receives signed webhook deliveries (unset: no receiver).",
        env="MEETQ_WEBHOOK_LISTEN",
    ),
    Setting(
        "webhook",
        "fetch_delay_seconds",
        float,
        5.0,
        "Wait this long after a meeting-ended webhook before fetching its quality.",
        minimum=0,
    ),
    Setting("webhook", "max_body_bytes", int, 1_000_000, "Larger webhook requests are refused (413).", minimum=1),
    Setting(
        "webhook",
        "max_header_bytes",
        int,
        16_384,
        "A request whose line and headers are larger is refused (400).",
        minimum=1024,
    ),
    Setting(
        "webhook",
        "read_timeout_seconds",
        float,
        10.0,
        "A client gets this long to send a request's headers, and as long again for its body; "
        "then its connection is closed.",
        minimum=0.1,
    ),
    Setting(
        "webhook", "keepalive_seconds", int, 5, "An idle kept-alive connection is closed after this long.", minimum=1
    ),
    Setting(
        "webhook",
        "max_connections",
        int,
        1000,
        "Connections beyond this many open at once are closed at once.",
        minimum=1,
    ),
    Setting("viewer", "host", str, "127.0.0.1", "Address the viewer binds.", env="MEETQ_VIEWER_HOST"),
    Setting("viewer", "port", int, 8001, "Port the viewer listens on.", env="MEETQ_VIEWER_PORT", minimum=0),
    Setting(
        "viewer",
        "sql_time_limit_ms",
        int,
        1000,
        "Longest a query of the viewer may run (ms), a page's or someone's own SQL; then it is stopped.",
        env="MEETQ_VIEWER_SQL_TIME_LIMIT_MS",
        minimum=10,
    ),
    Setting(
        "viewer",
        "timezone",
        str,
        "UTC",
        "Display time zone of the viewer (an IANA name such as Europe/Berlin): every table, chart and day.",
        env="MEETQ_VIEWER_TIMEZONE",
    ),
    Setting(
        "notify",
        "via",
        str,
        next(iter(CHANNELS), None),
        "Which vendor's bot posts alerts and the digest.",
        choices=tuple(CHANNELS),
    ),
    Setting(
        "notify",
        "bot_token",
        str,
        None,
        "The bot's access token (from the vendor's developer portal). Unset: no alerts are posted.",
        env="MEETQ_NOTIFY_BOT_TOKEN",
        secret=True,
    ),
    Setting(
        "notify",
        "room_id",
        str,
        None,
        "The space alerts and the digest go to (`meetq notify rooms` lists them).",
        env="MEETQ_NOTIFY_ROOM_ID",
    ),
    Setting(
        "notify",
        "rule_rooms",
        str,
        "",
        "Other spaces for some rules, e.g. `collector_stale=ROOM_ID reauth=ROOM_ID digest=ROOM_ID` "
        "(the rest go to room_id).",
        env="MEETQ_NOTIFY_RULE_ROOMS",
    ),
    Setting("notify", "remind_hours", float, 24.0, "Remind of an alert still open this often.", minimum=0.0001),
    Setting(
        "notify", "window_minutes", float, 60.0, "Quality alerts look at sessions that joined this long ago.", minimum=1
    ),
    Setting(
        "notify",
        "poor_pct",
        float,
        25.0,
        "Alert when more than this % of a group's rated sessions are poor.",
        minimum=0,
    ),
    Setting("notify", "min_sessions", int, 10, "...and the group has at least this many rated sessions.", minimum=1),
    Setting(
        "notify",
        "quality_groups",
        str,
        "account building network media_region client",
        "Which groups quality alerts watch, separated by spaces.",
    ),
    Setting(
        "notify",
        "jump_points",
        float,
        15.0,
        "Alert when an account's poor % is this many points above the same hours a week before.",
        minimum=0,
    ),
    Setting(
        "notify",
        "stale_minutes",
        float,
        30.0,
        "Alert when an account had no successful cycle for this long.",
        minimum=1,
    ),
    Setting(
        "notify",
        "expiring_hours",
        float,
        24.0,
        "Alert when meetings expire within this many hours with their quality unread.",
        minimum=0,
    ),
    Setting(
        "notify", "failed_cycles", int, 3, "Alert when this many cycles in a row failed or were partial.", minimum=1
    ),
    Setting(
        "notify",
        "digest_day",
        str,
        "monday",
        "The weekly digest's day (`off`: none).",
        choices=("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "off"),
    ),
    Setting("notify", "digest_time", str, "08:00", "...and time, in viewer.timezone (HH:MM)."),
    Setting(
        "notify",
        "person_askers",
        str,
        "",
        "Who may ask the bot `person <email>`: emails and @domains, separated by spaces (empty: nobody).",
        env="MEETQ_NOTIFY_PERSON_ASKERS",
    ),
    Setting(
        "notify",
        "disabled_rules",
        str,
        "",
        "Rules not to run, separated by spaces: quality jump collector collector_stale reauth refresh_expiring "
        "expiring_unread expired collector_errors digest.",
    ),
    Setting(
        "viewer",
        "auth",
        str,
        "none",
        "Who may see the viewer: `none` (anyone who reaches it; loopback only unless `meetq serve --public`), "
        "`password` (users made with `meetq users add`), `proxy` (an identity header from trusted_proxies) or "
        "a vendor's sign-in (" + ", ".join(f"`{p.name}`" for p in PROVIDERS.values() if p.sign_in) + ").",
        env="MEETQ_VIEWER_AUTH",
        choices=("none", "password", "proxy", *(p.name for p in PROVIDERS.values() if p.sign_in)),
    ),
    Setting(
        "viewer",
        "public_url",
        str,
        None,
        "Address people use to reach the viewer, e.g. https://meetq.example.com (sign-in redirects and links "
        "are made from it; default http://host:port).",
        env="MEETQ_VIEWER_PUBLIC_URL",
    ),
    Setting(
        "viewer",
        "secrets_file",
        Path,
        Path("data/viewer-secrets.json"),
        "The viewer's own secrets (mode 0600): the key that signs session cookies, and the password users.",
        env="MEETQ_VIEWER_SECRETS",
    ),
    Setting("viewer", "session_hours", float, 12.0, "A sign-in lasts this long.", minimum=0.01),
    Setting(
        "viewer",
        "allowed_people",
        str,
        "",
        "Only these may sign in (with a vendor or a proxy): emails and @domains, separated by spaces or commas "
        "(empty: everyone the sign-in accepts).",
        env="MEETQ_VIEWER_ALLOWED_PEOPLE",
    ),
    Setting(
        "viewer",
        "sign_in_orgs",
        str,
        "",
        "Organisation ids whose people may sign in with a vendor, separated by spaces or commas "
        "(`meetq auth status` shows each account's). Required for vendor sign-in.",
        env="MEETQ_VIEWER_SIGN_IN_ORGS",
    ),
    Setting(
        "viewer",
        "sign_in_client_id",
        str,
        None,
        "Client id of the integration people sign in through (default: the collector's, its vendor's client_id).",
        env="MEETQ_VIEWER_SIGN_IN_CLIENT_ID",
    ),
    Setting(
        "viewer",
        "sign_in_client_secret",
        str,
        None,
        "Its client secret (default: the collector's).",
        env="MEETQ_VIEWER_SIGN_IN_CLIENT_SECRET",
        secret=True,
    ),
    Setting(
        "viewer",
        "proxy_header",
        str,
        "X-Forwarded-Email",
        "With auth = proxy: the header carrying the signed-in person's email or name.",
        env="MEETQ_VIEWER_PROXY_HEADER",
    ),
    Setting(
        "viewer",
        "trusted_proxies",
        str,
        "127.0.0.1/32 ::1/128",
        "With auth = proxy: the addresses (CIDR) whose identity header is believed; from anywhere else it is ignored.",
        env="MEETQ_VIEWER_TRUSTED_PROXIES",
    ),
]

SETTINGS: list[Setting] = ACCOUNT_SETTINGS + [s for p in PROVIDERS.values() for s in p.settings] + CORE_SETTINGS
# Each vendor's own [section], named as the vendor: its settings are `settings.<vendor>.<name>`.
VENDOR_SETTINGS: dict[str, tuple[Setting, ...]] = {p.name: tuple(p.settings) for p in PROVIDERS.values()}
assert all(s.section == vendor for vendor, own in VENDOR_SETTINGS.items() for s in own), (
    "a vendor's section is its name"
)


def attribute(setting: Setting) -> str:
    """Where a setting is read: `name` for the core's, `vendor.name` for a vendor's."""
    return setting.key if setting.section in VENDOR_SETTINGS else setting.name


SETTINGS_BY_ATTRIBUTE = {attribute(s): s for s in SETTINGS}
SETTINGS_BY_KEY = {key: s for s in SETTINGS for key in (s.key, *s.aliases)}
assert len(SETTINGS_BY_ATTRIBUTE) == len(SETTINGS), "two core settings share a name"

VENDOR_SECTION_TYPES = {
    vendor: make_dataclass(
        f"{vendor.title()}Settings", [(s.name, Any, field(default=s.default)) for s in own], frozen=True
    )
    for vendor, own in VENDOR_SETTINGS.items()
}
CORE = [s for s in SETTINGS if s.section not in VENDOR_SETTINGS]
CORE_BY_NAME = {s.name: s for s in CORE}

_Settings = make_dataclass(
    "_Settings",
    [(s.name, Any, field(default=s.default)) for s in CORE]
    + [(vendor, Any, field(default_factory=kind)) for vendor, kind in VENDOR_SECTION_TYPES.items()]
    + [("sources", dict, field(default_factory=dict)), ("extra_accounts", tuple, field(default=()))],
    frozen=True,
)


class Settings(_Settings):
    """All settings as attributes (`settings.interval_seconds`); `sources` says where each came from."""

    @property
    def cycle_budget(self) -> float:
        return self.cycle_budget_seconds or self.interval_seconds * 0.8

    def accounts(self) -> list["Settings"]:
        """One Settings per account: the first one (left out when it has no credentials and others
        exist), then each [[accounts]] table, with its own vendor, credentials and API addresses."""
        extra = [replace(self, **overrides) for overrides in self.extra_accounts]
        return [self] + extra if self.is_configured() or not extra else extra

    @property
    def source(self):
        """This account's vendor, as its provider package describes it (providers/base.Provider):
        what code below the registry uses, so it need not import the registry."""
        return PROVIDERS[self.provider]

    @property
    def vendors(self) -> dict:
        """Every registered vendor by name (providers/base.Provider), for code that handles the
        stored rows of all of them (re-judging)."""
        return PROVIDERS

    @property
    def channel(self):
        """The messaging channel alerts, the digest and the assistant use (`notify.via`)."""
        return CHANNELS[self.via]

    def is_configured(self) -> bool:
        """Whether this account has credentials of some kind (a token file counts)."""
        return self.source.is_configured(self)

    def account_named(self, name: str | None) -> "Settings":
        if name is None:
            return self
        for account in self.accounts():
            if account.account == name:
                return account
        known = ", ".join(a.account for a in self.accounts())
        raise ConfigError(f"no account named {name!r}: the accounts are {known}")

    def thresholds(self) -> dict:
        return {s.name: getattr(self, s.name) for s in SETTINGS if s.section == "quality"}

    def check_thresholds(self) -> None:
        """Every fair line before its poor line (higher is worse: fair < poor; frame rates: fair > poor)."""
        values = self.thresholds()
        for fair in [name for name in values if "_fair_" in name]:
            poor = fair.replace("_fair_", "_poor_")
            lower_is_worse = "frame_rate" in fair
            if (values[fair] <= values[poor]) if lower_is_worse else (values[fair] >= values[poor]):
                side = "above" if lower_is_worse else "below"
                raise ConfigError(
                    f"quality.{fair} = {values[fair]:g} must be {side} quality.{poor} = "
                    f"{values[poor]:g} ({self.sources.get(fair) or self.sources.get(poor) or 'defaults'})"
                )

    def value(self, name: str):
        """A setting by where it is read: `interval_seconds`, `<vendor>.client_id`."""
        vendor, _, own = name.rpartition(".")
        return getattr(getattr(self, vendor), own) if vendor else getattr(self, name)

    def secret_values(self) -> list[str]:
        every = [self] + [replace(self, **extra) for extra in self.extra_accounts]
        return [v for settings in every for s in SETTINGS if s.secret and (v := settings.value(attribute(s)))]

    def require(self, *names: str) -> None:
        for name in names:
            if self.value(name) in (None, ""):
                setting = SETTINGS_BY_ATTRIBUTE[name]
                raise ConfigError(f"{setting.key} is not set: {where_to_set(setting)}")


def _check_timezone(settings) -> None:
    try:
        ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file
        raise ConfigError(
            f"viewer.timezone {settings.timezone!r} from {settings.sources.get('timezone')} is not a "
            "time zone name (e.g. UTC, Europe/Berlin, America/New_York)"
        ) from None


def _check_digest_time(settings) -> None:
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", settings.digest_time or ""):
        raise ConfigError(
            f"notify.digest_time {settings.digest_time!r} from {settings.sources.get('digest_time')} "
            "must be HH:MM (24-hour, in viewer.timezone)"
        )


def where_to_set(setting: Setting) -> str:
    return (
        f"set {setting.env_name}, or `{setting.name}` under [{setting.section}] in "
        f"{DEFAULT_CONFIG_PATH} (or the file named by MEETQ_CONFIG)"
    )


def load_settings(overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Build the settings from every layer. Raises ConfigError naming the key and its source.
    `overrides` are named as settings are read (`interval_seconds`, `<vendor>.client_id`), and
    PERSONAL_TOKEN is the first account's vendor's access token."""
    environ = os.environ if environ is None else environ
    raw: dict[str, tuple[Any, str]] = dict(_read_toml(environ))
    for setting in SETTINGS:
        for name in (*setting.env_aliases, setting.env_name):  # the current name wins over an old one
            if environ.get(name):
                raw[attribute(setting)] = (environ[name], f"environment variable {name}")
    overrides = dict(overrides or {})
    token = overrides.pop(PERSONAL_TOKEN, None)
    for name, value in overrides.items():
        if value is not None:
            raw[name] = (value, f"command-line option --{name.rpartition('.')[2].replace('_', '-')}")
    if token is not None:
        raw[_token_setting(raw)] = (token, "command-line option --token")
    accounts = raw.pop(ACCOUNTS_KEY, ([], ""))
    core, vendors, sources = {}, {vendor: {} for vendor in VENDOR_SETTINGS}, {}
    for name, (value, source) in raw.items():
        setting = SETTINGS_BY_ATTRIBUTE[name]
        (vendors[setting.section] if setting.section in vendors else core)[setting.name] = _coerce(
            setting, value, source
        )
        sources[name] = source
    settings = Settings(**core, **{v: VENDOR_SECTION_TYPES[v](**own) for v, own in vendors.items()}, sources=sources)
    settings.check_thresholds()
    _check_timezone(settings)
    _check_digest_time(settings)
    return replace(settings, extra_accounts=tuple(_account_overrides(settings, *accounts)))


def _token_setting(raw: dict) -> str:
    """Where --token goes: the access token of the first account's vendor, if it takes one."""
    vendor = str(raw.get("provider", (FIRST_VENDOR, ""))[0])
    if f"{vendor}.{PERSONAL_TOKEN}" not in SETTINGS_BY_ATTRIBUTE:
        raise ConfigError(f"--token: a {vendor} account takes no personal access token")
    return f"{vendor}.{PERSONAL_TOKEN}"


ACCOUNTS_KEY = "accounts"  # [[accounts]] tables in the TOML file
ACCOUNT_CORE_KEYS = ("name", "provider", "secrets")


def account_keys(vendor: str) -> tuple[str, ...]:
    """What an [[accounts]] table of this vendor may set."""
    return ACCOUNT_CORE_KEYS + tuple(PROVIDERS[vendor].account_keys)


def _account_overrides(settings: "Settings", tables: list, source: str) -> list[dict]:
    """Each [[accounts]] table as the settings it changes. Its token file defaults to the main
    one's name plus the account's: data/secrets.json -> data/secrets.acme.json."""
    seen = {settings.account}
    overrides = []
    for table in tables:
        if not isinstance(table, dict) or not isinstance(table.get("name"), str):
            raise ConfigError(f"{source}: every [[accounts]] needs a name")
        name = table["name"]
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", name) or name in seen:
            raise ConfigError(f"{source}: account name {name!r} must be unique and made of letters, digits, . _ -")
        seen.add(name)
        where = f"{source} [[accounts]] {name}"
        vendor = _coerce(CORE_BY_NAME["provider"], table.get("provider", CORE_BY_NAME["provider"].default), where)
        _refuse_other_keys(table, vendor, where)
        overrides.append(_account_changes(settings, table, vendor, where))
    return overrides


def _refuse_other_keys(table: dict, vendor: str, where: str) -> None:
    """A key of another vendor, or of none, is one line naming it and what this account takes."""
    known = account_keys(vendor)
    for key in table:
        if key in known:
            continue
        others = [v for v in VENDOR_SETTINGS if v != vendor and key in PROVIDERS[v].account_keys]
        if others:
            raise ConfigError(
                f"{where}: {key} is a {' and '.join(others)} setting, and this is a {vendor} account "
                f'(provider = "{vendor}"); its keys: {", ".join(known)}'
            )
        raise ConfigError(f"{where}: unknown key {key!r}; a {vendor} account's keys: {', '.join(known)}")


def _account_changes(settings: "Settings", table: dict, vendor: str, where: str) -> dict:
    """The settings an [[accounts]] table changes. Its own credentials (and what each account
    gives for itself) are its own: none are inherited from the first account."""
    own_settings = {s.name: s for s in VENDOR_SETTINGS[vendor]}
    given = {
        key: _coerce(own_settings[key], value, where) for key, value in table.items() if key not in ACCOUNT_CORE_KEYS
    }
    missing = PROVIDERS[vendor].required({**{k: None for k in PROVIDERS[vendor].account_keys}, **given})
    if missing:
        raise ConfigError(f"{where}: {missing}")
    not_inherited = {s.name: s.default for s in VENDOR_SETTINGS[vendor] if s.secret or s.per_account}
    secrets = settings.secrets.with_name(f"{settings.secrets.stem}.{table['name']}{settings.secrets.suffix}")
    return {
        "account": table["name"],
        "provider": vendor,
        **{s.name: None for s in CORE if s.secret},
        vendor: replace(getattr(settings, vendor), **{**not_inherited, **given}),
        "secrets": _coerce(CORE_BY_NAME["secrets"], table["secrets"], where) if "secrets" in table else secrets,
        "sources": {
            **settings.sources,
            **{f"{vendor}.{k}": where for k in given},
            **({"secrets": where} if "secrets" in table else {}),
        },
    }


def _read_toml(environ) -> dict[str, tuple[Any, str]]:
    explicit = environ.get("MEETQ_CONFIG")
    path = Path(explicit or DEFAULT_CONFIG_PATH)
    if not path.exists():
        if explicit:
            raise ConfigError(f"MEETQ_CONFIG names {path}, which does not exist: create it or unset MEETQ_CONFIG")
        return {}
    try:
        document = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path} is not valid TOML ({error}): fix the file") from None
    except OSError as error:
        raise ConfigError(f"{path} cannot be read ({error.strerror or type(error).__name__})") from None
    found = {}
    if ACCOUNTS_KEY in document:
        found[ACCOUNTS_KEY] = (document.pop(ACCOUNTS_KEY), str(path))
    for section, table in document.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: `{section}` must be a [section]; see config/meetq.example.toml")
        for name, value in table.items():
            setting = SETTINGS_BY_KEY.get(f"{section}.{name}")
            if setting is None:
                raise ConfigError(f"{path}: unknown setting {section}.{name}; see config/meetq.example.toml")
            found[attribute(setting)] = (value, f"{path} [{section}] {name}")
    return found


def _coerce(setting: Setting, value: Any, source: str) -> Any:
    problem = f"{setting.key} from {source}"
    try:
        if setting.type is Path:
            if not isinstance(value, (str, Path)) or "\x00" in str(value):
                raise ValueError
            converted = Path(str(value)).expanduser()
        elif setting.type is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            converted = int(value)
        elif setting.type is float:
            if isinstance(value, bool) or not math.isfinite(float(value)):
                raise ValueError
            converted = float(value)
        else:
            if not isinstance(value, str):
                raise ValueError
            converted = value
    except (TypeError, ValueError):
        raise ConfigError(f"{problem} must be {setting.type.__name__}, got {value!r}") from None
    if setting.minimum is not None and converted < setting.minimum:
        raise ConfigError(f"{problem} must be at least {setting.minimum:g}, got {value!r}")
    if setting.choices and converted not in setting.choices:
        raise ConfigError(f"{problem} must be one of {', '.join(setting.choices)}, got {value!r}")
    return converted


def example_toml() -> str:
    """The text of config/meetq.example.toml, generated from SETTINGS."""
    lines = [
        "# meetq settings. Precedence: defaults < this file < environment < command-line options.",
        "# Copy to config/meetq.toml (or point MEETQ_CONFIG at a copy) and uncomment what you change.",
        "# Keep secrets out of files others can read; the environment variables work too.",
    ]
    section = None
    for setting in SETTINGS:
        if setting.section != section:
            section = setting.section
            lines += ["", f"[{section}]"]
        lines.append(f"# {setting.help} (env: {setting.env_name})")
        lines.append(f"# {setting.name} = {_toml_value(setting.default)}")
    lines += [
        "",
        "# Further accounts (other organisations, other vendors), one [[accounts]] table each, collected",
        "# into the same database. Keys: "
        + ", ".join(ACCOUNT_CORE_KEYS)
        + ", and those of the account's vendor: "
        + "; ".join(f"{vendor}: {', '.join(PROVIDERS[vendor].account_keys)}" for vendor in VENDOR_SETTINGS)
        + ".",
        "# Each account's token file defaults to the main one's name plus the account's.",
    ]
    for provider in PROVIDERS.values():
        lines += ["#"] + [f"# {line}".rstrip() for line in provider.account_example]
    return "\n".join(lines) + "\n"


def settings_markdown() -> str:
    """The README's settings table, generated from SETTINGS (`make example-config`)."""
    rows = ["| setting (TOML) | environment | default | meaning |", "|---|---|---|---|"]
    for s in SETTINGS:
        default = "" if s.default is None else f"`{s.default}`"
        rows.append(f"| `{s.section}.{s.name}` | `{s.env_name}` | {default} | {s.help} |")
    return "\n".join(rows)


def _toml_value(value: Any) -> str:
    if value is None:
        return '""'
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
