"""The HTTP/1.1 framers forward mode uses to take each request on a kept-alive http:// connection
to the origin it names: request heads found past bodies, responses counted past theirs."""

from __future__ import annotations

import pytest

from inspector.proxy.http1 import Head, RequestFramer, ResponseFramer

REQUESTS = (b"POST http://a:1/x HTTP/1.1\r\nhost: a:1\r\ntransfer-encoding: chunked\r\n\r\n"
            b"5;ext=1\r\nhello\r\n10\r\n0123456789abcdef\r\n0\r\nx-t: 1\r\n\r\n"
            b"\r\n"  # a stray CRLF between requests is allowed (RFC 9112 §2.2)
            b"PUT http://b:2/y HTTP/1.1\r\nhost: b:2\r\ncontent-length: 4\r\n\r\nGET "
            b"GET http://a:1/z HTTP/1.1\r\nhost: a:1\r\n\r\n")


def _feed(framer: RequestFramer, data: bytes, step: int) -> list[Head | bytes]:
    out: list[Head | bytes] = []
    for i in range(0, len(data), step):
        out += framer.feed(data[i:i + step])
    return out


@pytest.mark.parametrize("step", [len(REQUESTS), 1, 2, 7, 64])
def test_request_heads_are_found_past_bodies_however_the_bytes_are_cut(step):
    pieces = _feed(RequestFramer(), REQUESTS, step)
    heads = [p.head for p in pieces if isinstance(p, Head)]
    assert [(h.method, h.target) for h in heads] == [("POST", "http://a:1/x"), ("PUT", "http://b:2/y"),
                                                     ("GET", "http://a:1/z")]
    # Every byte comes out once, in order: nothing is lost or added.
    assert b"".join(p.raw if isinstance(p, Head) else p for p in pieces) == REQUESTS


@pytest.mark.parametrize("bad, problem", [
    (b"POST http://a/ HTTP/1.1\r\ncontent-length: many\r\n\r\nxyz", "content-length"),
    (b"POST http://a/ HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nmore", "chunk size"),
    (b"GET http://a/ HTTP/1.1\r\n\r\n\x00\x01binary after a request", "not an HTTP request"),
])
def test_bytes_that_are_not_requests_stop_the_framing_and_come_back_whole(bad, problem):
    for step in (len(bad), 1, 3):
        framer = RequestFramer()
        pieces = _feed(framer, bad + b"and then more", step)
        assert framer.problem is not None and problem in framer.problem
        assert b"".join(p.raw if isinstance(p, Head) else p for p in pieces) == bad + b"and then more"


def test_a_connect_or_an_upgrade_ends_the_framing():
    framer = RequestFramer()
    pieces = framer.feed(b"GET http://a/ HTTP/1.1\r\nupgrade: websocket\r\n\r\nGET http://b/ HTTP/1.1\r\n\r\n")
    assert [type(p) for p in pieces] == [Head, bytes]  # what follows the upgrade is not read as requests


RESPONSES = (b"HTTP/1.1 100 Continue\r\n\r\n"
             b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nabc"
             b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n"  # to a HEAD: no body
             b"HTTP/1.1 304 Not Modified\r\ncontent-length: 50\r\n\r\n"
             b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nx-t: 1\r\n\r\n")


@pytest.mark.parametrize("step", [len(RESPONSES), 1, 5])
def test_responses_are_counted_past_bodies_1xx_head_and_304(step):
    framer = ResponseFramer()
    for method in ("POST", "HEAD", "GET", "GET"):
        framer.expect(method)
    answered_at = []
    for i in range(0, len(RESPONSES), step):
        framer.feed(RESPONSES[i:i + step])
        answered_at.append(framer.answered)
    assert answered_at[-1] and answered_at.count(True) == 1  # answered only once the last chunk is in


def test_a_response_without_length_ends_at_close_and_a_101_ends_the_framing():
    framer = ResponseFramer()
    framer.expect("GET")
    framer.feed(b"HTTP/1.1 200 OK\r\n\r\nbody until close")
    assert not framer.answered and framer.opaque
    upgraded = ResponseFramer()
    upgraded.expect("GET")
    upgraded.feed(b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n\x81\x00")
    assert not upgraded.answered and upgraded.opaque
