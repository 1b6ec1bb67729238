"""Zoom: a Server-to-Server OAuth app, the Dashboard's past meetings and their participants'
per-minute QoS. What is confirmed of the API, with sources: docs/zoom.md."""

from __future__ import annotations

from ...minutes import rejudge_session
from ..base import Provider
from . import webhooks
from .auth import ServerToServer, missing_scopes
from .collect import collect
from .schema import SCHEMA
from .settings import ACCOUNT_EXAMPLE, ACCOUNT_KEYS, SETTINGS
from .transform import private_body


def required(table: dict) -> str | None:
    if table.get("account_id") and table.get("client_id") and table.get("client_secret"):
        return None
    return "a zoom account needs account_id, client_id and client_secret"


def is_configured(settings) -> bool:
    zoom = settings.zoom
    return bool(zoom.account_id and zoom.client_id and zoom.client_secret)


def check(settings) -> None:
    ServerToServer(settings)  # the settings are whole; the first token is asked for by the cycle


def authorisation(settings, state) -> dict:
    return {
        "mode": "zoom server-to-server app",
        "account_id": settings.zoom.account_id,
        "client_id": settings.zoom.client_id,
        "acting_as": f"app {settings.zoom.client_id} of account {settings.zoom.account_id}",
        "reauth_required": state("auth.reauth_required"),
    }


def auth_status(settings) -> tuple[list[str], bool]:
    """Asks Zoom for a token (there is nothing stored to read) and says what it may do."""
    credentials = ServerToServer(settings)
    credentials.access_token()
    missing = missing_scopes(credentials.scopes)
    lines = [
        f"Zoom Server-to-Server app {settings.zoom.client_id} of account {settings.zoom.account_id}: "
        "a token an hour, asked for again as it ends (there is no refresh token).",
        f"Scopes:        {' '.join(credentials.scopes) or '(none said)'}",
    ]
    if missing:
        return lines + [
            f"Status:        MISSING SCOPES {', '.join(missing)}: add them to the app in Zoom's Marketplace"
        ], False
    return lines + ["Status:        usable"], True


PROVIDER = Provider(
    name="zoom",
    title="Zoom",
    settings=tuple(SETTINGS),
    account_keys=ACCOUNT_KEYS,
    account_example=ACCOUNT_EXAMPLE,
    required=required,
    is_configured=is_configured,
    credentials=ServerToServer,
    check=check,
    collect=collect,
    authorisation=authorisation,
    auth_status=auth_status,
    webhooks=webhooks,
    private_body=private_body,
    rejudge_session=rejudge_session,
    schema=SCHEMA,
)
