"""A harness for the connection decoder, in the manner of h2's tests and mitmproxy's
Playbook: feed it frames (hyperframe objects or raw bytes) from either side and
read back the records, header blocks and findings they made. No capture, no
socket: bytes in, model out.

    wire = DecoderWire()
    wire.client(PREFACE, SettingsFrame(0), headers(1, REQUEST, end_stream=True))
    [record] = wire.server(SettingsFrame(0))
"""

from __future__ import annotations

from hyperframe.frame import Frame

from inspector.http2.decoder import ConnectionDecoder
from inspector.http2.hpack_decoder import HpackContext
from inspector.model import Connection, Direction, Finding, FrameRecord, HeaderBlock, Session

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


class MemoryPayloads:
    """A PayloadStore over the bytes each side sent, so views can read payloads back."""

    def __init__(self) -> None:
        self.sent = (bytearray(), bytearray())

    def read(self, conn: int, direction: Direction, offset: int, length: int) -> bytes:
        return bytes(self.sent[direction][offset:offset + length])


class DecoderWire:
    """One connection's decoder, fed by a test."""

    def __init__(self, *, midstream: bool = False, fast_path: bool = True) -> None:
        self.payloads = MemoryPayloads()
        self.session = Session("test", payloads=self.payloads)
        self.conn = Connection(0, "10.0.0.1:40000", "10.0.0.2:8080")
        self.session.connections.append(self.conn)
        self.decoder = ConnectionDecoder(self.session, self.conn, HpackContext(), midstream=midstream)
        self.decoder.FAST_PATH = fast_path
        self.packet = 0
        self.time = 0.0

    def send(self, direction: Direction, *parts: Frame | bytes, segment: int | None = None) -> list[FrameRecord]:
        """Bytes from one side (in one packet, or in packets of `segment` bytes); the records they completed."""
        data = b"".join(p if isinstance(p, bytes | bytearray) else p.serialize() for p in parts)
        before = len(self.session.frames)
        step = segment or max(len(data), 1)
        for start in range(0, len(data), step):
            piece = data[start:start + step]
            self.packet += 1
            self.time += 0.001
            offset = len(self.payloads.sent[direction])
            self.payloads.sent[direction].extend(piece)
            self.decoder.receive(direction, piece, self.time, self.packet, offset)
        return [self.session.frames[i] for i in range(before, len(self.session.frames))]

    def client(self, *parts: Frame | bytes, segment: int | None = None) -> list[FrameRecord]:
        """Bytes the client sent."""
        return self.send(Direction.CLIENT, *parts, segment=segment)

    def server(self, *parts: Frame | bytes, segment: int | None = None) -> list[FrameRecord]:
        """Bytes the server sent."""
        return self.send(Direction.SERVER, *parts, segment=segment)

    def block(self, record: FrameRecord) -> HeaderBlock:
        """The header block a record completed."""
        assert record.header_block >= 0, f"{record.type_name} completed no header block"
        return self.session.header_blocks[record.header_block]

    @property
    def findings(self) -> list[Finding]:
        return self.session.findings

    def messages(self) -> list[str]:
        """What the findings say, one string each."""
        return [f.message for f in self.session.findings]
