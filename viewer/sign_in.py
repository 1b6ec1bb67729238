"""Sign-in for the viewer (`viewer.auth`): with it on, every page, JSON and CSV answer needs a
signed-in person; only the sign-in pages, static files and /-/healthz are open.

- `password`: users from `meetq users add`, checked against Argon2id hashes (keys.py), a few at
  a time; failures throttled per address and per name, counted before the check so that
  requests sent at once cannot outrun the count; the form only from this viewer's own page.
- `proxy`: a reverse proxy that signs people in (oauth2-proxy, say) names them in a header; the
  header is believed only from `viewer.trusted_proxies`, and ignored from anywhere else.
- a vendor (`webex`): the OAuth authorization-code flow with PKCE through the provider's
  `sign_in` module; people of `viewer.sign_in_orgs` only, and of `viewer.allowed_people` when set.

The session is Datasette's own `ds_actor` cookie, signed with the key in the viewer's secrets
file and carrying its expiry and a session id, so Datasette shows who is signed in; its "Log
out" deletes the cookie and the gate revokes the id, so a copied cookie ends with it. One
gate, an ASGI wrapper around all of Datasette, decides before any view runs; the instance-level
`allow` in the metadata is a second lock behind it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import ipaddress
import re
import secrets
import sys
import threading
import time
import unicodedata
from collections import defaultdict, deque
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from datasette import hookimpl
from datasette.plugins import pm
from datasette.utils import await_me_maybe, baseconv
from datasette.utils.asgi import Request, Response
from itsdangerous import BadSignature
from meetq.bounded_http import Refused, declared_length, read_body
from meetq.errors import ConfigError, LoginFailed, MeetqError
from meetq.logs import get_logger
from meetq.providers import PROVIDERS

from .keys import ViewerSecrets

log = get_logger("meetq.viewer.sign_in")

OPEN_PATHS = ("/-/sign-in", "/-/static/", "/-/static-plugins/", "/-/healthz", "/favicon.ico")
FLOW_COOKIE, FLOW_SECONDS = "meetq_sign_in", 600
CSRF_COOKIE = "ds_csrftoken"  # Datasette's: it checks the form's token against it when the cookie is sent
# Failed sign-ins in a sliding window of FAILURE_WINDOW seconds. An address (an IPv6 /64) gets ten:
# guessing from one place stops there. A name gets a hundred from everywhere together, so that
# a few wrong passwords from anywhere cannot lock its owner out, while guessing it from many
# addresses still stops.
FAILURE_WINDOW, MAX_FAILURES_PER_ADDRESS, MAX_FAILURES_PER_NAME = 900.0, 10, 100
# Argon2 checks that run at once (each takes 64 MiB for a fraction of a second); the rest wait up
# to VERIFY_WAIT seconds for a turn, then get 429.
VERIFYING_AT_ONCE, VERIFY_WAIT = 2, 5.0
MAX_BODY_BYTES = 4096  # a sign-in form is a few hundred bytes; the viewer takes no other bodies
BODY_SECONDS = 10.0  # to send one


def people_list(text: str) -> tuple[str, ...]:
    return tuple(item.strip().lower() for item in re.split(r"[\s,]+", text or "") if item.strip())


def address_key(client: str) -> str:
    """The throttle's key for a client address: an IPv6 client holds a whole /64."""
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return f"address:{client}"
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if isinstance(address, ipaddress.IPv6Address):
        return f"address:{ipaddress.ip_network(f'{address}/64', strict=False)}"
    return f"address:{address}"


@dataclass
class Throttle:
    """Failed sign-ins per key (an address, a user name) in a sliding window.

    An attempt takes its place among the failures, under the lock, before its password is
    checked (`attempt`), and gives it back only when the password was right (`succeeded`). So
    however many requests arrive at once, no more than the limit are ever checked: the rest are
    refused as if they had already failed."""

    failures: dict = field(default_factory=lambda: defaultdict(deque))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def attempt(self, limits: dict[str, int]) -> tuple | None:
        """A ticket to check one password, or None when any key is at its limit."""
        now = time.monotonic()
        with self.lock:
            for key in limits:
                recent = self.failures[key]
                while recent and recent[0] < now - FAILURE_WINDOW:
                    recent.popleft()
            if any(len(self.failures[key]) >= limit for key, limit in limits.items()):
                return None
            for key in limits:
                self.failures[key].append(now)
            return tuple(limits), now

    def succeeded(self, ticket: tuple) -> None:
        """The password was right (or was never checked): the attempt is no failure."""
        keys, stamp = ticket
        with self.lock:
            for key in keys:
                try:
                    self.failures[key].remove(stamp)
                except ValueError:
                    pass  # already out of the window


