"""The [teams] section: the app registration, where Graph is, and how fast meetq may read it."""

from ...setting import Setting

SETTINGS = [
    Setting(
        "teams",
        "tenant_id",
        str,
        None,
        "Teams: the Microsoft Entra tenant (directory) ID the app registration belongs to.",
        env="MEETQ_TEAMS_TENANT_ID",
        per_account=True,
    ),
    Setting(
        "teams",
        "client_id",
        str,
        None,
        "Teams: the app registration's application (client) ID; it needs CallRecords.Read.All, admin-consented.",
        env="MEETQ_TEAMS_CLIENT_ID",
    ),
    Setting(
        "teams",
        "client_secret",
        str,
        None,
        "Teams: a client secret of the app registration.",
        env="MEETQ_TEAMS_CLIENT_SECRET",
        secret=True,
    ),
    Setting(
        "teams",
        "graph_base",
        str,
        "https://graph.microsoft.com/v1.0",
        "Base URL of Microsoft Graph.",
        env="MEETQ_TEAMS_GRAPH_BASE",
    ),
    Setting(
        "teams",
        "login_base",
        str,
        "https://login.microsoftonline.com",
        "Microsoft's identity platform: tokens come from {login_base}/{tenant}/oauth2/v2.0/token.",
        env="MEETQ_TEAMS_LOGIN_BASE",
    ),
    Setting(
        "teams",
        "requests_per_second",
        float,
        10.0,
        "Graph calls a second at most, over the tenant: Graph allows 1,500 call-record requests per 20 s "
        "per app and tenant (75 a second), shared with nothing else meetq does.",
        minimum=0.01,
    ),
    Setting(
        "teams",
        "record_requests_per_second",
        float,
        1.5,
        "Calls a second at most about one call record (its pages of sessions): Graph allows 40 per 20 s.",
        minimum=0.01,
    ),
    Setting(
        "teams",
        "revision_hours",
        float,
        24.0,
        "Graph revises a call record after its first version (`version` goes up, figures fill in): "
        "read a record again for this long after the call ended.",
        minimum=0,
    ),
    Setting(
        "teams",
        "reread_minutes",
        float,
        60.0,
        "Within revision_hours, read a record again this often (and at once when a listing or a "
        "notification shows a newer version).",
        minimum=1,
    ),
    Setting(
        "teams",
        "retention_days",
        float,
        30.0,
        "How long Graph keeps a call record: older ones not read by then are expired.",
        minimum=1,
    ),
    Setting(
        "teams",
        "notification_delay_minutes",
        float,
        2.0,
        "Fetch a record this long after a change notification names it, so the version it announced is served.",
        minimum=0,
    ),
    Setting(
        "teams",
        "min_audio_packets",
        int,
        500,
        "CQD classifies an audio stream only past this many packets (Packet Utilization); fewer is unrated.",
        minimum=0,
    ),
]
ACCOUNT_KEYS = (
    "tenant_id",
    "client_id",
    "client_secret",
    "graph_base",
    "login_base",
    "requests_per_second",
    "record_requests_per_second",
)
# An [[accounts]] table of this vendor, for the example settings file.
ACCOUNT_EXAMPLE = (
    "A teams account needs tenant_id, client_id and client_secret (an app registration with "
    "CallRecords.Read.All, admin-consented):",
    "[[accounts]]",
    'name = "teams"',
    'provider = "teams"',
    'tenant_id = "your-tenant-id"',
    'client_id = "your-app-client-id"',
    'client_secret = "your-app-client-secret"',
)
