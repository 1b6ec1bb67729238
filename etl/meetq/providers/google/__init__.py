"""Google Meet: a service account with domain-wide delegation, `call_ended` activities from the
Admin SDK Reports API, attendance from the Meet REST API. What is confirmed of the APIs, with
sources: docs/google-meet.md."""

from __future__ import annotations

from pathlib import Path

from ...private_files import check_private
from ..base import Provider
from .auth import ServiceAccount
from .collect import collect, private_body
from .schema import SCHEMA
from .settings import ACCOUNT_EXAMPLE, ACCOUNT_KEYS, SETTINGS
from .transform import rejudge_session


def required(table: dict) -> str | None:
    return (
        None
        if table.get("key_file") and table.get("admin_email")
        else "a google account needs key_file and admin_email"
    )


def is_configured(settings) -> bool:
    return bool(settings.google.key_file and settings.google.admin_email)


def check(settings) -> None:
    ServiceAccount(settings).ensure_fresh()


def authorisation(settings, state) -> dict:
    view = {
        "mode": "google service account",
        "key_file": str(settings.google.key_file),
        "acting_as": settings.google.admin_email,
        "reauth_required": state("auth.reauth_required"),
    }
    return (
        view
        if Path(settings.google.key_file).exists()
        else {**view, "problem": f"no key file at {settings.google.key_file}"}
    )


def auth_status(settings) -> tuple[list[str], bool]:
    check_private(Path(settings.google.key_file), "Google key file")  # as the collector does
    return [
        f"Google service account ({settings.google.key_file}) acting as {settings.google.admin_email}; google-auth "
        "renews its hour-long tokens. Refusals show in `meetq status` and the run log."
    ], Path(settings.google.key_file).exists()


PROVIDER = Provider(
    name="google",
    title="Google Meet",
    settings=tuple(SETTINGS),
    account_keys=ACCOUNT_KEYS,
    account_example=ACCOUNT_EXAMPLE,
    required=required,
    is_configured=is_configured,
    credentials=ServiceAccount,
    check=check,
    collect=collect,
    authorisation=authorisation,
    auth_status=auth_status,
    private_body=private_body,
    rejudge_session=rejudge_session,
    schema=SCHEMA,
)