class SignIn:
    """What the gate needs to know, built once from the settings (`configure`)."""

    def __init__(self, settings):
        self.mode = settings.auth
        self.settings = settings
        self.keys = ViewerSecrets(settings.secrets_file)
        self.session_seconds = int(settings.session_hours * 3600)
        self.allowed = people_list(settings.allowed_people)
        self.orgs = set(people_list(settings.sign_in_orgs))
        self.public_url = (settings.public_url or "").rstrip("/")
        self.throttle = Throttle()
        self.verifying = asyncio.Semaphore(VERIFYING_AT_ONCE)
        self.trusted = self._networks(settings.trusted_proxies) if self.mode == "proxy" else []
        self.vendor = PROVIDERS[self.mode] if self.mode in PROVIDERS else None
        if self.vendor:
            self.vendor_settings = next((a for a in settings.accounts() if a.provider == self.mode), settings)
            self.vendor.sign_in.client_of(self.vendor_settings)  # refuses a missing integration now
            if not self.orgs:
                raise ConfigError(
                    f"viewer.auth = {self.mode} needs viewer.sign_in_orgs: the organisation ids whose "
                    "people may sign in (`meetq auth status` shows each account's)"
                )
        if self.mode == "password" and not self.keys.users():
            raise ConfigError(
                f"viewer.auth = password, but {settings.secrets_file} has no users yet: "
                "run `meetq users add NAME` first"
            )

    @staticmethod
    def _networks(text: str) -> list:
        try:
            return [ipaddress.ip_network(item, strict=False) for item in re.split(r"[\s,]+", text.strip()) if item]
        except ValueError as error:
            raise ConfigError(f"viewer.trusted_proxies: {error}") from None

    def allows(self, email: str) -> bool:
        if not self.allowed:
            return True
        email = email.lower()
        return email in self.allowed or any(item.startswith("@") and email.endswith(item) for item in self.allowed)

    def valid(self, actor) -> bool:
        """Only a session this mode made, not logged out, for a user who still exists."""
        if not isinstance(actor, dict) or actor.get("via") != self.mode or not actor.get("id"):
            return False
        if not isinstance(actor.get("sid"), str) or self.keys.is_revoked(actor["sid"]):
            return False
        return self.keys.has_user(actor["id"]) if self.mode == "password" else True

    def proxy_named(self, scope) -> str:
        """Whom a trusted proxy's header names ("" when no trusted proxy names anyone)."""
        client = (scope.get("client") or (None,))[0]
        try:
            trusted = client is not None and any(ipaddress.ip_address(client) in net for net in self.trusted)
        except ValueError:
            trusted = False
        wanted = self.settings.proxy_header.lower().encode("latin-1")
        value = next((v.decode("latin-1").strip() for k, v in scope["headers"] if k == wanted), "")
        return value if trusted else ""

    def proxy_actor(self, scope) -> dict | None:
        named = self.proxy_named(scope)
        return {"id": named, "via": "proxy"} if named and self.allows(named) else None

    def base_url(self, request: Request) -> str:
        """Where people reach the viewer: viewer.public_url, else the address this request came to."""
        return self.public_url or f"{request.scheme}://{request.host}"

    def secure(self, request: Request) -> bool:
        return self.base_url(request).startswith("https://")


def configure(settings) -> SignIn | None:
    """The sign-in `settings` ask for (None for `none`), with this module registered as a plugin."""
    if settings.auth == "none":
        return None
    config = SignIn(settings)
    if not pm.is_registered(sys.modules[__name__]):
        pm.register(sys.modules[__name__], name="meetq_sign_in")
    return config


def _config(datasette) -> SignIn | None:
    return getattr(datasette, "_meetq_sign_in", None)


