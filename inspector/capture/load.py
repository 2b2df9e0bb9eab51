"""Loading a capture file into a Session: the pcap source wired to the decoder.

Reading is incremental: `CaptureLoader.batches()` yields after every batch of
packets (or of bytes), so a view can show what is decoded so far while the rest loads.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
from collections.abc import Callable, Iterable, Iterator
from time import sleep

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
from inspector.capture.live import LiveInput, PacketQueue
from inspector.capture.reader import CapturedPacket, CapturePayloads, CaptureReader, SpooledPayloads
from inspector.capture.record import PcapngWriter
from inspector.capture.sniff import CaptureStats, InterfaceSniffer
from inspector.capture.tcp import TcpReassembler
from inspector.errors import CaptureError, UsageError
from inspector.flows import TcpFlow
from inspector.http2.session_builder import SessionBuilder
from inspector.model import Connection, Finding, History, Session, Severity
from inspector.tls.keylog import FollowedKeyLog, KeyLog


class CaptureLoader:
    """Reads one capture into `self.session`, batch by batch."""

    def __init__(self, path: str, ports: tuple[int, ...] = (), keylog: KeyLog | None = None,
                 reader: CaptureReader | None = None) -> None:
        self.path = path
        # raises CaptureError for anything not a capture
        self.reader = reader if reader is not None else CaptureReader(path)
        self.live = self.reader.live  # a capture still arriving: it cannot be read again
        self.payloads = (SpooledPayloads(path, self.reader) if self.live is not None
                         else CapturePayloads(path, self.reader))
        self.session = Session(os.path.basename(path), payloads=self.payloads)
        self.builder = SessionBuilder(self.session, ports, on_connection=self._connection, keylog=keylog,
                                      plaintext=self.payloads.plaintext)
        self.damage = CaptureDamage()
        self.reassembler = TcpReassembler(self.builder, self.damage.note)
        self.fragments = IpReassembler()
        # link type -> [packets, first packet, packets that hold IP]: a link type none of whose
        # packets parse is probably the wrong one for the file
        self._linktype_counts: dict[int, list[int]] = {}
        self.sniffer: InterfaceSniffer | None = None  # tcpdump, when an interface is sniffed
        self.stats: CaptureStats | None = None  # its counts, once it has ended
        self.drops: Finding | None = None  # the finding that says what the kernel dropped
        self.recording: PcapngWriter | None = None  # --record: the packets seen, written as read
        # How the loader waits for a TLS connection's secrets in a key log still being written:
        # a headless command sleeps; the TUI sets None and waits on its event loop instead.
        self.pause: Callable[[float], None] | None = sleep
        self.waiting_for_secrets = False  # a connection waits for its secrets: no packet is read meanwhile
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

    def batches(self, batch: int = 5000, packets: PacketQueue | None = None,
                batch_bytes: int | None = None) -> Iterator[Session]:
        """Decode the whole capture, yielding the session after each `batch` packets, or sooner once
        their data reaches `batch_bytes` (and, live, whenever nothing more is waiting). `packets`:
        the reader's packets, read on a thread."""
        session = self.session
        segment = self.reassembler.segment
        counts = self._linktype_counts
        note = self.damage.note
        count = 0
        # Packets alone do not bound a batch's work: 200 loopback packets of 64 KB can hold a
        # million small frames (a SETTINGS flood), seconds of decoding with the screen frozen.
        most_bytes = batch_bytes if batch_bytes is not None else 1 << 62
        taken = 0
        live = self.live
        # A live capture: every packet's data spooled (the pipe cannot be read again), and the
        # session handed out whenever the input has nothing more waiting, before it blocks.
        keep = self.payloads.keep if isinstance(self.payloads, SpooledPayloads) else None
        idle = packets.idle if packets is not None else live.idle if live is not None else None
        record = self.recording.packet if self.recording is not None else None
        source: Iterable[CapturedPacket] = packets if packets is not None else self.reader
        awaiting = self.builder.awaiting
        first = session.start is None
        for number, time, linktype, data, original_length in source:
            if first:  # the zero of every view's time: this packet, whether it carries a frame or not
                session.start, first = time, False
            if keep is not None:
                keep(number, data)
            if record is not None:
                record(time, linktype, data, original_length)
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
            taken += len(data)
            if awaiting:
                session.packets = number
                yield from self._await_secrets()
            if count == batch or taken >= most_bytes or (idle is not None and idle()):
                count = taken = 0
                session.packets = number
                session.notify()
                if self.recording is not None:
                    self.recording.flush()
                yield session
        session.packets = self.reader.count
        if self.recording is not None:
            self.recording.close()
        if self.sniffer is not None:
            self._sniffed()
        self._unfinished_datagrams()
        self.reassembler.finish()
        if awaiting:
            yield from self._await_secrets()
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

    def _await_secrets(self) -> Iterator[Session]:
        """A TLS connection waits for its secrets in a key log still being written: no further
        packet is read (frames stay in capture order) while the key log is looked at again
        every SECRETS_POLL seconds, until it has them or says to wait no longer. The session is
        yielded at each look, so a driver that must not block (the TUI: `pause` None) waits itself."""
        builder, session = self.builder, self.session
        self.waiting_for_secrets = True
        session.notify()
        try:
            while not builder.retry_secrets():
                if self.pause is not None:
                    self.pause(SECRETS_POLL)
                yield session
        finally:
            self.waiting_for_secrets = False

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

    def stop(self) -> None:
        """End a live capture: what has arrived is decoded and the session completed."""
        if self.sniffer is not None:
            self.sniffer.stop()  # tcpdump writes what it holds and closes the pipe
        elif self.live is not None:
            self.live.stop()

    def _sniffed(self) -> None:
        """tcpdump's counts at the end of a sniff: what the kernel dropped is a finding, never silent."""
        assert self.sniffer is not None
        self.stats = stats = self.sniffer.stats()
        if stats is not None and stats.dropped:
            self.drops = Finding(
                Severity.WARNING, f"the kernel dropped {stats.dropped} packets of {stats.received} on "
                f"{self.sniffer.iface} (the capture could not keep up: frames of those packets are missing)",
                "tcpdump(1): packets dropped by kernel")
            self.session.findings.append(self.drops)

    def load(self) -> Session:
        """Decode everything and return the session."""
        for _ in self.batches():
            pass
        return self.session

    def close(self) -> None:
        """Let go of the capture's files: the session's payload store and, for a file whose reading
        stopped early, the file itself (a live input is its source's to close)."""
        self.session.close()
        if self.live is None:
            self.reader.close()

    def __enter__(self) -> CaptureLoader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


