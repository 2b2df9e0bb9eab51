"""Loading a capture file into a Session: the pcap source wired to the decoder.

Reading is incremental: `CaptureLoader.batches()` yields after every batch of
packets, so a view can show what is decoded so far while the rest loads.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator

from inspector.capture.layers import SUPPORTED_LINKTYPES, tcp_segment
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
        self.reassembler = TcpReassembler(self.builder)
        self.bytes_total = self.reader.size

    def _connection(self, flow: TcpFlow, conn: Connection, client_is_a: bool) -> None:
        self.payloads.flows[conn.index] = (flow, client_is_a)

    def batches(self, batch: int = 5000) -> Iterator[Session]:
        """Decode the whole capture, yielding the session after each `batch` packets."""
        session = self.session
        segment = self.reassembler.segment
        count = 0
        for number, time, linktype, data in self.reader:
            seg = tcp_segment(linktype, data)
            if seg is not None:
                segment(seg, data, time, number)
            count += 1
            if count == batch:
                count = 0
                session.packets = number
                session.notify()
                yield session
        session.packets = self.reader.count
        self.reassembler.finish()
        self.builder.finish()
        unknown = self.reader.linktypes - set(SUPPORTED_LINKTYPES)
        if unknown:
            session.findings_engine.report(
                "capture.linktype", f"link type(s) {sorted(unknown)} are not supported; those packets were skipped")
        if self.reader.cut_short:
            session.cut_short = self.reader.cut_short
            session.findings_engine.report("capture.truncated", f"the capture is {self.reader.cut_short}")
        if session.packets == 0 and self.reader.cut_short:
            raise CaptureError(self.path, f"no packets: the capture is {self.reader.cut_short}")
        session.complete = True
        session.notify()
        yield session

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
    return loader


def load_capture(path: str, ports: tuple[int, ...] = ()) -> Session:
    """The whole model of one capture file."""
    return CaptureLoader(path, ports).load()
