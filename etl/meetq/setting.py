"""One setting: its section and name, type, default and meaning. The core and every provider
declare theirs with it; `config` layers them (defaults < TOML < environment < options)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Setting:
    section: str
    name: str
    type: type
    default: Any
    help: str
    env: str = ""
    secret: bool = False
    minimum: float | None = None
    choices: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()  # older `section.name` keys still read from the TOML file
    env_aliases: tuple[str, ...] = ()  # older environment variables still read
    per_account: bool = False  # a vendor's setting each account gives for itself (a secret always is)

    @property
    def key(self) -> str:
        return f"{self.section}.{self.name}"

    @property
    def env_name(self) -> str:
        return self.env or f"MEETQ_{self.section}_{self.name}".upper()
