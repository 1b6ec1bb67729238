"""The [google] section: the service account and where the APIs are."""

from pathlib import Path

from ...setting import Setting

SETTINGS = [
    Setting(
        "google",
        "key_file",
        Path,
        None,
        "Google Meet: the service account's JSON key (mode 0600), with domain-wide delegation.",
        env="MEETQ_GOOGLE_KEY_FILE",
    ),
    Setting(
        "google",
        "admin_email",
        str,
        None,
        "Google Meet: the Workspace admin the service account acts as for the Reports API.",
        env="MEETQ_GOOGLE_ADMIN_EMAIL",
    ),
    Setting(
        "google",
        "reports_base",
        str,
        "https://admin.googleapis.com/admin/reports/v1",
        "Base URL of the Admin SDK Reports API.",
    ),
    Setting(
        "google",
        "organizers",
        str,
        None,
        "Comma-separated organisers whose conferences' attendance to read from the Meet REST API "
        "(it lists only what its user organised; each needs the meetings.space.readonly delegation). "
        "Unset: no attendance.",
        env="MEETQ_GOOGLE_ORGANIZERS",
    ),
    Setting("google", "meet_base", str, "https://meet.googleapis.com/v2", "Base URL of the Meet REST API."),
    Setting(
        "google",
        "reports_lookback_hours",
        float,
        12.0,
        "Every cycle re-reads this far behind the last one: Google reports calls hours late.",
        minimum=0,
    ),
    Setting("google", "reports_page_size", int, 1000, "`maxResults` of activities.list (at most 1000).", minimum=1),
]
ACCOUNT_KEYS = ("key_file", "admin_email", "reports_base", "organizers", "meet_base")
# An [[accounts]] table of this vendor, for the example settings file.
ACCOUNT_EXAMPLE = (
    "A google account needs key_file and admin_email:",
    "[[accounts]]",
    'name = "workspace"',
    'provider = "google"',
    'key_file = "/etc/meetq/google-key.json"',
    'admin_email = "admin@example.com"',
)
