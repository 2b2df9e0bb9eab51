"""Hostile captures of issue 19, built at any size: shared by the tests (small) and bench/ (full).

Each builder writes one capture and returns its path. The packets are made
with `struct`, not scapy: the full-size inputs have up to a million frames,
and scapy builds a few thousand packets a second. Frames are serialized by
hand for the same reason; hpack encodes the header blocks. `BUILDERS` names
every input with its full size, so `bench/bench_hostile.py --only NAME`
and a test use the same code.

Sizes are parameters; `scale` in `build()` multiplies the full size.
"""

from __future__ import annotations

import gzip
import random
import struct
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import hpack

from inspector.http2.frames import CLIENT_PREFACE as PREFACE

DATA, HEADERS, RST_STREAM, SETTINGS, GOAWAY, CONTINUATION = 0, 1, 3, 4, 7, 9
END_STREAM, END_HEADERS = 0x1, 0x4

CLIENT, SERVER = True, False


def frame(kind: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    """One HTTP/2 frame, header and payload."""
    return struct.pack(">I", len(payload))[1:] + bytes((kind, flags)) + struct.pack(">I", stream_id) + payload


def settings(pairs: Iterable[tuple[int, int]] = (), ack: bool = False) -> bytes:
    """A SETTINGS frame."""
    return frame(SETTINGS, 1 if ack else 0, 0, b"".join(struct.pack(">HI", k, v) for k, v in pairs))


def grpc_message(body: bytes, compressed: bool = False) -> bytes:
    """A length-prefixed gRPC message."""
    return bytes((1 if compressed else 0,)) + struct.pack(">I", len(body)) + body


def request_headers(path: str = "/demo.Demo/Unary", extra: Iterable[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """The header list of a gRPC request."""
    return [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "localhost"),
            ("content-type", "application/grpc"), ("te", "trailers"), *extra]


RESPONSE = [(":status", "200"), ("content-type", "application/grpc")]
TRAILERS = [("grpc-status", "0")]


# ---- pcap: Ethernet / IPv4 / TCP, written with struct ------------------------------------------------


def _ip(address: str) -> bytes:
    import socket
    return socket.inet_pton(socket.AF_INET6 if ":" in address else socket.AF_INET, address)


def ipv6_header(src: bytes, dst: bytes, payload_length: int, next_header: int = 6) -> bytes:
    """An IPv6 header."""
    return struct.pack(">IHBB16s16s", 6 << 28, payload_length, next_header, 64, src, dst)


def ipv4_header(src: bytes, dst: bytes, payload_length: int, *, ident: int = 0, frag: int = 0x4000,
                proto: int = 6) -> bytes:
    """An IPv4 header (checksum left 0: tshark and h2inspect do not check it)."""
    return struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + payload_length, ident, frag, 64, proto, 0, src, dst)


def tcp_header(sport: int, dport: int, seq: int, ack: int, flags: int) -> bytes:
    """A 20-byte TCP header (window 65535, checksum 0)."""
    return struct.pack(">HHIIBBHHH", sport, dport, seq & 0xFFFF_FFFF, ack & 0xFFFF_FFFF, 5 << 4, flags,
                       65535, 0, 0)


ETHER = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00"
ETHER6 = ETHER[:12] + b"\x86\xdd"
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


@dataclass
class Packet:
    """One captured packet: link-layer bytes, time, and the length it had on the wire."""

    data: bytes
    time: float
    wire: int = 0  # 0: as captured

    @property
    def original_length(self) -> int:
        return self.wire or len(self.data)


class PcapFile:
    """Writes a classic pcap (microseconds, little-endian) record by record."""

    def __init__(self, path: str, linktype: int = 1, snaplen: int = 262144) -> None:
        self.f = gzip.open(path, "wb", compresslevel=6) if path.endswith(".gz") else open(path, "wb")
        self.path = path
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype))

    def write(self, data: bytes, time: float, original_length: int = 0) -> None:
        sec = int(time)
        self.f.write(struct.pack("<IIII", sec, int(round((time - sec) * 1e6)), len(data),
                                 original_length or len(data)) + data)

    def close(self) -> str:
        self.f.close()
        return self.path


