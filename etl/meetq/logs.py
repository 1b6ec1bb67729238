"""structlog set-up: JSON lines off a terminal, readable lines on one, secrets redacted.

Redaction runs on every event, from our code and from the standard-library loggers
(APScheduler, urllib3, requests-oauthlib) alike. Three nets: keys that name a secret,
`Bearer …`/`token=…` patterns inside strings, and the exact secret values this process
knows (client secret, access and refresh tokens), registered as they appear.
Tracebacks are rendered without local variables: structlog's default `show_locals`
would print a token held in a frame (docs/libraries.md, "structlog").
"""

from __future__ import annotations

import logging
import re
import sys
import threading

import structlog

REDACTED = "[redacted]"
# Keys whose value is a secret: access_token, refresh_token, client_secret, code, password …
_SECRET_KEY = re.compile(r"(^|_)(token|secret|password|authorization|code|hostkey|credentials?)$", re.I)
_SECRET_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(?i)((?:access_token|refresh_token|client_secret|code|token)=)[^&\s'\"]+"),
    re.compile(r'(?i)("(?:access_token|refresh_token|client_secret)"\s*:\s*")[^"]*'),
]
_known_secrets: set[str] = set()
_lock = threading.Lock()


def register_secret(*values: str | None) -> None:
    """Remember exact secret values so that they are masked wherever they appear."""
    with _lock:
        _known_secrets.update(v for v in values if v and len(v) >= 6)


def redact_text(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
    with _lock:
        secrets = sorted(_known_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def redact(value, key: str = ""):
    if key and _SECRET_KEY.search(key) and isinstance(value, (str, bytes)) and value:
        return REDACTED
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact(v) for v in value)
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, BaseException):
        return redact_text(f"{type(value).__name__}: {value}")
    return value


def redact_processor(logger, method_name, event_dict):
    return {k: (v if k in ("timestamp", "level", "logger") else redact(v, k)) for k, v in event_dict.items()}


def configure(level: str = "info", fmt: str = "auto", stream=None) -> None:
    stream = stream or sys.stderr
    if fmt == "auto":
        fmt = "console" if stream.isatty() else "json"
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if fmt == "json":
        tracebacks = structlog.processors.ExceptionRenderer(
            structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
        )
        renderer = structlog.processors.JSONRenderer()
    else:
        tracebacks = structlog.processors.format_exc_info
        renderer = structlog.dev.ConsoleRenderer(
            colors=stream.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    # Redaction comes after the traceback is rendered to data, so it sees the traceback too.
    final = [structlog.stdlib.ProcessorFormatter.remove_processors_meta, tracebacks, redact_processor, renderer]
    handler = logging.StreamHandler(stream)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=final))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # These libraries log token bodies and Authorization headers at DEBUG.
    # peewee logs every statement with its parameters (whole payloads) at DEBUG.
    for noisy in ("requests_oauthlib", "oauthlib", "urllib3", "peewee"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(max(logging.INFO, root.level))
    structlog.configure(
        processors=shared + [structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def get_logger(name: str = "meetq"):
    return structlog.get_logger(name)
