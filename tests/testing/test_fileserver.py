"""The local file server: Range reads, counters, latency, faults and held responses.

The file server runs as a real child process (``local_servers.py``); the tests talk
HTTP to it with ``requests`` (and ``http.client`` where the raw wire matters) and check what it
says it did: its counters, and its request log with the delay and body fault it applied.
"""

from __future__ import annotations

import http.client
import urllib.error
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest
import requests

if TYPE_CHECKING:
    from local_servers import Servers

pytest_plugins = ["local_servers"]  # its fixtures: servers, w, session


def test_full_get_head_and_counters(w: Servers, session: requests.Session) -> None:
    answer = session.get(f"{w.main}/big.bin")
    assert answer.status_code == 200 and answer.content == w.big
    assert answer.headers["Accept-Ranges"] == "bytes"
    head = session.head(f"{w.alt}/big.bin")
    assert head.status_code == 200 and head.headers["Content-Length"] == "1000000"
    assert w.files.requests_for("/big.bin") == 1 and w.files.bytes_for("/big.bin") == 1_000_000
    assert w.files.requests_for("/big.bin", host="alt") == 1
    assert w.files.bytes_for("/big.bin", host="alt") == 0


def test_ranges(w: Servers, session: requests.Session) -> None:
    url = f"{w.main}/big.bin"
    part = session.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == w.big[100:200]
    assert part.headers["Content-Range"] == "bytes 100-199/1000000"
    tail = session.get(url, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == w.big[-10:]
    rest = session.get(url, headers={"Range": "bytes=999990-"})
    assert rest.content == w.big[999990:]
    assert rest.headers["Content-Range"] == "bytes 999990-999999/1000000"
    beyond = session.get(url, headers={"Range": "bytes=2000000-"})
    assert beyond.status_code == 416 and beyond.headers["Content-Range"] == "bytes */1000000"
    multi = session.get(url, headers={"Range": "bytes=0-1,5-6"})
    assert multi.status_code in (200, 206)
    stats = w.files.stats()
    assert [e["range"] for e in stats["log"]][:2] == ["bytes=100-199", "bytes=-10"]
    assert w.files.requests_for("/big.bin") == 5
    assert w.files.bytes_for("/big.bin") - stats["log"][3]["bytes"] - len(multi.content) == 120


def test_missing_directory_and_traversal_are_404(w: Servers, session: requests.Session) -> None:
    assert session.get(f"{w.main}/nope.bin").status_code == 404
    assert session.get(f"{w.main}/sub").status_code == 404
    assert session.get(f"{w.main}/sub/").status_code == 404
    host, port = w.main.removeprefix("http://").split(":")
    for raw in ("/../outside.txt", "/%2e%2e/outside.txt", "/sub/..%2f..%2foutside.txt", "/a%00b"):
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        conn.request("GET", raw)
        answer = conn.getresponse()
        assert answer.status == 404 and b"must not" not in answer.read()
        conn.close()


def test_latency_delays_every_request_but_no_admin_call(
    w: Servers, session: requests.Session
) -> None:

    w.files.set_latency(50)
    session.get(f"{w.main}/small.txt")
    session.get(f"{w.alt}/small.txt")
    assert [(e["host"], e["delay_ms"]) for e in w.files.stats()["log"]] == [
        ("main", 50), ("alt", 50)
    ]  # fmt: skip
    w.files.set_latency(600_000)  # ten minutes a request: a delayed admin call would time out
    assert w.files.stats()["latency_ms"] == 600_000 and len(w.files.stats()["log"]) == 2


def test_status_fault_with_retry_after_then_success(w: Servers, session: requests.Session) -> None:
    w.files.set_faults([{"path": "/small*", "count": 2, "status": 503, "retry_after": 1}])
    first, second = (session.get(f"{w.main}/small.txt") for _ in range(2))
    assert first.status_code == second.status_code == 503
    assert first.headers["Retry-After"] == "1"
    assert session.get(f"{w.main}/small.txt").text == "hello\n"
    w.files.set_faults([{"path": "*", "host": "alt", "status": 429}])
    assert session.get(f"{w.main}/small.txt").status_code == 200
    assert session.get(f"{w.alt}/small.txt").status_code == 429


def test_reset_mid_body_raises_on_the_client(w: Servers, session: requests.Session) -> None:
    w.files.set_faults([{"path": "/big.bin", "count": 1, "reset_after_bytes": 100_000}])
    with pytest.raises(requests.exceptions.RequestException):
        session.get(f"{w.main}/big.bin")
    assert 0 < w.files.bytes_for("/big.bin") <= 100_000
    assert session.get(f"{w.main}/big.bin").content == w.big


def test_truncated_body_keeps_full_content_length(w: Servers) -> None:
    w.files.set_faults([{"path": "/big.bin", "count": 1, "truncate_after_bytes": 1000}])
    host, port = w.main.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    conn.request("GET", "/big.bin", headers={"Range": "bytes=0-9999"})
    answer = conn.getresponse()
    assert answer.status == 206 and answer.getheader("Content-Length") == "10000"
    with pytest.raises(http.client.IncompleteRead) as err:
        answer.read()
    assert err.value.partial == w.big[:1000]
    conn.close()
    assert len(requests.get(f"{w.main}/big.bin").content) == 1_000_000  # count used up
    w.files.set_faults([{"path": "/big.bin", "count": 1, "truncate_after_bytes": 1000}])
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(f"{w.main}/big.bin", headers={"Range": "bytes=0-9999"})


def test_slow_body_and_html_login_page(w: Servers, session: requests.Session) -> None:
    w.files.set_faults(
        [{"path": "/big.bin", "slow_bytes_per_s": 400_000}, {"path": "/small.txt", "html": True}]
    )
    slow = session.get(f"{w.main}/big.bin", headers={"Range": "bytes=0-39999"})
    assert slow.content == w.big[:40_000]
    page = session.get(f"{w.main}/small.txt")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert b"<form" in page.content
    paced, login = w.files.stats()["log"]
    assert (paced["fault"], paced["bytes"], login["fault"]) == (["slow_bytes_per_s"], 40_000, None)


def test_a_held_body_goes_on_when_released_and_waits_answer(w: Servers) -> None:
    w.files.set_faults([{"path": "/big.bin", "hold_after_bytes": 1000}])
    with ThreadPoolExecutor(3) as pool:
        gets = [pool.submit(requests.get, f"{w.main}/big.bin", timeout=60) for _ in range(2)]
        w.files.wait_held(2)
        stats = w.files.stats()
        assert (stats["held"], stats["in_flight"], stats["log"]) == (2, 2, [])
        assert w.files.release() == 2
        assert [get.result().content for get in gets] == [w.big, w.big]
        third = pool.submit(requests.get, f"{w.main}/big.bin", timeout=60)
        w.files.wait_held(1)
        w.files.clear_faults()  # lets go of what the rule holds, too
        assert third.result().content == w.big
    w.files.wait_logged(3, "/big.*")
    assert [e["fault"] for e in w.files.stats()["log"]] == [["hold_after_bytes"]] * 3
    w.files.wait_idle()
    with pytest.raises(urllib.error.HTTPError) as late:
        w.files.wait_held(1, timeout=0.1)
    assert late.value.code == 504


def test_admin_rejects_unknown_fault_keys(w: Servers, session: requests.Session) -> None:
    answer = session.post(f"{w.main}/__admin__/faults", json={"rules": [{"stauts": 503}]})
    assert answer.status_code == 400


def test_a_no_range_fault_sends_the_whole_file_with_a_200(
    w: Servers, session: requests.Session
) -> None:
    w.files.set_faults([{"path": "/big.bin", "no_range": True}])
    part = session.get(f"{w.main}/big.bin", headers={"Range": "bytes=100-199"})
    assert part.status_code == 200 and part.content == w.big
    assert part.headers["Accept-Ranges"] == "none" and "Content-Range" not in part.headers
    other = session.get(f"{w.main}/small.txt", headers={"Range": "bytes=0-1"})
    assert other.status_code == 206  # only the fault's path
    assert w.files.bytes_for("/big.bin") == len(w.big)
