"""Microsoft Teams: an app registration's call records from Microsoft Graph, with every session and
segment, judged by CQD's stream classifier. What is confirmed of the API, with sources:
docs/teams.md."""

from __future__ import annotations

from ..base import Provider
from . import webhooks
from .auth import PERMISSION, ClientCredentials
from .classify import POOR_LINES
from .collect import collect
from .rejudge import rejudge_session
from .schema import SCHEMA
from .settings import ACCOUNT_EXAMPLE, ACCOUNT_KEYS, SETTINGS
from .transform import private_body


def required(table: dict) -> str | None:
    if table.get("tenant_id") and table.get("client_id") and table.get("client_secret"):
        return None
    return "a teams account needs tenant_id, client_id and client_secret"


def is_configured(settings) -> bool:
    teams = settings.teams
    return bool(teams.tenant_id and teams.client_id and teams.client_secret)


def check(settings) -> None:
    ClientCredentials(settings)  # the settings are whole; the first token is asked for by the cycle


def authorisation(settings, state) -> dict:
    teams = settings.teams
    return {
        "mode": "teams app registration (client credentials)",
        "tenant_id": teams.tenant_id,
        "client_id": teams.client_id,
        "acting_as": f"app {teams.client_id} of tenant {teams.tenant_id}",
        "reauth_required": state("auth.reauth_required"),
    }


def auth_status(settings) -> tuple[list[str], bool]:
    """Asks Microsoft for a token (there is nothing stored to read) and says what it may do."""
    credentials = ClientCredentials(settings)
    credentials.access_token()
    lines = [
        f"Teams app registration {settings.teams.client_id} of tenant {settings.teams.tenant_id}: "
        "a token an hour or so, asked for again as it ends (there is no refresh token).",
        f"Permissions:   {' '.join(credentials.scopes) or '(none in the token)'}",
    ]
    if PERMISSION not in credentials.scopes:
        return lines + [
            f"Status:        MISSING {PERMISSION}: add the application permission and grant admin consent"
        ], False
    return lines + ["Status:        usable"], True


PROVIDER = Provider(
    name="teams",
    title="Teams",
    settings=tuple(SETTINGS),
    account_keys=ACCOUNT_KEYS,
    account_example=ACCOUNT_EXAMPLE,
    required=required,
    is_configured=is_configured,
    credentials=ClientCredentials,
    check=check,
    collect=collect,
    authorisation=authorisation,
    auth_status=auth_status,
    webhooks=webhooks,
    private_body=private_body,
    rejudge_session=rejudge_session,
    schema=SCHEMA,
    poor_lines=POOR_LINES,
)
