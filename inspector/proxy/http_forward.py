"""Forward mode's plain http:// connections: each request goes to the origin it names.

A client that honours `http_proxy` keeps its one connection to the proxy for requests to
any number of origins (`GET http://a:8080/`, then `GET http://b:9090/`). Each origin gets a
link of its own (its own upstream connection, recorded and decoded as its own connection,
named by that origin): the client leg frames the requests (`http1.RequestFramer`), relays
those for its origin (without the Proxy-Authorization meant for the proxy), and at the first
request for anywhere else (or a CONNECT, or one whose credentials must be checked again)
stops reading; once its origin has answered every request it was sent
(`http1.ResponseFramer` on the upstream leg), the link ends and the client's transport goes
to a new `ForwardRequest`, which connects that request's origin as it did the first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from inspector.proxy.forward import ForwardRequest, ForwardSettings, without_proxy_credentials
from inspector.proxy.http1 import Head, RequestFramer, ResponseFramer
from inspector.proxy.relay import _Leg, _Link

if TYPE_CHECKING:
    import asyncio
    from urllib.parse import SplitResult

_SWITCHING = 4  # a reason for the client leg's reading to be paused: the next link is waited for


def _target_of(url: SplitResult) -> tuple[str, int] | None:
    if url.scheme != "http" or not url.hostname:
        return None
    return url.hostname, url.port or 80


class HttpClientLeg(_Leg):
    """The client leg of an http:// link: requests for its origin go on, the first for another
    ends the link when its origin has answered the rest (see the module's docstring)."""

    __slots__ = ("target", "settings", "framer", "responses", "held", "told")

    def __init__(self, link: _Link, target: tuple[str, int], settings: ForwardSettings) -> None:
        super().__init__(link, True)
        self.target = target
        self.settings = settings
        self.framer = RequestFramer()
        self.responses = ResponseFramer()  # the origin's side, fed by HttpUpstreamLeg
        self.held: bytearray | None = None  # from the first request for elsewhere on (reading stops)
        self.told = False

    def data_received(self, data: bytes) -> None:
        if self.held is not None:  # reading stopped when it was set; never a byte out of order
            self.held += data
            return
        pieces = self.framer.feed(data)
        if self.framer.problem is not None and not self.told:
            self.told = True
            host, port = self.target
            self.link.source.event("proxy.forward-bad-request",
                                   f"http:// connection to {host}:{port}: the client's bytes are no longer "
                                   f"HTTP/1.1 requests ({self.framer.problem}); relayed as they are",
                                   self.link.live)
        for i, piece in enumerate(pieces):
            if isinstance(piece, Head):
                if not self._ours(piece):
                    rest = b"".join(p.raw if isinstance(p, Head) else p for p in pieces[i:])
                    self._hold(rest)
                    return
                self.responses.expect(piece.head.method)
                piece = without_proxy_credentials(piece.raw)
            if piece:
                super().data_received(piece)

    def _ours(self, piece: Head) -> bool:
        """A request this link's origin is to get as it is (else a ForwardRequest must see it)."""
        from urllib.parse import urlsplit

        head = piece.head
        if head.method == "CONNECT" or not self.settings.authorized(head.headers):
            return False
        try:
            return _target_of(urlsplit(head.target)) == self.target
        except ValueError:
            return False

    def _hold(self, rest: bytes) -> None:
        self.held = bytearray(rest)
        self.pause(_SWITCHING)
        if self.responses.answered:
            self.switch()

    def answered(self) -> None:
        """The origin has answered something: if that was all, and a request waits, go on."""
        if self.held is not None and self.responses.answered:
            self.switch()

    def switch(self) -> None:
        """End this link and hand the client's transport to a new ForwardRequest, with what is held."""
        link = self.link
        transport = self.transport
        held, self.held = bytes(self.held or b""), None
        if transport is None or self.lost or transport.is_closing():
            return
        link.source.close(link.connection, True, "FIN")  # this connection's client side ends
        link.detach_client()
        if link.upstream is not None and not link.upstream.lost:
            link.upstream.close()
        request = ForwardRequest(link.relay)
        transport.set_protocol(request)
        request.connection_made(transport)
        transport.resume_reading()
        request.data_received(held)


class HttpUpstreamLeg(_Leg):
    """The origin's leg of an http:// link: relayed first, then framed, to know when it has
    answered every request (`HttpClientLeg.answered`)."""

    __slots__ = ()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        client = self.link.client
        if isinstance(client, HttpClientLeg):
            client.responses.feed(data)
            client.answered()

    def eof_received(self) -> bool:
        client = self.link.client
        if isinstance(client, HttpClientLeg) and client.held is not None:
            # The origin closed (a body that ends at close, or it is done) while a request for
            # elsewhere waits: the client goes on to it instead of closing with this origin.
            self.eof = True
            self.link.source.close(self.link.connection, False, "FIN")
            client.switch()
            return False
        return super().eof_received()


def http_link(request: ForwardRequest, transport: asyncio.Transport, data: bytes) -> None:
    """Make the client's `transport` the client leg of an http:// link to `request`'s target."""
    assert request.target is not None
    link = _Link(request.relay, request.route_for_http())
    link.upstream_class = HttpUpstreamLeg
    leg = HttpClientLeg(link, request.target, request.settings)
    transport.set_protocol(leg)
    leg.connection_made(transport)
    if data:
        leg.data_received(data)

