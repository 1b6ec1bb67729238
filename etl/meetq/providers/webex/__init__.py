"""Webex: an OAuth integration (or a personal token), the meetings listing and the qualities
queue, meeting-ended webhooks. What is confirmed of the API, with sources: docs/webex.md and
docs/webex-webhooks.md."""

from __future__ import annotations

from pathlib import Path

from ...clock import parse_iso, utcnow
from ...errors import NotAuthorised
from ...minutes import rejudge_session
from ..base import Provider
from . import auth, bot, load, sign_in, webhooks
from .collect import collect
from .schema import SCHEMA
from .settings import ACCOUNT_EXAMPLE, ACCOUNT_KEYS, SETTINGS
from .tokens import TokenStore
from .transform import private_body


def required(table: dict) -> str | None:
    if table.get("access_token") or (table.get("client_id") and table.get("client_secret")):
        return None
    return "give either access_token, or client_id and client_secret"


def is_configured(settings) -> bool:
    return bool(settings.webex.access_token or settings.webex.client_id or Path(settings.secrets).exists())


def check(settings) -> None:
    if settings.webex.access_token:
        auth.StaticToken(settings).validate()
    else:
        auth.TokenManager(settings)


def authorisation(settings, state) -> dict:
    if settings.webex.access_token:
        return {"mode": "personal access token", "expires_at": state("auth.access_expires_at")}
    try:
        view = TokenStore(settings.secrets).load().public_view()
    except (NotAuthorised, OSError) as error:  # no file yet, unreadable, or not ours to read
        return {"mode": "integration", "problem": str(error)}
    return {
        "mode": "integration",
        "who": view["identity"].get("emails"),
        "access_expires_at": view["access_expires_at"],
        "refresh_expires_at": view["refresh_expires_at"],
        "reauth_required": view["reauth_required"],
    }


def auth_status(settings) -> tuple[list[str], bool]:
    if settings.webex.access_token:
        return [
            f"Personal access token mode (MEETQ_WEBEX_ACCESS_TOKEN): no refresh; it lasts "
            f"{settings.webex.personal_token_hours:g} hours from its first use."
        ], True
    store = TokenStore(settings.secrets)
    store.check_private()  # the collector refuses a token file others can read: so does this
    view = store.load().public_view()
    identity = view["identity"]
    lines = [
        f"Authorised by: {identity.get('display_name')} <{', '.join(identity.get('emails') or [])}>"
        f" (org {identity.get('org_id')})",
        f"Scopes:        {view['scopes']}",
        f"Access token:  expires {view['access_expires_at']}",
        f"Refresh token: expires {view['refresh_expires_at']}",
    ]
    flag = view["reauth_required"]
    if flag:
        return lines + [
            f"Status:        RE-AUTHORISATION REQUIRED since {flag.get('since')} ({flag.get('reason')}): "
            "run `meetq auth login`"
        ], False
    refresh_ends = parse_iso(view["refresh_expires_at"])
    if refresh_ends and refresh_ends <= utcnow():  # nothing can renew the access token any more
        return lines + [
            f"Status:        RE-AUTHORISATION REQUIRED: the refresh token expired at "
            f"{view['refresh_expires_at']}: run `meetq auth login`"
        ], False
    return lines + ["Status:        usable"], True


def login(settings, **options) -> str:
    tokens = auth.login(settings, **options)
    return ", ".join(tokens.identity.get("emails") or []) or tokens.identity.get("id")


PROVIDER = Provider(
    name="webex",
    title="Webex",
    settings=tuple(SETTINGS),
    account_keys=ACCOUNT_KEYS,
    account_example=ACCOUNT_EXAMPLE,
    required=required,
    is_configured=is_configured,
    credentials=auth.credentials_for,
    check=check,
    collect=collect,
    authorisation=authorisation,
    auth_status=auth_status,
    login=login,
    webhooks=webhooks,
    load_endpoint="qualities",
    load_document=load.load_document,
    private_body=private_body,
    rejudge_session=rejudge_session,
    sign_in=sign_in,
    schema=SCHEMA,
)

# Its messaging channel, registered on its own (providers.CHANNELS): alerts, the digest, the assistant.
CHANNEL = bot
