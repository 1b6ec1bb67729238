"""The viewer over a collector-filled file: JSON API and CSV for every table and canned
query, every dashboard chart's SQL, no writes, no secrets."""

import csv
import io
import json
import re

import meetq_viewer
import pytest
import requests

TABLES = [
    "meetings",
    "media_sessions",
    "media_streams",
    "media_samples",
    "cpu_samples",
    "media_summaries",
    "raw_responses",
    "collector_runs",
    "collector_state",
    "account_state",
    "sessions",
    "meeting_list",
]
METADATA = meetq_viewer.metadata()
DASHBOARDS = METADATA["plugins"]["datasette-dashboards"]


def get_json(served, path, **params):
    response = requests.get(f"{served.viewer_url}{path}", params=params, timeout=10)
    assert response.status_code == 200, (
        path,
        response.json().get("error")
        if response.headers.get("content-type", "").startswith("application/json")
        else response.text[:300],
    )
    return response.json()


@pytest.mark.parametrize("table", TABLES)
def test_every_table_answers_json_rows(served, table):
    rows = get_json(served, f"/meetq/{table}.json", _shape="array")
    assert rows and isinstance(rows[0], dict)


def canned_parameters(served):
    meeting_id, email = served.sql("select meeting_id, user_email from media_sessions where verdict = 'poor' limit 1")[
        0
    ]
    return {
        "meeting_report": {"meeting_id": meeting_id},
        "user_history": {"email": email.upper()},
        "poor_sessions": {"since": "2000-01-01"},
        "backlog": {},
        "missing_subnets": {"date_start": "2000-01-01"},
        "raw_bodies": {
            "endpoint": "qualities",
            "meeting_id": served.scalar("select meeting_id from raw_responses where endpoint = 'qualities' limit 1"),
        },
    }


def test_every_canned_query_answers_json_and_csv(served):
    parameters = canned_parameters(served)
    assert set(parameters) == set(METADATA["databases"]["meetq"]["queries"])
    for name, params in parameters.items():
        rows = get_json(served, f"/meetq/{name}.json", _shape="array", **params)
        assert rows, name
        text = requests.get(f"{served.viewer_url}/meetq/{name}.csv", params=params, timeout=10).text
        parsed = list(csv.DictReader(io.StringIO(text)))
        assert len(parsed) == len(rows) and set(parsed[0]) == set(rows[0]), name


def test_raw_bodies_read_as_the_text_received_though_the_file_keeps_them_compressed(served):
    """The file's bodies are zstandard blobs; the viewer's raw_bodies query (over the TEMP view of
    its own connections) gives each back as the JSON text it was."""
    meeting_id = canned_parameters(served)["raw_bodies"]["meeting_id"]
    rows = get_json(served, "/meetq/raw_bodies.json", _shape="array", endpoint="qualities", meeting_id=meeting_id)
    expected = served.sql(
        "select id, body from raw_bodies where endpoint = 'qualities' and meeting_id = ? order by id desc", meeting_id
    )
    assert [(r["id"], r["body"]) for r in rows] == expected[:50] and expected
    assert all(meeting_id in json.dumps(json.loads(r["body"])) for r in rows)
    assert served.scalar("select typeof(body) from raw_responses where id = ?", rows[0]["id"]) == "blob"


def test_meeting_report_lists_exactly_the_meetings_sessions(served):
    meeting_id = canned_parameters(served)["meeting_report"]["meeting_id"]
    rows = get_json(served, "/meetq/meeting_report.json", _shape="array", meeting_id=meeting_id)
    expected = served.scalar("select count(*) from media_sessions where meeting_id = ?", meeting_id)
    assert len(rows) == expected
    assert rows[0]["verdict"] == "poor" and "(poor " in rows[0]["verdict_reason"]


def test_table_csv_export_matches_the_json(served):
    text = requests.get(f"{served.viewer_url}/meetq/media_sessions.csv", params={"_size": "max"}, timeout=10).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == served.scalar("select count(*) from media_sessions")
    assert {"user_email", "verdict", "verdict_reason", "network_type"} <= set(rows[0])


def strip_optional(sql):
    return re.sub(r"\[\[.*?\]\]", "", sql, flags=re.S)


def keep_optional(sql, given=None):
    """The [[ … ]] blocks kept, as datasette-dashboards does for filters that have a value: all,
    or those whose parameters are all in `given`."""

    def keep(block):
        names = set(re.findall(r":(\w+)", block.group(1)))
        return block.group(1) if given is None or names <= set(given) else ""

    return re.sub(r"\[\[(.*?)\]\]", keep, sql, flags=re.S)


