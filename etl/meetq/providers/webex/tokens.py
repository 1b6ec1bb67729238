"""The token file: the only place secrets live.

Written atomically (temp file in the same folder, fsync, rename) with mode 0600, so a crash
never leaves half a token file and no other user can read it. It holds the tokens, their
absolute expiry times, the scopes, who authorised, and — when a refresh was refused — the
re-authorisation flag. A fresh `meetq auth login` writes a new file without that flag.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from ... import logs
from ...clock import add_seconds, iso, parse_iso
from ...errors import NotAuthorised
from ...private_files import check_private, write_private_json


@dataclass
class Tokens:
    access_token: str
    refresh_token: str | None = None
    access_expires_at: str | None = None
    refresh_expires_at: str | None = None
    scopes: str | None = None
    token_type: str = "Bearer"
    identity: dict = field(default_factory=dict)
    obtained_at: str | None = None
    refreshed_at: str | None = None
    reauth_required: dict | None = None

    def __post_init__(self):
        logs.register_secret(self.access_token, self.refresh_token)

    def __repr__(self) -> str:  # never let a token reach a log through repr()
        return f"Tokens(identity={self.identity.get('emails')}, access_expires_at={self.access_expires_at})"

    @classmethod
    def from_response(cls, body: dict, now: datetime, previous: "Tokens | None" = None) -> "Tokens":
        """Tokens from a token-endpoint answer. A missing refresh_token keeps the previous one."""
        refresh = body.get("refresh_token") or (previous.refresh_token if previous else None)
        refresh_expires = _expiry(body.get("refresh_token_expires_in"), now)
        if refresh_expires is None and previous and refresh == previous.refresh_token:
            refresh_expires = previous.refresh_expires_at
        return cls(
            access_token=body["access_token"],
            refresh_token=refresh,
            access_expires_at=_expiry(body.get("expires_in"), now),
            refresh_expires_at=refresh_expires,
            scopes=body.get("scope") or (previous.scopes if previous else None),
            token_type=body.get("token_type") or "Bearer",
            identity=previous.identity if previous else {},
            obtained_at=previous.obtained_at if previous else iso(now),
            refreshed_at=iso(now) if previous else None,
        )

    def seconds_left(self, now: datetime) -> float | None:
        expires = parse_iso(self.access_expires_at)
        return None if expires is None else (expires - now).total_seconds()

    def refresh_seconds_left(self, now: datetime) -> float | None:
        expires = parse_iso(self.refresh_expires_at)
        return None if expires is None else (expires - now).total_seconds()

    def public_view(self) -> dict:
        """Everything but the secrets: safe to print, log or store in the database."""
        return {
            "identity": self.identity,
            "scopes": self.scopes,
            "access_expires_at": self.access_expires_at,
            "refresh_expires_at": self.refresh_expires_at,
            "obtained_at": self.obtained_at,
            "refreshed_at": self.refreshed_at,
            "reauth_required": self.reauth_required,
        }


def _expiry(seconds, now: datetime) -> str | None:
    try:
        return iso(add_seconds(now, float(seconds)))
    except (TypeError, ValueError):
        return None


class TokenStore:
    def __init__(self, path: Path):
        self.path = Path(path)

    def load(self) -> Tokens:
        try:
            data = json.loads(self.path.read_text())
            return Tokens(**{k: v for k, v in data.items() if k in Tokens.__dataclass_fields__})
        except FileNotFoundError:
            raise NotAuthorised(f"no token file at {self.path}: run `meetq auth login`") from None
        except (ValueError, TypeError, KeyError):
            raise NotAuthorised(f"the token file {self.path} is unreadable: run `meetq auth login` again") from None

    def save(self, tokens: Tokens) -> None:
        write_private_json(self.path, asdict(tokens))

    def check_private(self) -> None:
        check_private(self.path, "token file")


class FixedToken:
    """Credentials for the ApiClient from one token that never refreshes: the bot's, or the one a
    login just received. A refusal is final; the token never shows in a log or a repr."""

    def __init__(self, token: str = ""):
        self.token = token

    @property
    def token(self) -> str:
        return self._token

    @token.setter
    def token(self, value: str) -> None:
        if value:
            logs.register_secret(value)
        self._token = value

    def access_token(self) -> str:
        return self.token

    def refresh_after_unauthorised(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "FixedToken([redacted])"