STDIN = "-"
SECRETS_POLL = 0.01  # seconds between looks at a key log for a connection's secrets


def sniffer_for(args: argparse.Namespace, on_listening: Callable[[], None] | None = None) -> InterfaceSniffer | None:
    """tcpdump on the interface `-i` names (with -f, --count, --duration), or None."""
    iface = getattr(args, "interface", None)
    if iface is None:
        if args.capture is None:
            raise UsageError("name a CAPTURE (a file, or - for standard input) or an interface with -i IFACE")
        for option in ("filter", "count", "duration"):
            if getattr(args, option, None) is not None:
                raise UsageError(f"--{option} is for sniffing an interface (-i IFACE)")
        return None
    if args.capture is not None:
        raise UsageError(f"either a CAPTURE ({args.capture}) or -i {iface}, not both")
    if getattr(args, "follow", False):
        raise UsageError("--follow is for a capture file; -i already reads as packets arrive")
    sniffer = InterfaceSniffer(iface, args.filter, args.count, on_listening=on_listening)
    if args.duration is not None:
        sniffer.stop_after(args.duration)
    return sniffer


def live_reader(args: argparse.Namespace, on_wait: Callable[[], None] | None = None,
                sniffer: InterfaceSniffer | None = None) -> CaptureReader | None:
    """The reader of a live source the command line names (`-i`, `-`, `--follow FILE`), or None for a file."""
    if sniffer is not None:
        try:
            return CaptureReader.streaming(sniffer.input, sniffer.iface)
        except CaptureError:
            raise sniffer.failure() from None
    if args.capture == STDIN:
        fd = getattr(args, "stdin_fd", None) or sys.stdin.fileno()
        # A pipe is drained as it fills (its writer must never wait on the decoder); a file
        # given as standard input is read as it is needed.
        return CaptureReader.streaming(LiveInput(fd, drain=stat.S_ISFIFO(os.fstat(fd).st_mode)), "stdin")
    if getattr(args, "follow", False):
        path = args.capture
        if not os.path.exists(path):
            raise CaptureError(path, "no such file")
        if os.path.isdir(path):
            raise CaptureError(path, "is a directory, not a capture")
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            raise CaptureError(path, exc.strerror or str(exc)) from None
        return CaptureReader.streaming(LiveInput(fd, follow=True, on_wait=on_wait), path)
    return None


def loader_for(args: argparse.Namespace, on_wait: Callable[[], None] | None = None,
               on_listening: Callable[[], None] | None = None) -> CaptureLoader:
    """The loader a capture command asks for: CAPTURE (a file, `-`, or followed) or -i IFACE,
    --port, --keylog. `on_wait` is told each time a followed file has nothing more for now,
    `on_listening` when a sniffed interface is being captured."""
    sniffer = sniffer_for(args, on_listening)
    try:
        reader = live_reader(args, on_wait, sniffer)
    except BaseException:
        if sniffer is not None:
            sniffer.close()
        raise
    loader = CaptureLoader(reader.path if reader is not None else args.capture, tuple(args.port or ()),
                           reader=reader)
    loader.sniffer = sniffer
    history = getattr(args, "history", None)
    if loader.live is not None:
        loader.session.history = History.asked(history)
    elif history is not None:
        raise UsageError("--history is for a live source (-i, - or --follow); a capture file is read whole")
    record = getattr(args, "record", None)
    if record:
        if loader.live is None:
            raise UsageError("--record is for a live source (-i, - or --follow); a file is already recorded")
        loader.recording = PcapngWriter(record)
    if args.keylog:
        # A live capture's key log may still be being written (SSLKEYLOGFILE of a client that
        # has not started yet): it is re-read as secrets are needed, never refused for being empty.
        loader.builder.keylog = (FollowedKeyLog(args.keylog) if loader.live is not None
                                 else KeyLog.load(args.keylog))
    max_message = getattr(args, "max_message", None)
    if max_message is not None:
        loader.session.calls.max_message = max_message
    return loader


def load_capture(path: str, ports: tuple[int, ...] = ()) -> Session:
    """The whole model of one capture file (its payloads read through a descriptor the session
    holds: close the session when done)."""
    return CaptureLoader(path, ports).load()
