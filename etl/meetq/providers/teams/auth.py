"""Microsoft's client-credentials grant for an app registration: a token for
`https://graph.microsoft.com/.default` from {login_base}/{tenant}/oauth2/v2.0/token, carrying the
application permissions an admin consented to (meetq needs CallRecords.Read.All). The token
says them in its `roles` claim; the token endpoint's answer does not."""

from __future__ import annotations

import base64
import json

from ...app_tokens import AppToken
from ...errors import ConfigError

SCOPE = "https://graph.microsoft.com/.default"
PERMISSION = "CallRecords.Read.All"


class ClientCredentials(AppToken):
    vendor = "Microsoft"

    def __init__(self, settings, client=None, **kwargs):
        teams = settings.teams
        if not (teams.tenant_id and teams.client_id and teams.client_secret):
            raise ConfigError(
                f"account {settings.account!r}: a teams account needs tenant_id, client_id and client_secret"
            )
        super().__init__(settings, teams.client_secret, f"app {teams.client_id}", client, **kwargs)

    def token_url(self) -> str:
        teams = self.settings.teams
        return f"{teams.login_base.rstrip('/')}/{teams.tenant_id}/oauth2/v2.0/token"

    def grant(self) -> dict:
        teams = self.settings.teams
        response = self.client.request(
            "POST",
            self.token_url(),
            data={
                "grant_type": "client_credentials",
                "client_id": teams.client_id,
                "client_secret": teams.client_secret,
                "scope": SCOPE,
            },
            authenticated=False,
            report=False,
        )
        return response.json()

    def refused(self, status: int) -> str:
        teams = self.settings.teams
        return (
            f"Microsoft refused the app registration {teams.client_id} of tenant {teams.tenant_id} "
            f"(HTTP {status}): check its client id, secret (they expire) and tenant id"
        )

    def scopes_of(self, body: dict) -> list[str]:
        return roles_of(body.get("access_token"))

    def ensure_fresh(self) -> list[str]:
        self.access_token()
        missing = [] if PERMISSION in self.scopes else [PERMISSION]
        return [f"the Teams token lacks {PERMISSION} (admin consent): call records will be refused"] if missing else []


def roles_of(token) -> list[str]:
    """The application permissions a Graph token carries (its `roles` claim). The token is only
    read, never verified: Graph verifies it; meetq wants to say what is missing."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (AttributeError, IndexError, ValueError):
        return []
    roles = claims.get("roles") if isinstance(claims, dict) else None
    return [r for r in roles if isinstance(r, str)] if isinstance(roles, list) else []
