"""The [webex] section: the integration (or a personal token) and where the APIs are."""

from ...setting import Setting

DEFAULT_SCOPES = "analytics:read_all meeting:admin_schedule_read meeting:schedules_read spark:people_read"

SETTINGS = [
    Setting("webex", "client_id", str, None, "Client ID of your Webex integration.", env="MEETQ_WEBEX_CLIENT_ID"),
    Setting(
        "webex",
        "client_secret",
        str,
        None,
        "Client secret of your Webex integration.",
        env="MEETQ_WEBEX_CLIENT_SECRET",
        secret=True,
    ),
    Setting(
        "webex",
        "redirect_uri",
        str,
        "http://localhost:8765/callback",
        "Redirect URI registered on the integration; `meetq auth login` listens there.",
        env="MEETQ_WEBEX_REDIRECT_URI",
    ),
    Setting(
        "webex", "scopes", str, DEFAULT_SCOPES, "Space-separated OAuth scopes to request.", env="MEETQ_WEBEX_SCOPES"
    ),
    Setting(
        "webex",
        "api_base",
        str,
        "https://webexapis.com/v1",
        "Base URL of the Webex REST API (authorize, tokens, people, meetings).",
        env="MEETQ_WEBEX_API_BASE",
    ),
    Setting(
        "webex",
        "analytics_base",
        str,
        "https://analytics.webexapis.com/v1",
        "Base URL that serves /meeting/qualities.",
        env="MEETQ_WEBEX_ANALYTICS_BASE",
    ),
    Setting(
        "webex",
        "access_token",
        str,
        None,
        "Personal access token mode: no integration, no refresh; it expires after 12 hours.",
        env="MEETQ_WEBEX_ACCESS_TOKEN",
        secret=True,
    ),
    Setting(
        "webex",
        "personal_token_hours",
        float,
        12.0,
        "How long a personal access token lives, counted from its first use (Webex: 12 hours).",
        minimum=0,
    ),
    Setting(
        "webex",
        "site_url",
        str,
        None,
        "Only list meetings of this Webex site (default: every site).",
        env="MEETQ_WEBEX_SITE_URL",
        per_account=True,
    ),
]
# What an [[accounts]] table of this provider may set.
ACCOUNT_KEYS = ("client_id", "client_secret", "access_token", "site_url", "api_base", "analytics_base", "redirect_uri")
# An [[accounts]] table of this vendor, for the example settings file.
ACCOUNT_EXAMPLE = (
    "A webex account needs access_token, or client_id and client_secret:",
    "[[accounts]]",
    'name = "emea"',
    'client_id = "..."',
    'client_secret = "..."',
    'site_url = "emea.webex.com"',
)
