"""Redaction: keys, patterns, known values, and tracebacks rendered without locals."""

import io
import json
import logging

from meetq import logs


def capture(fmt="json"):
    stream = io.StringIO()
    logs.configure("debug", fmt, stream=stream)
    return stream


def test_secret_keys_patterns_and_known_values_are_redacted():
    stream = capture()
    logs.register_secret("KNOWN-SECRET-VALUE-123")
    log = logs.get_logger("test")
    log.info(
        "event",
        access_token="AT-1",
        client_secret="cs",
        refresh_expires_at="2026-01-01",
        note="Authorization: Bearer abc.def and refresh_token=xyz and KNOWN-SECRET-VALUE-123",
    )
    logging.getLogger("urllib3").warning("url with access_token=leaky&x=1")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    event = lines[0]
    assert event["access_token"] == "[redacted]" and event["client_secret"] == "[redacted]"
    assert event["refresh_expires_at"] == "2026-01-01"
    assert "abc.def" not in event["note"] and "xyz" not in event["note"]
    assert "KNOWN-SECRET-VALUE-123" not in stream.getvalue()
    assert "leaky" not in stream.getvalue()


def test_tracebacks_carry_no_local_variables():
    stream = capture()

    def refresh(refresh_token):
        raise RuntimeError("refresh failed")

    try:
        refresh(refresh_token="RT-SUPERSECRET-LOCAL")
    except RuntimeError:
        logs.get_logger("test").exception("boom")
    text = stream.getvalue()
    assert "refresh failed" in text and "RT-SUPERSECRET-LOCAL" not in text
    assert '"locals"' not in text


def test_console_format_redacts_too():
    stream = capture("console")
    logs.get_logger("test").info("event", access_token="AT-CONSOLE-1")
    assert "AT-CONSOLE-1" not in stream.getvalue() and "[redacted]" in stream.getvalue()