# The meeting's and a session's charts are drawn only when they have rows (viewer/static/meetq.js
# takes an empty one off the page): a vendor reports minutes or per-call means, not both.
DRAWN_WHEN_THEY_HAVE_ROWS = {"meeting", "session"}


def must_answer(slug, chart):
    """An empty table chart breaks datasette-dashboards' script, and an empty chart elsewhere is a
    chart about nothing: every chart must say something, but those drawn only when they have rows."""
    return not (slug in DRAWN_WHEN_THEY_HAVE_ROWS and chart["library"] == "vega-lite")


# The row a chart gives when it has nothing to show ("no group has 10 rated sessions", "nobody",
# "—"): an answer, but not the data a test of the charts is after.
SAYS_NOTHING = re.compile(r"^(no |nobody|none|—|every session|everyone)", re.I)


def says_nothing(rows) -> bool:
    firsts = [next(iter(row.values())) for row in rows]
    return all(isinstance(f, str) and SAYS_NOTHING.match(re.sub("<[^>]+>", "", f)) for f in firsts)


@pytest.mark.parametrize("slug", sorted(DASHBOARDS))
def test_every_dashboard_chart_query_returns_rows(served, slug):
    """Every chart answers with data, not its "nothing here" row; but two whose nothing is this
    database's truth, which is checked instead: the default meeting has no shared cause, no meeting
    expired."""
    truly_empty = {
        ("meeting", "shared-cause"): lambda: (
            served.scalar(
                "select count(*) from media_sessions where shared_cause_session = id and meeting_id = "
                "(select meeting_id from media_sessions where verdict = 'poor' order by join_time desc limit 1)"
            )
            == 0
        ),
        ("session", "teams-segments"): lambda: (
            served.scalar("select provider from media_sessions where verdict = 'poor' order by join_time desc limit 1")
            != "teams"
        ),
        ("health", "expired"): lambda: (
            served.scalar("select count(*) from meetings where quality_state = 'expired'") == 0
        ),
    }
    for chart_slug, chart in DASHBOARDS[slug]["charts"].items():
        rows = get_json(served, "/meetq.json", sql=strip_optional(chart["query"]), _shape="array")
        assert rows or not must_answer(slug, chart), f"{slug}/{chart_slug} returned nothing"
        if rows and says_nothing(rows):
            assert truly_empty.get((slug, chart_slug), lambda: False)(), f"{slug}/{chart_slug}: {rows[0]}"


PER_MINUTE = {
    "audio-loss",
    "video-loss",
    "audio-jitter",
    "audio-latency",
    "video-fps",
    "cpu",
    "audio-bitrate",
    "video-bitrate",
}
PER_CALL = {"call-audio-loss", "call-video-loss", "call-jitter", "call-round-trip", "call-fps"}


@pytest.mark.parametrize(
    "vendor, charted, not_charted",
    [
        ("webex", PER_MINUTE, PER_CALL),
        ("google", PER_CALL, PER_MINUTE),
        ("zoom", PER_MINUTE - {"cpu"}, PER_CALL | {"cpu"}),  # no system average: no CPU chart
        ("teams", PER_CALL, PER_MINUTE),  # Graph's per-segment averages, no minutes
    ],
)
def test_a_meeting_page_charts_what_its_vendor_reports_and_nothing_else(served, vendor, charted, not_charted):
    """Webex reports minutes: every per-minute chart has lines, no per-call bars. Google Meet
    reports means per call: the per-call charts (loss, jitter, round trip, frame rate, what its
    verdicts use) have bars, and no per-minute chart is drawn empty."""
    meeting = served.scalar(
        "select meeting_id from media_sessions s where provider = ? and verdict = 'poor' and exists (select 1 "
        "from media_summaries m where m.session_id = s.id and m.kind = 'video' and m.avg_frame_rate > 0) "
        "group by meeting_id order by count(*) desc limit 1",
        vendor,
    )  # a meeting with received video: every chart of its vendor has something to show
    charts = DASHBOARDS["meeting"]["charts"]
    assert set(charts) >= charted | not_charted
    answered = {
        slug: get_json(
            served, "/meetq.json", sql=charts[slug]["query"], meeting=meeting, direction="in", _shape="array"
        )
        for slug in charted | not_charted
    }
    assert {slug for slug, rows in answered.items() if rows} == charted, meeting
    assert len({row["participant"] for slug in charted for row in answered[slug]}) >= 2
    if "call-round-trip" in charted:  # the poor line drawn is the one the verdict used: CQD's for Teams
        assert {row["poor"] for row in answered["call-round-trip"]} == {500.0 if vendor == "teams" else 400.0}


