"""Zoom's Server-to-Server OAuth: an account_credentials grant with the app's id and secret.

There is no refresh token: a token lasts an hour (`expires_in`) and meetq asks for another one
shortly before that, or at once when the API answers 401. Tokens live in memory only; the
secret and every token are registered for redaction, never stored in the database or logged.
"""

from __future__ import annotations

import threading
import time

from ...clock import iso, utcnow
from ...errors import ApiError, BadRequest, ConfigError, ReauthRequired, Unauthorised
from ...http import ApiClient
from ...logs import get_logger, register_secret

log = get_logger("meetq.zoom")
EARLY_SECONDS = 300  # ask for a new token this long before the old one ends
# Either the classic scope or both granular ones reads the Dashboard's meetings and QoS.
CLASSIC_SCOPES = ("dashboard_meetings:read:admin",)
GRANULAR_SCOPES = ("dashboard:read:list_meetings:admin", "dashboard:read:list_meeting_participants_qos:admin")


class ServerToServer:
    """meetq's credentials protocol over Zoom's account_credentials grant."""

    def __init__(self, settings, client: ApiClient | None = None, clock=time.monotonic):
        zoom = settings.zoom
        if not (zoom.account_id and zoom.client_id and zoom.client_secret):
            raise ConfigError(
                f"account {settings.account!r}: a zoom account needs account_id, client_id and client_secret"
            )
        register_secret(zoom.client_secret)
        self.settings, self.clock = settings, clock
        self.client = client or ApiClient(settings, None)
        self.token: str | None = None
        self.scopes: list[str] = []
        self.expires_at = 0.0
        self.refused_at: str | None = None
        self._lock = threading.Lock()  # the quality queue's threads share one token

    def access_token(self) -> str:
        with self._lock:
            if self.token is None or self.clock() >= self.expires_at:
                self._request_token()
            return self.token

    def refresh_after_unauthorised(self) -> bool:
        with self._lock:
            self._request_token()
        return True

    def ensure_fresh(self) -> list[str]:
        self.access_token()
        missing = missing_scopes(self.scopes)
        return [f"the Zoom token lacks {', '.join(missing)}: QoS reads will be refused"] if missing else []

    def facts(self) -> dict:
        zoom = self.settings.zoom
        return {
            "auth.identity": f"app {zoom.client_id}",
            "auth.scopes": " ".join(self.scopes) or None,
            "auth.reauth_required": self.refused_at,
        }

    def _request_token(self) -> None:
        zoom = self.settings.zoom
        try:
            response = self.client.request(
                "POST",
                zoom.oauth_url,
                params={"grant_type": "account_credentials", "account_id": zoom.account_id},
                authenticated=False,
                basic_auth=(zoom.client_id, zoom.client_secret),
                report=False,
            )
            body = response.json()
            token, lifetime = body["access_token"], float(body.get("expires_in") or 3600)
        except (BadRequest, Unauthorised) as error:
            self.refused_at = iso(utcnow())
            raise ReauthRequired(
                f"Zoom refused the Server-to-Server app {zoom.client_id} of account {zoom.account_id} "
                f"(HTTP {error.status}): check its client id, secret and account id, and that the app is activated"
            ) from None
        except (ValueError, KeyError, TypeError) as error:
            raise ApiError(f"Zoom's token endpoint answered without a token ({type(error).__name__})") from None
        register_secret(token)
        # Asked for again shortly before it ends (a tenth of a short life), never used to the last second.
        self.token, self.expires_at = token, self.clock() + lifetime - min(EARLY_SECONDS, lifetime / 10)
        self.scopes = str(body.get("scope") or "").split()
        log.info("zoom_token", expires_in=lifetime, scopes=len(self.scopes))


def missing_scopes(granted: list[str]) -> list[str]:
    """The scopes a token lacks to read meetings and their QoS (none: it has what it needs)."""
    have = set(granted)
    if have.issuperset(CLASSIC_SCOPES) or have.issuperset(GRANULAR_SCOPES):
        return []
    return [s for s in GRANULAR_SCOPES if s not in have]
