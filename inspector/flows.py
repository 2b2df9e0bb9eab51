"""What every byte source hands the decoder: TCP flows and their byte streams.

The pcap reader (after reassembly) and the proxy (after relaying) both drive
a `ByteSink` with the same calls, so the decoder never knows which it has.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from typing import Protocol


class FlowSide:
    """One direction of a flow, and where its bytes came from in the source."""

    __slots__ = ("seg_offset", "seg_packet", "seg_start", "seg_length")

    def __init__(self) -> None:
        # One row per stretch of bytes: stream offset, source packet, where in
        # that packet's data the bytes start, how many. Payloads are read back
        # through this map instead of being kept in memory.
        self.seg_offset = array("Q")
        self.seg_packet = array("I")
        self.seg_start = array("I")
        self.seg_length = array("I")

    def record(self, offset: int, packet: int, start: int, length: int) -> None:
        """Remember that stream bytes [offset, offset+length) are in `packet` at `start`."""
        self.seg_offset.append(offset)
        self.seg_packet.append(packet)
        self.seg_start.append(start)
        self.seg_length.append(length)

    def forget_before(self, offset: int) -> None:
        """Stream bytes before `offset` will not be read back (a bounded history dropped their
        frames): the rows wholly before it go."""
        offsets = self.seg_offset
        i = bisect_right(offsets, offset) - 1  # the row that holds `offset` stays
        if i > 0:
            for column in (offsets, self.seg_packet, self.seg_start, self.seg_length):
                del column[:i]

    def forget_all(self) -> None:
        """No byte of this side will be read back (its connection closed, no frame of it kept)."""
        for column in (self.seg_offset, self.seg_packet, self.seg_start, self.seg_length):
            del column[:]

    def first_packet(self) -> int | None:
        """The oldest source packet a kept row names, or None."""
        return min(self.seg_packet) if self.seg_packet else None


class TcpFlow:
    """One TCP connection: side A is the initiator when the SYN was seen."""

    __slots__ = ("index", "a", "b", "a_port", "b_port", "initiator_known", "sides")

    def __init__(self, index: int, a: str, b: str, a_port: int, b_port: int,
                 initiator_known: bool) -> None:
        self.index = index  # in order of each connection's first packet, like tshark's tcp.stream
        self.a = a  # "ip:port"
        self.b = b
        self.a_port = a_port
        self.b_port = b_port
        self.initiator_known = initiator_known
        self.sides = (FlowSide(), FlowSide())  # [0]: bytes from A, [1]: bytes from B

    def __repr__(self) -> str:
        return f"TcpFlow({self.index}, {self.a} -> {self.b})"


class ByteSink(Protocol):
    """Receives the reassembled byte streams of TCP flows."""

    def data(self, flow: TcpFlow, from_a: bool, data: bytes, time: float, packet: int,
             offset: int) -> None:
        """In-order bytes of one direction, starting at stream `offset`."""

    def gap(self, flow: TcpFlow, from_a: bool, size: int, packet: int) -> None:
        """`size` bytes of one direction were never captured."""

    def close(self, flow: TcpFlow, from_a: bool, how: str, packet: int) -> None:
        """One side sent FIN or RST (`how`)."""
