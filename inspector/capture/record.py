"""`--record FILE.pcapng`: the packets of a live capture written as they are read.

A pipe or an interface cannot be read twice, so what was seen is saved as it
passes: one section, an Interface Description Block for each link type met
(microsecond time stamps), an Enhanced Packet Block per packet, flushed after
every batch so the file is readable while the capture runs.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

from inspector.errors import CaptureError

_SHB = struct.pack("<IIIHHq", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1) + struct.pack("<I", 28)


class PcapngWriter:
    """Writes captured packets to a pcapng file, one interface per link type."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self._file: BinaryIO = open(path, "wb")  # noqa: SIM115 (closed by close())
        except OSError as exc:
            raise CaptureError(path, f"cannot record: {exc.strerror or exc}") from None
        self._file.write(_SHB)
        self._interfaces: dict[int, int] = {}  # link type -> interface id
        self.packets = 0

    def _interface(self, linktype: int) -> int:
        iface = self._interfaces.get(linktype)
        if iface is None:
            iface = self._interfaces[linktype] = len(self._interfaces)
            # microsecond time stamps (the default): an epoch float holds no finer ones
            self._file.write(struct.pack("<IIHHII", 1, 20, linktype, 0, 0, 20))
        return iface

    def packet(self, time: float, linktype: int, data: bytes, original_length: int) -> None:
        """Append one packet."""
        iface = self._interface(linktype)
        ticks = round(time * 1e6)
        pad = -len(data) % 4
        length = 32 + len(data) + pad
        self._file.write(struct.pack("<IIIIIII", 6, length, iface, ticks >> 32, ticks & 0xFFFF_FFFF,
                                     len(data), original_length))
        self._file.write(data)
        self._file.write(b"\0" * pad + struct.pack("<I", length))
        self.packets += 1

    def flush(self) -> None:
        """Make what was written readable by others now."""
        self._file.flush()

    def close(self) -> None:
        """Finish the file."""
        self._file.close()