def test_every_chart_query_runs_with_its_filters_set(served):
    day = served.scalar("select substr(max(join_time), 1, 10) from media_sessions")
    values = {
        "date_start": "2000-01-01",
        "date_end": day,
        "direction": "out",
        "min_sessions": "1",
        "session": served.scalar("select id from media_sessions where provider = 'google' limit 1"),
        "site": served.scalar("select site_url from webex_meetings where site_url is not null limit 1"),
        "account": "default",
        "provider": "webex",
        "meeting": served.scalar("select id from meetings where quality_passes > 0 limit 1"),
    }
    values["building"] = served.scalar(
        "select p.building from session_places p join webex_meetings w on w.meeting_id = p.meeting_id "
        "where w.site_url = ? "
        "and p.account = 'default' and p.provider = 'webex' and p.building is not null "
        "group by 1 order by count(*) desc limit 1",
        values["site"],
    )
    for slug, dashboard in DASHBOARDS.items():
        for chart_slug, chart in dashboard["charts"].items():
            sql = keep_optional(chart["query"])
            params = {k: v for k, v in values.items() if f":{k}" in sql}
            rows = get_json(served, "/meetq.json", sql=sql, _shape="array", **params)
            assert rows or not must_answer(slug, chart), f"{slug}/{chart_slug} with {params} returned nothing"


def test_dashboard_filters_narrow_the_charts(served):
    day, site = served.sql(
        "select substr(s.join_time, 1, 10), w.site_url from media_sessions s "
        "join webex_meetings w on w.meeting_id = s.meeting_id where s.account = 'default' "
        "group by 1, 2 order by 1 limit 1"
    )[0]
    by_vendor = DASHBOARDS["overview"]["charts"]["by-provider"]["query"]
    filters = {"date_start": day, "date_end": day, "site": site, "account": "default", "provider": "webex"}
    narrowed = get_json(served, "/meetq.json", sql=keep_optional(by_vendor, filters), _shape="array", **filters)
    expected = served.scalar(
        "select count(*) from media_sessions s join webex_meetings w on w.meeting_id = s.meeting_id "
        "where s.join_time >= ? and s.join_time < date(?, '+1 day') and w.site_url = ? "
        "and s.account = 'default' and s.provider = 'webex' and s.verdict != 'unrated'",
        day,
        day,
        site,
    )
    assert [(r["value"], r["rated"]) for r in narrowed] == [(f"webex · default ({expected})", expected)]
    # Every account, on its own, shows exactly its rated sessions of the period (the last 7 days).
    only_account = re.sub(r"\[\[(.*?)\]\]", lambda m: m.group(1) if ":account" in m.group(1) else "", by_vendor)
    start = served.scalar("select date('now', '-6 days')")
    for name in ("default", "emea", "gmeet"):
        rows = get_json(served, "/meetq.json", sql=only_account, _shape="array", account=name)
        rated = served.scalar(
            "select count(*) from media_sessions where account = ? and join_time >= ? "
            "and verdict in ('good', 'fair', 'poor')",
            name,
            start,
        )
        assert [r["rated"] for r in rows] == [rated] and rated > 0, name
    assert get_json(served, "/meetq.json", sql=only_account, _shape="array", account="nobody")[0]["rated"] == 0
    # A meeting picked by the filter's own label: both participant tables list exactly its sessions.
    label, meeting = served.sql(
        "select title || ' · ' || substr(start, 1, 16) || ' · ' || id, id from meetings "
        "where quality_passes > 0 limit 1"
    )[0]
    charts = DASHBOARDS["meeting"]["charts"]
    problems = [
        r
        for r in get_json(
            served,
            "/meetq.json",
            sql=keep_optional(charts["problem-participants"]["query"]),
            _shape="array",
            meeting=label,
        )
        if r["participant"] != "nobody"
    ]
    (folded,) = get_json(
        served, "/meetq.json", sql=keep_optional(charts["other-participants"]["query"]), _shape="array", meeting=label
    )
    others = folded["participants"].count("<tr>")
    assert len(problems) + others == served.scalar("select count(*) from media_sessions where meeting_id = ?", meeting)
    assert len(problems) == served.scalar(
        "select count(*) from media_sessions where meeting_id = ? and verdict in ('poor', 'fair')", meeting
    )


