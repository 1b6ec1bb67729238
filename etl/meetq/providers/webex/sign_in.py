"""People sign in to the viewer with Webex: the OAuth authorization-code flow with PKCE, then
`GET /people/me` for who they are and which organisation they belong to.

The scope is `spark:people_read` alone (docs/webex-sign-in.md): OpenID Connect's `openid` scope
would prove who signed in, but its id token carries no organisation, and deciding by organisation
is the point. /people/me gives the organisation id and the emails with this one scope. The access
token is used for that one call and then dropped: the viewer keeps no Webex credential.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

import requests

from ...errors import ConfigError, LoginFailed
from .client import base

SCOPE = "spark:people_read"


@dataclass(frozen=True)
class Identity:
    email: str
    name: str
    org: str


def client_of(settings) -> tuple[str, str]:
    """The integration people sign in through: the viewer's own, else the collector's."""
    client_id = settings.sign_in_client_id or settings.webex.client_id
    client_secret = settings.sign_in_client_secret or settings.webex.client_secret
    if not client_id or not client_secret:
        raise ConfigError(
            "viewer.auth = webex needs an integration: set viewer.sign_in_client_id and "
            "viewer.sign_in_client_secret (or webex.client_id and webex.client_secret)"
        )
    return client_id, client_secret


def authorize_url(settings, redirect_uri: str, state: str, code_challenge: str) -> str:
    client_id, _ = client_of(settings)
    return f"{base(settings.webex.api_base)}/authorize?" + urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": SCOPE,
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
    )


def identity(settings, code: str, code_verifier: str, redirect_uri: str) -> Identity:
    """Trade the code for a token, ask who it belongs to, forget the token."""
    client_id, client_secret = client_of(settings)
    timeout = settings.request_timeout_seconds
    try:
        grant = requests.post(
            f"{base(settings.webex.api_base)}/access_token",
            timeout=timeout,
            data={
                "grant_type": "authorization_code",
                "client_id": client_id,
                "client_secret": client_secret,
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": code_verifier,
            },
        )
        if grant.status_code != 200:
            raise LoginFailed(f"Webex refused the sign-in code (HTTP {grant.status_code})")
        token = grant.json().get("access_token")
        me = requests.get(
            f"{base(settings.webex.api_base)}/people/me", timeout=timeout, headers={"Authorization": f"Bearer {token}"}
        )
        if me.status_code != 200:
            raise LoginFailed(f"Webex would not say who signed in (HTTP {me.status_code})")
        person = me.json()
    except (requests.RequestException, ValueError, AttributeError) as error:
        raise LoginFailed(f"Webex did not answer the sign-in properly ({type(error).__name__})") from None
    emails = person.get("emails") if isinstance(person.get("emails"), list) else []
    if not emails or not isinstance(person.get("orgId"), str):
        raise LoginFailed("Webex's answer names no email or organisation")
    return Identity(email=str(emails[0]).lower(), name=str(person.get("displayName") or emails[0]), org=person["orgId"])
