"""Build small captures for tests: a TCP conversation as real packets, written by scapy.

Tests describe what each side sends; this module turns it into segments with
consistent sequence numbers, and lets a test split, reorder, duplicate or drop
them, and pick the link type, before writing a pcap or pcapng file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import hpack
from hyperframe.frame import (
    ContinuationFrame,
    DataFrame,
    Frame,
    GoAwayFrame,
    HeadersFrame,
    PingFrame,
    RstStreamFrame,
    SettingsFrame,
    WindowUpdateFrame,
)

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)

from scapy.layers.inet import IP, TCP  # noqa: E402
from scapy.layers.inet6 import IPv6  # noqa: E402
from scapy.layers.l2 import CookedLinux, CookedLinuxV2, Dot1Q, Ether, Loopback  # noqa: E402
from scapy.packet import Packet, Raw  # noqa: E402
from scapy.utils import PcapNgWriter, PcapWriter  # noqa: E402

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

LINKTYPES = {"ethernet": 1, "vlan": 1, "sll": 113, "sll2": 276, "null": 0, "loop": 108, "raw": 101}


@dataclass
class Segment:
    """One TCP segment to put on the wire."""

    from_client: bool
    seq: int
    payload: bytes
    flags: str = "PA"
    ack: int = 0


@dataclass
class Conversation:
    """A TCP connection between a client and a server, as a list of segments."""

    client: str = "10.0.0.1"
    server: str = "10.0.0.2"
    cport: int = 40000
    sport: int = 8080
    ipv6: bool = False
    client_isn: int = 1000
    server_isn: int = 5000
    segments: list[Segment] = field(default_factory=list)
    _next: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._next = [self.client_isn + 1, self.server_isn + 1]

    def handshake(self) -> Conversation:
        self.segments.append(Segment(True, self.client_isn, b"", "S"))
        self.segments.append(Segment(False, self.server_isn, b"", "SA", self.client_isn + 1))
        self.segments.append(Segment(True, self.client_isn + 1, b"", "A", self.server_isn + 1))
        return self

    def send(self, from_client: bool, data: bytes, *, cuts: list[int] | None = None) -> Conversation:
        """Send `data` from one side, cut into segments at the given offsets."""
        side = 0 if from_client else 1
        points = sorted({c for c in (cuts or []) if 0 < c < len(data)})
        start = 0
        for end in points + [len(data)]:
            self.segments.append(Segment(from_client, self._next[side], data[start:end], "PA",
                                         self._next[1 - side]))
            self._next[side] += end - start
            start = end
        return self

    def fin(self, from_client: bool) -> Conversation:
        side = 0 if from_client else 1
        self.segments.append(Segment(from_client, self._next[side], b"", "FA", self._next[1 - side]))
        self._next[side] += 1
        return self

    def rst(self, from_client: bool) -> Conversation:
        side = 0 if from_client else 1
        self.segments.append(Segment(from_client, self._next[side], b"", "R", 0))
        return self

    def packets(self, link: str = "ethernet", segments: list[Segment] | None = None) -> list[Packet]:
        out = []
        for seg in segments if segments is not None else self.segments:
            src, dst = (self.client, self.server) if seg.from_client else (self.server, self.client)
            sp, dp = (self.cport, self.sport) if seg.from_client else (self.sport, self.cport)
            ip = IPv6(src=src, dst=dst) if self.ipv6 else IP(src=src, dst=dst)
            tcp = TCP(sport=sp, dport=dp, seq=seg.seq % 2**32, ack=seg.ack % 2**32, flags=seg.flags)
            pkt = ip / tcp / Raw(seg.payload) if seg.payload else ip / tcp
            out.append(_link(pkt, link, self.ipv6))
        return out


def _link(pkt: Packet, link: str, ipv6: bool) -> Packet:
    proto = 0x86DD if ipv6 else 0x0800
    if link == "ethernet":
        return Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02", type=proto) / pkt
    if link == "vlan":
        return Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / Dot1Q(vlan=7) / Dot1Q(vlan=9) / pkt
    if link == "sll":
        return CookedLinux(pkttype=0, lladdrtype=772, lladdrlen=6, proto=proto) / pkt
    if link == "sll2":
        return CookedLinuxV2(proto=proto, ifindex=1, pkttype=0) / pkt
    if link == "null":
        return Loopback(type=24 if ipv6 else 2) / pkt
    if link == "loop":
        return Loopback(type=24 if ipv6 else 2) / pkt
    if link == "raw":
        return pkt
    raise ValueError(link)


def write_capture(path: str, packets: list[Packet], link: str = "ethernet", *, pcapng: bool = False,
                  start: float = 1_700_000_000.0, step: float = 0.001) -> str:
    """Write packets with times start, start+step, ... and return the path."""
    linktype = LINKTYPES[link]
    if link == "loop":
        linktype = LINKTYPES["null"]  # written as NULL, then patched: see _patch_loop
    writer = PcapNgWriter(path) if pcapng else PcapWriter(path, linktype=linktype, sync=True)
    for i, pkt in enumerate(packets):
        pkt.time = start + i * step
        writer.write(pkt)
    writer.close()
    if link == "loop" and not pcapng:
        _patch_loop(path)
    return path


def _patch_loop(path: str) -> None:
    """LOOP link type: the 4-byte family is big-endian, and the header says 108."""
    import struct

    with open(path, "r+b") as f:
        data = bytearray(f.read())
        struct.pack_into("<I", data, 20, 108)
        pos = 24
        while pos + 16 <= len(data):
            caplen = struct.unpack_from("<I", data, pos + 8)[0]
            family = struct.unpack_from("<I", data, pos + 16)[0]
            struct.pack_into(">I", data, pos + 16, family)
            pos += 16 + caplen
        f.seek(0)
        f.write(data)


# ---- HTTP/2 frames ---------------------------------------------------------------


def frame_bytes(frames: list[Frame]) -> bytes:
    return b"".join(f.serialize() for f in frames)


def headers_frames(stream_id: int, headers: list[tuple[str, str]], encoder: hpack.Encoder, *,
                   end_stream: bool = False, split: int | None = None) -> list[Frame]:
    """HEADERS (plus a CONTINUATION when `split` cuts the block) for one header list."""
    block = encoder.encode(headers)
    if split is None or not 0 < split < len(block):
        f = HeadersFrame(stream_id, data=block)
        f.flags.add("END_HEADERS")
        if end_stream:
            f.flags.add("END_STREAM")
        return [f]
    first = HeadersFrame(stream_id, data=block[:split])
    if end_stream:
        first.flags.add("END_STREAM")
    cont = ContinuationFrame(stream_id, data=block[split:])
    cont.flags.add("END_HEADERS")
    return [first, cont]


def simple_exchange(encoder_c: hpack.Encoder | None = None, encoder_s: hpack.Encoder | None = None,
                    body: bytes = b"hello world") -> tuple[bytes, bytes]:
    """(client bytes, server bytes) of one GET on stream 1 with a DATA response."""
    ec, es = encoder_c or hpack.Encoder(), encoder_s or hpack.Encoder()
    client = PREFACE + frame_bytes([SettingsFrame(0, settings={3: 100})] + headers_frames(
        1, [(":method", "GET"), (":scheme", "http"), (":authority", "example"), (":path", "/")],
        ec, end_stream=True) + [SettingsFrame(0, flags=["ACK"])])
    server = frame_bytes([SettingsFrame(0, settings={4: 1 << 20}), SettingsFrame(0, flags=["ACK"])]
                         + headers_frames(1, [(":status", "200"), ("content-type", "text/plain")], es)
                         + [DataFrame(1, data=body, flags=["END_STREAM"])])
    return client, server


__all__ = ["Conversation", "Segment", "write_capture", "frame_bytes", "headers_frames", "simple_exchange",
           "PREFACE", "DataFrame", "HeadersFrame", "SettingsFrame", "PingFrame", "GoAwayFrame",
           "RstStreamFrame", "WindowUpdateFrame", "ContinuationFrame"]
