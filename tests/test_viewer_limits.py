"""The viewer against a signed-in user who writes hostile SQL and a stranger who sends hostile
requests: each gets a prompt, bounded answer, and the viewer's memory stays within a bound.
Real `meetq serve` processes over loopback; memory is read from /proc (the peak resident size)."""

import socket
import time

import requests
from meetq_viewer import HEADER_SECONDS
from test_sign_in import PASSWORD, add_user, peak_from_now, rss_kib, sign_in_form, viewer

# A zstandard frame built in SQL from 137 characters: 7,000 RLE blocks of 128 KiB, 875 MiB of
# zeros once decompressed, with no size in its header.
BOMB = "cast(x'28b52ffd0050' || cast(replace(hex(zeroblob(6999)), '00', char(2,0,16,0)) as blob) || x'030000' as blob)"
PAYLOADS = {
    "zeroblob": "select zeroblob(200000000) as b",
    "printf": "select printf('%.*c', 200000000, 'x') as b",
    "zstd bomb": f"select length(meetq_text({BOMB})) as b",
    "many large rows": "with recursive n(i) as (select 1 union all select i + 1 from n limit 1000) "
    "select i, zeroblob(30000000) as b from n",
}


def test_oversized_answers_are_refused_promptly_with_bounded_memory(served, tmp_path):
    with viewer(served, tmp_path, sql_time_limit_ms="1000") as child:  # the default, as people run it
        for name, sql in PAYLOADS.items():
            before = peak_from_now(child.pid)
            started = time.monotonic()
            answer = requests.get(f"{child.url}/meetq.json", params={"sql": sql, "_shape": "array"}, timeout=60)
            took = time.monotonic() - started
            growth = (rss_kib(child.pid, "VmHWM") - before) / 1024
            print(
                f"{name}: HTTP {answer.status_code} in {took:.2f} s, {len(answer.content):,} bytes, "
                f"viewer peak memory +{growth:.0f} MB"
            )
            assert took < 5 and growth < 200 and len(answer.content) < 1_000_000, name
            if name in ("zstd bomb", "printf"):  # stopped at the limit (the largest body meetq keeps;
                assert answer.status_code == 200 and answer.json() == [{"b": None}]  # SQLite's length limit)
            else:
                assert answer.status_code == 400, name
                assert "too big" in answer.text or "passed the viewer's 32 MiB" in answer.text
        assert requests.get(f"{child.url}/meetq.json?sql=select+1+as+one&_shape=array", timeout=10).json() == [
            {"one": 1}
        ]


def test_the_sign_in_form_takes_a_few_kilobytes_and_no_more(served, tmp_path):
    add_user(served, tmp_path)
    with viewer(served, tmp_path, auth="password") as child:
        host, port = child.url.removeprefix("http://").split(":")
        before = peak_from_now(child.pid)
        with socket.create_connection((host, int(port)), timeout=10) as client:  # 200 MB announced, none sent
            client.sendall(
                b"POST /-/sign-in HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded"
                b"\r\nContent-Length: 200000000\r\n\r\n"
            )
            assert client.recv(200).startswith(b"HTTP/1.1 413 ")
        chunked = requests.post(f"{child.url}/-/sign-in", data=(b"x" * 65536 for _ in range(3000)), timeout=30)
        assert chunked.status_code == 413
        growth = (rss_kib(child.pid, "VmHWM") - before) / 1024
        print(f"sign-in bodies of 200 MB announced and 196 MB chunked: 413 each; viewer peak memory +{growth:.0f} MB")
        assert growth < 50
        session = requests.Session()  # a real form still signs in
        token = sign_in_form(session, child.url)
        assert (
            session.post(
                f"{child.url}/-/sign-in",
                data={"csrftoken": token, "username": "alice", "password": PASSWORD},
                allow_redirects=False,
                timeout=60,
            ).status_code
            == 302
        )


def test_slow_clients_are_let_go(served, tmp_path):
    """Slowloris: connections that never finish their headers are closed after HEADER_SECONDS."""
    with viewer(served, tmp_path) as child:
        host, port = child.url.removeprefix("http://").split(":")
        slow = []
        for _ in range(50):
            connection = socket.create_connection((host, int(port)), timeout=HEADER_SECONDS + 10)
            connection.sendall(b"GET /-/dashboards/overview HTTP/1.1\r\nHost: x\r\n")  # and then nothing
            slow.append(connection)
        started = time.monotonic()
        assert all(connection.recv(100) == b"" for connection in slow)  # closed by the viewer
        waited = time.monotonic() - started
        print(f"50 slow connections closed after {waited:.1f} s")
        assert waited < HEADER_SECONDS + 5
        for connection in slow:
            connection.close()
        assert requests.get(f"{child.url}/-/versions.json", timeout=10).status_code == 200


def test_meetq_text_is_bounded_on_every_connection_that_has_it(tmp_path):
    """The collector's and the CLI's read-only connections (packing.connect) get the same bound
    as the viewer's: the 137-character frame reads as NULL, and quickly."""
    from meetq import packing

    with packing.connect(tmp_path / "any.db") as db:
        started = time.monotonic()
        assert db.execute(f"select meetq_text({BOMB})").fetchone() == (None,)
        assert time.monotonic() - started < 2
        assert db.execute("select meetq_text(?)", (packing.pack_text("kept"),)).fetchone() == ("kept",)


def test_a_body_larger_than_meetq_reads_back_is_not_kept(tmp_path, monkeypatch):
    from meetq import store
    from meetq.providers import open_database
    from meetq.responses import RawRecord

    monkeypatch.setattr(store, "MAX_TEXT_BYTES", 1000)
    database = open_database(tmp_path / "meetq.db")
    with database.atomic():
        store.save_raw(RawRecord(url="https://x.test/big", body="x" * 5000, fetched_at="2026-12-01T00:00:00Z"), "big")
        store.save_raw(
            RawRecord(url="https://x.test/small", body="y" * 500, fetched_at="2026-12-01T00:00:00Z"), "small"
        )
    rows = dict(
        (e, (b, err)) for e, b, err in database.execute_sql("select endpoint, body, error from raw_bodies").fetchall()
    )
    database.close()
    assert rows["big"] == ("", "a body of 5,000 bytes, more than the 1,000 meetq keeps")
    assert rows["small"] == ("y" * 500, None)
