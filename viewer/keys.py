"""The viewer's secrets file (mode 0600, never given to Datasette as data): the key that signs
session cookies, made on first use, the password users `meetq users` manages, and the sessions
ended by logging out.

Passwords are hashed with Argon2id (argon2-cffi: salted, slow and memory-hard, with its
parameters inside each hash, so stronger defaults later re-hash at the next sign-in).
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from meetq.errors import MeetqError
from meetq.private_files import check_private, write_private_json

USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")
MIN_PASSWORD = 10
_hasher = PasswordHasher()
# Verifying against this when the name is unknown takes as long as a real check: the time a
# refusal takes does not tell which names exist.
_UNKNOWN = _hasher.hash(secrets.token_hex(16))
_lock = threading.Lock()


class ViewerSecrets:
    def __init__(self, path: Path):
        self.path = Path(path)

    def _read(self) -> dict:
        check_private(self.path, "viewer secrets file")
        try:
            document = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (ValueError, UnicodeDecodeError, OSError) as error:
            raise MeetqError(
                f"{self.path} is not readable as the viewer's secrets ({type(error).__name__}): "
                "move it away and run `meetq users add` again"
            ) from None
        return document if isinstance(document, dict) else {}

    def _change(self, change) -> None:
        with _lock:
            document = self._read()
            change(document)
            write_private_json(self.path, document)

    def cookie_secret(self) -> str:
        """The session-cookie key, made on first use. Deleting the file signs everyone out."""
        secret = self._read().get("cookie_secret")
        if not isinstance(secret, str) or len(secret) < 32:
            secret = secrets.token_hex(32)
            self._change(lambda document: document.update(cookie_secret=secret))
        return secret

    def users(self) -> list[str]:
        return sorted(self._read().get("users") or {})

    def add_user(self, name: str, password: str) -> None:
        if not USER_NAME.match(name):
            raise MeetqError(f"{name!r} is not a user name: letters, digits and . _ @ + -, at most 64")
        if len(password) < MIN_PASSWORD:
            raise MeetqError(f"a password needs at least {MIN_PASSWORD} characters")
        hashed = _hasher.hash(password)
        self._change(lambda document: document.setdefault("users", {}).__setitem__(name, hashed))

    def remove_user(self, name: str) -> None:
        if name not in self.users():
            raise MeetqError(f"no user named {name!r} (the users are: {', '.join(self.users()) or 'none'})")
        self._change(lambda document: document["users"].pop(name))

    def has_user(self, name: str) -> bool:
        return name in (self._read().get("users") or {})

    def revoke(self, session_id: str, until: float) -> None:
        """End a session for good (log-out). Kept until it would have expired anyway."""

        def change(document):
            now = time.time()
            revoked = {
                k: v for k, v in (document.get("revoked") or {}).items() if isinstance(v, (int, float)) and v > now
            }
            document["revoked"] = {**revoked, session_id: until}

        self._change(change)

    def is_revoked(self, session_id: str) -> bool:
        return session_id in (self._read().get("revoked") or {})

    def verify(self, name: str, password: str) -> bool:
        hashed = (self._read().get("users") or {}).get(name)
        try:
            _hasher.verify(hashed or _UNKNOWN, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        if hashed and _hasher.check_needs_rehash(hashed):
            self._change(lambda document: document["users"].__setitem__(name, _hasher.hash(password)))
        return hashed is not None
