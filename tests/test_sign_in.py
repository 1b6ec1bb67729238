"""Viewer sign-in in a real chromium against the real `meetq serve`: nothing is shown to anyone not
signed in, and each mode (password, a proxy's header, Webex through the simulator) lets the right
people in and keeps the others out. Screenshots go to tests/artifacts/."""

import json
import stat
import subprocess
import time
from contextlib import contextmanager

import pytest
import requests
from conftest import free_port, sim_post, wait_for
from itsdangerous import URLSafeSerializer
from test_browser import ARTIFACTS
from test_viewer import DASHBOARDS, METADATA, TABLES

PASSWORD = "correct horse battery"


@contextmanager
def viewer(served, tmp_path, **settings):
    """`meetq serve` with these viewer settings (MEETQ_VIEWER_<NAME>) and its own secrets file."""
    port = free_port()
    env = {
        "MEETQ_VIEWER_SECRETS": str(tmp_path / "viewer-secrets.json"),
        **{f"MEETQ_VIEWER_{k.upper()}": v for k, v in settings.items()},
    }
    child = served.popen("serve", "--port", str(port), env=env)
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: healthy(url) or child.poll() is not None, timeout=30)
    assert child.poll() is None, child.communicate()[1]
    child.url, child.env = url, env
    try:
        yield child
    finally:
        child.terminate()
        out, err = child.communicate(timeout=10)
        assert "Traceback" not in out + err and PASSWORD not in out + err


