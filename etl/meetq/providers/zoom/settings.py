"""The [zoom] section: the Server-to-Server OAuth app and where the APIs are."""

from ...setting import Setting

SETTINGS = [
    Setting(
        "zoom",
        "account_id",
        str,
        None,
        "Zoom: the account ID of your Server-to-Server OAuth app.",
        env="MEETQ_ZOOM_ACCOUNT_ID",
        per_account=True,
    ),
    Setting("zoom", "client_id", str, None, "Zoom: the app's client ID.", env="MEETQ_ZOOM_CLIENT_ID"),
    Setting(
        "zoom",
        "client_secret",
        str,
        None,
        "Zoom: the app's client secret.",
        env="MEETQ_ZOOM_CLIENT_SECRET",
        secret=True,
    ),
    Setting("zoom", "api_base", str, "https://api.zoom.us/v2", "Base URL of the Zoom API.", env="MEETQ_ZOOM_API_BASE"),
    Setting(
        "zoom",
        "oauth_url",
        str,
        "https://zoom.us/oauth/token",
        "Zoom's token endpoint (account_credentials grant).",
        env="MEETQ_ZOOM_OAUTH_URL",
    ),
    Setting(
        "zoom",
        "webhook_secret",
        str,
        None,
        "Zoom: the app's webhook secret token, that signs event deliveries and URL validations.",
        env="MEETQ_ZOOM_WEBHOOK_SECRET",
        secret=True,
    ),
    Setting(
        "zoom",
        "qos_calls_per_second",
        float,
        4.0,
        "QoS calls a second at most, over all meetings: Zoom's limits are per account and shared "
        'with the customer\'s other apps (its "Heavy" label allows 40 a second on Business plans).',
        minimum=0.01,
    ),
    Setting("zoom", "qos_page_size", int, 10, "`page_size` of participants QoS (Zoom allows 10).", minimum=1),
    Setting(
        "zoom", "meetings_page_size", int, 300, "`page_size` of the past meetings listing (at most 300).", minimum=1
    ),
    Setting(
        "zoom",
        "ready_after_minutes",
        float,
        15.0,
        "Read a meeting's QoS this long after it ended, when its minutes are all in.",
        minimum=0,
    ),
    Setting(
        "zoom",
        "retention_days",
        float,
        180.0,
        "How long Zoom serves a past meeting's QoS: older meetings not read by then are expired.",
        minimum=1,
    ),
]
ACCOUNT_KEYS = ("account_id", "client_id", "client_secret", "api_base", "oauth_url", "webhook_secret")
# An [[accounts]] table of this vendor, for the example settings file.
ACCOUNT_EXAMPLE = (
    "A zoom account needs account_id, client_id and client_secret (a Server-to-Server OAuth app):",
    "[[accounts]]",
    'name = "zoom"',
    'provider = "zoom"',
    'account_id = "your-zoom-account-id"',
    'client_id = "your-zoom-client-id"',
    'client_secret = "your-zoom-client-secret"',
)
