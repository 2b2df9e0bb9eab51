"""Forward mode: what a client that honours `https_proxy` / `http_proxy` sends first.

A client connection opens with `CONNECT host:port` (or an absolute-form HTTP/1.1
request for plain `http://`). The target is connected first, so a target that
refuses is a 502 the client can read, then:

- a CONNECT to a host `--intercept` names (all of them when none is given) whose
  client starts TLS is intercepted: the client's TLS ends in the proxy with a
  certificate for its SNI name (or the CONNECT host) from the local CA, and a TLS
  connection to the target offers what the client negotiated (ALPN passed through).
  The client's own transport becomes a TLS server leg of the ordinary relay (its
  handshake fed the ClientHello already read: `tls_accept`), so decoding, recording,
  backpressure and closing are the reverse proxy's own;
- a CONNECT whose client speaks plaintext (h2c prior knowledge) is relayed and decoded;
- any other tunnel is relayed untouched (still recorded, listed as TLS with its SNI
  and ALPN).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import fnmatch
import os
import socket
import ssl
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast
from urllib.parse import urlsplit

from inspector.proxy.server_names import BadServerName
from inspector.proxy.tls import HANDSHAKE_TIMEOUT, ClientFacingTls, UpstreamTls, client_handshake_failure
from inspector.proxy.tls_accept import accept_tls

if TYPE_CHECKING:
    from inspector.proxy.relay import Relay, Route

HEAD_LIMIT = 64 << 10  # a request head longer than this is refused
HELLO_LIMIT = 16 << 10  # bytes waited for to read a whole first TLS record (SNI, ALPN)
HEAD_TIMEOUT = 30.0  # seconds a client gets to send its request head (and, after 200, its first bytes)
EXT_SERVER_NAME, EXT_ALPN = 0, 16


@dataclass(slots=True)
class ForwardSettings:
    """Forward mode's choices: which targets are intercepted, proxy authentication, TLS."""

    intercept: list[str] = field(default_factory=list)  # HOST or HOST:PORT globs; empty: every host
    auth: str | None = None  # "user:pass" for Basic Proxy-Authorization; None: no authentication
    certificates: ClientFacingTls | None = None
    upstream_tls: UpstreamTls | None = None
    ca_path: str = "ca.pem"

    def intercepts(self, host: str, port: int) -> bool:
        """True if a tunnel to host:port is to be intercepted."""
        if not self.intercept:
            return True
        host = host.lower()
        for pattern in self.intercept:
            p_host, sep, p_port = pattern.lower().rpartition(":")
            if not sep or not p_port.isdigit():
                p_host, p_port = pattern.lower(), ""
            if fnmatch.fnmatchcase(host, p_host.strip("[]")) and (not p_port or int(p_port) == port):
                return True
        return False

    def authorized(self, headers: dict[str, str]) -> bool:
        if self.auth is None:
            return True
        scheme, _, token = headers.get("proxy-authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            return base64.b64decode(token.strip(), validate=True).decode("utf-8", "replace") == self.auth
        except (binascii.Error, ValueError):
            return False


class BadRequestHead(ValueError):
    """The bytes before the tunnel are not a request a proxy can serve."""


def without_proxy_credentials(head: bytes) -> bytes:
    """A request head without its Proxy-Authorization lines: they are for this proxy, not the origin."""
    lines = head.split(b"\r\n")
    kept = [line for line in lines if not line[:20].lower().startswith(b"proxy-authorization:")]
    return b"\r\n".join(kept)


@dataclass(slots=True, frozen=True)
class RequestHead:
    """The request line and headers of what a forward-proxy client sent first."""

    method: str
    target: str
    version: str
    headers: dict[str, str]
    length: int  # bytes of the head, CRLF CRLF included


def parse_head(data: bytes) -> RequestHead | None:
    """The request head at the start of `data`; None while it is not all there."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        if len(data) > HEAD_LIMIT:
            raise BadRequestHead(f"no end of the request head in {HEAD_LIMIT} bytes")
        if data and not data[:1].isalpha():
            raise BadRequestHead(f"not an HTTP request: {data[:24]!r}")
        return None
    try:
        lines = data[:end].decode("ascii").split("\r\n")
    except UnicodeDecodeError:
        raise BadRequestHead(f"not an HTTP request: {data[:24]!r}") from None
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequestHead(f"not an HTTP/1.1 request line: {lines[0][:80]!r}")
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise BadRequestHead(f"not a header line: {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    return RequestHead(parts[0], parts[1], parts[2], headers, end + 4)


def split_host_port(text: str, default_port: int | None = None) -> tuple[str, int]:
    """host:port or [v6]:port; raises BadRequestHead."""
    host, sep, port = text.rpartition(":")
    if not sep or "]" in port:
        host, port = text, ""
    if not port:
        if default_port is None:
            raise BadRequestHead(f"CONNECT target without a port: {text!r}")
        port = str(default_port)
    if not port.isdigit() or not 0 < int(port) < 65536 or not host:
        raise BadRequestHead(f"not a HOST:PORT target: {text!r}")
    return host.strip("[]"), int(port)


def client_hello_names(data: bytes) -> tuple[str | None, list[str]] | None:
    """SNI and ALPN offered in a TLS ClientHello at the start of `data`; None while the first
    record is not all there (or it is not a ClientHello)."""
    if len(data) < 5 or data[0] != 0x16:
        return None
    end = 5 + int.from_bytes(data[3:5], "big")
    if len(data) < end:
        return None
    body = data[5:end]
    try:
        if body[0] != 1:
            return None
        pos = 4 + 2 + 32
        pos += 1 + body[pos]  # session id
        pos += 2 + int.from_bytes(body[pos:pos + 2], "big")  # cipher suites
        pos += 1 + body[pos]  # compression methods
        ext_end = pos + 2 + int.from_bytes(body[pos:pos + 2], "big")
        pos += 2
        sni, alpn = None, []
        while pos + 4 <= min(ext_end, len(body)):
            kind = int.from_bytes(body[pos:pos + 2], "big")
            size = int.from_bytes(body[pos + 2:pos + 4], "big")
            ext = body[pos + 4:pos + 4 + size]
            pos += 4 + size
            if kind == EXT_SERVER_NAME and len(ext) > 5:
                n = int.from_bytes(ext[3:5], "big")
                sni = ext[5:5 + n].decode("ascii", "replace")
            elif kind == EXT_ALPN and len(ext) > 2:
                at = 2
                while at < len(ext):
                    n = ext[at]
                    alpn.append(ext[at + 1:at + 1 + n].decode("ascii", "replace"))
                    at += 1 + n
        return sni, alpn
    except IndexError:
        return None


class ForwardRequest(asyncio.Protocol):
    """A forward-mode client connection until it is known where it goes; then it is handed to
    the relay's own legs (the transport changes protocol) and this object is done."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        settings = relay.settings.forward
        assert settings is not None, "forward-mode connections come from a forward-mode relay"
        self.settings: ForwardSettings = settings
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.head: RequestHead | None = None
        self.target: tuple[str, int] | None = None
        self.sock: socket.socket | None = None
        self.tunnel = False  # 200 sent: what follows is the tunnel's
        self.busy = False  # connecting to the target
        self.done = False
        self.watching = False  # waiting for the target's first bytes too (a server that speaks first)
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.timer = asyncio.get_running_loop().call_later(self.head_timeout, self._too_slow)

    head_timeout = float(os.environ.get("H2INSPECT_HEAD_TIMEOUT", HEAD_TIMEOUT))

    def _too_slow(self) -> None:
        if self.done or self.busy:
            return
        what = "bytes into its tunnel" if self.tunnel else "request head"
        self.done = True
        self._event("proxy.forward-timeout", f"forward proxy: a client sent no {what} in "
                    f"{self.head_timeout:g} s; closed")
        if self.transport is not None:
            self.transport.close()
        self._drop_target()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()
        if not self.done:
            self._drop_target()

    def _drop_target(self) -> None:
        """Close the target's socket (nothing was handed over)."""
        self._unwatch_target()
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _unwatch_target(self) -> None:
        if self.watching and self.sock is not None:
            asyncio.get_running_loop().remove_reader(self.sock.fileno())
        self.watching = False

    def _event(self, rule_id: str, message: str) -> None:
        self.relay.source.event(rule_id, message)

    def _refuse(self, rule_id: str, status: str, message: str, extra: str = "") -> None:
        self.done = True
        self._event(rule_id, message)
        if self.transport is not None and not self.transport.is_closing():
            body = (message + "\n").encode("utf-8", "replace")
            self.transport.write(f"HTTP/1.1 {status}\r\n{extra}content-type: text/plain\r\n"
                                 f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode() + body)
            self.transport.close()
        self._drop_target()

    def data_received(self, data: bytes) -> None:
        if self.done:
            return
        self.buffer += data
        if self.busy:
            return
        if self.tunnel:
            self._tunnel_bytes()
            return
        try:
            head = parse_head(bytes(self.buffer))
        except BadRequestHead as exc:
            self._refuse("proxy.forward-bad-request", "400 Bad Request", f"forward proxy: {exc}")
            return
        if head is None:
            return
        self.head = head
        if not self.settings.authorized(head.headers):
            self._refuse("proxy.forward-auth", "407 Proxy Authentication Required", "forward proxy: a request "
                         "without the right Proxy-Authorization (--auth) is refused",
                         'proxy-authenticate: Basic realm="h2inspect"\r\n')
            return
        try:
            if head.method == "CONNECT":
                self.target = split_host_port(head.target)
            else:
                url = urlsplit(head.target)
                if url.scheme != "http" or not url.hostname:
                    raise BadRequestHead(f"{head.method} {head.target[:80]!r}: a forward proxy needs CONNECT "
                                         "or an absolute http:// URL")
                self.target = (url.hostname, url.port or 80)
        except (BadRequestHead, ValueError) as exc:
            self._refuse("proxy.forward-bad-request", "400 Bad Request", f"forward proxy: {exc}")
            return
        self.busy = True
        if self.transport is not None:
            self.transport.pause_reading()
        task = asyncio.get_running_loop().create_task(self._connect_target())
        self.relay.tasks.add(task)
        task.add_done_callback(self.relay.tasks.discard)

    async def _connect_target(self) -> None:
        from inspector.proxy.relay import CONNECT_TIMEOUT, _describe, connect_failure

        assert self.target is not None and self.head is not None
        host, port = self.target
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), CONNECT_TIMEOUT)
            family, kind, proto, _, address = infos[0]
            sock = socket.socket(family, kind, proto)
            sock.setblocking(False)
            try:
                await asyncio.wait_for(loop.sock_connect(sock, address), CONNECT_TIMEOUT)
            except BaseException:
                sock.close()
                raise
        except (OSError, TimeoutError) as exc:
            self.busy = False
            self._refuse(connect_failure(exc), "502 Bad Gateway", f"forward proxy: {self.head.method} "
                         f"{host}:{port}: the target {_describe(exc)}")
            return
        self.sock = sock
        self.busy = False
        if self.transport is None or self.transport.is_closing():
            sock.close()
            return
        if self.head.method == "CONNECT":
            self.transport.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            del self.buffer[:self.head.length]
            self.tunnel = True
            self.transport.resume_reading()
            if self.buffer:
                self._tunnel_bytes()
            else:
                # Whoever speaks first decides: a server that sends a banner before its client
                # says anything (SMTP, SSH...) is relayed at once; TLS would have the client first.
                self.watching = True
                loop.add_reader(sock.fileno(), self._target_spoke)
        else:
            # Absolute-form HTTP/1.1: the request goes on as it came, to the host it names, but
            # for the credentials meant for this proxy (hop by hop, RFC 9110 §11.7.4); so do the
            # next ones on this connection, each to the host it names (proxy/http_forward.py).
            from inspector.proxy.http_forward import http_link

            self.done = True
            data = bytes(self.buffer)
            self.buffer.clear()
            http_link(self, self.transport, data)
            self.transport.resume_reading()

    def _target_spoke(self) -> None:
        """The target sent bytes (or closed) before its client sent any: relay the tunnel as it is."""
        self._unwatch_target()
        if self.done:
            return
        assert self.target is not None
        host, port = self.target
        self._event("proxy.tunnel-untouched", f"tunnel to {host}:{port}: the server spoke first; relayed as it is")
        self._hand_over()

    def _tunnel_bytes(self) -> None:
        assert self.target is not None
        host, port = self.target
        data = bytes(self.buffer)
        intercept = self.settings.intercepts(host, port)
        if data[:1] == b"\x16":
            names = client_hello_names(data)
            hello_so_far = data[1:2] in (b"", b"\x03") and (len(data) < 6 or data[5] == 1)
            if names is None and len(data) < HELLO_LIMIT and hello_so_far:
                return  # the rest of the first record is on its way
            sni, alpn = names or (None, [])
            if not intercept:
                self._event("proxy.tunnel-untouched", f"tunnel to {host}:{port} relayed untouched (not "
                            "intercepted): TLS, SNI "
                            f"{sni or 'none'}, ALPN offered {', '.join(alpn) or 'none'}")
                self._hand_over()
            else:
                self._intercept_tls(sni)
            return
        if not intercept:
            self._event("proxy.tunnel-untouched", f"tunnel to {host}:{port} relayed untouched (not intercepted)")
        self._hand_over()

    def _route(self, server_name: str | None, upstream_tls: UpstreamTls | None) -> Route:
        from inspector.proxy.relay import Endpoint, Route

        self._unwatch_target()
        assert self.target is not None and self.sock is not None and self.transport is not None
        host, port = self.target
        client = self.transport.get_extra_info("peername")[:2]
        server = self.sock.getpeername()[:2]
        sock, self.sock = self.sock, None
        name = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        return Route(Endpoint(host, port), name, server_name, upstream_tls, sock, (client, server))

    def route_for_http(self) -> Route:
        """The route of a plain link to the target (the connected socket handed on with it)."""
        return self._route(None, None)

    def _hand_over(self) -> None:
        """The client's own transport becomes the client leg of a plain link to the target."""
        from inspector.proxy.relay import _Leg, _Link

        self.done = True
        transport = self.transport
        assert transport is not None
        link = _Link(self.relay, self._route(None, None))
        leg = _Leg(link, True)
        transport.set_protocol(leg)
        leg.connection_made(transport)
        if self.buffer:
            leg.data_received(bytes(self.buffer))
            self.buffer.clear()

    def _intercept_tls(self, sni: str | None) -> None:
        self.done = True
        task = asyncio.get_running_loop().create_task(self._tls_leg(sni))
        self.relay.tasks.add(task)
        task.add_done_callback(self.relay.tasks.discard)

    async def _tls_leg(self, sni: str | None) -> None:
        from inspector.proxy.relay import _Link, _TlsLeg

        assert self.target is not None and self.transport is not None
        settings = self.settings
        host, port = self.target
        name = sni or host
        certificates = settings.certificates
        assert certificates is not None
        try:
            ctx = certificates.context_for(name) or certificates.context
        except BadServerName as exc:
            self._event("proxy.bad-sni", f"CONNECT {host}:{port}: {exc}: TLS handshake refused")
            self.transport.close()
            self._drop_target()
            return
        route = self._route(name, settings.upstream_tls)
        client = self.transport
        link = _Link(self.relay, route)
        first = bytes(self.buffer)
        self.buffer.clear()
        try:
            await accept_tls(client, _TlsLeg(link, True), ctx, first, HANDSHAKE_TIMEOUT)
        except (TimeoutError, OSError, ssl.SSLError) as exc:
            rule, reason = client_handshake_failure(exc)
            if rule == "proxy.client-rejected-ca":
                self._event(rule, f"CONNECT {host}:{port}: the client rejected the certificate the proxy made for "
                            f"{name} ({reason}): make the client trust {settings.ca_path} "
                            f"(curl --cacert {settings.ca_path})")
            else:
                self._event(rule, f"CONNECT {host}:{port}: TLS handshake with the client failed ({reason})")
            if route.sock is not None:
                route.sock.close()