class TcpConversation:
    """A client and a server on one TCP connection; `send` cuts bytes into segments with real sequence numbers.

    Packets go to a sink (a `PcapFile`, or a list a test will mutate); nothing is held per byte, so a
    conversation of 800 MB streams to disk.
    """

    def __init__(self, sink: Callable[[Packet], None], client: str = "10.0.0.1", server: str = "10.0.0.2",
                 cport: int = 40000, sport: int = 8080, *, start: float = 1_700_000_000.0,
                 step: float = 1e-5) -> None:
        self.sink = sink
        self.addr = {CLIENT: (_ip(client), cport), SERVER: (_ip(server), sport)}
        self.next_seq = {CLIENT: 1000, SERVER: 5000}
        self.time = start
        self.step = step

    def packet(self, from_client: bool, seq: int, flags: int, payload: bytes = b"") -> bytes:
        """The Ethernet frame of one segment."""
        (src, sp), (dst, dp) = self.addr[from_client], self.addr[not from_client]
        tcp = tcp_header(sp, dp, seq, self.next_seq[not from_client], flags)
        if len(src) == 16:
            return ETHER6 + ipv6_header(src, dst, len(tcp) + len(payload)) + tcp + payload
        return ETHER + ipv4_header(src, dst, len(tcp) + len(payload)) + tcp + payload

    def _emit(self, data: bytes) -> None:
        self.sink(Packet(data, self.time))
        self.time += self.step

    def handshake(self) -> TcpConversation:
        c, s = self.next_seq[CLIENT], self.next_seq[SERVER]
        self.next_seq[CLIENT], self.next_seq[SERVER] = c - 1, s - 1
        self._emit(self.packet(CLIENT, c - 1, SYN))
        self.next_seq[CLIENT] = c
        self._emit(self.packet(SERVER, s - 1, SYN | ACK))
        self.next_seq[SERVER] = s
        self._emit(self.packet(CLIENT, c, ACK))
        return self

    def send(self, from_client: bool, data: bytes, mss: int = 1448) -> TcpConversation:
        """`data` from one side, in segments of at most `mss` bytes."""
        view = memoryview(data)
        for start in range(0, len(data), mss):
            piece = bytes(view[start:start + mss])
            self._emit(self.packet(from_client, self.next_seq[from_client], PSH | ACK, piece))
            self.next_seq[from_client] += len(piece)
        return self

    def fin(self) -> TcpConversation:
        for side in (CLIENT, SERVER):
            self._emit(self.packet(side, self.next_seq[side], FIN | ACK))
            self.next_seq[side] += 1
        return self


def write_packets(path: str, packets: Iterable[Packet], linktype: int = 1) -> str:
    """A pcap (gzip-compressed if the name ends in .gz) of these packets."""
    out = PcapFile(path, linktype)
    for p in packets:
        out.write(p.data, p.time, p.wire)
    return out.close()


def capture(path: str, script: Callable[[TcpConversation], object], linktype: int = 1, **conv: object) -> str:
    """Run `script` on a conversation that streams into the pcap at `path`."""
    out = PcapFile(path, linktype)
    script(TcpConversation(lambda p: out.write(p.data, p.time, p.wire), **conv))  # type: ignore[arg-type]
    return out.close()


def conversation_packets(script: Callable[[TcpConversation], object], **conv: object) -> list[Packet]:
    """The packets of a conversation, in a list a test can damage."""
    packets: list[Packet] = []
    script(TcpConversation(packets.append, **conv))  # type: ignore[arg-type]
    return packets


# ---- HTTP/2 and gRPC traffic ------------------------------------------------------------------------


