"""Zoom's Server-to-Server OAuth: an account_credentials grant with the app's id and secret.

There is no refresh token: a token lasts an hour (`expires_in`) and meetq asks for another one
shortly before that, or at once when the API answers 401 (the core's AppToken).
"""

from __future__ import annotations

from ...app_tokens import AppToken
from ...errors import ConfigError

# Either the classic scope or both granular ones reads the Dashboard's meetings and QoS.
CLASSIC_SCOPES = ("dashboard_meetings:read:admin",)
GRANULAR_SCOPES = ("dashboard:read:list_meetings:admin", "dashboard:read:list_meeting_participants_qos:admin")


class ServerToServer(AppToken):
    vendor = "Zoom"

    def __init__(self, settings, client=None, **kwargs):
        zoom = settings.zoom
        if not (zoom.account_id and zoom.client_id and zoom.client_secret):
            raise ConfigError(
                f"account {settings.account!r}: a zoom account needs account_id, client_id and client_secret"
            )
        super().__init__(settings, zoom.client_secret, f"app {zoom.client_id}", client, **kwargs)

    def grant(self) -> dict:
        zoom = self.settings.zoom
        response = self.client.request(
            "POST",
            zoom.oauth_url,
            params={"grant_type": "account_credentials", "account_id": zoom.account_id},
            authenticated=False,
            basic_auth=(zoom.client_id, zoom.client_secret),
            report=False,
        )
        return response.json()

    def refused(self, status: int) -> str:
        zoom = self.settings.zoom
        return (
            f"Zoom refused the Server-to-Server app {zoom.client_id} of account {zoom.account_id} "
            f"(HTTP {status}): check its client id, secret and account id, and that the app is activated"
        )

    def ensure_fresh(self) -> list[str]:
        self.access_token()
        missing = missing_scopes(self.scopes)
        return [f"the Zoom token lacks {', '.join(missing)}: QoS reads will be refused"] if missing else []


def missing_scopes(granted: list[str]) -> list[str]:
    """The scopes a token lacks to read meetings and their QoS (none: it has what it needs)."""
    have = set(granted)
    if have.issuperset(CLASSIC_SCOPES) or have.issuperset(GRANULAR_SCOPES):
        return []
    return [s for s in GRANULAR_SCOPES if s not in have]
