"""Hostile captures for the memory limits: an HPACK table filled far past any sane
size, calls that each carry a unique header, protobuf nested deep around a big
field, a gzip bomb, one header block decoding to far more than its bytes.

Each generator takes the size as a parameter, so a test builds a small one
and bench/bench_memory.py the full one. Packets are written straight to a
pcap file (Ethernet, IPv4, TCP) without scapy: the bench inputs have hundreds
of thousands of segments, which scapy would take minutes to build.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Iterator

import hpack
from hpack.hpack import encode_integer
from hyperframe.frame import ContinuationFrame, DataFrame, Frame, HeadersFrame, SettingsFrame

from inspector.http2.frames import CLIENT_PREFACE as PREFACE

MAX_SEGMENT = 32_000  # bytes of TCP payload per packet (under the 64 KiB IPv4 limit)
HEADER_TABLE_SIZE = 0x1  # SETTINGS identifiers (RFC 9113 section 6.5.2)
MAX_FRAME = 16_384  # DATA frames are cut to the default SETTINGS_MAX_FRAME_SIZE

Event = tuple[bool, bytes]  # (from the client, bytes it sends)


# ---- a fast pcap writer -------------------------------------------------------


def _checksum(header: bytes) -> int:
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _packet(src: bytes, dst: bytes, sport: int, dport: int, seq: int, ack: int, flags: int,
            payload: bytes) -> bytes:
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq % 2**32, ack % 2**32, 5 << 4, flags, 65535, 0, 0)
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 0, 0x4000, 64, 6, 0,
                               src, dst))
    struct.pack_into("!H", ip, 10, _checksum(bytes(ip)))
    ether = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00"
    return ether + bytes(ip) + tcp + payload


def write_pcap(path: str, events: Iterable[Event], *, client_port: int = 40000, server_port: int = 8080) -> str:
    """One TCP connection (handshake, `events` in order, FINs) as an Ethernet pcap; returns `path`.

    Each event's bytes go out in segments of at most MAX_SEGMENT bytes, one
    microsecond apart, with sequence numbers that follow each side's bytes."""
    client, server = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
    seq = [1000, 5000]  # next sequence number of the client, the server
    tick = 0

    def record(out, from_client: bool, flags: int, payload: bytes = b"") -> None:
        nonlocal tick
        side = 0 if from_client else 1
        src, dst, sport, dport = ((client, server, client_port, server_port) if from_client
                                  else (server, client, server_port, client_port))
        pkt = _packet(src, dst, sport, dport, seq[side], seq[1 - side], flags, payload)
        tick += 1
        out.write(struct.pack("<IIII", 1_700_000_000 + tick // 1_000_000, tick % 1_000_000, len(pkt), len(pkt)))
        out.write(pkt)
        seq[side] += len(payload) + (1 if flags & 0x03 else 0)  # SYN and FIN take one number

    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262_144, 1))
        record(out, True, 0x02)  # SYN
        record(out, False, 0x12)  # SYN, ACK
        record(out, True, 0x10)
        for from_client, data in events:
            for start in range(0, len(data), MAX_SEGMENT):
                record(out, from_client, 0x18, data[start:start + MAX_SEGMENT])
        record(out, True, 0x11)  # FIN, ACK
        record(out, False, 0x11)
    return path


# ---- HTTP/2 pieces --------------------------------------------------------------


def _frames(frames: Iterable[Frame]) -> bytes:
    return b"".join(f.serialize() for f in frames)


def _headers(stream_id: int, block: bytes, *, end_stream: bool = False) -> bytes:
    frame = HeadersFrame(stream_id, data=block, flags=["END_HEADERS"] + (["END_STREAM"] if end_stream else []))
    return frame.serialize()


def _data(stream_id: int, payload: bytes, *, end_stream: bool) -> bytes:
    """`payload` as DATA frames of at most MAX_FRAME bytes, END_STREAM on the last if asked."""
    pieces = [payload[i:i + MAX_FRAME] for i in range(0, len(payload), MAX_FRAME)] or [b""]
    return _frames(DataFrame(stream_id, data=piece, flags=["END_STREAM"] if end_stream and i == len(pieces) - 1
                             else []) for i, piece in enumerate(pieces))


def _opening(client_table_size: int | None = None, server_table_size: int | None = None) -> list[Event]:
    """Preface and both SETTINGS (with their ACKs); a table size is what that side lets the other use."""
    client = {HEADER_TABLE_SIZE: client_table_size} if client_table_size is not None else {}
    server = {HEADER_TABLE_SIZE: server_table_size} if server_table_size is not None else {}
    return [(True, PREFACE + SettingsFrame(0, settings=client).serialize()),
            (False, SettingsFrame(0, settings=server).serialize() + SettingsFrame(0, flags=["ACK"]).serialize()),
            (True, SettingsFrame(0, flags=["ACK"]).serialize())]


def literal_indexed(name: bytes, value: bytes) -> bytes:
    """A literal field with incremental indexing and a new name (RFC 7541 section 6.2.1), no Huffman."""
    return (b"\x40" + bytes(encode_integer(len(name), 7)) + name
            + bytes(encode_integer(len(value), 7)) + value)


def indexed(index: int) -> bytes:
    """An indexed field (RFC 7541 section 6.1): a reference to table entry `index`."""
    field = bytearray(encode_integer(index, 7))
    field[0] |= 0x80
    return bytes(field)