def unary_calls(calls: int, *, request_id: bool = False, interleave: bool = False,
                body: bytes = b"\x0a\x05hello") -> tuple[list[bytes], list[bytes]]:
    """(client chunks, server chunks) of `calls` unary gRPC calls; with `interleave`, every call opens
    before any is answered and each side's frames alternate between streams."""
    ec, es = hpack.Encoder(), hpack.Encoder()
    # In lockstep, chunk i of each side is one call; the client's SETTINGS ACK goes with its first
    # request, after the server's SETTINGS have come (an ACK before them acknowledges nothing).
    client = [PREFACE + settings([(3, 100)])]
    server = [settings([(3, 100)]) + settings(ack=True)]
    ids = [1 + 2 * i for i in range(calls)]
    extra = [("x-request-id", "")] if request_id else []
    heads = []
    for n, sid in enumerate(ids):
        hdrs = request_headers(extra=[("x-request-id", f"req-{n:08d}-{random.Random(n).getrandbits(64):016x}")]
                               if extra else ())
        heads.append(frame(HEADERS, END_HEADERS, sid, ec.encode(hdrs)))
    msg = grpc_message(body)
    requests = [frame(DATA, END_STREAM, sid, msg) for sid in ids]
    answers = [frame(HEADERS, END_HEADERS, sid, es.encode(RESPONSE)) + frame(DATA, 0, sid, msg)
               + frame(HEADERS, END_HEADERS | END_STREAM, sid, es.encode(TRAILERS)) for sid in ids]
    if interleave:
        client += heads + requests
        server += answers
    else:
        client += [h + r for h, r in zip(heads, requests, strict=True)]
        server += answers
    if len(client) > 1:
        client[1] = settings(ack=True) + client[1]
    else:
        client[0] += settings(ack=True)
    return client, server


def exchange(client: list[bytes], server: list[bytes], *, lockstep: bool = True,
             mss: int = 1448) -> Callable[[TcpConversation], None]:
    """A script sending the two sides' chunks, alternating (lockstep) or client first."""
    def script(conv: TcpConversation) -> None:
        conv.handshake()
        if lockstep:
            for i in range(max(len(client), len(server))):
                if i < len(client):
                    conv.send(CLIENT, client[i], mss)
                if i < len(server):
                    conv.send(SERVER, server[i], mss)
        else:
            conv.send(CLIENT, b"".join(client), mss)
            conv.send(SERVER, b"".join(server), mss)
        conv.fin()
    return script


def simple_grpc(calls: int = 3) -> Callable[[TcpConversation], None]:
    """A few unary calls, each request and answer in its own segments."""
    c, s = unary_calls(calls)
    return exchange(c, s)


# ---- capture-layer damage ----------------------------------------------------------------------------


def two_section_pcapng(path: str, calls: int = 4, second_link: str = "raw") -> str:
    """A valid pcapng of two sections: little-endian Ethernet in microseconds, then big-endian in
    nanoseconds (raw IP, or Ethernet again), the conversation split between them (what concatenating
    two hosts' files makes)."""
    with open(path, "wb") as f:
        f.write(two_section_pcapng_bytes(calls, second_link))
    return path


def two_section_pcapng_bytes(calls: int = 2, second_link: str = "ethernet") -> bytes:
    """The bytes of `two_section_pcapng`."""
    packets = conversation_packets(simple_grpc(calls))
    half = len(packets) // 2
    cut, linktype = (14, 101) if second_link == "raw" else (0, 1)
    return (pcapng_section("<", linktype=1, tsresol=6, packets=[(p.data, p.time) for p in packets[:half]])
            + pcapng_section(">", linktype=linktype, tsresol=9,
                             packets=[(p.data[cut:], p.time) for p in packets[half:]]))