# -- the gate ------------------------------------------------------------------------------------


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def gate(scope, receive, send):
            config = _config(datasette)
            if config is None or scope["type"] != "http":
                return await app(scope, receive, send)
            try:
                receive = await bounded_body(scope, receive)
            except Refused as refused:
                log.warning(
                    "viewer_request_refused",
                    reason=refused.reason,
                    status=refused.status,
                    client=(scope.get("client") or ("?",))[0],
                    path=scope["path"][:200],
                )
                return await Response.text(
                    refused.reason, status=refused.status, headers={"connection": "close"}
                ).asgi_send(send)
            if scope["path"].startswith(OPEN_PATHS):
                return await app(scope, receive, send)
            actor = await signed_in_actor(datasette, config, scope, receive)
            if not actor:
                return await refuse(scope, send)
            if scope["path"] == "/-/logout":
                return await app(dict(scope, meetq_actor=actor), receive, revoke_on_log_out(send, config, actor))
            await app(dict(scope, meetq_actor=actor), receive, keep_session_cookie(send))

        return gate

    return wrap


async def bounded_body(scope, receive):
    """A request's body read here, within MAX_BODY_BYTES (413 from Content-Length before a byte
    of it is read) and BODY_SECONDS, and handed on whole: Datasette would read any size."""
    if scope["method"] in ("GET", "HEAD", "OPTIONS"):
        return receive
    length = declared_length(scope["headers"])
    if length is not None and length > MAX_BODY_BYTES:
        raise Refused(413, "too large")
    body = await read_body(receive, MAX_BODY_BYTES, BODY_SECONDS)
    sent = False

    async def replay():
        nonlocal sent
        if sent:
            return await receive()  # after the body: the client's disconnect, when it comes
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def revoke_on_log_out(send, config: "SignIn", actor: dict):
    """Datasette's Log out deletes the cookie in this browser; the session itself ends here, so
    a copy of the cookie kept elsewhere opens nothing either."""

    async def revoking(message):
        if message["type"] == "http.response.start" and message["status"] in (301, 302, 303) and actor.get("sid"):
            config.keys.revoke(actor["sid"], until=time.time() + config.session_seconds)
            log.info("viewer_signed_out", user=actor["id"], via=actor["via"])
        await send(message)

    return revoking


def keep_session_cookie(send):
    """Only sign-in and /-/logout set the session cookie. datasette-dashboards' default-filter
    redirect copies every request cookie back without its attributes, which would turn the
    HttpOnly session cookie into one that scripts can read."""

    async def filtered(message):
        if message["type"] == "http.response.start":
            message = {
                **message,
                "headers": [
                    (k, v)
                    for k, v in message["headers"]
                    if not (k.lower() == b"set-cookie" and v.startswith(b"ds_actor="))
                ],
            }
        await send(message)

    return filtered


@hookimpl(tryfirst=True)
def actor_from_request(datasette, request):
    """The person the gate let in; Datasette looks no further."""
    return request.scope.get("meetq_actor")


async def signed_in_actor(datasette, config: SignIn, scope, receive) -> dict | None:
    if config.mode == "proxy":
        return config.proxy_actor(scope)
    request = Request(scope, receive)
    for hook in pm.hook.actor_from_request(datasette=datasette, request=request):
        actor = await await_me_maybe(hook)
        if actor:
            return actor if config.valid(actor) else None
    return None


async def refuse(scope, send) -> None:
    """JSON and CSV clients get 401; people are sent to sign in, and back here afterwards."""
    path, query = scope["path"], scope.get("query_string", b"").decode("latin-1")
    wants_data = path.endswith((".json", ".csv")) or "_format=" in query
    here = path + (f"?{query}" if query else "")
    if wants_data:
        response = Response.json({"ok": False, "error": "sign in first", "sign_in": "/-/sign-in"}, status=401)
    else:
        response = Response.redirect("/-/sign-in?" + urlencode({"next": here}))
    await response.asgi_send(send)


# -- the pages -----------------------------------------------------------------------------------


@hookimpl
def register_routes(datasette):
    if _config(datasette) is None:
        return []
    return [
        (r"^/-/sign-in$", sign_in_page),
        (r"^/-/sign-in/(?P<vendor>[a-z]+)$", start_vendor_sign_in),
        (r"^/-/sign-in/(?P<vendor>[a-z]+)/callback$", finish_vendor_sign_in),
    ]


NEXT_MAX = 2000