@pytest.mark.parametrize(
    "sql",
    [
        "insert into meetings (id) values ('x')",
        "update meetings set title = 'x'",
        "delete from media_sessions",
        "drop table meetings",
    ],
)
def test_sql_that_writes_is_refused(served, sql):
    before = served.scalar("select count(*) || ':' || coalesce(max(title), '') from meetings")
    response = requests.get(f"{served.viewer_url}/meetq.json", params={"sql": sql}, timeout=10)
    assert response.status_code == 400
    assert served.scalar("select count(*) || ':' || coalesce(max(title), '') from meetings") == before


def test_a_post_cannot_write(served):
    before = served.scalar("select count(*) from meetings")
    for path in ("/meetq", "/meetq/meetings", "/meetq/backlog", "/meetq/-/insert", "/meetq/meetings/-/insert"):
        response = requests.post(
            f"{served.viewer_url}{path}", data={"sql": "delete from meetings"}, json={"row": {"id": "x"}}, timeout=10
        )
        assert not response.ok, path  # Datasette 0.65 answers a table POST with 500; none succeeds
    assert served.scalar("select count(*) from meetings") == before


def test_the_served_database_holds_no_secret(served):
    tokens = json.loads(served.secrets.read_text())
    secrets = [tokens["access_token"], tokens["refresh_token"], served.sim.config.client_secret]
    seen = []
    for table in TABLES:
        url, params = f"{served.viewer_url}/meetq/{table}.json", {"_size": "max"}
        while url:
            page = requests.get(url, params=params, timeout=10).json()
            seen.append(json.dumps(page["rows"]))
            url, params = page.get("next_url"), None
    for path in ("/-/metadata.json", "/-/settings.json", "/-/databases.json", "/-/plugins.json"):
        seen.append(requests.get(f"{served.viewer_url}{path}", timeout=10).text)
    blob = "\n".join(seen)
    assert served.sim.org.admin.email in blob  # the search does see the data
    for secret in secrets:
        assert secret not in blob
    assert requests.get(f"{served.viewer_url}/meetq.db", timeout=10).status_code != 200


def test_poor_sessions_filter_by_vendor_or_show_both(served):
    both = get_json(served, "/meetq/poor_sessions.json", _shape="array", since="2000-01-01")
    each = {
        vendor: get_json(served, "/meetq/poor_sessions.json", _shape="array", since="2000-01-01", vendor=vendor)
        for vendor in ("webex", "google", "zoom", "teams")
    }
    assert len(both) == min(1000, served.scalar("select count(*) from media_sessions where verdict = 'poor'"))
    assert len(both) == sum(map(len, each.values())) and all(each.values())
    assert {r["provider"] for r in both} == set(each)
    assert all({r["provider"] for r in rows} == {vendor} for vendor, rows in each.items())


def test_a_revoked_second_account_shows_on_the_health_dashboard_and_in_status(served):
    """`emea`'s refresh token was refused after its first cycle; `default` and `gmeet` are fine."""
    charts = DASHBOARDS["health"]["charts"]
    assert get_json(served, "/meetq.json", sql=charts["reauth"]["query"], _shape="array") == [
        {"state": "LOGIN NEEDED: emea"}
    ]
    accounts = {
        r["account"]: r for r in get_json(served, "/meetq.json", sql=charts["accounts"]["query"], _shape="array")
    }
    assert set(accounts) == {"default", "emea", "gmeet", "zoomorg", "teamsorg"}
    assert accounts["emea"]["authorisation"].startswith("LOGIN NEEDED since 20")
    assert accounts["emea"]["last_outcome"] == "reauth_required"
    assert accounts["default"]["authorisation"] == accounts["gmeet"]["authorisation"] == "ok"
    assert accounts["gmeet"]["authorised_as"] == "admin@example.com"
    assert accounts["zoomorg"]["authorisation"] == "ok" and accounts["zoomorg"]["authorised_as"] == "app zc"
    assert accounts["teamsorg"]["authorisation"] == "ok" and accounts["teamsorg"]["authorised_as"] == "app tc"

    status = json.loads(served("status", "--json").stdout)
    assert status["accounts"]["emea"]["authorisation"]["reauth_required"]["reason"] == "invalid_grant"
    assert status["accounts"]["default"]["authorisation"]["reauth_required"] is None
    assert status["accounts"]["gmeet"]["provider"] == "google"
    said = served("status").stdout.split("  emea (webex)")[1].split("  gmeet")[0]
    assert "    RE-AUTHORISATION REQUIRED (invalid_grant): run `meetq auth login --account emea`" in said
    health = served("health", check=False)
    assert health.returncode == 1 and "account emea" in health.stdout and "--account emea" in health.stdout


