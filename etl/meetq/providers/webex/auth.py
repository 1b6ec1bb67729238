"""OAuth for a Webex integration: login through the real redirect, refresh, status.

requests-oauthlib builds the authorize URL and its random `state`. The code exchange and
refreshes are plain form POSTs through our client: Webex wants client id and secret in the
body, and requests-oauthlib's auto-refresh fires only after expiry and leaks request
arguments into the refresh body (docs/webex.md, "OAuth").
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import threading
import webbrowser
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Callable
from urllib.parse import parse_qs, urlsplit

from requests_oauthlib import OAuth2Session

from ... import logs, store
from ...clock import iso, parse_iso, utcnow
from ...errors import AccessTokenExpired, ApiError, LoginFailed, ReauthRequired, TokenEndpointError, Unauthorised
from ...http import ApiClient
from . import client as webex
from .tokens import FixedToken, Tokens, TokenStore

log = logs.get_logger("meetq.auth")
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


@contextlib.contextmanager
def _allow_http_on_loopback(*urls: str):
    """oauthlib refuses plain HTTP. Allow it only while every URL involved is on loopback
    (the simulator, the local redirect listener), and only for the duration of the call."""
    loopback = all(urlsplit(u).hostname in LOOPBACK_HOSTS for u in urls)
    previous = os.environ.get("OAUTHLIB_INSECURE_TRANSPORT")
    if loopback:
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    try:
        yield
    finally:
        if loopback:
            if previous is None:
                os.environ.pop("OAUTHLIB_INSECURE_TRANSPORT", None)
            else:
                os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = previous


def authorization_url(settings) -> tuple[str, str]:
    """The URL a person opens to authorise meetq, and the state it must come back with."""
    session = OAuth2Session(
        settings.webex.client_id, redirect_uri=settings.webex.redirect_uri, scope=settings.webex.scopes.split()
    )
    with _allow_http_on_loopback(webex.authorize_url(settings)):
        return session.authorization_url(webex.authorize_url(settings))


def code_from_redirect(url: str, expected_state: str) -> str:
    """The authorisation code from the URL Webex redirected to, after checking state and errors."""
    query = parse_qs(urlsplit(url).query)
    if "error" in query:
        detail = query.get("error_description", [""])[0]
        raise LoginFailed(f"Webex refused the authorisation: {query['error'][0]}" + (f" ({detail})" if detail else ""))
    state = query.get("state", [""])[0]
    if not state:
        raise LoginFailed("the redirect carries no state: start again with `meetq auth login`")
    if not hmac.compare_digest(state, expected_state):
        raise LoginFailed("the redirect's state does not match this login: start again with `meetq auth login`")
    code = query.get("code", [""])[0]
    if not code:
        raise LoginFailed("the redirect carries no code")
    return code


def wait_for_redirect(
    redirect_uri: str,
    expected_state: str,
    timeout: float = 300.0,
    ready: threading.Event | None = None,
    listen_host: str = "127.0.0.1",
) -> str:
    """Listen on the redirect URI's port and path, on loopback unless `listen_host` says otherwise
    (a container publishing the port needs 0.0.0.0), for one redirect; return its code. Other
    paths get 404; a redirect with a wrong state or an error ends the login: the state is used
    once, and it expires with the listener after `timeout` seconds."""
    target = urlsplit(redirect_uri)
    host = listen_host
    port = target.port or 80
    outcome: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            if urlsplit(self.path).path != (target.path or "/"):
                self.send_error(404)
                return
            try:
                outcome["code"] = code_from_redirect(self.path, expected_state)
                self._answer(200, "meetq is authorised. You can close this window.")
            except LoginFailed as error:
                outcome["error"] = error
                self._answer(400, f"meetq was not authorised: {error}")

        def _answer(self, status: int, text: str):
            body = f"<!doctype html><title>meetq</title><p>{text}</p>".encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # the query string holds the code: keep it out of stderr
            pass

    with HTTPServer((host, port), Handler) as server:
        server.timeout = 1.0
        if ready:
            ready.set()
        deadline = utcnow().timestamp() + timeout
        while not outcome and utcnow().timestamp() < deadline:
            server.handle_request()
    return _code_of(outcome, redirect_uri, timeout)


def _code_of(outcome: dict, redirect_uri: str, timeout: float) -> str:
    """The code a listener received, or the error it met, or LoginFailed when nothing came."""
    if "error" in outcome:
        raise outcome["error"]
    if "code" not in outcome:
        raise LoginFailed(f"no redirect arrived at {redirect_uri} within {timeout:.0f} s")
    return outcome["code"]


def exchange_code(client: ApiClient, settings, code: str, now: datetime | None = None) -> Tokens:
    response = webex.post_token(
        client,
        settings,
        {
            "grant_type": "authorization_code",
            "client_id": settings.webex.client_id,
            "client_secret": settings.webex.client_secret,
            "code": code,
            "redirect_uri": settings.webex.redirect_uri,
        },
    )
    tokens = Tokens.from_response(_token_body(response), now or utcnow())
    tokens.scopes = tokens.scopes or settings.webex.scopes
    return tokens


def _token_body(response) -> dict:
    try:
        body = response.json()
    except ValueError:
        raise TokenEndpointError("the token endpoint did not answer JSON", status=response.status_code) from None
    if not isinstance(body, dict) or not body.get("access_token"):
        raise TokenEndpointError("the token endpoint's answer has no access_token", status=response.status_code)
    return body


def login(
    settings,
    *,
    open_browser: bool = True,
    paste: bool = False,
    timeout: float = 300.0,
    listen_host: str = "127.0.0.1",
    say=print,
    ask=input,
) -> Tokens:
    """The whole interactive login. Returns the stored tokens (identity filled in)."""
    settings.require("webex.client_id", "webex.client_secret")
    logs.register_secret(settings.webex.client_secret)
    url, state = authorization_url(settings)
    say(f"Open this URL to authorise meetq:\n\n  {url}\n")
    if paste:
        code = code_from_redirect(ask("Paste the full URL your browser was redirected to: ").strip(), state)
    else:

        def show_consent():
            say(f"Waiting for the redirect on {settings.webex.redirect_uri} …")
            if open_browser and _has_browser():
                webbrowser.open(url)

        code = receive_code(settings, state, show_consent, timeout, listen_host)
    return finish_login(settings, code)


def receive_code(
    settings, state: str, show_consent: Callable[[], object], timeout: float = 300.0, listen_host: str = "127.0.0.1"
) -> str:
    """Listen for the redirect in a thread, let someone consent (`show_consent`: open a browser,
    or a client following the redirect), and return the code the redirect carried."""
    ready = threading.Event()
    result: dict = {}

    def listen():
        try:
            result["code"] = wait_for_redirect(settings.webex.redirect_uri, state, timeout, ready, listen_host)
        except Exception as error:  # handed to the caller's thread below
            result["error"] = error
            ready.set()

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    ready.wait(5)
    show_consent()
    listener.join(timeout + 5)
    return _code_of(result, settings.webex.redirect_uri, timeout)


def finish_login(settings, code: str) -> Tokens:
    """Exchange the code, record who authorised, and store the tokens."""
    holder = FixedToken()  # the token to come, for the one call made with it before it is stored
    client = webex.api_client(settings, holder)
    tokens = exchange_code(client, settings, code)
    holder.token = tokens.access_token
    tokens.identity = webex.people_me(client, settings)
    TokenStore(settings.secrets).save(tokens)
    log.info(
        "login_complete",
        who=tokens.identity.get("emails"),
        access_expires_at=tokens.access_expires_at,
        refresh_expires_at=tokens.refresh_expires_at,
    )
    return tokens


def _has_browser() -> bool:
    return bool(
        os.environ.get("DISPLAY")
        or os.environ.get("WAYLAND_DISPLAY")
        or os.name == "nt"
        or os.uname().sysname == "Darwin"
    )


class TokenManager:
    """Credentials for the collector: the token file's access token, refreshed before it
    expires and once after a 401. A refused refresh flags the file and stops all further
    refresh attempts until someone logs in again (which writes a new file)."""

    def __init__(self, settings, store: TokenStore | None = None, clock=utcnow):
        self.settings = settings
        self.store = store or TokenStore(settings.secrets)
        self.clock = clock
        self.client = webex.api_client(settings, None)
        self._lock = threading.Lock()
        self.store.check_private()
        self.tokens = self.store.load()
        logs.register_secret(settings.webex.client_secret)

    def access_token(self) -> str:
        return self.tokens.access_token

    def facts(self) -> dict:
        """Token expiry, identity and a refusal, for the health views. Never the tokens."""
        public = self.tokens.public_view()
        return {
            "auth.identity": ", ".join(public["identity"].get("emails") or []) or None,
            "auth.access_expires_at": public["access_expires_at"],
            "auth.refresh_expires_at": public["refresh_expires_at"],
            "auth.reauth_required": (public["reauth_required"] or {}).get("since"),
        }

    def reload(self) -> Tokens:
        self.tokens = self.store.load()
        return self.tokens

    def ensure_fresh(self) -> list[str]:
        """Call before each cycle. Refreshes when close to expiry; returns warnings to record."""
        with self._lock:
            self.reload()
            now = self.clock()
            left = self.tokens.seconds_left(now)
            if self.tokens.reauth_required:
                if left is None or left <= 0:
                    raise ReauthRequired(self._reauth_message())
            elif left is None or left < self.settings.token_refresh_margin_seconds:
                self._refresh_locked(reason="expiring" if left is None or left > 0 else "expired")
            return self._warnings(now)

    def refresh_after_unauthorised(self) -> bool:
        with self._lock:
            if self.tokens.reauth_required:
                raise ReauthRequired(self._reauth_message())
            self._refresh_locked(reason="401")
            return True

    def _refresh_locked(self, reason: str) -> None:
        self.settings.require("webex.client_id", "webex.client_secret")
        if not self.tokens.refresh_token:
            raise ReauthRequired("the token file has no refresh token: run `meetq auth login`")
        log.info("token_refresh", reason=reason)
        try:
            response = webex.post_token(
                self.client,
                self.settings,
                {
                    "grant_type": "refresh_token",
                    "client_id": self.settings.webex.client_id,
                    "client_secret": self.settings.webex.client_secret,
                    "refresh_token": self.tokens.refresh_token,
                },
            )
        except ApiError as error:
            if error.status in (400, 401):
                self._flag_reauth(error)
            raise
        self.tokens = Tokens.from_response(_token_body(response), self.clock(), previous=self.tokens)
        self.store.save(self.tokens)
        log.info(
            "token_refreshed",
            access_expires_at=self.tokens.access_expires_at,
            refresh_expires_at=self.tokens.refresh_expires_at,
        )

    def _flag_reauth(self, error: ApiError) -> None:
        reason = _grant_error(error.body) or f"HTTP {error.status}"
        self.tokens.reauth_required = {"since": iso(self.clock()), "reason": reason, "tracking_id": error.tracking_id}
        self.store.save(self.tokens)
        log.error("reauth_required", reason=reason, tracking_id=error.tracking_id)
        raise ReauthRequired(self._reauth_message()) from None

    def _reauth_message(self) -> str:
        flag = self.tokens.reauth_required or {}
        return (
            f"Webex refused the refresh token ({flag.get('reason', 'unknown')}) at {flag.get('since')}: "
            "run `meetq auth login` to authorise again"
        )

    def _warnings(self, now: datetime) -> list[str]:
        left = self.tokens.refresh_seconds_left(now)
        if left is not None and left < self.settings.refresh_warning_days * 86400:
            message = (
                f"the refresh token expires at {self.tokens.refresh_expires_at} "
                f"({left / 86400:.1f} days): run `meetq auth login` before then"
            )
            log.warning(
                "refresh_token_expiring",
                refresh_expires_at=self.tokens.refresh_expires_at,
                days_left=round(left / 86400, 2),
            )
            return [message]
        return []


def _grant_error(body: str | None) -> str | None:
    """`invalid_grant` and friends, from the RFC body or a Webex one."""
    for known in ("invalid_grant", "invalid_client", "unauthorized_client", "invalid_request"):
        if body and known in body:
            return known
    return None


PERSONAL_TOKEN_HELP = (
    "paste a new one (MEETQ_WEBEX_ACCESS_TOKEN or --token) to go on, or set up a Webex "
    'integration for unattended collection: README, "Using it with your Webex organisation", then '
    "`meetq auth login`"
)


class StaticToken:
    """Personal access token mode: one token, no refresh. Webex gives such tokens 12 hours; the
    clock starts at meetq's first use of the token (kept in collector_state by a hash, never the
    token), and an expired one is never sent again."""

    def __init__(self, settings, clock=utcnow):
        logs.register_secret(settings.webex.access_token)
        self.token = settings.webex.access_token
        self.settings, self.clock = settings, clock
        self.token_id = hashlib.sha256(self.token.encode()).hexdigest()[:16]

    def access_token(self) -> str:
        return self.token

    def refresh_after_unauthorised(self) -> bool:
        raise AccessTokenExpired(f"Webex refused the personal access token: {PERSONAL_TOKEN_HELP}")

    def validate(self) -> dict:
        """GET /people/me with the token: who it belongs to, or a clear error now."""
        try:
            return webex.people_me(webex.api_client(self.settings, self), self.settings, report=False)
        except Unauthorised:
            raise AccessTokenExpired(f"Webex refused the personal access token: {PERSONAL_TOKEN_HELP}") from None

    def ensure_fresh(self) -> list[str]:
        """Within the token's hours, or AccessTokenExpired. Needs the database open."""
        now = self.clock()
        account = self.settings.account
        if store.get_state("auth.personal_token_id", account=account) != self.token_id:
            store.set_state(
                now, account, **{"auth.personal_token_id": self.token_id, "auth.personal_token_first_used_at": iso(now)}
            )
        first = parse_iso(store.get_state("auth.personal_token_first_used_at", account=account)) or now
        expires = first + timedelta(hours=self.settings.webex.personal_token_hours)
        store.set_state(now, account, **{"auth.access_expires_at": iso(expires)})
        if now >= expires:
            raise AccessTokenExpired(
                f"the personal access token, first used {iso(first)}, expired at {iso(expires)}: {PERSONAL_TOKEN_HELP}"
            )
        left = expires - now
        return (
            [f"personal access token: {left.total_seconds() / 3600:.1f} hours left"]
            if left < timedelta(hours=1)
            else []
        )


def credentials_for(settings):
    """A personal token if one is set, else the token file of `meetq auth login`."""
    return StaticToken(settings) if settings.webex.access_token else TokenManager(settings)