def safe_next(value) -> str:
    """Where to go after signing in: a path on this site only, else "/". Browsers drop tabs and
    line ends from a URL and read a backslash as `/`, so `/<TAB>/host` and `/<backslash>host` go
    to another site: the value itself must start with one `/` not followed by another or by a
    backslash, and hold no backslash, control character or white space. Decoded once and twice
    (a page or a proxy may decode it on the way) it must still start that way and name no scheme
    or host."""
    if not isinstance(value, str) or len(value) > NEXT_MAX or not local_start(value):
        return "/"
    if "\\" in value or any(c.isspace() or unicodedata.category(c).startswith("C") for c in value):
        return "/"
    once = unquote(value)
    return value if local_start(once) and local_start(unquote(once)) else "/"


def local_start(text: str) -> bool:
    """`text`, as a browser reads it (tabs, line ends and other controls dropped), is a path here."""
    seen = _INVISIBLE.sub("", text)
    parts = urlsplit(seen.replace("\\", "/"))
    return seen.startswith("/") and seen[1:2] not in ("/", "\\") and not parts.scheme and not parts.netloc


_INVISIBLE = re.compile(r"[\x00-\x20\x7f]")


async def sign_in_page(datasette, request):
    config = _config(datasette)
    next_path = safe_next(request.args.get("next"))
    if request.method == "POST":
        return await password_sign_in(datasette, config, request)
    if config.mode == "proxy" and config.proxy_actor(request.scope):
        return Response.redirect(next_path)
    return await page(datasette, request, config, next_path)


async def page(datasette, request, config: SignIn, next_path: str, error: str = "", status: int = 200):
    html = await datasette.render_template(
        "meetq_sign_in.html",
        {
            "mode": config.mode,
            "vendor": config.vendor.title if config.vendor else None,
            "error": error,
            "next": next_path,
            "vendor_url": f"/-/sign-in/{config.mode}?" + urlencode({"next": next_path}),
            "proxy_header": config.settings.proxy_header,
            # the proxy named someone this viewer does not let in: say that, not "it did not name you"
            "proxy_named": config.proxy_named(request.scope) if config.mode == "proxy" else "",
        },
        request=request,
    )
    return Response.html(html, status=status)


async def password_sign_in(datasette, config: SignIn, request):
    if config.mode != "password":
        return Response.text("Not found", status=404)
    form = parse_qs((await request.post_body()).decode("utf-8", "replace"))
    name = (form.get("username") or [""])[0].strip()
    password = (form.get("password") or [""])[0]
    next_path = safe_next((form.get("next") or [""])[0])
    client = (request.scope.get("client") or ("?",))[0]
    if not same_site(config, request):
        # Datasette checks the form's token against its cookie only when cookies came: a form on
        # another site, posted without them, would sign this browser in as someone else.
        log.warning("viewer_sign_in_refused", reason="not from the sign-in page", client=client)
        return await page(
            datasette, request, config, next_path, "Sign in from this page: it was reloaded, try again.", status=403
        )
    ticket = config.throttle.attempt(
        {address_key(client): MAX_FAILURES_PER_ADDRESS, f"user:{name.lower()}": MAX_FAILURES_PER_NAME}
    )
    if ticket is None:
        log.warning("viewer_sign_in_refused", reason="too many failures", user=name, client=client)
        return await page(
            datasette, request, config, next_path, "Too many failed sign-ins: wait a few minutes.", status=429
        )
    valid = await verify(config, name, password)
    if valid is None:
        config.throttle.succeeded(ticket)  # never checked: no failure
        log.warning("viewer_sign_in_refused", reason="too many sign-ins at once", user=name, client=client)
        return await page(
            datasette, request, config, next_path, "The viewer is busy: try again in a moment.", status=429
        )
    if not valid:
        log.warning("viewer_sign_in_refused", reason="wrong name or password", user=name, client=client)
        return await page(datasette, request, config, next_path, "Wrong user name or password.", status=403)
    config.throttle.succeeded(ticket)
    return signed_in(datasette, config, request, {"id": name, "via": "password"}, next_path)


async def verify(config: SignIn, name: str, password: str) -> bool | None:
    """The Argon2 check, VERIFYING_AT_ONCE at a time; None when no turn came within VERIFY_WAIT."""
    try:
        await asyncio.wait_for(config.verifying.acquire(), VERIFY_WAIT)
    except asyncio.TimeoutError:
        return None
    try:
        return await asyncio.get_running_loop().run_in_executor(None, config.keys.verify, name, password)
    finally:
        config.verifying.release()


