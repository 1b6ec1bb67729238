"""Google's service account with domain-wide delegation, acting as a Workspace user.

google-auth signs the JWT and exchanges it at the key file's `token_uri`, which we would
otherwise write ourselves. The key file is a secret like any token: 0600 or refused, never
stored in the database, never logged.
"""

from __future__ import annotations

import json
from pathlib import Path

from ...clock import iso, utcnow
from ...errors import NotAuthorised, ReauthRequired, TransientError
from ...logs import register_secret
from ...private_files import check_private

REPORTS_SCOPE = "https://www.googleapis.com/auth/admin.reports.audit.readonly"
MEET_SCOPE = "https://www.googleapis.com/auth/meetings.space.readonly"


class ServiceAccount:
    """google-auth service-account credentials behind meetq's credentials protocol."""

    def __init__(self, settings, scope: str = REPORTS_SCOPE, subject: str | None = None):
        from google.oauth2 import service_account  # google-auth loads slowly: only when used

        path = Path(settings.google.key_file)
        if not path.exists():
            raise NotAuthorised(f'no Google service account key at {path}: see README, "Google Meet"')
        check_private(path, "Google key file")
        self.scope, self.subject = scope, subject or settings.google.admin_email
        self.refused_at: str | None = None
        try:
            info = json.loads(path.read_text())
            register_secret(info.get("private_key_id"), info.get("private_key"))
            self.credentials = service_account.Credentials.from_service_account_info(
                info, scopes=[scope], subject=self.subject
            )
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise NotAuthorised(
                f"the Google key file {path} is not a service account key: {type(error).__name__}"
            ) from None

    def access_token(self) -> str:
        if not self.credentials.valid:
            self._refresh()
        return self.credentials.token

    def refresh_after_unauthorised(self) -> bool:
        self._refresh()
        return True

    def ensure_fresh(self) -> list[str]:
        self.access_token()
        return []

    def facts(self) -> dict:
        """Who the account acts as and whether Google refused it, for the health views."""
        return {"auth.identity": self.subject, "auth.reauth_required": self.refused_at}

    def _refresh(self) -> None:
        from google.auth.exceptions import RefreshError, TransportError
        from google.auth.transport.requests import Request

        try:
            self.credentials.refresh(Request())
        except RefreshError as error:
            reason = error.args[0] if error.args else "refused"
            self.refused_at = iso(utcnow())
            raise ReauthRequired(
                f"Google refused the service account acting as {self.subject} ({reason}): check "
                f"its domain-wide delegation (scope {self.scope}) and that this user exists"
            ) from None
        except TransportError as error:
            raise TransientError(f"Google's token endpoint did not answer: {type(error).__name__}") from None
        register_secret(self.credentials.token)