def _block(order: str, kind: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    length = len(body) + 12
    return struct.pack(order + "II", kind, length) + body + struct.pack(order + "I", length)


def pcapng_section(order: str, *, linktype: int, tsresol: int, packets: list[tuple[bytes, float]]) -> bytes:
    """One pcapng section (SHB, one IDB with if_tsresol 10^-tsresol, an EPB per packet) in byte order `order`."""
    shb = _block(order, 0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1))
    option = struct.pack(order + "HH", 9, 1) + bytes((tsresol,)) + b"\0\0\0" + struct.pack(order + "HH", 0, 0)
    idb = _block(order, 1, struct.pack(order + "HHI", linktype, 0, 0) + option)
    out = bytearray(shb + idb)
    for data, time in packets:
        ticks = int(round(time * 10 ** tsresol))
        out += _block(order, 6, struct.pack(order + "IIIII", 0, ticks >> 32, ticks & 0xFFFF_FFFF, len(data),
                                            len(data)) + data)
    return bytes(out)


def gzip_interleaved(path: str, calls: int = 5000) -> str:
    """A .pcap.gz of `calls` interleaved unary calls: reading payloads back jumps around the file."""
    c, s = unary_calls(calls, interleave=True)
    return capture(path if path.endswith(".gz") else path + ".gz", exchange(c, s, lockstep=False))


def snaplen_cut(path: str, snaplen: int = 80, preface: bool = False) -> str:
    # (a snap length of 60 leaves 6 bytes of TCP payload: inside the client preface)
    """An exchange whose data packets were saved with a snap length: the rest of each is lost.
    With `preface`, only the packet with the client preface is cut."""
    packets = conversation_packets(simple_grpc(2))
    first_data = next(i for i, p in enumerate(packets) if len(p.data) > 54)
    for i, p in enumerate(packets):
        if len(p.data) > snaplen and (not preface or i == first_data):
            p.wire, p.data = len(p.data), p.data[:snaplen]
    return write_packets(path, packets)