def healthy(url):
    try:
        return requests.get(f"{url}/-/healthz", timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


def add_user(served, tmp_path, name="alice"):
    env = {"MEETQ_VIEWER_SECRETS": str(tmp_path / "viewer-secrets.json")}
    result = subprocess.run(
        [*served_cli(), "users", "add", name, "--password-stdin"],
        input=PASSWORD + "\n",
        env={**served.env, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE((tmp_path / "viewer-secrets.json").stat().st_mode) == 0o600


def served_cli():
    import sys

    return [sys.executable, "-m", "meetq.cli"]


def every_address(served):
    """Every page of the viewer, and every table and canned query as JSON and CSV."""
    meeting = served.scalar("select id from meetings limit 1")
    queries = list(METADATA["databases"]["meetq"]["queries"])
    pages = [
        "/",
        "/meetq",
        f"/meetq/meetings/{meeting}",
        "/-/metadata.json",
        "/-/plugins.json",
        "/-/versions.json",
        "/-/databases.json",
        "/-/actor.json",
        "/meetq.json?sql=select+1",
        "/meetq.csv?sql=select+1",
        "/meetq/media_samples.json?_shape=array",
        "/meetq/media_sessions?_format=json",
    ]
    pages += [f"/-/dashboards/{slug}" for slug in DASHBOARDS]
    for name in TABLES + queries:
        pages += [f"/meetq/{name}", f"/meetq/{name}.json", f"/meetq/{name}.csv"]
    return pages


def refused(page, url) -> bool:
    """Refused (401) or sent to sign in, with nothing of the data in what came back."""
    response = page.goto(url)
    if response.status == 401:
        return json.loads(response.text())["error"] == "sign in first"
    return "/-/sign-in" in page.url and page.locator("h1").inner_text() == "Sign in to meetq"


@pytest.mark.parametrize("mode", ["password", "proxy", "webex"])
def test_without_signing_in_nothing_is_shown(served, browser, tmp_path, mode):
    add_user(served, tmp_path)
    settings = {"auth": mode, "sign_in_orgs": served.sim.org.org_id}
    with viewer(served, tmp_path, **settings) as child:
        page = browser.new_page()
        addresses = every_address(served)
        assert [a for a in addresses if not refused(page, child.url + a)] == []
        assert len(addresses) > 60
        if mode == "proxy":  # the header from an address that is not a trusted proxy counts for nothing
            context = browser.new_context(extra_http_headers={"X-Forwarded-Email": "mallory@example.com"})
            assert refused(context.new_page(), child.url + "/-/dashboards/overview") is False
            context.close()
        page.close()


def test_password_sign_in_and_what_ends_a_session(served, browser, tmp_path):
    add_user(served, tmp_path)
    with viewer(served, tmp_path, auth="password", session_hours="1") as child:
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        page.goto(f"{child.url}/-/dashboards/overview")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "sign-in-password.png"))
        page.fill("#username", "alice")
        page.fill("#password", "wrong password!")
        page.click("button[type=submit]")
        assert "Wrong user name or password." in page.locator(".error").inner_text()
        page.fill("#username", "alice")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/-/dashboards/overview*")
        assert "alice" in page.locator("header").inner_text()
        assert page.request.get(f"{child.url}/meetq/media_sessions.json").status == 200
        cookie = next(c for c in page.context.cookies() if c["name"] == "ds_actor")
        assert cookie["httpOnly"] and 3500 < cookie["expires"] - time.time() <= 3600, cookie

        # A cookie signed with another key, one past its expiry, and one of a removed user: refused.
        secret = json.loads((tmp_path / "viewer-secrets.json").read_text())["cookie_secret"]
        session = {"a": {"id": "alice", "via": "password"}}
        for value in (
            URLSafeSerializer("guessed", "actor").dumps(session),
            URLSafeSerializer(secret, "actor").dumps({**session, "e": base62(time.time() - 60)}),
            URLSafeSerializer(secret, "actor").dumps({"a": {"id": "root", "via": "password"}}),
            URLSafeSerializer(secret, "actor").dumps({"a": {"id": "alice", "via": "webex"}}),
        ):
            context = browser.new_context()
            context.add_cookies([{"name": "ds_actor", "value": value, "url": child.url}])
            assert refused(context.new_page(), f"{child.url}/-/dashboards/overview")
            context.close()
        # Signing out ends the session: Datasette's own Log out, from its menu.
        page.goto(f"{child.url}/-/logout")
        page.click("input[value='Log out']")
        assert refused(page, f"{child.url}/-/dashboards/overview")
        page.goto(f"{child.url}/-/sign-in")
        page.fill("#username", "alice")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/-/dashboards/overview*")  # "/" is the front page
        subprocess.run(
            [*served_cli(), "users", "remove", "alice"],
            env={**served.env, **child.env},
            check=True,
            capture_output=True,
            timeout=60,
        )
        assert refused(page, f"{child.url}/-/dashboards/overview")
        page.close()


def base62(seconds):
    from datasette.utils import baseconv

    return baseconv.base62.encode(int(seconds))


def test_password_guessing_is_slowed_down(served, tmp_path):
    add_user(served, tmp_path)
    with viewer(served, tmp_path, auth="password") as child:
        session = requests.Session()
        form = session.get(f"{child.url}/-/sign-in", timeout=10).text
        token = form.split('name="csrftoken" value="')[1].split('"')[0]
        answers = [
            session.post(
                f"{child.url}/-/sign-in",
                data={"csrftoken": token, "username": "alice", "password": f"guess {n}"},
                allow_redirects=False,
                timeout=30,
            ).status_code
            for n in range(11)
        ]
        assert answers == [403] * 10 + [429]
        right = session.post(
            f"{child.url}/-/sign-in",
            data={"csrftoken": token, "username": "alice", "password": PASSWORD},
            allow_redirects=False,
            timeout=30,
        )
        assert right.status_code == 429  # even the right password, until the window passes


def test_behind_a_proxy_its_header_signs_people_in(served, browser, tmp_path):
    with viewer(served, tmp_path, auth="proxy", allowed_people="@example.com") as child:
        context = browser.new_context(extra_http_headers={"X-Forwarded-Email": "dana@example.com"})
        page = context.new_page()
        page.goto(f"{child.url}/-/dashboards/overview")
        assert "/-/dashboards/overview" in page.url and "dana@example.com" in page.locator("header").inner_text()
        context.close()
        outsider = browser.new_context(extra_http_headers={"X-Forwarded-Email": "eve@elsewhere.test"})
        page = outsider.new_page()
        assert refused(page, f"{child.url}/-/dashboards/overview")
        # told why: the proxy did name them, they are not among the people let in
        told = page.locator("#not-allowed").inner_text()
        assert "eve@elsewhere.test" in told and "viewer.allowed_people" in told and "did not name" not in told
        outsider.close()


def test_webex_sign_in_lets_the_organisation_in_and_no_one_else(served, browser, tmp_path):
    sim = served.sim
    member = sim.org.people[3]
    with viewer(served, tmp_path, auth="webex", sign_in_orgs=sim.org.org_id) as child:
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        page.goto(f"{child.url}/-/dashboards/health")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "sign-in-webex.png"))
        sim_post(sim, "/_sim/config", {"consent_as": member.email})
        page.click("#vendor-sign-in")
        page.wait_for_url("**/-/dashboards/health*")
        assert member.name in page.locator("header").inner_text()  # Datasette shows the actor's name
        assert page.request.get(f"{child.url}/meetq/meetings.csv").status == 200

        stranger = browser.new_page()
        sim_post(sim, "/_sim/config", {"consent_as": "sam@other-company.test"})
        stranger.goto(f"{child.url}/-/dashboards/overview")
        stranger.click("#vendor-sign-in")
        stranger.wait_for_load_state()
        assert "sam@other-company.test may not use this viewer" in stranger.locator(".error").inner_text()
        assert refused(stranger, f"{child.url}/-/dashboards/overview")
        # An answer that does not belong to a sign-in this browser started is refused too.
        stranger.goto(f"{child.url}/-/sign-in/webex/callback?code=SIMCODE-x&state=forged")
        assert "Sign-in failed" in stranger.locator(".error").inner_text()
        sim_post(sim, "/_sim/config", {"consent_as": ""})
        page.close()
        stranger.close()


