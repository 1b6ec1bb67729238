"""Exceptions whose names say what went wrong. Callers catch meaning, not status codes."""

from __future__ import annotations


class MeetqError(Exception):
    """Base of every error meetq raises on purpose."""


class ConfigError(MeetqError):
    """A setting is missing or invalid. The message names the key and where to set it."""


class CollectorLocked(MeetqError):
    """Another collector already holds the database's lock."""


class ReauthRequired(MeetqError):
    """The vendor refused meetq's standing authorisation (a refresh token, a delegation): a person
    must act, as the message says."""


class AccessTokenExpired(MeetqError):
    """A personal access token (no refresh possible) has expired or was refused."""


class NotAuthorised(MeetqError):
    """No usable credentials: nobody logged in yet, or a credentials file is missing or unreadable."""


class LoginFailed(MeetqError):
    """The OAuth redirect carried an error, a wrong or missing state, or no code."""


class ApiError(MeetqError):
    """A vendor's API answered with an error. Carries the status and the tracking id (vendor support
    asks for it)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        tracking_id: str | None = None,
        url: str | None = None,
        body: str | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.tracking_id = tracking_id
        self.url = url
        self.body = body

    def __str__(self) -> str:
        parts = [super().__str__()]
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.tracking_id:
            parts.append(f"trackingId={self.tracking_id}")
        return " ".join(parts)


class RateLimited(ApiError):
    """429: wait `retry_after` seconds before calling again."""

    def __init__(self, message: str, *, retry_after: float, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class TransientError(ApiError):
    """5xx, timeout or connection failure that outlasted our retries: try again next cycle."""


class AccessDenied(ApiError):
    """403: the token lacks a scope, the user is not an admin, or the org lacks Pro Pack."""


class Unauthorised(ApiError):
    """401 that a token refresh did not cure."""


class NotFound(ApiError):
    """404: the API has no such thing."""


class BadRequest(ApiError):
    """400: the API refused the request as it was asked (a window too wide, an id it will not
    serve); what that means is the vendor's to say."""


class MalformedResponse(ApiError):
    """A 2xx whose body is not the JSON we expect (truncated, wrong type, not JSON)."""


class TokenEndpointError(ApiError):
    """The token endpoint refused a grant for a reason other than invalid_grant."""


class DatabaseMissing(MeetqError):
    """The database file does not exist yet."""


class DatabaseUnusable(MeetqError):
    """The database cannot be used as asked: not writable, not SQLite, not meetq's."""


class InsecureTokenFile(MeetqError):
    """A file holding secrets can be read by other users."""


class NotSupported(MeetqError):
    """The account's vendor has no such thing (a login for a service account, webhooks it does not offer)."""
