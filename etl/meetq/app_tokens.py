"""An app's own token from a client-credentials style grant (an account_credentials or a
client_credentials grant): asked for, kept in memory only, asked for again shortly before it ends or at
once after a 401. There is no refresh token and nothing on disk; the secret and every token are
registered for redaction, never stored in the database or logged.

A vendor subclasses AppToken with `grant()` (one request to its token endpoint) and `refused()`
(the words for a refusal, naming what to check).
"""

from __future__ import annotations

import threading
import time

from .clock import iso, utcnow
from .errors import ApiError, BadRequest, ReauthRequired, Unauthorised
from .http import ApiClient
from .logs import get_logger, register_secret

log = get_logger("meetq.app_tokens")
EARLY_SECONDS = 300  # ask for a new token this long before the old one ends


class AppToken:
    """meetq's credentials protocol (providers/base.py) over a grant that needs no person."""

    vendor = "the vendor"

    def __init__(self, settings, secret: str, identity: str, client: ApiClient | None = None, clock=time.monotonic):
        register_secret(secret)
        self.settings, self.identity, self.clock = settings, identity, clock
        self.client = client or ApiClient(settings, None)
        self.token: str | None = None
        self.scopes: list[str] = []
        self.expires_at = 0.0
        self.refused_at: str | None = None
        self._lock = threading.Lock()  # the quality queue's threads share one token

    def grant(self) -> dict:
        """The token endpoint's answer (a JSON object), or a named error."""
        raise NotImplementedError

    def refused(self, status: int) -> str:
        """What to tell someone whose app the token endpoint refused."""
        raise NotImplementedError

    def scopes_of(self, body: dict) -> list[str]:
        return str(body.get("scope") or "").split()

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
        return []

    def facts(self) -> dict:
        return {
            "auth.identity": self.identity,
            "auth.scopes": " ".join(self.scopes) or None,
            "auth.reauth_required": self.refused_at,
        }

    def _request_token(self) -> None:
        try:
            body = self.grant()
            token, lifetime = body["access_token"], float(body.get("expires_in") or 3600)
            if not isinstance(token, str) or not token:
                raise TypeError("access_token")
        except (BadRequest, Unauthorised) as error:
            self.refused_at = iso(utcnow())
            raise ReauthRequired(self.refused(error.status)) from None
        except (ValueError, KeyError, TypeError) as error:
            raise ApiError(
                f"{self.vendor}'s token endpoint answered without a token ({type(error).__name__})"
            ) from None
        register_secret(token)
        # Asked for again shortly before it ends (a tenth of a short life), never used to the last second.
        self.token, self.expires_at = token, self.clock() + lifetime - min(EARLY_SECONDS, lifetime / 10)
        self.scopes = self.scopes_of(body)
        log.info("app_token", vendor=self.vendor, expires_in=lifetime, scopes=len(self.scopes))