def same_site(config: SignIn, request) -> bool:
    """The form came from our own sign-in page: it carries Datasette's CSRF cookie (which that page
    set, and which Datasette has checked against the form's token), and an Origin, when the
    browser sends one, naming this viewer's host (the scheme may differ behind a TLS proxy)."""
    if not request.cookies.get(CSRF_COOKIE):
        return False
    origin = request.headers.get("origin")
    return origin is None or urlsplit(origin).netloc in (urlsplit(config.base_url(request)).netloc, request.host)


def signed_in(datasette, config: SignIn, request, actor: dict, next_path: str) -> Response:
    log.info("viewer_signed_in", user=actor["id"], via=actor["via"], client=(request.scope.get("client") or ("?",))[0])
    expires = int(time.time()) + config.session_seconds
    actor = {**actor, "sid": secrets.token_urlsafe(18)}  # what log-out revokes
    response = Response.redirect(safe_next(next_path))
    response.set_cookie(
        "ds_actor",
        datasette.sign({"a": actor, "e": baseconv.base62.encode(expires)}, "actor"),
        max_age=config.session_seconds,
        httponly=True,
        samesite="lax",
        secure=config.secure(request),
    )
    response.set_cookie(FLOW_COOKIE, "", max_age=0)
    return response


async def start_vendor_sign_in(datasette, request):
    config = _config(datasette)
    if not config.vendor or request.url_vars["vendor"] != config.mode:
        return Response.text("Not found", status=404)
    state, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    redirect_uri = f"{config.base_url(request)}/-/sign-in/{config.mode}/callback"
    flow = {
        "state": state,
        "verifier": verifier,
        "next": safe_next(request.args.get("next")),
        "redirect_uri": redirect_uri,
        "until": int(time.time()) + FLOW_SECONDS,
    }
    response = Response.redirect(
        config.vendor.sign_in.authorize_url(config.vendor_settings, redirect_uri, state, challenge)
    )
    response.set_cookie(
        FLOW_COOKIE,
        datasette.sign(flow, "meetq-sign-in"),
        max_age=FLOW_SECONDS,
        httponly=True,
        samesite="lax",
        secure=config.secure(request),
    )
    return response


async def finish_vendor_sign_in(datasette, request):
    config = _config(datasette)
    if not config.vendor or request.url_vars["vendor"] != config.mode:
        return Response.text("Not found", status=404)
    client = (request.scope.get("client") or ("?",))[0]
    try:
        flow = started_flow(datasette, request)
        identity = await asyncio.get_running_loop().run_in_executor(
            None,
            config.vendor.sign_in.identity,
            config.vendor_settings,
            request.args["code"],
            flow["verifier"],
            flow["redirect_uri"],
        )
    except MeetqError as error:
        log.warning("viewer_sign_in_refused", reason=str(error), client=client)
        return await page(datasette, request, config, "/", f"Sign-in failed: {error}. Try again.", status=400)
    if identity.org.lower() not in config.orgs or not config.allows(identity.email):
        log.warning(
            "viewer_sign_in_refused", reason="not allowed here", user=identity.email, org=identity.org, client=client
        )
        return await page(
            datasette,
            request,
            config,
            safe_next(flow.get("next")),
            f"{identity.email} may not use this viewer: ask its administrator to allow your organisation or address.",
            status=403,
        )
    actor = {"id": identity.email, "name": identity.name, "via": config.mode, "org": identity.org}
    return signed_in(datasette, config, request, actor, safe_next(flow.get("next")))


def started_flow(datasette, request) -> dict:
    """The flow this browser started: same state, not expired, with a code."""
    if request.args.get("error"):
        raise LoginFailed(f"the sign-in was refused ({request.args['error'][:100]})")
    try:
        flow = datasette.unsign(request.cookies.get(FLOW_COOKIE, ""), "meetq-sign-in")
    except BadSignature:
        raise LoginFailed("no sign-in was started in this browser") from None
    state = request.args.get("state") or ""
    if not isinstance(flow, dict) or flow.get("until", 0) < time.time():
        raise LoginFailed("the sign-in took too long")
    if not hmac.compare_digest(state.encode(), str(flow.get("state")).encode()) or not request.args.get("code"):
        raise LoginFailed("the answer does not belong to this sign-in")
    return flow
