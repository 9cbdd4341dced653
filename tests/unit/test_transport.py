"""HttpTransport against a real local HTTP server scripted to answer 200, 413, 429, 500, slow,
or to drop the connection; MemoryTransport's idempotency."""

from __future__ import annotations

import time

import pytest

from seetrain.sync.resilience import get_error_stats
from seetrain.sync.transport import (
    AuthError,
    Batch,
    MemoryTransport,
    RejectedError,
    ServerUnavailable,
    TemporaryError,
)
from seetrain.sync.transport.http import HttpTransport, parse_retry_after
from tests.servers import ScriptedServer


def _batch(n: int = 3, lo: int = 1) -> Batch:
    return Batch(f"p/r/scalars/{lo}-{lo + n - 1}", "p", "r",
                 scalars=[{"seq": lo + i, "key": "loss", "step": i, "ts": 1.0, "value": i / 2, "special": None}
                          for i in range(n)])


@pytest.fixture
def server():
    with ScriptedServer() as srv:
        yield srv


def _transport(url: str, **kw) -> HttpTransport:
    options = {"timeout": 2.0, "max_retries": 2, "backoff_base": 0.01, "backoff_max": 0.05,
               "breaker_fail_max": 50, "breaker_reset": 0.3}
    options.update(kw)
    return HttpTransport(url, "secret-key", **options)


def test_send_posts_the_batch_with_the_key(server: ScriptedServer) -> None:
    t = _transport(server.url)
    try:
        result = t.send(_batch(3))
    finally:
        t.close()
    assert result.status == "stored" and result.records == 3
    (body,) = server.posts()
    assert body["batch_id"] == "p/r/scalars/1-3"
    assert [r["seq"] for r in body["scalars"]] == [1, 2, 3]
    assert t.stats()["records_sent"] == 3


def test_files_go_first_then_the_batch(server: ScriptedServer, tmp_path) -> None:
    f = tmp_path / "a.png"
    f.write_bytes(b"\x89PNG fake")
    batch = Batch("p/r/media/1-1", "p", "r", files=[("media/img/0-1.png", str(f))],
                  media=[{"seq": 1, "key": "img", "step": 0, "ts": 1.0, "kind": "image",
                          "path": "media/img/0-1.png", "caption": None, "payload": {}}])
    t = _transport(server.url)
    try:
        t.send(batch)
    finally:
        t.close()
    methods = [(m, p) for m, p, _ in server.requests]
    assert methods == [("PUT", "/api/v1/ingest/file?project=p&run_id=r&path=media%2Fimg%2F0-1.png"),
                       ("POST", "/api/v1/ingest/batch")]
    assert server.requests[0][2] == b"\x89PNG fake"


def test_500_is_retried_then_succeeds(server: ScriptedServer) -> None:
    server.push(("status", 500, {}), ("status", 503, {}))
    t = _transport(server.url)
    try:
        assert t.send(_batch()).status == "stored"
    finally:
        t.close()
    assert len(server.requests) == 3
    assert t.counts["retries"] == 2 and t.counts["http_500"] == 1 and t.counts["http_503"] == 1


def test_429_retry_after_wins_over_backoff(server: ScriptedServer) -> None:
    # The computed backoff would be 100 s; the test only finishes because Retry-After (0 s) wins.
    server.push(("status", 429, {"Retry-After": "0"}))
    t = _transport(server.url, backoff_base=100.0, backoff_max=100.0)
    try:
        assert t.send(_batch()).status == "stored"
    finally:
        t.close()
    assert t.counts["http_429"] == 1 and t.counts["retries"] == 1


def test_huge_retry_after_is_capped(server: ScriptedServer) -> None:
    server.push(("status", 429, {"Retry-After": "3600"}))
    t = _transport(server.url, retry_after_max=0.01)
    try:
        assert t.send(_batch()).status == "stored"
    finally:
        t.close()
    assert len(server.requests) == 2


def test_parse_retry_after_forms() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past
    future = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 120))
    assert 100 < parse_retry_after(future) <= 121


