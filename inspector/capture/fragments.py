"""IP fragment reassembly (sans-I/O), as tshark does by default (ip.defragment, ipv6.defragment).

Fragments of one datagram (same addresses, protocol and identification) are
kept until they cover it from 0 to the end the last fragment gives; then the
datagram's bytes go on to TCP, with a map of which packet each stretch came
from, so payloads can still be read back from the file. A datagram that never
completes, or that is pushed out because too many are pending, is damage:
`unfinished` says what was lost.
"""

from __future__ import annotations

from typing import NamedTuple

MAX_PENDING = 1024  # datagrams waiting for fragments; more than this and the oldest is dropped
MAX_DATAGRAM = 65535 + 40  # the most an IP length field can say, with an IPv6 header


class Fragment(NamedTuple):
    """One fragment as found in a packet: which datagram, where its bytes go, where they are."""

    key: tuple  # (version, src, dst, protocol, identification)
    src: bytes
    dst: bytes
    offset: int  # in the datagram's payload
    more: bool  # more fragments follow
    start: int  # where its payload starts in the packet data
    end: int


class Piece(NamedTuple):
    """A stretch of a reassembled datagram: its offset there, length, and where it lies in a packet."""

    offset: int
    length: int
    packet: int
    start: int  # in that packet's data


class Datagram(NamedTuple):
    """A reassembled datagram's payload (the TCP segment), its pieces, and the packets it took."""

    src: bytes
    dst: bytes
    payload: bytes
    pieces: tuple[Piece, ...]
    packets: tuple[int, ...]


class Unfinished(NamedTuple):
    """Fragments that never made a whole datagram: the packets and bytes lost."""

    version: int
    identification: int
    packets: tuple[int, ...]
    lost: int


class _Pending:
    __slots__ = ("parts", "total")

    def __init__(self) -> None:
        self.parts: list[tuple[int, bytes, int, int]] = []  # (offset, bytes, packet, start in packet)
        self.total: int | None = None  # payload length, once the last fragment is seen


class IpReassembler:
    """Collects fragments; `add` returns the datagram the fragment completes, if it does."""

    def __init__(self) -> None:
        self._pending: dict[tuple, _Pending] = {}
        self.unfinished: list[Unfinished] = []

    def add(self, fragment: Fragment, data: bytes, packet: int) -> Datagram | None:
        """One fragment found in `data` (packet `packet`)."""
        pending = self._pending.get(fragment.key)
        if pending is None:
            if len(self._pending) >= MAX_PENDING:
                oldest = next(iter(self._pending))
                self._give_up(oldest, self._pending.pop(oldest))
            pending = self._pending[fragment.key] = _Pending()
        piece = data[fragment.start:fragment.end]
        if not fragment.more:
            pending.total = fragment.offset + len(piece)
        pending.parts.append((fragment.offset, piece, packet, fragment.start))
        if pending.total is None or pending.total > MAX_DATAGRAM:
            return None
        whole = self._assemble(pending)
        if whole is None:
            return None
        del self._pending[fragment.key]
        payload, pieces = whole
        return Datagram(fragment.src, fragment.dst, payload, pieces,
                        tuple(sorted({p.packet for p in pieces})))

    def _assemble(self, pending: _Pending) -> tuple[bytes, tuple[Piece, ...]] | None:
        """The payload if the parts cover 0 to total (earlier bytes win an overlap), else None."""
        covered = 0
        out: list[bytes] = []
        pieces: list[Piece] = []
        for offset, piece, packet, start in sorted(pending.parts, key=lambda p: p[0]):
            if offset > covered:
                return None  # a hole
            skip = covered - offset
            if skip >= len(piece):
                continue
            take = piece[skip:pending.total - offset if pending.total is not None else None]
            if take:
                out.append(take)
                pieces.append(Piece(covered, len(take), packet, start + skip))
                covered += len(take)
        if covered != pending.total:
            return None
        return b"".join(out), tuple(pieces)

    def _give_up(self, key: tuple, pending: _Pending) -> None:
        self.unfinished.append(Unfinished(key[0], key[4], tuple(p[2] for p in pending.parts),
                                          sum(len(p[1]) for p in pending.parts)))

    def finish(self) -> list[Unfinished]:
        """The capture ended: every datagram still missing fragments."""
        for key, pending in self._pending.items():
            self._give_up(key, pending)
        self._pending.clear()
        return self.unfinished