def test_serve_refuses_an_open_viewer_on_the_network(served, tmp_path):
    env = {**served.env, "MEETQ_VIEWER_SECRETS": str(tmp_path / "viewer-secrets.json")}
    result = subprocess.run(
        [*served_cli(), "serve", "--host", "0.0.0.0", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "refusing to serve 0.0.0.0 without sign-in" in result.stderr
    result = subprocess.run(
        [*served_cli(), "serve", "--port", str(free_port())],
        capture_output=True,
        text=True,
        env={**env, "MEETQ_VIEWER_AUTH": "password"},
        timeout=60,
    )
    assert result.returncode == 2 and "meetq users add" in result.stderr
    result = subprocess.run(
        [*served_cli(), "serve", "--port", str(free_port())],
        capture_output=True,
        text=True,
        env={**env, "MEETQ_VIEWER_AUTH": "webex"},
        timeout=60,
    )
    assert result.returncode == 2 and "viewer.sign_in_orgs" in result.stderr


# -- under attack -------------------------------------------------------------------------------

HOSTILE_NEXT = [
    "/\t/evil.test/x",
    "/%09/evil.test/x",
    "/\n/evil.test/x",
    "/%0a/evil.test/x",
    "/\r\n/evil.test",
    "//evil.test/x",
    "/\\evil.test/x",
    "/%5Cevil.test/x",
    "/%5C/evil.test/x",
    "/%2F/evil.test/x",
    "/%2f%2fevil.test",
    "/%252F/evil.test/x",
    "/%2509/evil.test/x",
    "https://evil.test/x",
    "javascript:alert(1)",
    " /\t/evil.test",
    "/\x00/evil.test",
    "/\u2028/evil.test",
    "evil.test/x",
]
LOCAL_NEXT = "/-/dashboards/places?building=London%20HQ"


def local(location: str) -> bool:
    """A Location a browser keeps on this site: one slash, then no slash, backslash or control."""
    return (
        location.startswith("/")
        and location[1:2] not in ("/", "\\")
        and not any(ord(c) < 33 or c == "\\" for c in location)
    )


def sign_in_form(session, url):
    """The sign-in page's CSRF token (its cookie is now in `session`)."""
    form = session.get(f"{url}/-/sign-in", timeout=10).text
    return form.split('name="csrftoken" value="')[1].split('"')[0]


def post_sign_in(session, url, token, password=PASSWORD, **extra):
    return session.post(
        f"{url}/-/sign-in",
        data={"csrftoken": token, "username": "alice", "password": password, **extra},
        allow_redirects=False,
        timeout=60,
    )


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))