def test_dropped_connection_is_temporary(server: ScriptedServer) -> None:
    server.push(("drop",))
    t = _transport(server.url)
    try:
        assert t.send(_batch()).status == "stored"
    finally:
        t.close()
    assert t.counts["connection_errors"] == 1


def test_slow_answer_times_out_and_is_retried(server: ScriptedServer) -> None:
    server.push(("slow", 1.0))
    t = _transport(server.url, timeout=0.2)
    try:
        assert t.send(_batch()).status == "stored"
    finally:
        t.close()
    assert t.counts["timeouts"] == 1


def test_breaker_opens_then_closes_after_reset(server: ScriptedServer) -> None:
    before = get_error_stats().get("breaker_open", 0)
    server.push(*[("status", 500, {})] * 4)
    t = _transport(server.url, max_retries=0, breaker_fail_max=2, breaker_reset=0.3)
    try:
        with pytest.raises(TemporaryError):
            t.send(_batch())
        with pytest.raises(ServerUnavailable):  # the second failure trips the breaker
            t.send(_batch())
        assert t.breaker_open
        seen = len(server.requests)
        with pytest.raises(ServerUnavailable) as info:
            t.send(_batch())
        assert len(server.requests) == seen, "an open breaker must not touch the network"
        assert 0 < info.value.retry_in <= 0.3
        server.script.clear()
        time.sleep(0.35)  # let reset_timeout pass: the next call is the half-open trial
        assert t.send(_batch()).status == "stored"
        assert not t.breaker_open
    finally:
        t.close()
    stats = t.stats()
    assert stats["breaker_open"] == 1 and stats["breaker_closed"] == 1 and stats["breaker_rejected"] >= 1
    assert stats["breaker_state"] == "closed"
    assert get_error_stats()["breaker_open"] == before + 1


def test_413_is_permanent_and_does_not_trip_the_breaker(server: ScriptedServer) -> None:
    server.push(*[("status", 413, {})] * 3)
    t = _transport(server.url, breaker_fail_max=2)
    try:
        for _ in range(3):
            with pytest.raises(RejectedError) as info:
                t.send(_batch())
            assert info.value.status == 413
        assert not t.breaker_open
    finally:
        t.close()
    assert len(server.requests) == 3  # not retried


def test_401_is_an_auth_error(server: ScriptedServer) -> None:
    server.push(("status", 401, {}))
    t = _transport(server.url)
    try:
        with pytest.raises(AuthError):
            t.send(_batch())
    finally:
        t.close()


def test_refused_file_drops_only_its_record(server: ScriptedServer, tmp_path) -> None:
    f = tmp_path / "big.wav"
    f.write_bytes(b"x" * 10)
    server.push(("status", 413, {}))  # the PUT of the file
    batch = Batch("p/r/media/1-2", "p", "r", files=[("media/a/1.wav", str(f))], media=[
        {"seq": 1, "key": "a", "step": 0, "ts": 1.0, "kind": "audio", "path": "media/a/1.wav",
         "caption": None, "payload": {}},
        {"seq": 2, "key": "t", "step": 0, "ts": 1.0, "kind": "text", "path": None, "caption": None,
         "payload": {"text": "hi"}}])
    t = _transport(server.url)
    try:
        result = t.send(batch)
    finally:
        t.close()
    assert list(result.dropped_files) == ["media/a/1.wav"]
    (body,) = server.posts()
    assert [m["seq"] for m in body["media"]] == [2]


def test_unreachable_server_is_temporary() -> None:
    from tests.servers import free_port

    t = _transport(f"http://127.0.0.1:{free_port()}", max_retries=1)
    try:
        with pytest.raises(TemporaryError):
            t.send(_batch())
    finally:
        t.close()
    assert t.counts["connection_errors"] == 2


def test_memory_transport_is_idempotent() -> None:
    t = MemoryTransport()
    assert t.send(_batch(3)).status == "stored"
    assert t.send(_batch(3)).status == "duplicate"
    t.send(_batch(4, lo=2))  # overlapping range under another batch id
    assert sorted(t.records[("p", "r", "scalars")]) == [1, 2, 3, 4, 5]
    t.down = True
    with pytest.raises(TemporaryError):
        t.send(_batch(1, lo=9))
