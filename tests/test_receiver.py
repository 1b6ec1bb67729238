"""The webhook receiver faces the internet: hostile and broken requests, over real sockets, to the
real daemon (`meetq run`), answered at once, leaving nothing stored and nothing growing."""

import json
import random
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from conftest import free_port, wait_for
from meetq.providers.webex.webhooks import SIGNATURE_HEADER, sign
from meetq.receiver import DeliveryApp

READ_TIMEOUT = 2.0
MAX_BODY = 10_000


@pytest.fixture
def receiver(meetq, sim):
    """A logged-in daemon with a registered webhook and short, test-speed receiver timeouts."""
    port = free_port()
    meetq.write_config(interval_seconds=3600)
    meetq.add_settings(
        f'[webhook]\nlisten = "127.0.0.1:{port}"\nread_timeout_seconds = {READ_TIMEOUT}\n'
        f"max_body_bytes = {MAX_BODY}\nkeepalive_seconds = 1"
    )
    meetq.login()
    meetq("webhook", "register", "--url", f"http://127.0.0.1:{port}/webex")
    secret = json.loads((meetq.workdir / "secrets.webhook.json").read_text())["secret"]
    daemon = meetq.start_collector()
    yield Receiver(port, secret, daemon, meetq)
    daemon.send_signal(signal.SIGTERM)
    out, err = daemon.communicate(timeout=30)
    assert daemon.returncode == 0, err
    assert "Traceback" not in out + err and secret not in out + err