def peak_from_now(pid: int) -> int:
    """The resident size now, with the peak (VmHWM) reset to it: VmHWM then tells how far what
    follows took the process (Linux: 5 in clear_refs resets the peak)."""
    with open(f"/proc/{pid}/clear_refs", "w") as refs:
        refs.write("5")
    return rss_kib(pid)


def test_parallel_guesses_never_outrun_the_throttle(served, tmp_path):
    """100 sign-ins at once for one user, the right password at a random place among them: at most
    ten wrong passwords are ever checked, the rest get 429, and the viewer's memory stays within a
    bound (two Argon2 checks at a time)."""
    import random
    from concurrent.futures import ThreadPoolExecutor

    add_user(served, tmp_path)
    with viewer(served, tmp_path, auth="password") as child:
        session = requests.Session()
        token = sign_in_form(session, child.url)
        cookies = session.cookies.get_dict()
        right = random.randrange(100)
        before = peak_from_now(child.pid)

        def attempt(n):
            return requests.post(
                f"{child.url}/-/sign-in",
                cookies=cookies,
                allow_redirects=False,
                timeout=120,
                data={"csrftoken": token, "username": "alice", "password": PASSWORD if n == right else f"guess {n}"},
            ).status_code

        with ThreadPoolExecutor(100) as pool:
            answers = list(pool.map(attempt, range(100)))
        growth = (rss_kib(child.pid, "VmHWM") - before) / 1024
        print(
            f"100 parallel sign-ins, the right one at #{right}: {answers.count(403)} x 403, "
            f"{answers.count(302)} x 302, {answers.count(429)} x 429; viewer peak memory +{growth:.0f} MB"
        )
        # At most ten failures are ever checked. A right password checked before them is no failure
        # and gives its place back (ten people behind one office address must still sign in), so
        # one more guess may be checked after it: eleven checks at most, ten of them refused.
        assert set(answers) <= {302, 403, 429} and answers.count(403) <= 10 and answers.count(302) <= 1
        assert answers.count(429) >= 89
        assert growth < 400
        # Ten failures on record: the right password is refused too. (A try that found no turn to be
        # checked in 5 s got 429 without counting as a failure: then fewer are on record.)
        after = post_sign_in(session, child.url, token).status_code
        assert after == (429 if answers.count(403) == 10 else 302), (answers.count(403), after)


def test_wrong_passwords_from_elsewhere_do_not_lock_the_owner_out(served, tmp_path):
    """Ten failures lock out the address they came from, not the user: the owner signs in from
    another address (another loopback address here)."""
    import http.client
    from urllib.parse import urlencode, urlsplit

    add_user(served, tmp_path)
    with viewer(served, tmp_path, auth="password") as child:
        port = urlsplit(child.url).port

        def from_address(address, password):
            session = requests.Session()
            token = sign_in_form(session, child.url)
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60, source_address=(address, 0))
            body = urlencode({"csrftoken": token, "username": "alice", "password": password})
            connection.request(
                "POST",
                "/-/sign-in",
                body=body,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Cookie": "; ".join(f"{k}={v}" for k, v in session.cookies.get_dict().items()),
                },
            )
            status = connection.getresponse().status
            connection.close()
            return status

        assert [from_address("127.0.0.2", f"guess {n}") for n in range(11)] == [403] * 10 + [429]
        assert from_address("127.0.0.2", PASSWORD) == 429
        assert from_address("127.0.0.3", PASSWORD) == 302


@pytest.mark.parametrize("mode", ["password", "proxy", "webex"])
def test_after_signing_in_only_a_local_path(served, tmp_path, mode):
    add_user(served, tmp_path)
    settings = {"auth": mode, "sign_in_orgs": served.sim.org.org_id, "allowed_people": "@example.com"}
    with viewer(served, tmp_path, **settings) as child:
        for wanted in HOSTILE_NEXT + [LOCAL_NEXT]:
            location = landing(served, child.url, mode, wanted)
            assert local(location), (wanted, location)
            assert location == (LOCAL_NEXT if wanted == LOCAL_NEXT else "/"), (wanted, location)