def size_update(size: int) -> bytes:
    """A dynamic table size update (RFC 7541 section 6.3)."""
    field = bytearray(encode_integer(size, 5))
    field[0] |= 0x20
    return bytes(field)


def table_filled(entries: int, table_size: int = 2**32 - 1) -> Iterator[Event]:
    """The server allows an HPACK table of `table_size` bytes and the client fills it:
    one request per block, each inserting one new header (`x-fill-N`), none evicted.

    Encoded by hand: the hpack library's encoder searches its table linearly,
    which at 20,000 entries takes longer than the decoding under test."""
    yield from _opening(server_table_size=table_size)
    update = size_update(table_size)
    static = b"\x82\x86\x84"  # :method GET, :scheme http, :path / from the static table
    for n in range(entries):
        sid = 2 * n + 1
        block = (update if n == 0 else b"") + static + literal_indexed(
            f"x-fill-{n}".encode(), f"value-{n:08d}".encode())
        yield True, _headers(sid, block, end_stream=True)
        yield False, _headers(sid, b"\x88", end_stream=True)  # :status 200 from the static table


def continuation_flood(frames: int) -> Iterator[Event]:
    """One request whose header block is a HEADERS and `frames` CONTINUATIONs, each
    carrying one indexed field (:method GET): a header list far past any limit."""
    yield from _opening()
    first = HeadersFrame(1, data=b"\x82\x86\x84", flags=["END_STREAM"]).serialize()
    more = ContinuationFrame(1, data=b"\x82").serialize()
    last = ContinuationFrame(1, data=b"\x82", flags=["END_HEADERS"]).serialize()
    batch = 10_000  # frames per event, so the pcap writer sees few large sends
    yield True, first
    for start in range(0, frames - 1, batch):
        yield True, more * min(batch, frames - 1 - start)
    yield True, last
    yield False, _headers(1, b"\x88", end_stream=True)


def calls_with_request_ids(calls: int, *, unique: bool) -> Iterator[Event]:
    """`calls` GET requests on one connection, each answered with 200 and a short body;
    with `unique` every request carries its own `x-request-id` (as tracing proxies add)."""
    client, server = hpack.Encoder(), hpack.Encoder()
    yield from _opening()
    request = [(":method", "GET"), (":scheme", "http"), (":path", "/items"), (":authority", "api.example"),
               ("user-agent", "memkit/1.0"), ("accept", "*/*")]
    response = [(":status", "200"), ("content-type", "text/plain"), ("server", "memkit")]
    for n in range(calls):
        sid = 2 * n + 1
        extra = [("x-request-id", f"{n:08x}-5b1c-4d2e-9f3a-{n * 7919 % 10**12:012d}")] if unique else []
        yield True, _headers(sid, client.encode(request + extra), end_stream=True)
        yield False, _headers(sid, server.encode(response)) + _data(sid, b"ok", end_stream=True)


# ---- gRPC -------------------------------------------------------------------------


def grpc_message(body: bytes, *, compressed: bool = False) -> bytes:
    """One length-prefixed gRPC message (gRPC over HTTP/2, Length-Prefixed-Message)."""
    return bytes([1 if compressed else 0]) + len(body).to_bytes(4, "big") + body


def grpc_call(request: bytes, *, encoding: str | None = None, method: str = "/memkit.Test/Call") -> Iterator[Event]:
    """A unary gRPC call whose request message is `request` (already prefixed), answered OK."""
    client, server = hpack.Encoder(), hpack.Encoder()
    yield from _opening()
    headers = [(":method", "POST"), (":scheme", "http"), (":path", method), (":authority", "memkit"),
               ("content-type", "application/grpc"), ("te", "trailers")]
    if encoding:
        headers.append(("grpc-encoding", encoding))
    yield True, _headers(1, client.encode(headers))
    yield True, _data(1, request, end_stream=True)
    yield False, _headers(1, server.encode([(":status", "200"), ("content-type", "application/grpc")]))
    yield False, _data(1, grpc_message(b""), end_stream=False)
    yield False, _headers(1, server.encode([("grpc-status", "0")]), end_stream=True)


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def nested_protobuf(depth: int, core: bytes) -> bytes:
    """Field 1 (length-delimited) nested `depth` times around a field 2 holding `core`.

    Built from the inside out without copying the core `depth` times: only the
    length prefixes are new at each level."""
    inner = _varint(2 << 3 | 2) + _varint(len(core))
    prefixes: list[bytes] = []
    length = len(inner) + len(core)
    for _ in range(depth):
        prefix = _varint(1 << 3 | 2) + _varint(length)
        prefixes.append(prefix)
        length += len(prefix)
    return b"".join(reversed(prefixes)) + inner + core


def gzip_bomb(inflated: int, chunk: int = 1 << 20) -> bytes:
    """gzip of `inflated` zero bytes, compressed in chunks so building it takes little memory."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(chunk)
    parts = [compressor.compress(zeros) for _ in range(inflated // chunk)]
    parts.append(compressor.compress(bytes(inflated % chunk)))
    parts.append(compressor.flush())
    return b"".join(parts)


__all__ = ["write_pcap", "indexed", "size_update", "literal_indexed", "table_filled", "continuation_flood",
           "calls_with_request_ids", "grpc_message", "grpc_call", "nested_protobuf", "gzip_bomb", "PREFACE"]
