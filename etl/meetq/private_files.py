"""Files that hold secrets (tokens, webhook secrets, keys): written whole, readable by their owner
alone, checked before they are trusted."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path

from . import logs
from .errors import InsecureTokenFile, NotAuthorised


def write_private_json(path: Path, document: dict) -> None:
    """Replace `path` atomically with `document`, readable by its owner alone (mode 0600 from
    the first byte: the temporary file is made private before anything is written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(document, indent=2, sort_keys=True)
    handle, temp = tempfile.mkstemp(prefix=".secret-", dir=path.parent)
    try:
        os.fchmod(handle, 0o600)
        with os.fdopen(handle, "w") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def check_private(path: Path, what: str) -> None:
    """Refuse a secrets file that group or others may read or write."""
    path = Path(path)
    if path.exists() and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InsecureTokenFile(f"the {what} {path} can be read by other users: run `chmod 600 {path}`")


def beside(secrets: Path, kind: str) -> Path:
    """Where a file of secrets of one kind is kept: data/secrets.json -> data/secrets.<kind>.json."""
    return secrets.with_name(f"{secrets.stem}.{kind}{secrets.suffix}")


def read_registration(path: Path, again: str, texts: tuple[str, ...] = ()) -> dict | None:
    """A webhook registration file (its secret, and the fields named in `texts`, each a string):
    None when there is none, one clear NotAuthorised when it cannot be used, whatever is wrong with
    it; `again` is the command that writes a good one."""
    try:
        found = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise NotAuthorised(f"{path} is unreadable ({type(error).__name__}): run `{again}` again") from None
    if not isinstance(found, dict) or not isinstance(found.get("secret"), str) or not found["secret"]:
        raise NotAuthorised(f"{path} holds no webhook secret: run `{again}` again")
    if not all(isinstance(found.get(key), str) for key in texts):
        raise NotAuthorised(f"{path} is unreadable: run `{again}` again")
    logs.register_secret(found["secret"])
    return found