def landing(served, url, mode, wanted) -> str:
    """Where the viewer sends a browser after signing in with `next` = `wanted`."""
    session = requests.Session()
    if mode == "password":
        token = sign_in_form(session, url)
        return post_sign_in(session, url, token, next=wanted).headers["Location"]
    if mode == "proxy":
        return session.get(
            f"{url}/-/sign-in",
            params={"next": wanted},
            allow_redirects=False,
            timeout=10,
            headers={"X-Forwarded-Email": "dana@example.com"},
        ).headers["Location"]
    sim_post(served.sim, "/_sim/config", {"consent_as": served.sim.org.people[3].email})
    answer = session.get(f"{url}/-/sign-in/webex", params={"next": wanted}, allow_redirects=False, timeout=10)
    while not answer.headers["Location"].startswith(url + "/-/sign-in/webex/callback"):  # the vendor's consent
        answer = session.get(answer.headers["Location"], allow_redirects=False, timeout=10)
    callback = session.get(answer.headers["Location"], allow_redirects=False, timeout=30)
    sim_post(served.sim, "/_sim/config", {"consent_as": ""})
    assert callback.status_code == 302 and "ds_actor" in session.cookies
    return callback.headers["Location"]


def test_a_browser_sent_to_another_site_after_signing_in_stays_here(served, browser, tmp_path):
    with viewer(served, tmp_path, auth="proxy", allowed_people="@example.com") as child:
        context = browser.new_context(extra_http_headers={"X-Forwarded-Email": "dana@example.com"})
        page = context.new_page()
        for wanted in ("/%09/127.0.0.1:9/x", "/%5C127.0.0.1:9/x", "/%2F127.0.0.1:9/x"):
            page.goto(f"{child.url}/-/sign-in?next={wanted}")
            assert page.url.startswith(child.url + "/"), page.url
        context.close()


def test_a_sign_in_form_from_another_site_signs_no_one_in(served, tmp_path):
    """Login CSRF: a form on another site posted to ours carries no cookie of ours (or another
    Origin); it must not sign the browser in as the attacker's user."""
    add_user(served, tmp_path)
    with viewer(served, tmp_path, auth="password") as child:
        cookieless = requests.post(
            f"{child.url}/-/sign-in",
            allow_redirects=False,
            timeout=60,
            data={"username": "alice", "password": PASSWORD},
        )
        assert cookieless.status_code == 403 and "ds_actor" not in cookieless.cookies
        session = requests.Session()
        token = sign_in_form(session, child.url)
        foreign = session.post(
            f"{child.url}/-/sign-in",
            data={"csrftoken": token, "username": "alice", "password": PASSWORD},
            headers={"Origin": "https://evil.test"},
            allow_redirects=False,
            timeout=60,
        )
        assert foreign.status_code == 403 and "ds_actor" not in session.cookies
        own = session.post(
            f"{child.url}/-/sign-in",
            data={"csrftoken": token, "username": "alice", "password": PASSWORD},
            headers={"Origin": child.url},
            allow_redirects=False,
            timeout=60,
        )
        assert own.status_code == 302 and "ds_actor" in session.cookies


def test_logging_out_ends_the_session_everywhere(served, tmp_path):
    """A copy of the session cookie (another tab, a stolen one) opens nothing after log-out."""
    add_user(served, tmp_path)
    with viewer(served, tmp_path, auth="password") as child:
        session = requests.Session()
        assert post_sign_in(session, child.url, sign_in_form(session, child.url)).status_code == 302
        copy = session.cookies.get("ds_actor")
        data = f"{child.url}/meetq/meetings.json"
        assert requests.get(data, cookies={"ds_actor": copy}, timeout=10).status_code == 200
        logout_page = session.get(f"{child.url}/-/logout", timeout=10).text
        token = logout_page.split('name="csrftoken" value="')[1].split('"')[0]
        out = session.post(f"{child.url}/-/logout", data={"csrftoken": token}, allow_redirects=False, timeout=10)
        assert out.status_code == 302
        assert requests.get(data, cookies={"ds_actor": copy}, timeout=10).status_code == 401
        again = requests.Session()  # signing in again makes a new session, which works
        assert post_sign_in(again, child.url, sign_in_form(again, child.url)).status_code == 302
        assert again.get(data, timeout=10).status_code == 200