class Receiver:
    def __init__(self, port, secret, daemon, meetq):
        self.port, self.secret, self.daemon, self.meetq = port, secret, daemon, meetq
        self.url = f"http://127.0.0.1:{port}/webex"

    def raw(self, data: bytes, timeout=1.0) -> bytes:
        """Send bytes, return what comes back before the server closes or goes quiet (≤ timeout)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as conn:
            try:
                conn.sendall(data)
            except OSError:  # the server may close while a huge request is still being sent
                pass
            return read_answer(conn)

    def signed(self, body: bytes) -> dict:
        return {SIGNATURE_HEADER: sign(self.secret, body), "Content-Type": "application/json"}

    def process(self, name: str) -> int:
        """A figure from /proc/<daemon>/status: Threads, VmRSS (kB)…"""
        for line in Path(f"/proc/{self.daemon.pid}/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1])
        raise KeyError(name)

    def stored(self) -> dict:
        return {t: self.meetq.scalar(f"select count(*) from {t}") for t in ("meetings", "raw_responses")}


def read_answer(conn) -> bytes:
    """The status line and headers; b"" (or what came) if the server stays quiet or resets."""
    answer = b""
    while b"\r\n\r\n" not in answer:
        try:
            chunk = conn.recv(65536)
        except OSError:
            break
        if not chunk:
            break
        answer += chunk
    return answer


def status_of(answer: bytes) -> int | None:
    return int(answer.split()[1]) if answer.startswith(b"HTTP/1.1 ") else None


def request(content_length: str, body: bytes = b"") -> bytes:
    return b"POST /webex HTTP/1.1\r\nHost: meetq\r\nContent-Length: " + content_length.encode() + b"\r\n\r\n" + body


def delivery(meeting="m_1", **extra) -> bytes:
    return json.dumps(
        {"resource": "meetings", "event": "ended", "data": {"id": meeting, "meetingType": "meeting", **extra}}
    ).encode()


def test_the_three_probes_are_answered_at_once_while_300_idle_connections_wait(receiver):
    # Each probe gets 1 s to be answered: the old receiver read -1 bytes forever and dropped "abc".
    assert status_of(receiver.raw(request("-1"))) == 400
    assert status_of(receiver.raw(request("abc"))) == 400
    assert status_of(receiver.raw(request(str(50 * MAX_BODY)))) == 413  # before a byte of the body

    idle = []
    for _ in range(300):
        conn = socket.create_connection(("127.0.0.1", receiver.port), timeout=5)
        conn.sendall(b"POST /webex HTTP/1.1\r\n")  # one header line, then silence
        idle.append(conn)
    threads = receiver.process("Threads")
    body = delivery()
    answer = requests.post(receiver.url, data=body, headers=receiver.signed(body), timeout=1)
    assert answer.status_code == 200 and answer.json()["status"] == "queued"
    assert receiver.process("Threads") <= threads + 1  # the database pool may start one

    # After the read timeout the server has closed every idle connection: each reads EOF.
    time.sleep(READ_TIMEOUT + 0.5)
    closed = 0
    for conn in idle:
        conn.settimeout(2)
        try:
            closed += conn.recv(1) == b""
        except OSError:  # reset counts as closed too
            closed += 1
        conn.close()
    assert closed == 300


def test_bodies_that_are_too_big_slow_or_truncated_are_refused(receiver):
    before = receiver.stored()
    chunked = (
        b"POST /webex HTTP/1.1\r\nHost: m\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"".join(b"%x\r\n%s\r\n" % (1000, b"x" * 1000) for _ in range(20))
        + b"0\r\n\r\n"
    )
    assert status_of(receiver.raw(chunked)) == 413
    # A body promised but never finished: refused when the read timeout passes, not held for good.
    started = time.monotonic()
    assert status_of(receiver.raw(request("100", b"{"), timeout=READ_TIMEOUT + 3)) == 408
    assert time.monotonic() - started < READ_TIMEOUT + 2
    huge_header = b"POST /webex HTTP/1.1\r\nHost: m\r\nX-Pad: " + b"a" * 100_000 + b"\r\n\r\n"
    assert status_of(receiver.raw(huge_header)) in (400, 431)  # 400 when it trickles in, 431 in one piece
    assert status_of(receiver.raw(b"GET /webex HTTP/1.1\r\nHost: m\r\n\r\n")) == 405
    assert receiver.stored() == before


def hostile_requests(receiver, rng: random.Random):
    """Requests nobody signed correctly, or that are not HTTP at all, in random shapes."""
    good = delivery(f"m_{rng.randrange(10**6)}")
    shapes = [
        lambda: request(str(len(good)), good),  # unsigned
        lambda: request(str(len(good)), good).replace(b"Host", f"{SIGNATURE_HEADER}: {'0' * 40}\r\nHost".encode()),
        lambda: request(rng.choice(["-5", "1e3", "0x10", " ", "99999999999999999999", "12, 13"])),
        lambda: bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400))),  # noise
        lambda: b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",  # HTTP/2 preface
        lambda: b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(40),  # a TLS hello
        lambda: rng.choice([b"DELETE", b"PUT", b"OPTIONS", b"TRACE", b"BREW"]) + b" / HTTP/1.1\r\nHost: m\r\n\r\n",
        lambda: b"POST /" + b"../" * rng.randrange(1, 2000) + b" HTTP/1.1\r\nHost: m\r\nContent-Length: 0\r\n\r\n",
        lambda: request("2", b"{}") + b"GARBAGE",  # pipelined noise
        lambda: b"POST /webex HTTP/1.1\r\n" + b"X: y\r\n" * rng.randrange(100, 5000) + b"\r\n",
        lambda: request(str(len(good) + 50), good),  # truncated, then closed
        lambda: b"POST /webex HTTP/1.1\r\nHost: m\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        lambda: request("11", b"not json!!!").replace(
            b"Host", f"{SIGNATURE_HEADER}: {sign('x', b'not json!!!')}\r\nHost".encode()
        ),
    ]
    return rng.choice(shapes)()


def test_a_thousand_hostile_requests_leave_nothing_stored_and_nothing_growing(receiver):
    rng = random.Random(1313)
    before, threads = receiver.stored(), receiver.process("Threads")

    def barrage(count):
        requests_ = [hostile_requests(receiver, rng) for _ in range(count)]
        with ThreadPoolExecutor(16) as clients:
            list(clients.map(lambda data: receiver.raw(data, timeout=0.5), requests_))

    barrage(100)  # warm-up: the allocator's arenas settle
    memory = receiver.process("VmRSS")
    barrage(1000)
    time.sleep(READ_TIMEOUT + 0.5)  # anything still held open has timed out
    assert receiver.process("Threads") <= threads + DeliveryApp.POOL_SIZE
    assert receiver.process("VmRSS") - memory < 8 * 1024, "resident memory grew by more than 8 MiB"
    assert receiver.stored() == before
    # Invalid JSON correctly signed is refused too, and a real delivery still gets through.
    for body, status in ((b"{not json", 400), (b'["a list"]', 400), (b'{"resource": 1}', 200)):
        assert requests.post(receiver.url, data=body, headers=receiver.signed(body), timeout=2).status_code == status
    body = delivery("m_after_the_storm")
    assert requests.post(receiver.url, data=body, headers=receiver.signed(body), timeout=2).json()["status"] == "queued"


def test_sigterm_mid_stream_loses_no_delivery_that_was_answered_200(meetq, receiver):
    answered, stop = [], threading.Event()

    def deliver():
        for n in range(10_000):
            if stop.is_set():
                return
            body = delivery(f"m_stream_{n}")
            try:
                if requests.post(receiver.url, data=body, headers=receiver.signed(body), timeout=5).status_code == 200:
                    answered.append(f"m_stream_{n}")
            except requests.RequestException:  # refused once the receiver has closed: never answered
                pass

    sender = threading.Thread(target=deliver)
    sender.start()
    wait_for(lambda: len(answered) >= 20)
    receiver.daemon.send_signal(signal.SIGTERM)
    receiver.daemon.wait(30)
    stop.set()
    sender.join(10)
    assert receiver.daemon.returncode == 0
    stored = {row[0] for row in meetq.sql("select meeting_id from raw_responses where endpoint = 'webhook'")}
    assert set(answered) <= stored and len(answered) >= 20