def ip_fragments(path: str, ipv6: bool = False, lose_last: bool = False) -> str:
    """An exchange in which the client's first data segment travels as two IP fragments (the
    second one lost from the capture with `lose_last`)."""
    conv = {"client": "fd00::1", "server": "fd00::2"} if ipv6 else {}
    packets = conversation_packets(simple_grpc(2), **conv)
    index = next(i for i, p in enumerate(packets) if len(p.data) > 74)
    data = packets[index].data
    cut = 56  # a multiple of 8: inside the payload of the client's first SETTINGS frame
    if ipv6:
        src, dst, payload = data[22:38], data[38:54], data[54:]
        pieces = []
        for offset, more, part in ((0, 1, payload[:cut]), (cut, 0, payload[cut:])):
            frag = struct.pack(">BBHI", 6, 0, offset | more, 0x1234)
            pieces.append(ETHER6 + ipv6_header(src, dst, len(frag) + len(part), 44) + frag + part)
    else:
        src, dst, payload = data[26:30], data[30:34], data[34:]
        pieces = [ETHER + ipv4_header(src, dst, cut, ident=0x1234, frag=0x2000) + payload[:cut],
                  ETHER + ipv4_header(src, dst, len(payload) - cut, ident=0x1234, frag=cut // 8) + payload[cut:]]
    t = packets[index].time
    packets[index:index + 1] = [Packet(pieces[0], t), Packet(pieces[1], t + 1e-6)][:1 if lose_last else 2]
    return write_packets(path, packets)


def damaged_sequence_numbers(path: str, how: str, seed: int = 1) -> str:
    """An exchange with its TCP sequence numbers zeroed ("zero"), shuffled ("shuffle"), or its packets
    in reverse order ("reverse")."""
    packets = conversation_packets(simple_grpc(3))
    if how == "reverse":
        packets.reverse()
    else:
        rng = random.Random(seed)
        for p in packets:
            data = bytearray(p.data)
            data[38:42] = b"\0\0\0\0" if how == "zero" else rng.getrandbits(32).to_bytes(4, "big")
            p.data = bytes(data)
    return write_packets(path, packets)


def wrong_linktype(path: str, linktype: int = 101) -> str:
    """Ethernet packets in a file whose header says another supported link type (raw IP by default)."""
    return write_packets(path, conversation_packets(simple_grpc(2)), linktype)


def truncated_gzip(path: str, keep: float = 0.6) -> str:
    """A .pcap.gz cut at `keep` of its compressed length."""
    whole = capture(path + ".whole.gz", simple_grpc(40))
    with open(whole, "rb") as f:
        data = f.read()
    out = path if path.endswith(".gz") else path + ".gz"
    with open(out, "wb") as f:
        f.write(data[:int(len(data) * keep)])
    return out


def short_first_segment(path: str, first: int = 2, upgrade: bool = True) -> str:
    """An HTTP/1.1 request (an h2c Upgrade answered by 101, or plain) whose first segment holds only
    `first` bytes of the request line."""
    request = (b"GET /a/long/path/to/see/the/cut HTTP/1.1\r\nHost: localhost\r\n"
               + (b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAA\r\n"
                  if upgrade else b"") + b"\r\n")
    es = hpack.Encoder()
    if upgrade:
        answer = (b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
                  + settings([(3, 100)]) + frame(HEADERS, END_HEADERS, 1, es.encode([(":status", "200")]))
                  + frame(DATA, END_STREAM, 1, b"hello"))
        after = PREFACE + settings() + settings(ack=True)
    else:
        answer, after = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", b""

    def script(conv: TcpConversation) -> None:
        conv.handshake()
        conv.send(CLIENT, request[:first])
        conv.send(CLIENT, request[first:])
        conv.send(SERVER, answer)
        if after:
            conv.send(CLIENT, after)
        conv.fin()
    return capture(path, script)


# ---- decoder and model limits (other engineers' fixes; built here for the bench) ---------------------


def unframed_after_preface(path: str, size: int = 16 << 20, fill: bytes = b"\xff", mss: int = 1448) -> str:
    """The preface and SETTINGS, then `size` bytes of `fill` that frame nothing."""
    def script(conv: TcpConversation) -> None:
        conv.handshake()
        conv.send(CLIENT, PREFACE + settings())
        conv.send(SERVER, settings() + settings(ack=True))
        block = fill * (1 << 20)
        for start in range(0, size, len(block)):
            conv.send(CLIENT, block[:min(len(block), size - start)], mss)
        conv.fin()
    return capture(path, script)


def big_data_frame(path: str, size: int = 16 << 20, mss: int = 1448) -> str:
    """One allowed DATA frame of `size` bytes (MAX_FRAME_SIZE raised to 2^24-1) in `mss`-byte segments."""
    size = min(size, (1 << 24) - 1)
    ec, es = hpack.Encoder(), hpack.Encoder()

    def script(conv: TcpConversation) -> None:
        conv.handshake()
        conv.send(CLIENT, PREFACE + settings())
        conv.send(SERVER, settings([(5, (1 << 24) - 1)]) + settings(ack=True))
        conv.send(CLIENT, settings(ack=True) + frame(HEADERS, END_HEADERS, 1, ec.encode(request_headers())))
        conv.send(CLIENT, struct.pack(">I", size)[1:] + bytes((DATA, END_STREAM)) + struct.pack(">I", 1), mss)
        chunk = b"\x00" * (1 << 20)
        for start in range(0, size, len(chunk)):
            conv.send(CLIENT, chunk[:min(len(chunk), size - start)], mss)
        conv.send(SERVER, frame(HEADERS, END_HEADERS, 1, es.encode(RESPONSE))
                  + frame(HEADERS, END_HEADERS | END_STREAM, 1, es.encode(TRAILERS)))
        conv.fin()
    return capture(path, script)


def upgrade_unanswered(path: str, segments: int = 40_000) -> str:
    """An h2c Upgrade request the server never answers, and the client sending on."""
    request = (b"POST /upload HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade, HTTP2-Settings\r\n"
               b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABk\r\nContent-Length: 100000000\r\n\r\n")

    def script(conv: TcpConversation) -> None:
        conv.handshake()
        conv.send(CLIENT, request)
        piece = b"x" * 1000
        for _ in range(segments):
            conv.send(CLIENT, piece)
        conv.fin()
    return capture(path, script)


def settings_churn(path: str, changes: int = 30_000, streams: int = 10_000) -> str:
    """`streams` open streams, then INITIAL_WINDOW_SIZE changed `changes` times."""
    ec = hpack.Encoder()

    def script(conv: TcpConversation) -> None:
        conv.handshake()
        conv.send(CLIENT, PREFACE + settings([(3, streams + 10)]), 65000)
        conv.send(SERVER, settings([(3, streams + 10)]) + settings(ack=True))
        heads = b"".join(frame(HEADERS, END_HEADERS, 1 + 2 * i, ec.encode(request_headers()))
                         for i in range(streams))
        conv.send(CLIENT, heads, 65000)
        churn = b"".join(settings([(4, 65535 + (i % 1000))]) for i in range(changes))
        conv.send(SERVER, churn, 65000)
        conv.fin()
    return capture(path, script)


def unfinished_calls_goaways(path: str, calls: int = 4000, goaways: int | None = None) -> str:
    """`calls` calls that never end, and after each of them (or `goaways` times in all) a graceful
    GOAWAY (last stream id 2^31-1, RFC 9113 §6.8) that leaves every call open."""
    ec = hpack.Encoder()

    def script(conv: TcpConversation) -> None:
        conv.handshake()
        conv.send(CLIENT, PREFACE + settings([(3, calls + 10)]))
        conv.send(SERVER, settings([(3, calls + 10)]) + settings(ack=True))
        every = max(1, calls // (goaways or calls))
        for i in range(calls):
            sid = 1 + 2 * i
            conv.send(CLIENT, frame(HEADERS, END_HEADERS, sid, ec.encode(request_headers()))
                      + frame(DATA, 0, sid, grpc_message(b"\x0a\x01x")))
            if i % every == every - 1:
                conv.send(SERVER, frame(GOAWAY, 0, 0, struct.pack(">II", (1 << 31) - 1, 0) + b"draining"))
        conv.fin()
    return capture(path, script)


def gzip_bomb_message(path: str, inflated: int = 1 << 30) -> str:
    """One gRPC message with grpc-encoding gzip: about 1 MiB on the wire, `inflated` bytes inflated."""
    squeezer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = b"\0" * (1 << 22)
    parts = [squeezer.compress(zeros[:min(len(zeros), inflated - start)]) for start in range(0, inflated, len(zeros))]
    body = b"".join(parts) + squeezer.flush()
    ec, es = hpack.Encoder(), hpack.Encoder()
    msg = grpc_message(body, compressed=True)
    frames = b"".join(frame(DATA, 0, 1, msg[i:i + 16384]) for i in range(0, len(msg), 16384))

    def script(conv: TcpConversation) -> None:
        conv.handshake()
        conv.send(CLIENT, PREFACE + settings() + frame(HEADERS, END_HEADERS, 1, ec.encode(
            request_headers(extra=[("grpc-encoding", "gzip")]))) + frames + frame(DATA, END_STREAM, 1), 65000)
        conv.send(SERVER, settings() + settings(ack=True) + frame(HEADERS, END_HEADERS, 1, es.encode(RESPONSE))
                  + frame(HEADERS, END_HEADERS | END_STREAM, 1, es.encode(TRAILERS)))
        conv.fin()
    return capture(path, script)


def _literal_indexed(name: bytes, value: bytes) -> bytes:
    """HPACK literal with incremental indexing, new name (RFC 7541 §6.2.1), no Huffman."""
    return b"\x40" + _hpack_int(len(name), 7) + name + _hpack_int(len(value), 7) + value


def _hpack_int(value: int, prefix: int, first: int = 0) -> bytes:
    limit = (1 << prefix) - 1
    if value < limit:
        return bytes((first | value,))
    out = [first | limit]
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def hpack_table_flood(path: str, entries: int = 20_000, per_block: int = 20) -> str:
    """The server allows a 2^32-1 byte header table; the client raises its table to that and fills it."""
    size_update = _hpack_int((1 << 32) - 1, 5, 0x20)

    def script(conv: TcpConversation) -> None:
        conv.handshake()
        conv.send(SERVER, settings([(1, (1 << 32) - 1)]))
        conv.send(CLIENT, PREFACE + settings() + settings(ack=True), 65000)
        static = b"\x83\x86\x84"  # :method POST, :scheme http, :path /
        out = []
        sid = 1
        for start in range(0, entries, per_block):
            block = (size_update if start == 0 else b"") + static + b"".join(
                _literal_indexed(b"x-flood-%d" % n, b"v" * 40) for n in range(start, min(entries, start + per_block)))
            out.append(frame(HEADERS, END_HEADERS | END_STREAM, sid, block))
            sid += 2
        conv.send(CLIENT, b"".join(out), 65000)
        conv.fin()
    return capture(path, script)


def many_calls(path: str, calls: int = 80_000, request_id: bool = True) -> str:
    """`calls` unary calls on one connection, each with a unique x-request-id (or none)."""
    c, s = unary_calls(calls, request_id=request_id)
    return capture(path, exchange(c, s, mss=65000))


def continuation_flood(path: str, frames: int = 1_000_000) -> str:
    """One header block in HEADERS and `frames` CONTINUATION frames of one byte each."""
    def script(conv: TcpConversation) -> None:
        conv.handshake()
        conv.send(CLIENT, PREFACE + settings() + frame(HEADERS, 0, 1, b"\x83\x86\x84"), 65000)
        conv.send(SERVER, settings() + settings(ack=True))
        one = frame(CONTINUATION, 0, 1, b"\x82")
        batch = one * 10_000
        for start in range(0, frames - 1, 10_000):
            conv.send(CLIENT, batch[:len(one) * min(10_000, frames - 1 - start)], 65000)
        conv.send(CLIENT, frame(CONTINUATION, END_HEADERS, 1, b"\x82"))
        conv.fin()
    return capture(path, script)


def zeros_after_preface(path: str, size: int = 8 << 20) -> str:
    """The preface, then `size` zero bytes: each 9 of them a valid empty DATA frame on stream 0."""
    return unframed_after_preface(path, size, fill=b"\0", mss=65000)


def big_grpc_stream(path: str, size: int = 800 << 20, message: int = 4 << 20) -> str:
    """One bidi gRPC stream carrying `size` bytes of messages (written straight to disk)."""
    ec, es = hpack.Encoder(), hpack.Encoder()
    body = bytes(random.Random(7).getrandbits(8) for _ in range(4096)) * (message // 4096)
    msg = grpc_message(body)
    frames = b"".join(frame(DATA, 0, 1, msg[i:i + 16384]) for i in range(0, len(msg), 16384))

    def script(conv: TcpConversation) -> None:
        conv.handshake()
        conv.send(CLIENT, PREFACE + settings() + frame(HEADERS, END_HEADERS, 1, ec.encode(
            request_headers("/demo.Demo/Bidi"))), 65000)
        conv.send(SERVER, settings([(4, (1 << 31) - 1)]) + settings(ack=True)
                  + frame(HEADERS, END_HEADERS, 1, es.encode(RESPONSE)))
        for _ in range(max(1, size // len(msg))):
            conv.send(CLIENT, frames, 65000)
        conv.send(CLIENT, frame(DATA, END_STREAM, 1))
        conv.send(SERVER, frame(HEADERS, END_HEADERS | END_STREAM, 1, es.encode(TRAILERS)))
        conv.fin()
    return capture(path, script)


def nested_protobuf(path: str, depth: int = 900, core: int = 4 << 20) -> str:
    """A raw protobuf message nested `depth` deep (field 1, length-delimited) around a `core`-byte field."""
    inner = b"\x0a" + _varint(core) + b"z" * core
    for _ in range(depth):
        inner = b"\x0a" + _varint(len(inner)) + inner
    ec, es = hpack.Encoder(), hpack.Encoder()
    msg = grpc_message(inner)
    frames = b"".join(frame(DATA, 0, 1, msg[i:i + 16384]) for i in range(0, len(msg), 16384))

    def script(conv: TcpConversation) -> None:
        conv.handshake()
        conv.send(CLIENT, PREFACE + settings() + frame(HEADERS, END_HEADERS, 1, ec.encode(request_headers()))
                  + frames + frame(DATA, END_STREAM, 1), 65000)
        conv.send(SERVER, settings() + settings(ack=True) + frame(HEADERS, END_HEADERS, 1, es.encode(RESPONSE))
                  + frame(HEADERS, END_HEADERS | END_STREAM, 1, es.encode(TRAILERS)))
        conv.fin()
    return capture(path, script)


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


# ---- every input of issue 19, at full size -----------------------------------------------------------


@dataclass(frozen=True)
class Hostile:
    """One hostile input: its builder, its full-size arguments, which of them `scale` multiplies, and
    the file name suffix."""

    build: Callable[..., str]
    full: dict[str, object]
    scaled: tuple[str, ...] = ()
    suffix: str = ".pcap"


BUILDERS: dict[str, Hostile] = {
    "ff-after-preface": Hostile(unframed_after_preface, {"size": 16 << 20}, ("size",)),
    "data-frame-16m-1448": Hostile(big_data_frame, {"size": 16 << 20, "mss": 1448}, ("size",)),
    "data-frame-16m-64k": Hostile(big_data_frame, {"size": 16 << 20, "mss": 65000}, ("size",)),
    "upgrade-unanswered": Hostile(upgrade_unanswered, {"segments": 40_000}, ("segments",)),
    "settings-churn": Hostile(settings_churn, {"changes": 30_000, "streams": 10_000}, ("changes",)),
    # ten times the changes: seconds to decode, the TUI's first screen and keys must come meanwhile
    "settings-churn-300k": Hostile(settings_churn, {"changes": 300_000, "streams": 10_000}, ("changes",)),
    "unfinished-goaway": Hostile(unfinished_calls_goaways, {"calls": 4000}, ("calls",)),
    "gzip-interleaved": Hostile(gzip_interleaved, {"calls": 5000}, ("calls",), ".pcap.gz"),
    "gzip-interleaved-raw": Hostile(lambda path, calls: capture(path, exchange(
        *unary_calls(calls, interleave=True), lockstep=False)), {"calls": 5000}, ("calls",)),
    "grpc-gzip-bomb": Hostile(gzip_bomb_message, {"inflated": 1 << 30}, ("inflated",)),
    "hpack-table-flood": Hostile(hpack_table_flood, {"entries": 20_000}, ("entries",)),
    "calls-80k-request-id": Hostile(many_calls, {"calls": 80_000, "request_id": True}, ("calls",)),
    "calls-80k-plain": Hostile(many_calls, {"calls": 80_000, "request_id": False}, ("calls",)),
    "continuation-flood": Hostile(continuation_flood, {"frames": 1_000_000}, ("frames",)),
    "zeros-after-preface": Hostile(zeros_after_preface, {"size": 8 << 20}, ("size",)),
    "grpc-stream-800m": Hostile(big_grpc_stream, {"size": 800 << 20}, ("size",)),
    "protobuf-nested-900": Hostile(nested_protobuf, {"depth": 900, "core": 4 << 20}, ("core",)),
    "two-section-pcapng": Hostile(two_section_pcapng, {"calls": 4, "second_link": "ethernet"}, (), ".pcapng"),
}


def build(name: str, path_stem: str, scale: float = 1.0) -> str:
    """Build input `name` at `scale` times its full size; the path is `path_stem` plus its suffix."""
    spec = BUILDERS[name]
    args = dict(spec.full)
    for key in spec.scaled:
        args[key] = max(1, int(args[key] * scale))  # type: ignore[call-overload]
    return spec.build(path_stem + spec.suffix, **args)
