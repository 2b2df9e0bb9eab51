"""From TCP byte streams to HTTP/2 connections in the model (sans-I/O).

`SessionBuilder` is the `ByteSink` every source drives. For each TCP flow it
decides what the bytes are: the HTTP/2 client preface on any port (h2c with
prior knowledge), an HTTP/1.1 request with `Upgrade: h2c` answered by 101
(the upgraded request becomes stream 1), plain HTTP/1.1, or, on a port the
user named with --port, HTTP/2 already under way. Then it hands each
direction's bytes to that connection's `ConnectionDecoder`.

A flow that opens with a TLS ClientHello goes through a `TlsConnection`
first: with secrets from a key log its application data (kept in
`plaintext`, since the capture holds only ciphertext) is decided and decoded
like any plaintext flow; without them the connection is listed as TLS and
a finding says why it is not decoded.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from enum import IntEnum

from inspector.flows import TcpFlow
from inspector.http2.decoder import ConnectionDecoder
from inspector.http2.frames import CLIENT_PREFACE
from inspector.http2.hpack_decoder import HpackContext
from inspector.model import Connection, Direction, Session
from inspector.tls.connection import TlsConnection, looks_like_client_hello
from inspector.tls.keylog import KeyLog

_HTTP1_REQUEST = re.compile(rb"^[A-Z]{3,10} \S+ HTTP/1\.[01]\r\n")
# What a request line looks like before its end has arrived: the first TCP segment may be
# shorter than "GET /a/long/path HTTP/1.1\r\n" (a client that writes the method first, a small MSS).
_HTTP1_REQUEST_START = re.compile(rb"[A-Z]{1,10}(?: \S*(?: ([^ ]*))?)?\Z")
MAX_REQUEST_LINE = 8 * 1024  # as long as servers accept (nginx's large_client_header_buffers)
_HTTP1_RESPONSE = re.compile(rb"^HTTP/1\.[01] (\d{3})")
MAX_SNIFF = 64 * 1024  # give up deciding after this many bytes without an answer
MAX_UPGRADE_HELD = 16 << 20  # bytes held for an h2c Upgrade the server has not answered yet

class FlowKind(IntEnum):
    """What a TCP flow carries, as far as the builder can tell yet."""

    UNDECIDED = 0
    HTTP2 = 1
    UPGRADING = 2  # an HTTP/1.1 request asked for h2c; the server has not answered yet
    HTTP1 = 3
    OTHER = 4
    TLS = 5


UNDECIDED, HTTP2, UPGRADING, HTTP1, OTHER, TLS = FlowKind


def _could_be_request_line(first: bytes) -> bool:
    """`first` is the start of an HTTP/1.x request line whose end has not arrived yet."""
    if len(first) >= MAX_REQUEST_LINE:
        return False
    match = _HTTP1_REQUEST_START.match(first)
    if match is None:
        return False
    version = match.group(1)
    return version is None or b"HTTP/1.1\r".startswith(version) or b"HTTP/1.0\r".startswith(version)


def _upgrade_answer_end(first: bytes) -> int:
    """Where HTTP/2 begins after `first`'s `HTTP/1.1 101` head (the answer to an h2c Upgrade), or -1:
    -2 while the head may still be arriving."""
    if not first.startswith(b"HTTP/1.1 101"[:len(first)]):
        return -1
    match = _HTTP1_RESPONSE.match(first)
    if match is not None and match.group(1) != b"101":
        return -1
    end = first.find(b"\r\n\r\n")
    return end + 4 if end >= 0 else -2


def _is_server_preface(first: bytes) -> bool:
    """A whole SETTINGS frame on stream 0 with known identifiers: how an HTTP/2 server begins."""
    if len(first) < 9:
        return False
    length = int.from_bytes(first[:3], "big")
    if first[3] != 4 or first[4] != 0 or first[5:9] != b"\0\0\0\0" or length % 6 or length > 60:
        return False
    body = first[9:9 + length]
    return len(body) == length and all(1 <= int.from_bytes(body[i:i + 2], "big") <= 9
                                       for i in range(0, length, 6))


class _FlowState:
    __slots__ = ("flow", "kind", "held", "held_bytes", "first", "client_is_a", "conn", "decoder", "request_end",
                 "upgrade", "tls", "inner", "paused_at", "deferred")

    def __init__(self, flow: TcpFlow) -> None:
        self.flow = flow
        self.kind = UNDECIDED
        self.held: list[tuple[bool, bytes, float, int, int]] = []  # chunks before we decided
        self.held_bytes = 0
        # Each side's first MAX_SNIFF bytes, kept as they arrive: deciding looks at them on every
        # chunk, and joining the held chunks again each time was quadratic in their number.
        self.first = (bytearray(), bytearray())  # [0]: from A, [1]: from B
        self.client_is_a = flow.initiator_known
        self.conn: Connection | None = None
        self.decoder: ConnectionDecoder | None = None
        self.request_end = 0  # stream offset where the upgraded request (and body) ends
        self.upgrade: tuple[tuple[tuple[str, str], ...], bytes, bool] | None = None
        self.tls: TlsConnection | None = None
        self.inner: _FlowState | None = None  # TLS: the flow of the decrypted bytes (client is side A)
        self.paused_at: tuple[bool, float, int] = (True, 0.0, 0)  # TLS waiting: (from client, time, packet)
        self.deferred: list[Callable[[], None]] = []  # TLS waiting: what came since, in order


class SessionBuilder:
    """Drives connection decoders from the byte streams of TCP flows."""

    def __init__(self, session: Session, ports: tuple[int, ...] = (),
                 on_connection: Callable[[TcpFlow, Connection, bool], None] | None = None,
                 keylog: KeyLog | None = None,
                 plaintext: dict[int, tuple[bytearray, bytearray]] | None = None) -> None:
        self.session = session
        self.ports = frozenset(ports)
        self.hpack = HpackContext()
        self._flows: dict[int, _FlowState] = {}
        self._on_connection = on_connection  # lets the payload store map conn_index -> flow
        self.keylog = keylog
        self.plaintext = plaintext if plaintext is not None else {}  # conn_index -> decrypted (client, server)
        # TLS connections waiting for their secrets in a key log still being written: the loader
        # reads no further packet while this is not empty (so frames stay in capture order) and
        # calls retry_secrets until it is.
        self.awaiting: list[_FlowState] = []

    # ---- ByteSink --------------------------------------------------------

    def data(self, flow: TcpFlow, from_a: bool, data: bytes, time: float, packet: int,
             offset: int) -> None:
        st = self._flows.get(flow.index)
        if st is None:
            st = self._flows[flow.index] = _FlowState(flow)
        self._feed(st, from_a, data, time, packet, offset)

    def _feed(self, st: _FlowState, from_a: bool, data: bytes, time: float, packet: int, offset: int) -> None:
        if st.kind == TLS:
            self._tls_data(st, from_a, data, time, packet)
            return
        decoder = st.decoder  # made when the flow is found to be HTTP/2, and only then
        if decoder is not None and st.kind == HTTP2:
            decoder.receive(Direction.CLIENT if from_a == st.client_is_a else Direction.SERVER, data, time, packet,
                            offset)
            return
        if st.kind in (HTTP1, OTHER):
            return
        st.held.append((from_a, data, time, packet, offset))
        st.held_bytes += len(data)
        first = st.first[0 if from_a else 1]
        if len(first) < MAX_SNIFF:
            first += data[:MAX_SNIFF - len(first)]
        if st.kind == UPGRADING and st.held_bytes > MAX_UPGRADE_HELD:
            self._upgrade_unanswered(st)
            return
        if st.kind == UNDECIDED:
            self._decide(st)
        elif st.kind == UPGRADING:
            self._upgrade_progress(st)

    def gap(self, flow: TcpFlow, from_a: bool, size: int, packet: int) -> None:
        st = self._flows.get(flow.index)
        if st is not None and st.tls is not None and st.tls.waiting:
            st.deferred.append(lambda: self.gap(flow, from_a, size, packet))
            return
        if st is not None and st.kind == TLS:
            # Records cannot be found again after lost bytes (and their sequence numbers are
            # unknown): decryption of this direction ends here; the other goes on.
            assert st.tls is not None
            from_client = from_a == st.client_is_a
            st.tls.lose(from_client)
            self.session.findings_engine.report(
                "tls.gap", f"{size} bytes of a TLS stream from the {'client' if from_client else 'server'} "
                f"are missing (before packet {packet}): decryption of that direction stops there",
                conn_index=st.flow.index, packet=packet)
            return
        if st is None or st.kind != HTTP2:
            if st is not None and st.kind in (UNDECIDED, UPGRADING):
                if st.held:
                    self._undecided_gap(st, from_a, size, packet)
                st.kind = OTHER  # cannot tell what it is with bytes missing at the start
                st.held.clear()
            return
        if st.decoder is not None:
            st.decoder.gap(self._direction(st, from_a), size, packet)

    def close(self, flow: TcpFlow, from_a: bool, how: str, packet: int) -> None:
        st = self._flows.get(flow.index)
        if st is not None and st.tls is not None and st.tls.waiting:
            st.deferred.append(lambda: self.close(flow, from_a, how, packet))
            return
        if st is not None and st.inner is not None:
            from_a, st = from_a == st.client_is_a, st.inner
        if st is not None and st.kind == HTTP2 and st.decoder is not None:
            st.decoder.close(self._direction(st, from_a), how, packet)

    def finish(self) -> None:
        """The source ended."""
        self.retry_secrets(patient=False)  # nothing more will come: no connection waits any longer
        for outer in self._flows.values():
            st = outer.inner or outer
            if outer.tls is not None and outer.conn is None and st.conn is None:
                self._opaque_tls(outer)  # a handshake and nothing decoded: still list it
            if st.kind == UNDECIDED and st.held and self._port_says_http2(st):
                self._start_http2(st, midstream=True)
            if st.kind == HTTP2 and st.decoder is not None:
                st.decoder.finish()
        self.session.findings_engine.flush()
        self.session.complete = True

    def _undecided_gap(self, st: _FlowState, from_a: bool, size: int, packet: int) -> None:
        """Bytes lost before the flow's protocol was told: say that it is left undecoded."""
        sender = st.flow.a if from_a else st.flow.b
        what = "an h2c Upgrade request" if st.kind == UPGRADING else "its first bytes"
        self.session.findings_engine.report(
            "capture.undecided-gap", f"{size} bytes from {sender} are missing (a hole just before packet {packet}) "
            f"while h2inspect was still reading {what}: the connection is not decoded",
            conn_index=st.flow.index, packet=packet)

    # ---- deciding what a flow carries ---------------------------------------

    def _direction(self, st: _FlowState, from_a: bool) -> Direction:
        return Direction.CLIENT if from_a == st.client_is_a else Direction.SERVER

    def _port_says_http2(self, st: _FlowState) -> bool:
        flow = st.flow
        if flow.b_port in self.ports:
            st.client_is_a = True
            return True
        if flow.a_port in self.ports:
            st.client_is_a = False
            return True
        return False

    def _first_bytes(self, st: _FlowState, from_a: bool) -> bytes:
        return bytes(st.first[0 if from_a else 1])

    def _upgrade_unanswered(self, st: _FlowState) -> None:
        """An h2c Upgrade the server has not answered after MAX_UPGRADE_HELD bytes: the bytes held
        for it are let go, and the connection is shown as HTTP/1.1 with a finding."""
        conn = self._new_connection(st, "http/1.1")
        self.session.findings_engine.report(
            "capture.upgrade-unanswered", f"the server never answered the h2c Upgrade; {st.held_bytes} bytes held "
            f"for it (over {MAX_UPGRADE_HELD >> 20} MiB) were let go and the connection is not decoded",
            conn_index=conn.index)
        st.kind = HTTP1
        st.held.clear()

    def _decide(self, st: _FlowState) -> None:
        flow = st.flow
        # With the SYN seen, only the initiator can be the client.
        for from_a in (True,) if flow.initiator_known else (True, False):
            first = self._first_bytes(st, from_a)
            if not first:
                continue
            if first.startswith(CLIENT_PREFACE):
                st.client_is_a = from_a
                self._start_joined(st) if self._joined_late(st) else self._start_http2(st, midstream=False)
                return
            if looks_like_client_hello(first):
                st.client_is_a = from_a
                self._start_tls(st)
                return
            if CLIENT_PREFACE.startswith(first):
                return  # the preface may still be arriving
            if _could_be_request_line(first):
                return  # so may the rest of a request line
            if _HTTP1_REQUEST.match(first):
                st.client_is_a = from_a
                self._http1_request(st, first)
                return
        if st.held_bytes <= MAX_SNIFF and any(
                _upgrade_answer_end(self._first_bytes(st, from_a)) != -1 and not self._first_bytes(st, not from_a)
                for from_a in (True, False)):
            return  # the answer to an h2c Upgrade the capture began after: the client's preface follows
        if flow.initiator_known and _is_server_preface(self._first_bytes(st, False)):
            # The server spoke first with SETTINGS: its connection preface (RFC 9113 §3.4).
            # Deciding now keeps its frames in capture order.
            st.client_is_a = True
            self._start_http2(st, midstream=False)
            return
        if self._port_says_http2(st):
            self._start_http2(st, midstream=True)
            return
        if (flow.initiator_known and st.first[0]) or st.held_bytes > MAX_SNIFF:
            st.kind = OTHER
            st.held.clear()

    def _joined_late(self, st: _FlowState) -> bool:
        """The client's preface, on a connection whose beginning the capture may not hold: no TCP
        handshake, or the server's bytes begin with the 101 that answered an h2c Upgrade."""
        return not st.flow.initiator_known or _upgrade_answer_end(self._first_bytes(st, not st.client_is_a)) >= 0

    def _start_joined(self, st: _FlowState) -> None:
        """HTTP/2 from the client's preface, after an h2c Upgrade the capture may have missed: the
        server's 101 head (if captured) is HTTP/1.1, not unframed bytes, and stream 1 may be the
        upgraded request's, opened before the capture (the decoder's `upgrade_unseen`)."""
        answered = _upgrade_answer_end(self._first_bytes(st, not st.client_is_a))
        held, st.held = st.held, []
        self._start_http2(st, midstream=False, replay=False)
        decoder, conn = st.decoder, st.conn
        assert decoder is not None and conn is not None, "_start_http2 made both"
        decoder.upgrade_unseen = True
        if answered >= 0:
            conn.protocol = "h2c-upgrade"
        server_from_a = not st.client_is_a
        for from_a, data, time, packet, offset in held:
            cut = answered - offset if from_a == server_from_a else 0
            if cut >= len(data):
                continue
            if cut > 0:
                data, offset = data[cut:], offset + cut
            decoder.receive(self._direction(st, from_a), data, time, packet, offset)

    def _new_connection(self, st: _FlowState, protocol: str) -> Connection:
        flow = st.flow
        client, server = (flow.a, flow.b) if st.client_is_a else (flow.b, flow.a)
        conn = Connection(flow.index, client, server, protocol)
        self.session.connections.append(conn)
        st.conn = conn
        if self._on_connection is not None:
            self._on_connection(flow, conn, st.client_is_a)
        return conn

    def _start_http2(self, st: _FlowState, *, midstream: bool, replay: bool = True) -> None:
        conn = self._new_connection(st, "h2-midstream" if midstream else "h2c")
        st.decoder = ConnectionDecoder(self.session, conn, self.hpack, midstream=midstream)
        st.kind = HTTP2
        if midstream:
            self.session.findings_engine.report(
                "capture.midstream", "the capture starts after this connection did: decoding from the "
                "first frame boundary; header fields that refer to earlier ones show as unknown", conn_index=conn.index)
        if replay:
            held, st.held = st.held, []
            for from_a, data, time, packet, offset in held:
                st.decoder.receive(self._direction(st, from_a), data, time, packet, offset)

    # ---- TLS ----------------------------------------------------------------

    def _start_tls(self, st: _FlowState) -> None:
        flow = st.flow
        st.kind = TLS
        st.tls = TlsConnection(self.keylog)
        client, server = (flow.a, flow.b) if st.client_is_a else (flow.b, flow.a)
        ports = (flow.a_port, flow.b_port) if st.client_is_a else (flow.b_port, flow.a_port)
        # The decrypted bytes make a flow of their own, the client as side A.
        st.inner = _FlowState(TcpFlow(flow.index, client, server, ports[0], ports[1], True))
        st.inner.client_is_a = True
        held, st.held = st.held, []
        for from_a, data, time, packet, _ in held:
            self._tls_data(st, from_a, data, time, packet)

    def _tls_data(self, st: _FlowState, from_a: bool, data: bytes, time: float, packet: int) -> None:
        tls = st.tls
        assert tls is not None
        if tls.waiting:
            st.deferred.append(lambda: self._tls_data(st, from_a, data, time, packet))  # in order, later
            return
        from_client = from_a == st.client_is_a
        self._tls_plaintext(st, from_client, tls.receive(from_client, data), time, packet)
        if tls.waiting:
            st.paused_at = (from_client, time, packet)
            self.awaiting.append(st)

    def retry_secrets(self, patient: bool = True) -> bool:
        """TLS connections waiting for their secrets look in the key log again and go on where
        they can (with `patient` False, whether or not the secrets came); True when none waits."""
        waiting = self.awaiting[:]
        self.awaiting.clear()
        for st in waiting:
            tls = st.tls
            assert tls is not None
            from_client, time, packet = st.paused_at
            self._tls_plaintext(st, from_client, tls.resume(from_client, patient), time, packet)
            if tls.waiting:
                self.awaiting.append(st)
                continue
            while st.deferred and not tls.waiting:  # what came while it waited; it may wait again
                st.deferred.pop(0)()
        return not self.awaiting

    def _tls_plaintext(self, st: _FlowState, from_client: bool, pieces: list[bytes], time: float,
                       packet: int) -> None:
        """Decrypted application data, decided and decoded like a plaintext flow's bytes."""
        tls, inner = st.tls, st.inner
        assert tls is not None and inner is not None
        if not pieces:
            if tls.problems and inner.conn is None and st.conn is None:
                self._opaque_tls(st)
            return
        buffers = self.plaintext.setdefault(st.flow.index, (bytearray(), bytearray()))
        buf = buffers[0 if from_client else 1]
        for piece in pieces:
            offset = len(buf)
            buf += piece
            self._feed(inner, from_client, piece, time, packet, offset)
        if inner.conn is not None and st.conn is None:
            # The decrypted bytes made their connection: it is this flow's, named once.
            st.conn = inner.conn
            st.conn.protocol = f"{'h2' if inner.kind == HTTP2 else st.conn.protocol} ({tls.describe()})"
            self.session.findings_engine.report("tls.decrypted", f"TLS decrypted with the key log: {tls.describe()}",
                                                conn_index=st.conn.index)

    def _opaque_tls(self, st: _FlowState) -> None:
        """A TLS connection h2inspect cannot read: listed, with the reason."""
        tls = st.tls
        assert tls is not None
        conn = self._new_connection(st, f"tls ({tls.describe()})")
        why = "; ".join(tls.problems) or "no application data was decrypted"
        hint = "" if self.keylog is not None else \
            " (give --keylog FILE: the secrets the client logged, e.g. with SSLKEYLOGFILE)"
        self.session.findings_engine.report("tls.not-decrypted", f"TLS, not decoded: {why}{hint}",
                                            conn_index=conn.index)
        st.kind = OTHER

    # ---- HTTP/1.1 and the h2c Upgrade ----------------------------------------

    def _http1_request(self, st: _FlowState, first: bytes) -> None:
        end = first.find(b"\r\n\r\n")
        if end < 0:
            if len(first) >= MAX_SNIFF:
                st.kind = OTHER
            return  # wait for the whole request head
        head = first[:end].decode("latin-1")
        lines = head.split("\r\n")
        fields = [tuple(part.strip() for part in line.split(":", 1)) for line in lines[1:] if ":" in line]
        lowered = {k.lower(): v for k, v in fields}
        tokens = {t.strip().lower() for t in lowered.get("upgrade", "").split(",")}
        if "h2c" not in tokens:
            st.kind = HTTP1
            self._new_connection(st, "http/1.1")
            st.held.clear()
            return
        body = int(lowered.get("content-length", "0") or 0) if lowered.get("content-length", "").isdigit() else 0
        st.request_end = end + 4 + body
        method, path = (lines[0].split(" ") + ["", ""])[:2]
        headers = [(":method", method), (":scheme", "http"),
                   (":authority", lowered.get("host", "")), (":path", path)]
        headers += [(k.lower(), v) for k, v in fields
                    if k.lower() not in ("host", "connection", "upgrade", "http2-settings")]
        settings = lowered.get("http2-settings", "")
        try:
            raw_settings = base64.urlsafe_b64decode(settings + "=" * (-len(settings) % 4))
        except (ValueError, TypeError):
            raw_settings = b""
        st.kind = UPGRADING
        st.upgrade = (tuple(headers), raw_settings, body == 0)
        self._upgrade_progress(st)

    def _upgrade_progress(self, st: _FlowState) -> None:
        server = self._first_bytes(st, not st.client_is_a)
        if not server:
            return
        head_end = server.find(b"\r\n\r\n")
        if head_end < 0:
            return
        match = _HTTP1_RESPONSE.match(server)
        if not match or match.group(1) != b"101":
            st.kind = HTTP1
            self._new_connection(st, "http/1.1")
            st.held.clear()
            return
        assert st.upgrade is not None
        headers, raw_settings, end_stream = st.upgrade
        held, st.held = st.held, []
        self._start_http2(st, midstream=False, replay=False)
        decoder, conn = st.decoder, st.conn
        assert decoder is not None and conn is not None, "_start_http2 made both"
        conn.protocol = "h2c-upgrade"
        decoder.upgraded_request(headers, raw_settings, end_stream)
        skip = {st.client_is_a: st.request_end, not st.client_is_a: head_end + 4}
        for from_a, data, time, packet, offset in held:
            cut = skip[from_a] - offset
            if cut >= len(data):
                continue
            if cut > 0:
                data, offset = data[cut:], offset + cut
            decoder.receive(self._direction(st, from_a), data, time, packet, offset)
