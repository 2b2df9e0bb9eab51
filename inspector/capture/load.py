"""Loading a capture file into a Session: the pcap source wired to the decoder.

Reading is incremental: `CaptureLoader.batches()` yields after every batch of
packets, so a view can show what is decoded so far while the rest loads.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator

from inspector.capture import damage as rules
from inspector.capture.damage import CaptureDamage
from inspector.capture.fragments import Datagram, Fragment, IpReassembler
from inspector.capture.layers import (
    CUT_HEADERS,
    NOT_IP,
    SUPPORTED_LINKTYPES,
    SkippedPacket,
    TcpSegment,
    dissect,
    tcp_in_datagram,
)
from inspector.capture.reader import CapturePayloads, CaptureReader
from inspector.capture.tcp import TcpReassembler
from inspector.errors import CaptureError
from inspector.flows import TcpFlow
from inspector.http2.session_builder import SessionBuilder
from inspector.model import Connection, Session
from inspector.tls.keylog import KeyLog


class CaptureLoader:
    """Reads one capture into `self.session`, batch by batch."""

    def __init__(self, path: str, ports: tuple[int, ...] = (), keylog: KeyLog | None = None) -> None:
        self.path = path
        self.reader = CaptureReader(path)  # raises CaptureError for anything not a capture
        self.payloads = CapturePayloads(path, self.reader)
        self.session = Session(os.path.basename(path), payloads=self.payloads)
        self.builder = SessionBuilder(self.session, ports, on_connection=self._connection, keylog=keylog,
                                      plaintext=self.payloads.plaintext)
        self.damage = CaptureDamage()
        self.reassembler = TcpReassembler(self.builder, self.damage.note)
        self.fragments = IpReassembler()
        # link type -> [packets, first packet, packets that hold IP]: a link type none of whose
        # packets parse is probably the wrong one for the file
        self._linktype_counts: dict[int, list[int]] = {}
        self.reader.on_secrets(self._secrets)

    def _secrets(self, text: bytes) -> None:
        """A Decryption Secrets Block: its key log joins any given with --keylog."""
        found = KeyLog.parse(text.decode("ascii", "replace"))
        if self.builder.keylog is None:
            self.builder.keylog = found
        else:
            for random, secrets in found.secrets.items():
                self.builder.keylog.secrets.setdefault(random, {}).update(secrets)

    def _connection(self, flow: TcpFlow, conn: Connection, client_is_a: bool) -> None:
        self.payloads.flows[conn.index] = (flow, client_is_a)

    def batches(self, batch: int = 5000) -> Iterator[Session]:
        """Decode the whole capture, yielding the session after each `batch` packets."""
        session = self.session
        segment = self.reassembler.segment
        counts = self._linktype_counts
        note = self.damage.note
        count = 0
        for number, time, linktype, data, original_length in self.reader:
            seg = dissect(linktype, data)
            cut = original_length > len(data)
            if type(seg) is TcpSegment:
                if cut:
                    self._cut_by_snaplen(number, data, original_length)
                segment(seg, data, time, number)
            elif type(seg) is Fragment:
                whole = self.fragments.add(seg, data, number)
                if whole is not None:
                    self._datagram(whole, time, number)
            elif type(seg) is SkippedPacket:
                note(seg.rule, number, seg.lost, detail=seg.detail, example=seg.example)
            elif seg == CUT_HEADERS and cut:
                self._cut_by_snaplen(number, data, original_length)
            seen = counts.get(linktype)
            if seen is None:
                seen = counts[linktype] = [0, number, 0]
            seen[0] += 1
            if seg != NOT_IP:
                seen[2] += 1
            count += 1
            if count == batch:
                count = 0
                session.packets = number
                session.notify()
                yield session
        session.packets = self.reader.count
        self._unfinished_datagrams()
        self.reassembler.finish()
        self.builder.finish()
        self._link_damage()
        if self.reader.cut_short:
            session.cut_short = self.reader.cut_short
            self.damage.note(rules.CUT_SHORT, 0, detail=self.reader.cut_short)
        session.findings.extend(self.damage.findings())
        if session.packets == 0 and self.reader.cut_short:
            raise CaptureError(self.path, f"no packets: the capture is {self.reader.cut_short}")
        session.complete = True
        session.notify()
        yield session

    def _datagram(self, whole: Datagram, time: float, number: int) -> None:
        """A datagram reassembled from IP fragments: its TCP segment, read back piece by piece."""
        seg = tcp_in_datagram(whole.src, whole.dst, whole.payload)
        if type(seg) is TcpSegment:
            self.reassembler.segment(seg, whole.payload, time, number, whole.pieces)
        elif type(seg) is SkippedPacket:
            self.damage.note(seg.rule, number, seg.lost, detail=seg.detail, example=seg.example)

    def _unfinished_datagrams(self) -> None:
        for lost in self.fragments.finish():
            packets = ", ".join(map(str, lost.packets[:5])) + (", ..." if len(lost.packets) > 5 else "")
            self.damage.note(rules.IP_FRAGMENT, lost.packets[0], lost.lost, count=len(lost.packets),
                             detail=f"IPv{lost.version}",
                             example=f"identification {lost.identification:#x}, packets {packets}")

    def _cut_by_snaplen(self, number: int, data: bytes, original_length: int) -> None:
        lost = original_length - len(data)
        self.damage.note(rules.SNAPLEN, number, lost,
                         example=f"{len(data)} of {original_length} bytes saved")

    def _link_damage(self) -> None:
        """Link types the reader cannot read, and supported ones none of whose packets hold IP."""
        for linktype, (packets, first, with_ip) in self._linktype_counts.items():
            name = SUPPORTED_LINKTYPES.get(linktype)
            if name is None:
                self.damage.note(rules.LINKTYPE_UNSUPPORTED, first, count=packets, detail=str(linktype))
            elif not with_ip:
                self.damage.note(rules.LINKTYPE_MISMATCH, first, count=packets, detail=f"{linktype} ({name})")

    def load(self) -> Session:
        """Decode everything and return the session."""
        for _ in self.batches():
            pass
        return self.session


def loader_for(args: argparse.Namespace) -> CaptureLoader:
    """The loader a capture command asks for: CAPTURE, --port, --keylog."""
    loader = CaptureLoader(args.capture, tuple(args.port or ()))
    if args.keylog:
        loader.builder.keylog = KeyLog.load(args.keylog)
    max_message = getattr(args, "max_message", None)
    if max_message is not None:
        loader.session.calls.max_message = max_message
    return loader


def load_capture(path: str, ports: tuple[int, ...] = ()) -> Session:
    """The whole model of one capture file."""
    return CaptureLoader(path, ports).load()
