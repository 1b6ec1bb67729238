"""A throwaway vendor, to prove that a new one is a folder and a registry line: "Tiny" serves its
calls at GET {tiny.base_url}/calls, each call's participants with one mean loss per call. It has
settings of its own ([tiny] base_url, and a client_id like every vendor), no credentials worth the
name, and collects into the real schema through the same store calls as Webex and Google Meet."""

from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import parse_qs

import requests
from meetq import store
from meetq.delivery import Answer
from meetq.providers.base import Provider
from meetq.rows import SESSION_WRITE_COLUMNS, PreparedSession, content_fingerprint, stable_id, summary_row
from meetq.setting import Setting
from meetq.verdicts import Check, judge, session_verdict, stream_verdict, with_defaults

VENDOR = "tiny"
SETTINGS = (
    Setting(VENDOR, "base_url", str, None, "Where Tiny's API is.", env="MEETQ_TINY_BASE_URL"),
    Setting(VENDOR, "client_id", str, None, "Tiny's client id (every vendor has one).", env="MEETQ_TINY_CLIENT_ID"),
)
CHECKS = [Check("avg_packet_loss", "packet loss averaged", "%", True, ("loss_fair_pct", "loss_poor_pct"), ("audio",))]


class NoToken:
    """Tiny asks for nothing; the core's client still wants a credentials object."""

    def access_token(self) -> str:
        return "tiny"

    def refresh_after_unauthorised(self) -> bool:
        return False

    def ensure_fresh(self) -> list[str]:
        return []


def prepare_call(call: dict, person: dict, fetched_at: str, thresholds: dict) -> PreparedSession:
    """One participant of one call as the shared rows (a pure function of the payload)."""
    meeting_id = f"tiny:{call['id']}"
    session_id = stable_id(VENDOR, call["id"], person["email"])
    figures = {"avg_packet_loss": person["loss"]}
    verdicts = judge(person["email"], "audio", "in", figures, thresholds, CHECKS, seconds=person["seconds"])
    row = {column: None for column in SESSION_WRITE_COLUMNS}
    row.update(
        id=session_id,
        meeting_id=meeting_id,
        user_email=person["email"],
        user_name=person["name"],
        join_time=call["start"],
        leave_time=call["end"],
        client_type="Tiny app",
        content_sha256=content_fingerprint(person),
        fetched_at=fetched_at,
        **session_verdict(verdicts, "no media figures"),
    )
    summary = summary_row(session_id, "audio", "in", 1, figures, stream_verdict(verdicts), person["seconds"])
    return PreparedSession(
        id=session_id,
        meeting_id=meeting_id,
        fingerprint=row["content_sha256"],
        session=tuple(row[c] for c in SESSION_WRITE_COLUMNS),
        summaries=[summary],
        streams=[],
        series=[],
        cpu_series=[],
    )


def collect(cycle) -> None:
    body = cycle.client().get_json(f"{cycle.settings.tiny.base_url}/calls")
    fetched_at = cycle.clock().isoformat()
    thresholds = with_defaults(cycle.settings.thresholds())
    for call in body["calls"]:
        store.save_conferences(
            [
                {
                    "id": f"tiny:{call['id']}",
                    "title": call["title"],
                    "start": call["start"],
                    "end": call["end"],
                    "host_email": None,
                    "fetched_at": fetched_at,
                }
            ],
            cycle.account,
            VENDOR,
        )
        prepared = [prepare_call(call, person, fetched_at, thresholds) for person in call["participants"]]
        written, _ = store.write_sessions(f"tiny:{call['id']}", prepared, cycle.account, VENDOR)
        cycle.report.meetings_listed += 1
        cycle.report.sessions_written += written


def challenge(body: bytes, headers, query: str, settings) -> Answer | None:
    """Tiny proves its webhook address as Microsoft Graph does: a POST with ?validationToken=…,
    answered with the token as plain text."""
    token = parse_qs(query).get("validationToken")
    return Answer(200, "validation answered", body=token[0].encode(), content_type="text/plain") if token else None


def renew(settings) -> str:
    """Tiny's subscriptions expire, like Graph's: renewing them is a call to its API."""
    requests.get(f"{settings.tiny.base_url}/subscriptions/renew", timeout=10).raise_for_status()
    return "1 subscription renewed"


WEBHOOKS = SimpleNamespace(challenge=challenge, renew=renew, receiver_secret=lambda settings: None)


PROVIDER = Provider(
    name=VENDOR,
    title="Tiny",
    settings=SETTINGS,
    account_keys=("base_url", "client_id"),
    required=lambda table: None if table.get("base_url") else "a tiny account needs base_url",
    is_configured=lambda settings: bool(settings.tiny.base_url),
    credentials=lambda settings: NoToken(),
    check=lambda settings: None,
    collect=collect,
    authorisation=lambda settings, state: {"mode": "none needed"},
    auth_status=lambda settings: (["Tiny needs no authorisation."], True),
    webhooks=WEBHOOKS,
)
