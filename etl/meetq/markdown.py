"""Markdown for chat messages (the assistant's replies and the digest): text that came from a
vendor (a meeting title, a display name) or from the person asking is escaped, so it reads as
it was written and makes no link, emphasis, heading or mention (`<@all>`) of its own."""

from __future__ import annotations

import re

# Every character that starts Markdown or a mention, and the backslash itself: each escaped with
# a backslash (CommonMark lets any ASCII punctuation be escaped that way).
_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#|~!@&])")


def text(value) -> str:
    """`value` as literal text inside a message. Line ends become spaces: a title cannot start
    a list or a heading of its own."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


def link(base: str, path: str, shown: str) -> str:
    """A link to `base` + `path` showing `shown` (escaped); just the text without a base."""
    return f"[{text(shown)}]({base}{path})" if base else text(shown)