@pytest.mark.parametrize(
    "path, column",
    [
        ("/meetq/media_samples", "ts"),
        ("/meetq/sessions", "joined"),
        ("/meetq/collector_runs", "started_at"),
        ("/meetq/backlog", "start"),
        ("/meetq/poor_sessions", "join_time"),
        ("/meetq/user_history", "joined"),
    ],
)
def test_times_read_in_the_display_zone_on_pages_and_as_utc_in_json(served, path, column):
    """Tables, views and canned queries keep ISO UTC with its Z in JSON and CSV; their HTML pages
    show the display zone (UTC here) with its name, the stored text beside it."""
    email = served.scalar("select user_email from media_sessions where verdict = 'poor' limit 1")
    asked = {"poor_sessions": {"since": "2000-01-01", "vendor": ""}, "user_history": {"email": email}}
    params = {"_size": "3", **asked.get(path.rsplit("/", 1)[1], {})}
    rows = [r for r in get_json(served, f"{path}.json", _shape="array", **params) if r[column]]
    assert rows and all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z", r[column]) for r in rows)
    page = requests.get(f"{served.viewer_url}{path}", params=params, timeout=10).text
    stored = rows[0][column]
    shown = stored[:10] + " " + stored[11:19] + " UTC"
    assert f"{shown} <small>({stored})</small>" in page, (path, stored)


def test_a_samples_owner_is_linked_from_its_view(served):
    """No dead end: a view has no foreign keys, so the stream is linked by the viewer itself."""
    rows = get_json(served, "/meetq/media_samples.json", _shape="array", _size="3")
    page = requests.get(f"{served.viewer_url}/meetq/media_samples", params={"_size": "3"}, timeout=10).text
    stream = f"/meetq/media_streams/{rows[0]['stream_id']}"
    assert f'href="{stream}"' in page
    assert requests.get(f"{served.viewer_url}{stream}.json", timeout=10).json()["rows"]


def test_a_time_is_shown_in_the_configured_zone():
    from meetq_viewer.plugins.meetq_sql_functions import render_cell

    class Viewer:
        def plugin_config(self, name):
            return {"timezone": "Europe/Berlin"}

    shown = render_cell("2026-07-01T10:04:25.908Z", "ts", "cpu_samples", Viewer())
    assert str(shown) == "2026-07-01 12:04:25 CEST <small>(2026-07-01T10:04:25.908Z)</small>"
    assert str(render_cell("2026-01-01T10:04:25Z", "start", "meetings", Viewer())).startswith("2026-01-01 11:04:25 CET")
    assert render_cell("2026-13-01T10:04:25Z", "start", "meetings", Viewer()) is None  # not a time: as it is
    assert render_cell("meeting at 2026-01-01", "title", "meetings", Viewer()) is None
    assert (
        str(render_cell(42, "session_id", "cpu_samples", Viewer()))
        == '<a href="/-/dashboards/session?session=42">42</a>'
    )


def test_this_week_is_the_same_on_the_front_page_in_the_digest_and_from_the_bot(served, tmp_path):
    """One period everywhere: the last seven calendar days in the display zone, today included.
    A zone far from UTC, so that a rolling 7 × 24 h or UTC days would give other figures."""
    from datetime import datetime, timezone

    from meetq import assistant, digest
    from meetq.config import load_settings
    from meetq.models import close_database
    from meetq.providers import open_database
    from test_sign_in import viewer

    zone = "Pacific/Kiritimati"  # UTC+14
    with viewer(served, tmp_path, timezone=zone) as child:

        def chart(name):
            query = re.sub(r"\[\[.*?\]\]", "", DASHBOARDS["overview"]["charts"][name]["query"], flags=re.S)
            params = {p: "" for p in re.findall(r"(?<!:):(\w+)", query)}
            answer = requests.get(
                f"{child.url}/meetq.json", params={"sql": query, "_shape": "array", **params}, timeout=30
            )
            assert answer.status_code == 200, answer.text[:300]
            return answer.json()[0]["text"]

        front, before, period = chart("poor-now"), chart("poor-before"), chart("period")
    settings = load_settings(environ={**served.env, "MEETQ_VIEWER_TIMEZONE": zone})
    open_database(settings.database)
    try:
        now = datetime.now(timezone.utc)
        week = digest.week_digest(settings, now)
        asked = assistant.reply("week", "someone@example.com", settings)
    finally:
        close_database()
    share, rated = re.match(r"([\d.]+) % of (\d+) rated", front).groups()
    print(f"front page: {front} ({period}); digest: {week.splitlines()[2]}")
    assert f"**{share} %** of {rated} rated sessions were poor" in week
    was = re.match(r"([\d.]+) %", before).group(1)
    assert f"the week before: {was} %" in week
    assert period in week and period.endswith(f"({zone})")
    assert asked == week


def test_health_counts_the_meetings_the_backlog_lists(served):
    """The served database has a meeting due for its recheck: 'Meetings waiting' counts it."""
    query = DASHBOARDS["health"]["charts"]["backlog-size"]["query"]
    waiting = get_json(served, "/meetq.json", sql=query, _shape="array")[0]["n"]
    listed = get_json(served, "/meetq/backlog.json", _shape="array")
    assert served.scalar("select count(*) from meetings where quality_state = 'recheck'") >= 1
    assert waiting == len(listed) > 0


def test_a_meeting_search_that_matches_nothing_or_several_says_so(served):
    """The Meeting filter takes an id, or a title or Meet code naming one meeting; a title that
    names none says so, and one naming several lists them as links, rather than showing another
    meeting."""
    facts = DASHBOARDS["meeting"]["charts"]["meeting-facts"]["query"]
    nothing = get_json(served, "/meetq.json", sql=facts, meeting="no such meeting title", _shape="array")
    assert len(nothing) == 1 and nothing[0]["title"].startswith("No meeting's id, title or Meet code matches")
    assert nothing[0]["id"] is None
    title, several = served.sql(
        "select title, count(*) from meetings group by title having count(*) > 1 order by count(*) desc limit 1"
    )[0]
    listed = get_json(served, "/meetq.json", sql=facts, meeting=title, _shape="array")
    assert listed[0]["title"].startswith(f"{several} meetings match")
    assert len(listed) == 1 + min(several, 20)
    assert all(row["title"].startswith('<a href="/-/dashboards/meeting?meeting=') for row in listed[1:])
    unique_id, unique_title = served.sql(
        "select m.id, m.title from meetings m where m.quality_passes > 0 and m.title is not null and "
        "(select count(*) from meetings o where o.title like '%' || m.title || '%') = 1 limit 1"
    )[0]
    for asked in (unique_id, unique_title):
        assert [row["id"] for row in get_json(served, "/meetq.json", sql=facts, meeting=asked, _shape="array")] == [
            unique_id
        ]
    # A join code as people type it: a Meet code with dashes, a Webex meeting number with spaces.
    for provider, spaced in (
        ("google", lambda c: f"{c[:3]}-{c[3:7]}-{c[7:]}"),
        ("webex", lambda c: f"{c[:4]} {c[4:]}"),
    ):
        meeting_id, code = served.sql(
            "select id, join_code from meetings m where provider = ? and quality_passes > 0 and join_code is not null "
            "and (select count(*) from meetings o where o.join_code = m.join_code) = 1 "
            "and (select count(*) from meetings o where o.title like '%' || m.join_code || '%') <= 1 limit 1",
            provider,
        )[0]
        found = get_json(served, "/meetq.json", sql=facts, meeting=spaced(code), _shape="array")
        assert [row["id"] for row in found] == [meeting_id], (provider, code)


def test_one_persons_sessions_are_found_by_part_of_an_address_or_a_name(served):
    email, name = served.sql(
        "select user_email, user_name from media_sessions where user_name like '% %' and user_email is not null "
        "group by user_email order by count(*) desc limit 1"
    )[0]
    theirs = served.scalar("select count(*) from media_sessions where user_email = ?", email)
    for asked in (email.upper(), email.split("@")[0], name.split(" ")[-1].lower()):
        rows = get_json(served, "/meetq/user_history.json", _shape="array", email=asked)
        assert sum(r["email"] == email for r in rows) == theirs, asked
        assert all(asked.lower() in ((r["email"] or "") + " " + (r["name"] or "")).lower() for r in rows), asked
    assert get_json(served, "/meetq/user_history.json", _shape="array", email="al") == []  # too short to be part
